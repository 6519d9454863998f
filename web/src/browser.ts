/**
 * ferry-sync in browsers, Web Workers and service workers: the package's
 * entry there (package.json "exports", condition "browser", and the default).
 * It sets how this platform loads the .wasm and exports the public API.
 *
 * Nothing this entry loads imports a Node module or imports dynamically, so
 * bundlers (Vite, webpack) build it into a page or a worker as it is.
 */
import createFerryModule from './ferry_wasm.mjs';
import { setPlatform } from './platform.js';
import { FerryError } from './types.js';

export * from './index.js';

setPlatform({ createModule: createFerryModule, compilePackageWasm });

/**
 * Fetches and compiles the package's .wasm. `new URL('./ferry_wasm.wasm',
 * import.meta.url)` is the form bundlers (Vite, webpack 5) recognise: they
 * emit the file as an asset and rewrite the URL; unbundled, it is the file
 * next to this one. One case escapes: Vite's dev server moves dependencies
 * into <base>node_modules/.vite/deps/ (pre-bundling) but not their files,
 * and answers the .wasm request there with index.html; then the .wasm is
 * fetched from the package itself.
 */
async function compilePackageWasm(): Promise<WebAssembly.Module> {
  const url = new URL('./ferry_wasm.wasm', import.meta.url);
  const answers: string[] = [];
  for (const candidate of [url, ...outsideViteDeps(url)]) {
    const compiled = await fetchWasm(candidate.href);
    if (compiled instanceof WebAssembly.Module) return compiled;
    answers.push(compiled);
  }
  throw new FerryError(
    'unavailable',
    `could not load ferry-sync's WebAssembly module: ${answers.join('; ')}. ` +
      'Serve dist/ferry_wasm.wasm from the package next to its JS (as application/wasm), or pass its bytes as options.wasmBinary',
  );
}

/** The module, or what `url` answered instead. */
async function fetchWasm(url: string): Promise<WebAssembly.Module | string> {
  try {
    const response = await fetch(url);
    if (!response.ok) return `${url} answered ${response.status}`;
    const type = response.headers.get('Content-Type') ?? '';
    if (type.startsWith('application/wasm') && typeof WebAssembly.compileStreaming === 'function') {
      return await WebAssembly.compileStreaming(response);
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    // "\0asm": a server that answers an unknown path with a page (a dev
    // server's fallback to index.html) sends text with status 200.
    if (bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
      const start = new TextDecoder().decode(bytes.subarray(0, 16)).replace(/\s+/g, ' ');
      return `${url} answered ${type || 'no Content-Type'} starting "${start}", not WebAssembly`;
    }
    return await WebAssembly.compile(bytes);
  } catch (error) {
    return `${url}: ${String(error)}`;  // offline, refused, or not a module
  }
}

/** The package's own .wasm when `url` points into Vite's pre-bundled dependencies (its default cacheDir). */
function outsideViteDeps(url: URL): URL[] {
  const prebundled = /^(.*\/node_modules\/)\.vite\/deps[^/]*\//.exec(url.pathname);
  return prebundled ? [new URL(`${prebundled[1]}ferry-sync/dist/ferry_wasm.wasm`, url)] : [];
}
