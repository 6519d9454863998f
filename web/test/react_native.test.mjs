// ferry-sync's React Native entry (dist/react_native.js), installed from the
// packed tarball, run in Node against a real ferry-server. What React Native
// would provide comes from a stand-in 'react-native' module: its
// TurboModuleRegistry hands out the Node addon (ferry-sync-linux-x64-gnu),
// which implements the same NativeBinding as the JSI object, and its AppState
// is a fake the tests move between foreground and background. Every request
// goes through the entry's host transport (native_transport_fetch.ts): fetch,
// and for the live stream fetch's streaming body (Node has no
// XMLHttpRequest) or, in one test, an XMLHttpRequest stand-in that behaves
// as React Native's does.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';

import { packageModuleGraph, readServer, startProxy, startServer, tempDir, waitForEvent } from './helpers.mjs';

const require = createRequire(import.meta.url);
const packageRoot = join(process.cwd(), 'node_modules', 'ferry-sync');
const standIn = join(process.cwd(), 'node_modules', 'react-native');

/** React Native's AppState, moved by the tests. */
class FakeAppState {
  currentState = 'active';
  listeners = new Set();
  addEventListener(type, listener) {
    assert.equal(type, 'change');
    this.listeners.add(listener);
    return { remove: () => this.listeners.delete(listener) };
  }
  moveTo(state) {
    this.currentState = state;
    for (const listener of this.listeners) listener(state);
  }
}

const appState = new FakeAppState();
let FerryClient;
let FerryError;
let setDocumentsDirectory;
let server;

before(async () => {
  // The stand-in reads what to hand out from a global the test sets first.
  mkdirSync(standIn, { recursive: true });
  writeFileSync(join(standIn, 'package.json'), JSON.stringify({ name: 'react-native', version: '0.0.0-test', type: 'module', main: 'index.js' }));
  writeFileSync(join(standIn, 'index.js'), 'export const { TurboModuleRegistry, AppState } = globalThis.reactNativeStandIn;\n');
  const addon = require('ferry-sync-linux-x64-gnu');
  globalThis.reactNativeStandIn = {
    TurboModuleRegistry: {
      getEnforcing(name) {
        if (name !== 'Ferry') throw new Error(`TurboModuleRegistry.getEnforcing(...): '${name}' could not be found`);
        return { createBinding: () => addon };
      },
    },
    AppState: appState,
  };
  ({ FerryClient, FerryError, setDocumentsDirectory } = await import('ferry-sync/react-native'));
  server = await startServer();
});
after(async () => {
  await server.stop();
  rmSync(standIn, { recursive: true, force: true });
});

function open(name, overrides = {}) {
  return FerryClient.open({
    name,
    endpoint: server.endpoint,
    getToken: () => 'token-alice',
    directory: directoryFor(name),
    autoSync: false,
    liveUpdates: false,
    ...overrides,
  });
}

/** An existing directory (React Native's stores go into one; nothing creates it). */
function directoryFor(name) {
  const directory = join(tempDir(), name);
  mkdirSync(directory);
  return directory;
}

/** Records the requests the transport sends through the global fetch. */
function recordFetches() {
  const original = globalThis.fetch;
  const urls = [];
  globalThis.fetch = (input, init) => {
    urls.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`);
    return original(input, init);
  };
  return { urls, restore: () => (globalThis.fetch = original) };
}

/** A server that takes requests and never answers; `arrived` resolves with each request's socket closing. */
async function startSilentServer() {
  const requests = [];
  const silent = http.createServer((request) => requests.push(new Promise((resolve) => request.socket.on('close', resolve))));
  await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${silent.address().port}`,
    requests,
    stop: () => {
      silent.closeAllConnections();
      return new Promise((resolve) => silent.close(resolve));
    },
  };
}

