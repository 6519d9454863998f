// The Node addon (ferry-sync-linux-x64-gnu, installed from its packed
// tarball beside ferry-sync): how Node picks it, what happens when it cannot
// be had, that its blocking work stays off the JS thread, and that bad
// arguments are errors, never a crash. The shared Node suite (sync,
// node_process, store_lock) runs against it and the wasm build (test.sh).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { FerryClient, FerryError } from 'ferry-sync';

import { startServer, tempDir } from './helpers.mjs';

const require = createRequire(import.meta.url);

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
});

function open(directory, overrides = {}) {
  return FerryClient.open({ name: 'native', endpoint: server.endpoint, getToken: () => 'token-alice', directory, autoSync: false, liveUpdates: false, ...overrides });
}

/** Runs an ES module in a new Node process in `cwd`; resolves with its exit code and output. */
function script(code, cwd, env = {}) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

test('the platform package ships the addon for Linux x64 glibc, at the package version', () => {
  const manifest = require('ferry-sync-linux-x64-gnu/package.json');
  assert.deepEqual([manifest.os, manifest.cpu, manifest.libc], [['linux'], ['x64'], ['glibc']]);
  assert.deepEqual(require('ferry-sync/package.json').optionalDependencies, { 'ferry-sync-linux-x64-gnu': manifest.version });
  const addon = require('ferry-sync-linux-x64-gnu');
  assert.equal(addon.version, manifest.version);
  assert.deepEqual(Object.keys(addon).sort(), ['cleartextEndpointWarning', 'deleteLocalData', 'open', 'version']);
});

test('Node uses the addon when it loads; the option and FERRY_SYNC_IMPLEMENTATION force either', async () => {
  delete process.env.FERRY_SYNC_IMPLEMENTATION;
  const chosen = async (overrides) => {
    const directory = join(tempDir(), 'store');
    const client = await open(directory, overrides);
    await client.put('notes', 'a', 1);
    await client.close();
    return readdirSync(directory).filter((file) => file === 'ferry.db' || file === 'journal');
  };
  assert.deepEqual(await chosen({}), ['ferry.db']);  // native: one SQLite file
  assert.deepEqual(await chosen({ implementation: 'wasm' }), ['journal']);  // wasm: a journal folder
  process.env.FERRY_SYNC_IMPLEMENTATION = 'wasm';
  try {
    assert.deepEqual(await chosen({}), ['journal']);
    assert.deepEqual(await chosen({ implementation: 'native' }), ['ferry.db']);  // the option wins
    process.env.FERRY_SYNC_IMPLEMENTATION = 'fast';
    await assert.rejects(open(join(tempDir(), 'store')), { name: 'FerryError', code: 'invalid_argument', message: 'FERRY_SYNC_IMPLEMENTATION must be "native" or "wasm", got "fast"' });
  } finally {
    delete process.env.FERRY_SYNC_IMPLEMENTATION;
  }
  await assert.rejects(open(join(tempDir(), 'store'), { implementation: 'fast' }), { name: 'TypeError', message: 'options.implementation must be "native" or "wasm", got the string "fast"' });
});

test('a store directory is opened by the implementation that wrote it, and forcing the other is refused', async () => {
  const directory = join(tempDir(), 'store');
  let client = await open(directory, { implementation: 'wasm' });
  client.setOnline(false);
  await client.put('notes', 'pending', 1);
  await client.close();
  // The addon is installed, but this directory holds a wasm journal with a pending write.
  client = await open(directory);
  assert.equal(client.status().pending, 1);
  assert.deepEqual(await client.get('notes', 'pending'), 1);
  await client.close();
  assert.ok(!existsSync(join(directory, 'ferry.db')));
  await assert.rejects(open(directory, { implementation: 'native' }), (error) => {
    assert.ok(error instanceof FerryError);
    assert.equal(error.code, 'invalid_argument');
    assert.match(error.message, /written by the wasm implementation .*open it with implementation "wasm"/);
    return true;
  });
  await FerryClient.deleteLocalData({ name: 'native', storage: 'node', directory });
  assert.ok(!existsSync(directory));
});

test('without the platform package Node falls back to wasm, and forcing native is a clear FerryError', async () => {
  // A project with ferry-sync but not its platform package (a copy: through
  // a symlink Node would resolve the package where the addon is installed).
  const project = tempDir();
  cpSync(join(process.cwd(), 'node_modules', 'ferry-sync'), join(project, 'node_modules', 'ferry-sync'), { recursive: true });
  const code = (directory) => `
    import { FerryClient } from 'ferry-sync';
    const directory = ${JSON.stringify(directory)};
    try {
      const client = await FerryClient.open({ name: 'fallback', endpoint: 'http://127.0.0.1:9', directory, autoSync: false, liveUpdates: false });
      await client.put('notes', 'a', 1);
      await client.close();
      console.log('opened', (await import('node:fs')).readdirSync(directory).join(','));
    } catch (error) {
      console.log('refused', error.name, error.code, error.message);
    }`;
  const fallback = await script(code(join(project, 'fallback')), project, { FERRY_SYNC_IMPLEMENTATION: '' });
  assert.match(fallback.output, /^opened .*journal/, fallback.output);
  const forced = await script(code(join(project, 'forced')), project, { FERRY_SYNC_IMPLEMENTATION: 'native' });
  assert.match(forced.output, /^refused FerryError unavailable the native implementation was asked for but ferry-sync-linux-x64-gnu does not load \(.*\); install it/, forced.output);
});

