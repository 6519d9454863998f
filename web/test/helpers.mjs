// Test helpers: a real ferry-server process on loopback and a small
// fault-injecting HTTP proxy in front of it.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export function tempDir() {
  return mkdtempSync(join(tmpdir(), 'ferry-sync-test-'));
}

/**
 * Opens a client of the Node tests as alice, in a new directory, syncing
 * only when the test asks (no auto sync, no live stream) unless `overrides`
 * say otherwise.
 */
export function openTestClient(FerryClient, endpoint, name, overrides = {}) {
  return FerryClient.open({
    name,
    endpoint,
    getToken: () => 'token-alice',
    directory: join(tempDir(), name),
    autoSync: false,
    liveUpdates: false,
    ...overrides,
  });
}

/** Every file the static imports of `entries` reach in the package at `root` (paths inside it: dist/x.js). */
export function packageModuleGraph(root, entries) {
  const seen = new Set();
  const visit = (path) => {
    const file = join(path);  // normalized: dist/x.js
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(join(root, file), 'utf8');
    for (const [, specifier] of text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+['"]([^'"]+)['"]/gms)) {
      if (specifier.startsWith('.')) visit(join(dirname(file), specifier));
    }
  };
  entries.forEach(visit);
  return [...seen].sort();
}

export async function startServer(tokens = 'token-alice alice\n', extraArguments = []) {
  const binary = process.env.FERRY_SERVER_BINARY;
  if (!binary) throw new Error('FERRY_SERVER_BINARY must name the ferry-server executable');
  const dir = tempDir();
  writeFileSync(join(dir, 'tokens.txt'), tokens);
  const spawnServer = async (port) => {
    const child = spawn(binary, ['--tokens', join(dir, 'tokens.txt'), '--db', join(dir, 'server.db'), '--port', String(port), '--quiet', ...extraArguments], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const endpoint = await new Promise((resolve, reject) => {
      let buffered = '';
      child.stdout.on('data', (chunk) => {
        buffered += chunk;
        const match = /listening on (http\S+)/.exec(buffered);
        if (match) resolve(match[1]);
      });
      child.on('exit', (code) => reject(new Error(`ferry-server exited with ${code}`)));
    });
    return { child, endpoint };
  };
  let { child, endpoint } = await spawnServer(0);
  const halt = async () => {
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
  };
  return {
    endpoint,
    /** Takes the server off the network (its data stays) until start(). */
    halt,
    /** Serves again on the same address, from the same data. */
    async start() {
      ({ child } = await spawnServer(new URL(endpoint).port));
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Every live document the server holds for a token, and the highest version
// (= how many mutations were applied for that user).
export async function readServer(endpoint, token = 'token-alice') {
  const documents = new Map();
  let head = 0;
  let cursor = '';
  for (;;) {
    const response = await fetch(`${endpoint}/v1/pull?limit=5000${cursor ? `&cursor=${cursor}` : ''}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    const page = await response.json();
    for (const change of page.changes) {
      head = Math.max(head, change.version);
      if (!change.deleted) documents.set(`${change.collection}/${change.key}`, change.value);
    }
    cursor = page.cursor;
    if (!page.hasMore) return { documents, head };
  }
}

// Forwards to `upstream`; `faults` is a queue of what to do to the next requests:
// 'error' (500 without forwarding), 'lost' (forward, then answer 502), 'garbage',
// 'reject' (a push answered "rejected" for every mutation, without forwarding).
export async function startProxy(upstream) {
  const faults = [];
  const seen = [];  // method, url and content-encoding of every request
  let requests = 0;
  const server = http.createServer(async (request, response) => {
    ++requests;
    seen.push({ method: request.method, url: request.url, encoding: request.headers['content-encoding'] ?? '', headers: request.headers });
    const chunks = [];
    for await (const chunk of request) chunks.push(chunk);
    const fault = faults.shift();
    if (fault === 'error') {
      response.writeHead(500, { 'Content-Type': 'application/json' });
      return response.end('{"error":{"code":"internal","message":"injected"}}');
    }
    if (fault === 'reject') {
      const { mutations } = JSON.parse(Buffer.concat(chunks).toString());
      response.writeHead(200, { 'Content-Type': 'application/json' });
      return response.end(JSON.stringify({ results: mutations.map(({ seq }) => ({ seq, status: 'rejected', error: 'injected rejection' })) }));
    }
    if (fault === 'huge') {  // an answer past the clients' 64 MiB limit, in chunks
      response.writeHead(200, { 'Content-Type': 'application/json' });
      const chunk = Buffer.alloc(1 << 20, 0x20);
      for (let i = 0; i < 65 && !response.destroyed; ++i) {
        if (!response.write(chunk)) await new Promise((resolve) => response.once('drain', resolve).once('close', resolve));
      }
      return response.end('{}');
    }
    if (fault === 'garbage') {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      return response.end('<html>not json');
    }
    const headers = { ...request.headers };
    delete headers.host;
    const forwarded = await fetch(upstream + request.url, {
      method: request.method,
      headers,
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    const body = Buffer.from(await forwarded.arrayBuffer());
    if (fault === 'lost') {
      response.writeHead(502);
      return response.end('answer lost');
    }
    response.writeHead(forwarded.status, { 'Content-Type': 'application/json' });
    response.end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    faults,
    seen,
    get requests() {
      return requests;
    },
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}

export function waitForEvent(target, type, predicate = () => true, timeoutMs = 15000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} event within ${timeoutMs} ms`)), timeoutMs);
    const listener = (event) => {
      if (!predicate(event.detail)) return;
      clearTimeout(timer);
      target.removeEventListener(type, listener);
      resolve(event.detail);
    };
    target.addEventListener(type, listener);
  });
}

export const chromiumOptions = {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
};

// A site served same-origin by ferry-server: the installed package under
// /pkg/, a page that imports it (window.Ferry), and a test service worker
// (/sw.js?name=<store>&token=<token>[&start=0]) running ferry-sync/sw; with
// token=pages it borrows tokens from the pages (tokenFromPages).
export function buildTestSite() {
  const site = tempDir();
  mkdirSync(join(site, 'pkg'));
  cpSync(join(process.cwd(), 'node_modules', 'ferry-sync', 'dist'), join(site, 'pkg'), { recursive: true });
  writeFileSync(
    join(site, 'index.html'),
    `<!doctype html><meta charset="utf-8"><title>ferry-sync test</title>
<script type="module">window.ferryReady = import('/pkg/browser.js').then((m) => (window.Ferry = m));</script>`,
  );
  writeFileSync(
    join(site, 'sw.js'),
    `import { installFerrySync, tokenFromPages } from '/pkg/sw.js';
const params = new URL(self.location.href).searchParams;
installFerrySync({
  name: params.get('name'),
  endpoint: self.location.origin,
  getToken: params.get('token') === 'pages' ? tokenFromPages(params.get('name'), { timeoutMs: 1000 }) : () => params.get('token'),
  syncOnStart: params.get('start') !== '0',
});
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
`,
  );
  return site;
}

export async function openPage(context, url) {
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error));
  await page.goto(url);
  await page.evaluate(() => window.ferryReady);
  return page;
}

