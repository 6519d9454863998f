/**
 * ferry-sync/vite: a Vite plugin that serves the app's service worker (the
 * file that calls installFerrySync from ferry-sync/sw) at a stable address,
 * `/sw.js` by default, in `vite build` and `vite dev` alike:
 *
 *   // vite.config.ts
 *   import { ferryServiceWorker } from 'ferry-sync/vite';
 *   export default defineConfig({ plugins: [ferryServiceWorker({ entry: 'src/sw.ts' })] });
 *
 *   // in the page
 *   navigator.serviceWorker.register('/sw.js', { type: 'module' });
 *
 * The browser finds a service worker by its address and checks that address
 * for updates, so the file must not carry a content hash: `vite build` emits
 * the entry, bundled like the app, as `<outDir>/sw.js` (the modules it shares
 * with the app stay hashed and are imported from it; a module service worker
 * may import modules statically). `vite dev` answers `/sw.js` with a module
 * that imports the entry, which Vite transforms like any other source file.
 * Runs in Node, in Vite's process; no page or worker loads it.
 */
import { isAbsolute, relative, resolve } from 'node:path';

export interface FerryServiceWorkerOptions {
  /** The service worker's source file, relative to Vite's root, e.g. "src/sw.ts". */
  entry: string;
  /** Its file name in the output and its address under `base` (default "sw.js"). */
  fileName?: string;
}

// The parts of Vite's plugin API used here, so ferry-sync needs no Vite
// types; a Vite 5 to 8 config accepts the plugin as it is.
interface ResolvedConfigPart {
  root: string;
  base: string;
  command: 'build' | 'serve';
  build: { ssr: boolean | string };
}
interface Response {
  setHeader(name: string, value: string): void;
  end(body: string): void;
}
interface DevServerPart {
  middlewares: { use(handler: (request: { url?: string }, response: Response, next: () => void) => void): void };
}
interface BuildContextPart {
  emitFile(file: { type: 'chunk'; id: string; fileName: string }): string;
}

export interface FerryServiceWorkerPlugin {
  name: string;
  configResolved(config: ResolvedConfigPart): void;
  buildStart(this: BuildContextPart): void;
  configureServer(server: DevServerPart): void;
}

export function ferryServiceWorker(options: FerryServiceWorkerOptions): FerryServiceWorkerPlugin {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  if (typeof options.entry !== 'string' || options.entry === '') throw new TypeError('options.entry must name the service worker file');
  const fileName = options.fileName ?? 'sw.js';
  if (typeof fileName !== 'string' || !/^[\w.-]+\.m?js$/.test(fileName)) throw new TypeError('options.fileName must be a file name ending in .js');
  let config: ResolvedConfigPart | undefined;
  const entryPath = (): string => resolve(config!.root, options.entry);
  return {
    name: 'ferry-sync:service-worker',
    configResolved(resolved) {
      config = resolved;
    },
    buildStart() {
      if (config?.command !== 'build' || config.build.ssr) return;
      this.emitFile({ type: 'chunk', id: entryPath(), fileName });
    },
    configureServer(server) {
      server.middlewares.use((request, response, next) => {
        if (!config || request.url?.split('?')[0] !== `${config.base}${fileName}`) return next();
        // Inside the root: the address Vite serves the source file at;
        // outside it: Vite's /@fs/ address for any file it may serve.
        const path = relative(config.root, entryPath());
        const source = path.startsWith('..') || isAbsolute(path) ? `/@fs/${entryPath().replace(/^\//, '')}` : `${config.base}${path}`;
        response.setHeader('Content-Type', 'text/javascript');
        response.setHeader('Cache-Control', 'no-cache');
        response.end(`import ${JSON.stringify(source.split('\\').join('/'))};\n`);
      });
    },
  };
}
