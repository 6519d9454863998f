// Loads the wasm module (once per context) and routes what its runtime asks
// of the host (bindings/js/library_ferry.js calls Module.ferryHost) to the
// engine that asked, by handle.
import type { FerryModule } from './ferry_wasm.mjs';
import { platform } from './platform.js';
import type { OutgoingRequest } from './transport_fetch.js';
import { FerryError, type FerryErrorCode } from './types.js';

export const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/**
 * What the runtime of one engine asks of its host. Called from inside the
 * engine's calls (e.g. a timer armed from within `open`), on the JS event loop.
 */
export interface RuntimeHost {
  /** Fetch a token (a fresh one if `refresh`) and hand it to handleToken. */
  needToken(requestId: number, refresh: boolean): void;
  /** Send a request to ferry-server; the outcome goes back through handleStreamData / handleTransferDone. */
  fetch(request: OutgoingRequest): void;
  abort(requestId: number): void;
  /** A syncNow waiter's run ended: {"ok":true,"run"} or {"ok":false,...}. */
  syncDone(waiter: number, resultJson: string): void;
  /** Call handleTimeout after `delayMs`; a negative delay disarms the timer. */
  setTimer(delayMs: number): void;
  emit(eventJson: string): void;
  /** The store committed: persist it (group commit). */
  persist(): void;
  /** A conflict for the custom resolver; answers {value} | {deleted} | {error} as JSON. */
  resolve(inputJson: string): string;
  /** A hook (hooks.ts answerHook); `point` a HookPoint bit. */
  hook(point: number, inputJson: string): string;
  /** A log line of the engine host (0 debug ... 3 error); only with a `log` option. */
  log(level: number, message: string): void;
}

const hosts = new Map<number, RuntimeHost>();
let nextHandle = 1;

/** Registers the host of a new engine; pass the handle to `new WebClient(handle)`. */
export function attachRuntimeHost(host: RuntimeHost): number {
  const handle = nextHandle++;
  hosts.set(handle, host);
  return handle;
}

export function detachRuntimeHost(handle: number): void {
  hosts.delete(handle);
}

// Module.ferryHost: calls for an engine that is gone are dropped.
const dispatch = {
  needToken(handle: number, requestId: number, refresh: boolean) {
    hosts.get(handle)?.needToken(requestId, refresh);
  },
  fetch(handle: number, request: OutgoingRequest) {
    hosts.get(handle)?.fetch(request);
  },
  syncDone(handle: number, waiter: number, resultJson: string) {
    hosts.get(handle)?.syncDone(waiter, resultJson);
  },
  abort(handle: number, requestId: number) {
    hosts.get(handle)?.abort(requestId);
  },
  setTimer(handle: number, delayMs: number) {
    hosts.get(handle)?.setTimer(delayMs);
  },
  emit(handle: number, eventJson: string) {
    hosts.get(handle)?.emit(eventJson);
  },
  persist(handle: number) {
    hosts.get(handle)?.persist();
  },
  log(handle: number, level: number, message: string) {
    hosts.get(handle)?.log(level, message);
  },
  resolve(handle: number, inputJson: string): string {
    const host = hosts.get(handle);
    return host ? host.resolve(inputJson) : JSON.stringify({ error: 'the client is closed' });
  },
  hook(handle: number, point: number, inputJson: string): string {
    const host = hosts.get(handle);
    return host ? host.hook(point, inputJson) : JSON.stringify({ error: 'the client is closed' });
  },
};

let modulePromise: Promise<FerryModule> | undefined;

/** The context's one module instance; the first caller's `wasmBinary` is used. */
export function loadModule(wasmBinary?: ArrayBuffer | Uint8Array): Promise<FerryModule> {
  modulePromise ??= (async () => {
    const { createModule, compilePackageWasm } = platform();
    const wasm = wasmBinary ? await WebAssembly.compile(wasmBinary as BufferSource) : await compilePackageWasm();
    // The glue is handed the compiled module rather than finding the file
    // itself: the entry knows where the package's .wasm is (a bundler moves it).
    const module = await new Promise<FerryModule>((resolve, reject) => {
      createModule({
        instantiateWasm(imports, receive) {
          WebAssembly.instantiate(wasm, imports).then((instance) => receive(instance, wasm), reject);
          return {};
        },
      }).then(resolve, reject);
    });
    module.ferryHost = dispatch;
    return module;
  })().catch((error: unknown) => {
    modulePromise = undefined;  // e.g. offline: the next open tries again
    throw error;
  });
  return modulePromise;
}

/** The module's answer {"ok":true,...} | {"ok":false,"code","message"} as a value or a FerryError. */
export function unwrap<T>(resultJson: string): T {
  // code: core's ErrorCodeName, whose names FerryErrorCode lists.
  const result = JSON.parse(resultJson) as { ok: boolean; code?: FerryErrorCode; message?: string };
  if (!result.ok) throw new FerryError(result.code ?? 'internal', result.message ?? 'unknown error');
  return result as T;
}
