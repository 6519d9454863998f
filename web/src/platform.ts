// What differs between browsers and Node: how the .wasm is found and read,
// which glue runs it, and whether stores can live in a host directory. The
// package's entries (browser.ts, node.ts) set it when they load, so the code
// they share (index.ts and everything it imports) never imports a Node
// module, and a browser bundle never sees one.
import type { Backend } from './backend.js';
import type createFerryModule from './ferry_wasm.mjs';
import type { ResolvedOptions, ResolvedStorage } from './options.js';
import type { EmitEvent } from './owner.js';
import { FerryError, type Implementation } from './types.js';

export interface Platform {
  /** The glue's factory (bindings/js: ferry_wasm.mjs, or ferry_wasm_node.mjs with NODEFS). */
  readonly createModule: typeof createFerryModule;
  /** Compiles the package's own .wasm (used when open() gets no `wasmBinary`). */
  compilePackageWasm(): Promise<WebAssembly.Module>;
  /** Stores in a host directory (storage "node"); only Node has them. */
  readonly directories?: DirectoryStores;
  /** The live stream's fetch where the global one would keep the process running (Node). */
  readonly streamFetch?: StreamFetch;
  /**
   * Node: the native implementation for a store, when it is chosen
   * (native_node.ts: the option, then FERRY_SYNC_IMPLEMENTATION, then what
   * the store's directory holds, then whether the addon loads); undefined
   * for the wasm build. Throws a FerryError when a forced one cannot be had.
   */
  chooseNative?(request: ImplementationRequest): NativeImplementation | undefined;
}

/** What picks an implementation: the option and where the store lives. */
export interface ImplementationRequest extends ResolvedStorage {
  implementation?: Implementation;
}

/** The native implementation of a platform (native.ts over its binding). */
export interface NativeImplementation {
  open(options: ResolvedOptions, emit: EmitEvent): Promise<Backend>;
  /** Sign-out, as FerryClient.deleteLocalData (the name: React Native names its store files after it). */
  deleteLocalData(place: ResolvedStorage & { name: string }): Promise<void>;
}

/**
 * The native implementation if this platform chooses it for `request`;
 * undefined means the wasm build. Where there is none (browsers), asking
 * for it is a FerryError.
 */
export function nativeImplementation(request: ImplementationRequest): NativeImplementation | undefined {
  const choose = platform().chooseNative;
  if (choose) return choose(request);
  if (request.implementation === 'native') {
    throw new FerryError('unavailable', 'implementation "native" (the Node addon) is only available in Node; this build runs WebAssembly');
  }
  return undefined;
}

/** A GET with streaming answer, as fetch; the live stream's only needs. */
export type StreamFetch = (url: string, init: { method: string; headers: Record<string, string>; signal: AbortSignal }) => Promise<Response>;

export interface DirectoryStores {
  /** Claims `directory` (creating it) for one client and returns its release. Throws FerryError "busy". */
  claim(directory: string): () => void;
  /** Deletes a closed store's directory (sign-out). */
  remove(directory: string): void;
}

let current: Platform | undefined;

export function setPlatform(platform: Platform): void {
  current = platform;
}

export function platform(): Platform {
  if (!current) {
    throw new FerryError(
      'internal',
      'ferry-sync was loaded without its entry: import "ferry-sync" (its package.json picks dist/browser.js or dist/node.js), not dist/index.js',
    );
  }
  return current;
}