test('timers keep firing on the JS thread while the addon commits a large batched write', async () => {
  const client = await open(join(tempDir(), 'store'), { implementation: 'native' });
  const writes = Array.from({ length: 50_000 }, (_, i) => ({ op: 'put', collection: 'bulk', key: `k${i}`, value: { i, text: 'x'.repeat(40) } }));
  const ticks = [];
  const timer = setInterval(() => ticks.push(performance.now()), 1);
  await new Promise((resolve) => setTimeout(resolve, 20));  // the interval is running
  const started = performance.now();
  const written = client.write(writes);  // serializes on the JS thread, then commits off it
  const issued = performance.now();
  await written;
  const finished = performance.now();
  clearInterval(timer);
  // Gaps between ticks while the native side parsed and committed (after the call returned).
  const during = ticks.filter((tick) => tick >= issued);
  const gaps = during.slice(1).map((tick, i) => tick - during[i]);
  const maxGap = Math.max(...gaps);
  const duration = finished - issued;
  console.log(`50,000 documents: serialized in ${(issued - started).toFixed(1)} ms on the JS thread, committed in ${duration.toFixed(1)} ms off it; ${gaps.length} timer ticks meanwhile, the longest gap ${maxGap.toFixed(1)} ms`);
  assert.ok(gaps.length >= 10, `timers fired ${gaps.length} times during a ${duration.toFixed(0)} ms write`);
  assert.ok(maxGap < Math.max(50, duration / 4), `the longest gap between ticks was ${maxGap.toFixed(1)} ms of a ${duration.toFixed(0)} ms write`);
  assert.equal(client.status().pending, 50_000);
  assert.deepEqual(await client.get('bulk', 'k49999'), { i: 49999, text: 'x'.repeat(40) });
  await client.close();
});

