// The notes demo's service worker: serves the app shell from a cache, so the
// app opens offline, and runs ferry-sync/sw, which delivers notes written
// offline even when every tab is closed.
import { installFerrySync } from './ferry-sync/sw.js';
import { STORE, getToken } from './config.js';

installFerrySync({ name: STORE, endpoint: self.location.origin, getToken });

const CACHE = 'ferry-notes-v3';
const SHELL = ['./', 'index.html', 'app.js', 'config.js', 'style.css', 'manifest.json'];

// The app shell and every module of the package (its files.json lists them;
// a bundler would fold them into the app instead).
async function cacheShell() {
  const files = await (await fetch('ferry-sync/files.json')).json();
  const cache = await caches.open(CACHE);
  await cache.addAll([...SHELL, ...files.map((file) => `ferry-sync/${file}`)]);
}

self.addEventListener('install', (event) => {
  event.waitUntil(cacheShell().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

// The shell from the network when it answers (so updates arrive), from the
// cache when it does not. Sync requests (/v1/...) never touch the cache.
self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || url.pathname.startsWith('/v1/')) return;
  event.respondWith((async () => {
    try {
      const response = await fetch(event.request);
      if (response.ok) (await caches.open(CACHE)).put(event.request, response.clone());
      return response;
    } catch {
      const cached = await caches.match(event.request, { ignoreSearch: true });
      if (cached) return cached;
      throw new Error(`offline and ${url.pathname} is not cached`);
    }
  })());
});
