/**
 * ferry-sync in Node: the package's entry there (package.json "exports",
 * condition "node"). It offers the native implementation, the addon of the
 * platform package ferry-sync-linux-x64-gnu, chosen per store
 * (native_node.ts), and for the wasm build sets how Node loads the .wasm
 * (from the file; Node's fetch reads no files), adds stores in a directory
 * (storage "node", one client per directory: store_lock_node.ts), keeps the
 * live stream from holding the process open (stream_fetch_node.ts); and it
 * exports the public API.
 */
import { readFileSync, rmSync } from 'node:fs';
import createFerryModule from './ferry_wasm_node.mjs';
import { chooseNodeImplementation } from './native_node.js';
import { setPlatform } from './platform.js';
import { lockNodeStore } from './store_lock_node.js';
import { unrefStreamFetch } from './stream_fetch_node.js';
import { FerryError } from './types.js';

export * from './index.js';

setPlatform({
  createModule: createFerryModule,
  compilePackageWasm: () => WebAssembly.compile(readFileSync(new URL('./ferry_wasm.wasm', import.meta.url))),
  directories: {
    claim: (directory) => lockNodeStore(directory, (code, message) => new FerryError(code, message)),
    remove: (directory) => rmSync(directory, { recursive: true, force: true }),
  },
  streamFetch: unrefStreamFetch,
  chooseNative: chooseNodeImplementation,
});