export async function waitUntil(check, what, timeoutMs = 30000, pollMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

// Chromium's DevTools Protocol for the service worker of `origin` (a page of
// the browser context gives the session): stop it, fire sync and periodicsync
// events, take it offline, and hear what the browser did with Background Sync
// (its DevTools log: "Registered sync", "Dispatched sync event", "sync event
// failed", ...).
export async function serviceWorkerControl(page, origin) {
  const cdp = await page.context().newCDPSession(page);
  const registrations = new Map();
  cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations: updated }) => {
    for (const registration of updated) registrations.set(registration.scopeURL, registration);
  });
  const backgroundSyncLog = [];
  cdp.on('BackgroundService.backgroundServiceEventReceived', ({ backgroundServiceEvent }) => backgroundSyncLog.push(backgroundServiceEvent));
  await cdp.send('ServiceWorker.enable');
  await cdp.send('BackgroundService.startObserving', { service: 'backgroundSync' });
  await cdp.send('BackgroundService.setRecording', { shouldRecord: true, service: 'backgroundSync' });
  const registration = await waitUntil(() => registrations.get(`${origin}/`), 'the service worker registration');
  const event = { origin, registrationId: registration.registrationId, lastChance: false };
  let worker;
  return {
    backgroundSyncLog,
    // Network emulation on the worker's own target: unlike the page's
    // (context.setOffline), it holds Background Sync events back until it ends.
    async setWorkerOffline(offline) {
      worker ??= workerSession(page.context().browser(), origin);
      const send = await worker;
      await send('Network.enable', {});
      await send('Network.emulateNetworkConditions', { offline, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    },
    stopAll: () => cdp.send('ServiceWorker.stopAllWorkers'),
    dispatchSync: (tag) => cdp.send('ServiceWorker.dispatchSyncEvent', { ...event, tag }),
    dispatchPeriodicSync: (tag) => cdp.send('ServiceWorker.dispatchPeriodicSyncEvent', { ...event, tag }),
  };
}

// A DevTools session on the running service worker of `origin`: send(method, params).
async function workerSession(browser, origin) {
  const session = await browser.newBrowserCDPSession();
  const { targetInfos } = await session.send('Target.getTargets');
  const target = targetInfos.find((info) => info.type === 'service_worker' && info.url.startsWith(`${origin}/`));
  const { sessionId } = await session.send('Target.attachToTarget', { targetId: target.targetId, flatten: false });
  const waiting = new Map();
  session.on('Target.receivedMessageFromTarget', ({ message }) => {
    const { id, error } = JSON.parse(message);
    waiting.get(id)?.(error);
  });
  let nextId = 1;
  return async (method, params) => {
    const id = nextId++;
    const answered = new Promise((resolve, reject) => waiting.set(id, (error) => (error ? reject(new Error(error.message)) : resolve())));
    await session.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) });
    return answered;
  };
}