test('wrong argument types to the addon are TypeErrors, never a crash, and a closed client rejects', async () => {
  const addon = require('ferry-sync-linux-x64-gnu');
  const options = { path: join(tempDir(), 'raw.db'), endpoint: server.endpoint, syncOnLocalWrite: false, requestTimeoutMs: 5000, intervalMs: 0, liveUpdates: false, gzipAboveBytes: 1024, conflictsJson: '', hostTransport: false, storeLockTimeoutMs: 0, maxAttempts: 0, deadLetterMaxAgeMs: 0, backoffBaseMs: 0, backoffMaxMs: 0, pushBatchSize: 0, pushBatchBytes: 0, pullPageSize: 0, historyLimit: 0, headers: {}, uploadOnly: [], deferrable: [], indexesJson: '', pullCollections: null, retention: [], hookPoints: 0 };
  const callbacks = { onEvent() {} };
  assert.throws(() => addon.open(null, callbacks), { name: 'TypeError', message: 'options must be an object, got null' });
  assert.throws(() => addon.open({ ...options, path: 5 }, callbacks), { name: 'TypeError', message: 'options.path must be a string, got number 5' });
  assert.throws(() => addon.open({ ...options, requestTimeoutMs: -1 }, callbacks), TypeError);
  assert.throws(() => addon.open({ ...options, intervalMs: 1.5 }, callbacks), TypeError);
  assert.throws(() => addon.open(options, {}), { name: 'TypeError', message: 'callbacks.onEvent must be a function' });
  assert.throws(() => addon.open(options, { ...callbacks, getToken: 'x' }), { name: 'TypeError', message: 'callbacks.getToken must be a function, got a string' });
  assert.throws(() => addon.open({ ...options, hostTransport: true }, callbacks), TypeError);
  assert.throws(() => addon.open({ ...options, storeLockTimeoutMs: -1 }, callbacks), TypeError);
  assert.throws(() => addon.open({ ...options, pullPageSize: 2 ** 32 }, callbacks), TypeError);
  assert.throws(() => addon.open({ ...options, headers: 'X-API-Key: 1' }, callbacks), { name: 'TypeError', message: /options\.headers/ });
  assert.throws(() => addon.open({ ...options, headers: { 'X-API-Key': 1 } }, callbacks), { name: 'TypeError', message: /options\.headers\.X-API-Key/ });
  assert.throws(() => addon.open({ ...options, uploadOnly: 'readings' }, callbacks), { name: 'TypeError', message: 'options.uploadOnly must be an array of strings, got a string' });
  assert.throws(() => addon.open({ ...options, deferrable: [1] }, callbacks), { name: 'TypeError', message: /options\.deferrable/ });
  assert.throws(() => addon.open({ ...options, indexesJson: [] }, callbacks), { name: 'TypeError', message: /options\.indexesJson/ });
  assert.throws(() => addon.open({ ...options, hookPoints: -1 }, callbacks), { name: 'TypeError', message: /options\.hookPoints/ });
  assert.throws(() => addon.open(options, { ...callbacks, hook: 'no' }), { name: 'TypeError', message: /callbacks\.hook/ });
  assert.throws(() => addon.open({ ...options, pullCollections: ['a', 1] }, callbacks), { name: 'TypeError', message: 'options.pullCollections[1] must be a string, got number 1' });
  assert.throws(() => addon.open({ ...options, retention: [{ collection: 'r', maxAgeMs: -1, maxCount: 0 }] }, callbacks), { name: 'TypeError', message: /options\.retention\[0\]\.maxAgeMs/ });
  await assert.rejects(addon.open({ ...options, headers: { Host: 'evil' } }, callbacks), { code: 'invalid_argument' });
  assert.throws(() => addon.deleteLocalData(7), TypeError);
  assert.throws(() => addon.cleartextEndpointWarning(7), TypeError);
  assert.equal(addon.cleartextEndpointWarning('https://sync.example.com'), '');
  assert.match(addon.cleartextEndpointWarning('http://sync.example.com'), /^the endpoint is plain http:\/\/ to sync\.example\.com/);
  await assert.rejects(addon.open({ ...options, conflictsJson: '{"default":"custom"}' }, callbacks), { code: 'invalid_argument' });

  const client = await addon.open(options, callbacks);
  assert.match(client.clientId, /^[0-9a-z]{20}$/);
  assert.throws(() => client.write(), TypeError);
  assert.throws(() => client.get('c'), TypeError);
  assert.throws(() => client.scan('c', '', -1), TypeError);
  assert.throws(() => client.report('5'), TypeError);
  assert.throws(() => client.retryFailedMutation(2 ** 60), TypeError);
  assert.throws(() => client.setOnline(1), TypeError);
  assert.throws(() => client.syncNow('push'), TypeError);
  assert.throws(() => client.syncNow(3), TypeError);
  assert.throws(() => client.evict('c', 'k'), TypeError);
  assert.throws(() => client.completeRequest(1, 200, 'not bytes', '', ''), TypeError);
  assert.throws(() => client.setKeepAlive('yes'), TypeError);
  assert.throws(() => new client.constructor(), TypeError);
  await assert.rejects(client.write('[{"op":"put"'), { code: 'invalid_argument' });
  await client.write('[{"op":"put","collection":"c","key":"k","value":1}]');
  assert.equal(await client.get('c', 'k'), '1');
  assert.equal(await client.get('c', 'none'), undefined);
  await client.close();
  await assert.rejects(client.get('c', 'k'), { code: 'invalid_handle' });
  await assert.rejects(client.close(), { code: 'invalid_handle' });
});

test('with hostTransport the addon hands every request to JavaScript and takes the answers back', async () => {
  const addon = require('ferry-sync-linux-x64-gnu');
  let client;
  const carried = [];
  const callbacks = {
    onEvent() {},
    getToken: async () => 'token-alice',
    // What React Native does with fetch: carry the request, answer with the bytes.
    sendRequest(request) {
      carried.push(`${request.method} ${new URL(request.url).pathname}`);
      assert.ok(request.body instanceof Uint8Array);
      fetch(request.url, { method: request.method, headers: request.headers, body: request.method === 'POST' ? request.body : undefined }).then(
        async (response) => client.completeRequest(request.id, response.status, new Uint8Array(await response.arrayBuffer()), response.headers.get('retry-after') ?? '', ''),
        (error) => client.completeRequest(request.id, 0, new Uint8Array(), '', String(error)),
      );
    },
  };
  const options = { path: join(tempDir(), 'host.db'), endpoint: server.endpoint, syncOnLocalWrite: false, requestTimeoutMs: 5000, intervalMs: 0, liveUpdates: false, gzipAboveBytes: 0, conflictsJson: '', hostTransport: true, storeLockTimeoutMs: 0, maxAttempts: 0, deadLetterMaxAgeMs: 0, backoffBaseMs: 0, backoffMaxMs: 0, pushBatchSize: 0, pushBatchBytes: 0, pullPageSize: 0, historyLimit: 0, headers: {}, uploadOnly: [], deferrable: [], indexesJson: '', pullCollections: null, retention: [], hookPoints: 0 };
  client = await addon.open(options, callbacks);
  await client.write('[{"op":"put","collection":"carried","key":"k","value":{"by":"js"}}]');
  const run = JSON.parse(await client.syncNow(0));
  assert.equal(run.outcome, 'completed', run.error);
  assert.equal(run.pushed, 1);
  assert.ok(carried.some((line) => line === 'POST /v1/push'), carried.join(', '));
  client.completeRequest(987654, 200, new Uint8Array(), '', '');  // unknown: ignored
  await client.close();
});

