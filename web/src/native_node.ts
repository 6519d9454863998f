/**
 * The native implementation in Node: loads the addon from the platform
 * package (ferry-sync-linux-x64-gnu, an optional dependency of ferry-sync),
 * decides per store whether it or the wasm build runs it, and keeps its
 * store's SQLite file where the options say.
 *
 * The choice, first that applies:
 * 1. `options.implementation` ("native" | "wasm");
 * 2. the environment variable FERRY_SYNC_IMPLEMENTATION ("native" | "wasm");
 * 3. what the store's directory holds: a wasm journal (journal/) or a native
 *    store (ferry.db) is opened by the implementation that wrote it, so
 *    installing the addon never hides a store's pending writes;
 * 4. the addon when it loads, the wasm build otherwise.
 * A forced implementation that cannot run is a FerryError, never a silent
 * fallback.
 *
 * Stores: storage "node" keeps `<directory>/ferry.db` (SQLite, WAL; one
 * client at a time, enforced by its lock file ferry.db.lock), storage
 * "memory" a SQLite file in a fresh temporary directory removed at close.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { NativeBackend, toFerryError, type NativeStore } from './native.js';
import type { NativeBinding } from './native_binding.js';
import type { ResolvedStorage } from './options.js';
import type { ImplementationRequest, NativeImplementation } from './platform.js';
import { FerryError, type Implementation } from './types.js';

/** The platform package this machine would need. */
export const platformPackage = 'ferry-sync-linux-x64-gnu';
const nativeStoreFile = 'ferry.db';
const wasmStoreFolder = 'journal';

let loaded: { binding: NativeBinding } | { error: string } | undefined;

/** The addon, loaded once; or why it does not load. */
function loadBinding(): { binding: NativeBinding } | { error: string } {
  if (loaded) return loaded;
  try {
    const binding = createRequire(import.meta.url)(platformPackage) as NativeBinding;
    loaded = typeof binding?.open === 'function' ? { binding } : { error: `${platformPackage} is not a Ferry addon` };
  } catch (error) {
    loaded = { error: String((error as Error)?.message ?? error).split('\n')[0] };
  }
  return loaded;
}

function fromEnvironment(): Implementation | undefined {
  const value = process.env.FERRY_SYNC_IMPLEMENTATION;
  if (value === undefined || value === '') return undefined;
  if (value === 'native' || value === 'wasm') return value;
  throw new FerryError('invalid_argument', `FERRY_SYNC_IMPLEMENTATION must be "native" or "wasm", got ${JSON.stringify(value)}`);
}

/** Which implementation wrote the store in `directory`, if any. */
function writtenBy(directory: string | undefined): Implementation | undefined {
  if (directory === undefined) return undefined;
  if (existsSync(join(directory, nativeStoreFile))) return 'native';
  if (existsSync(join(directory, wasmStoreFolder))) return 'wasm';
  return undefined;
}

function unavailable(why: string): FerryError {
  return new FerryError(
    'unavailable',
    `the native implementation was asked for but ${platformPackage} does not load (${why}); install it ` +
      `(npm install ${platformPackage}: Linux, x64, glibc) or use implementation "wasm"`,
  );
}

export function chooseNodeImplementation(request: ImplementationRequest): NativeImplementation | undefined {
  const forced = request.implementation ?? fromEnvironment();
  const existing = request.storage === 'node' ? writtenBy(request.directory) : undefined;
  if (forced && existing && forced !== existing) {
    throw new FerryError(
      'invalid_argument',
      `${request.directory} holds a store written by the ${existing} implementation (its pending writes are there); ` +
        `open it with implementation "${existing}"`,
    );
  }
  const wanted = forced ?? existing;
  if (wanted === 'wasm') return undefined;
  if (request.storage === 'indexeddb') {
    if (wanted === 'native') throw new FerryError('invalid_argument', 'the native implementation keeps stores in a directory (storage "node") or in memory');
    return undefined;
  }
  const addon = loadBinding();
  if ('error' in addon) {
    if (wanted === 'native') throw unavailable(addon.error);
    return undefined;
  }
  return nativeImplementation(addon.binding);
}

function nativeImplementation(binding: NativeBinding): NativeImplementation {
  return {
    open: (options, emit) => NativeBackend.open(binding, options, storeFor(options), emit),
    async deleteLocalData(place: ResolvedStorage) {
      if (place.storage !== 'node') return;  // a memory store is gone with its client
      await binding.deleteLocalData(join(place.directory!, nativeStoreFile)).catch((error: unknown) => {
        throw toFerryError(error);
      });
      rmSync(place.directory!, { recursive: true, force: true });
    },
  };
}

function storeFor(place: ResolvedStorage): NativeStore {
  if (place.storage === 'node') {
    mkdirSync(place.directory!, { recursive: true });
    return { path: join(place.directory!, nativeStoreFile), release: () => {} };
  }
  const directory = mkdtempSync(join(tmpdir(), 'ferry-sync-memory-'));
  return { path: join(directory, nativeStoreFile), release: () => rmSync(directory, { recursive: true, force: true }) };
}