test('React Native resolves ferry-sync to its entry, which loads no Node module and no WebAssembly', () => {
  const manifest = require('ferry-sync/package.json');
  assert.equal(Object.keys(manifest.exports['.'])[0], 'react-native', 'first, so Metro takes it before "browser"');
  assert.equal(manifest.exports['.']['react-native'].default, './dist/react_native.js');
  assert.equal(import.meta.resolve('ferry-sync/react-native'), pathToFileURL(join(packageRoot, 'dist', 'react_native.js')).href);
  const files = packageModuleGraph(packageRoot, ['dist/react_native.js']);
  assert.ok(files.includes('dist/native.js') && files.includes('dist/native_transport_fetch.js'), files.join(' '));
  for (const file of files) {
    assert.doesNotMatch(file, /(^|_)node\.js$|ferry_wasm/, 'a Node-only or WebAssembly file');
    assert.doesNotMatch(readFileSync(join(packageRoot, file), 'utf8'), /['"`]node:/, `${file} names a Node module`);
  }
});

test('offline writes wait, then reach the server through the host transport', async () => {
  const fetches = recordFetches();
  const client = await open('rn-offline');
  try {
    client.setOnline(false);
    for (let i = 0; i < 5; ++i) await client.put('notes', `offline${i}`, { i });
    assert.equal(client.status().pending, 5);
    client.setOnline(true);
    const run = await client.syncNow();
    assert.equal(run.outcome, 'completed', run.error);
    assert.equal(run.pushed, 5);
    assert.equal(client.status().pending, 0);
    assert.deepEqual((await readServer(server.endpoint)).documents.get('notes/offline4'), { i: 4 });
    assert.ok(fetches.urls.includes('POST /v1/push'), fetches.urls.join(', '));
  } finally {
    fetches.restore();
    await client.close();
  }
});

test('two clients converge', async () => {
  const first = await open('rn-first');
  const second = await open('rn-second');
  await first.put('shared', 'from-first', 1);
  await second.put('shared', 'from-second', 2);
  await first.syncNow();
  await second.syncNow();
  await first.syncNow();
  for (const client of [first, second]) {
    assert.deepEqual(await client.scan('shared'), [{ key: 'from-first', value: 1 }, { key: 'from-second', value: 2 }]);
  }
  await first.close();
  await second.close();
});

test('live updates arrive through the streamed live request', async () => {
  const fetches = recordFetches();
  const writer = await open('rn-live-writer');
  const reader = await open('rn-live-reader', { liveUpdates: true });
  try {
    for (let i = 0; i < 3; ++i) {
      const seen = waitForEvent(reader, 'change', (detail) => JSON.stringify(detail).includes(`live${i}`));
      await writer.put('live', `live${i}`, { i });
      await writer.syncNow();
      await seen;
      assert.deepEqual(await reader.get('live', `live${i}`), { i });
    }
    assert.ok(fetches.urls.includes('GET /v1/live'), fetches.urls.join(', '));
  } finally {
    fetches.restore();
    await writer.close();
    await reader.close();
  }
});

test('live updates through XMLHttpRequest progress events, as React Native streams', async () => {
  globalThis.XMLHttpRequest = StreamingXhr;
  StreamingXhr.opened = [];
  const writer = await open('rn-xhr-writer');
  const reader = await open('rn-xhr-reader', { liveUpdates: true });
  try {
    const seen = waitForEvent(reader, 'change', (detail) => JSON.stringify(detail).includes('by-xhr'));
    await writer.put('live', 'by-xhr', { xhr: true });
    await writer.syncNow();
    await seen;
    assert.deepEqual(await reader.get('live', 'by-xhr'), { xhr: true });
    assert.deepEqual(StreamingXhr.opened, ['GET /v1/live']);
  } finally {
    delete globalThis.XMLHttpRequest;
    await writer.close();
    await reader.close();
  }
});

test('a refused token is refreshed, and the sync goes through', async () => {
  const asked = [];
  const client = await open('rn-token', {
    getToken: ({ refresh }) => {
      asked.push(refresh);
      return refresh ? 'token-alice' : 'expired-token';
    },
  });
  await client.put('notes', 'after-refresh', 1);
  const run = await client.syncNow();
  assert.equal(run.outcome, 'completed', run.error);
  assert.deepEqual(asked.slice(0, 2), [false, true]);
  assert.equal((await readServer(server.endpoint)).documents.get('notes/after-refresh'), 1);
  await client.close();
});

test('cancel aborts the request in flight and keeps the writes', async () => {
  const silent = await startSilentServer();
  const client = await open('rn-cancel', { endpoint: silent.endpoint });
  try {
    await client.put('notes', 'kept', 1);
    const running = client.syncNow();
    while (silent.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    client.cancel();
    assert.equal((await running).outcome, 'cancelled');
    await silent.requests[0];  // the connection closed: fetch was aborted
    assert.equal(client.status().pending, 1);
  } finally {
    await client.close();
    await silent.stop();
  }
});

test('a request with no answer in time is a transport error, and the client is offline', async () => {
  const silent = await startSilentServer();
  const client = await open('rn-timeout', { endpoint: silent.endpoint, requestTimeoutMs: 300 });
  try {
    await client.put('notes', 'waits', 1);
    const run = await client.syncNow();
    assert.equal(run.outcome, 'failed');
    // The transport's timer and the engine's deadline for the request race; either ends it.
    assert.match(run.error, /no answer within 300 ms|timed out/);
    assert.equal(client.status().state, 'offline');
    assert.equal(client.status().pending, 1);
    await silent.requests[0];  // and the request was aborted
  } finally {
    await client.close();
    await silent.stop();
  }
});

test('an unreachable server is reported offline', async () => {
  const client = await open('rn-unreachable', { endpoint: 'http://127.0.0.1:9' });
  await client.put('notes', 'a', 1);
  const run = await client.syncNow();
  assert.equal(run.outcome, 'failed');
  assert.match(run.error, /fetch failed|ECONNREFUSED|network/i);
  assert.equal(client.status().state, 'offline');
  await client.close();
});

test('bodies above gzipAboveBytes go out gzipped (zlib in the native client) and are applied', async () => {
  const proxy = await startProxy(server.endpoint);
  const client = await open('rn-gzip', { endpoint: proxy.endpoint, gzipAboveBytes: 64 });
  try {
    await client.put('notes', 'big', { text: 'x'.repeat(2000) });
    assert.equal((await client.syncNow()).outcome, 'completed');
    assert.ok(proxy.seen.some(({ url, encoding }) => url.startsWith('/v1/push') && encoding === 'gzip'), JSON.stringify(proxy.seen));
    assert.equal((await readServer(server.endpoint)).documents.get('notes/big').text.length, 2000);
  } finally {
    await client.close();
    await proxy.stop();
  }
});

test('coming back from the background syncs; "inactive" alone does not', async () => {
  const writer = await open('rn-resume-writer');
  const resumed = await open('rn-resume', { autoSync: true });
  try {
    await resumed.syncNow();  // joins the sync at open: from here nothing else starts one
    await writer.put('notes', 'while-away', 1);
    await writer.syncNow();
    let started = 0;
    resumed.addEventListener('sync.started', () => ++started);
    appState.moveTo('inactive');
    appState.moveTo('active');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(started, 0);
    const synced = waitForEvent(resumed, 'sync.completed');
    appState.moveTo('background');
    appState.moveTo('active');
    await synced;
    assert.equal(await resumed.get('notes', 'while-away'), 1);
  } finally {
    await writer.close();
    await resumed.close();
  }
  assert.equal(appState.listeners.size, 0, 'closed clients stop listening');
});

test('stores go into the documents directory the app names; sign-out deletes them', async () => {
  const base = { name: 'rn-documents', endpoint: server.endpoint, storage: 'indexeddb', autoSync: false, liveUpdates: false };
  await assert.rejects(FerryClient.open(base), (error) => error instanceof FerryError && error.code === 'invalid_argument' && /setDocumentsDirectory/.test(error.message));
  const documents = join(tempDir(), 'My Documents');
  mkdirSync(documents);
  setDocumentsDirectory(pathToFileURL(documents).href);  // expo-file-system's form: a file:// URI, %20 for the space
  const client = await FerryClient.open(base);
  await client.put('notes', 'kept', 1);
  await client.close();
  assert.ok(existsSync(join(documents, 'ferry-sync-rn-documents.db')));
  await FerryClient.deleteLocalData(base);
  assert.ok(!existsSync(join(documents, 'ferry-sync-rn-documents.db')));
  await assert.rejects(FerryClient.open({ ...base, implementation: 'wasm' }), { name: 'FerryError', code: 'unavailable' });
});

/**
 * React Native's XMLHttpRequest as far as the transport uses it, over
 * node:http: responseText grows as the body arrives, each growth a
 * progress event, then load. (Node has no XMLHttpRequest.)
 */
class StreamingXhr {
  static opened = [];
  status = 0;
  responseText = '';
  headers = {};
  open(method, url) {
    this.method = method;
    this.url = url;
    StreamingXhr.opened.push(`${method} ${new URL(url).pathname}`);
  }
  setRequestHeader(name, value) {
    this.headers[name] = value;
  }
  getResponseHeader(name) {
    return this.response?.headers[name.toLowerCase()] ?? null;
  }
  send() {
    this.request = http.request(this.url, { method: this.method, headers: this.headers }, (response) => {
      this.response = response;
      this.status = response.statusCode;
      response.setEncoding('utf8');
      response.on('data', (text) => {
        this.responseText += text;
        this.onprogress?.();
      });
      response.on('end', () => this.onload?.());
    });
    this.request.on('error', () => this.onerror?.());
    this.request.end();
  }
  abort() {
    this.request?.destroy();
  }
}

test('the host transport refuses an answer larger than 64 MiB, as natively, and nothing is lost', async () => {
  const proxy = await startProxy(server.endpoint);
  const client = await open('rn-huge-answer', { endpoint: proxy.endpoint });
  try {
    await client.put('notes', 'rn-huge-answer', { a: 1 });
    proxy.faults.push('huge');
    const failed = await client.syncNow();
    assert.equal(failed.outcome, 'failed');
    assert.match(failed.error, /response larger than 67108864 bytes/);
    assert.equal(client.status().pending, 1);
    assert.equal((await client.syncNow()).outcome, 'completed');
    assert.equal(client.status().pending, 0);
  } finally {
    await client.close();
    await proxy.stop();
  }
});

test('queue control through the host transport: attempts, the cap, the pending listing, clearHistory', async () => {
  const client = await open('rn-queue', { endpoint: 'http://127.0.0.1:9', maxAttempts: 2 });
  await client.put('notes', 'a', 1);
  await client.put('notes', 'b', 2);
  assert.equal((await client.syncNow()).outcome, 'failed');
  const pending = await client.pendingMutations({ limit: 1 });
  assert.deepEqual(pending.map((m) => m.key), ['a']);
  assert.ok(pending[0].attempts >= 1);
  assert.match(pending[0].lastError, /fetch failed|ECONNREFUSED|network/i);
  assert.deepEqual((await client.pendingMutations({ afterSeq: pending[0].seq })).map((m) => m.key), ['b']);
  for (let i = 0; i < 10 && client.failedMutations().length < 2; ++i) await client.syncNow();
  assert.deepEqual(client.failedMutations().map((m) => [m.key, m.attempts]), [['a', 2], ['b', 2]]);
  assert.deepEqual(await client.pendingMutations(), []);
  assert.ok(client.history().length >= 2);
  await client.clearHistory({ keepLatest: true });
  assert.equal(client.history().length, 1);
  await client.close();
});
