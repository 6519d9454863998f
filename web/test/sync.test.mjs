// ferry-sync in Node, installed from its packed tarball, against a real
// ferry-server on loopback.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';

import { FerryClient, FerryError } from 'ferry-sync';

import { readServer, startProxy, startServer, tempDir, waitForEvent } from './helpers.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
});

function open(name, overrides = {}) {
  return FerryClient.open({
    name,
    endpoint: server.endpoint,
    getToken: () => 'token-alice',
    directory: join(tempDir(), name),
    autoSync: false,
    liveUpdates: false,  // tests decide when to sync, unless one turns this on
    ...overrides,
  });
}

test('the installed package ships ESM and type declarations', () => {
  const require = createRequire(import.meta.url);
  const manifest = require('ferry-sync/package.json');
  assert.equal(manifest.type, 'module');
  const root = join(process.cwd(), 'node_modules', 'ferry-sync');
  for (const file of ['dist/browser.js', 'dist/node.js', 'dist/index.d.ts', 'dist/ferry_wasm.wasm', 'dist/ferry_wasm.mjs', 'dist/ferry_wasm_node.mjs']) {
    assert.ok(existsSync(join(root, file)), file);
  }
  // Node takes the Node entry (package.json "exports", condition "node").
  assert.equal(import.meta.resolve('ferry-sync'), pathToFileURL(join(root, 'dist', 'node.js')).href);
});

test('offline writes wait, then reach the server exactly once when online', async () => {
  const client = await open('offline');
  client.setOnline(false);
  await client.write(Array.from({ length: 150 }, (_, i) => ({ op: 'put', collection: 'notes', key: `n${i}`, value: { i } })));
  for (let i = 150; i < 200; ++i) await client.put('notes', `n${i}`, { i });
  assert.equal(client.status().state, 'offline');
  assert.equal(client.status().pending, 200);
  const offlineRun = await client.syncNow();
  assert.equal(offlineRun.outcome, 'failed');

  client.setOnline(true);
  const run = await waitForEvent(client, 'sync.completed');
  assert.equal(run.pushed, 200);
  assert.equal(client.status().pending, 0);
  const view = await readServer(server.endpoint);
  assert.equal(view.documents.size, 200);
  assert.equal(view.head, 200);
  assert.deepEqual(view.documents.get('notes/n7'), { i: 7 });
  await client.close();
});

test('two clients converge, conflicts resolved server-wins', async () => {
  const a = await open('converge-a');
  const b = await open('converge-b');
  await a.put('todo', 'shared', { title: 'from a' });
  await a.put('todo', 'only-a', 1);
  await b.put('todo', 'only-b', 2);
  assert.equal((await a.syncNow()).outcome, 'completed');
  await b.patch('todo', 'shared', { done: true });
  const conflict = waitForEvent(b, 'sync.conflict');
  const runB = await b.syncNow();
  assert.equal(runB.conflicts, 1);
  assert.equal((await conflict).resolution, 'server_wins');
  await a.syncNow();
  assert.deepEqual(await a.scan('todo'), await b.scan('todo'));
  assert.deepEqual(await b.get('todo', 'shared'), { title: 'from a' });
  await a.close();
  await b.close();
});

test('server errors are retried with backoff and nothing is lost or applied twice', async () => {
  const proxy = await startProxy(server.endpoint);
  const client = await open('faults', { endpoint: proxy.endpoint });
  await client.write(Array.from({ length: 20 }, (_, i) => ({ op: 'put', collection: 'faulty', key: `k${i}`, value: i })));
  proxy.faults.push('error', 'lost', 'garbage');
  const failed = await client.syncNow();
  assert.equal(failed.outcome, 'failed');
  assert.match(failed.error, /HTTP 500/);
  assert.equal(client.status().state, 'error');
  assert.ok(client.status().nextRetryAt > Date.now() - 1000);
  // No further calls: the retries happen on their own.
  await waitForEvent(client, 'sync.completed', undefined, 30000);
  assert.equal(client.status().pending, 0);
  const view = await readServer(server.endpoint);
  const faulty = [...view.documents.keys()].filter((key) => key.startsWith('faulty/'));
  assert.equal(faulty.length, 20);
  assert.ok(client.history().some((run) => run.outcome === 'failed'));
  await client.close();
  await proxy.stop();
});

test('push bodies above the threshold travel gzip-compressed', async () => {
  const proxy = await startProxy(server.endpoint);
  const client = await open('gzip', { endpoint: proxy.endpoint, gzipAboveBytes: 1024 });
  await client.put('small', 'k', 1);
  assert.equal((await client.syncNow()).outcome, 'completed');
  await client.write(Array.from({ length: 50 }, (_, i) => ({ op: 'put', collection: 'big', key: `k${i}`, value: 'x'.repeat(200) })));
  assert.equal((await client.syncNow()).pushed, 50);
  const pushes = proxy.seen.filter((request) => request.method === 'POST');
  assert.equal(pushes[0].encoding, '');
  assert.equal(pushes.at(-1).encoding, 'gzip');
  assert.equal((await readServer(server.endpoint)).documents.get('big/k3'), 'x'.repeat(200));
  await client.close();
  await proxy.stop();
});

test('pending writes survive closing and reopening the store', async () => {
  const directory = join(tempDir(), 'reopen');
  let client = await FerryClient.open({ name: 'reopen', endpoint: server.endpoint, getToken: () => 'token-alice', directory, autoSync: false });
  client.setOnline(false);
  await client.put('kept', 'a', { v: 1 });
  await client.patch('kept', 'a', { w: 2 });
  const id = client.clientId;
  await client.close();
  // The one place the implementations differ here: what a store directory
  // holds. The addon keeps one SQLite file, the wasm build a journal folder.
  const kept = process.env.FERRY_SYNC_IMPLEMENTATION === 'native' ? 'ferry.db' : 'journal';
  assert.ok(existsSync(join(directory, kept)), `${kept} in the store directory`);
  client = await FerryClient.open({ name: 'reopen', endpoint: server.endpoint, getToken: () => 'token-alice', directory, autoSync: false });
  assert.equal(client.clientId, id);
  assert.deepEqual(await client.get('kept', 'a'), { v: 1, w: 2 });
  assert.equal(client.status().pending, 1);
  assert.equal((await client.syncNow()).pushed, 1);
  await client.close();
  await FerryClient.deleteLocalData({ name: 'reopen', storage: 'node', directory });
  assert.ok(!existsSync(directory));
});

test('a memory store keeps nothing and opens again after close', async () => {
  let client = await open('memory', { storage: 'memory' });
  await client.put('memory', 'k', 1);
  assert.deepEqual(await client.get('memory', 'k'), 1);
  await client.close();
  client = await open('memory', { storage: 'memory' });
  assert.equal(await client.get('memory', 'k'), undefined);
  assert.equal(client.status().pending, 0);
  await client.close();
});

test('wrong argument types get TypeErrors and bad values FerryErrors, and the client keeps working', async () => {
  const client = await open('types');
  await assert.rejects(client.put(42, 'k', 1), TypeError);
  await assert.rejects(client.put('c', 'k', undefined), TypeError);
  await assert.rejects(client.put('c', 'k', 10n), TypeError);
  await assert.rejects(client.write('not an array'), TypeError);
  assert.throws(() => client.setOnline('yes'), TypeError);
  await assert.rejects(client.patch('c', 'k', [1, 2]), (error) => error instanceof FerryError && error.code === 'invalid_argument');
  await assert.rejects(client.put('', 'k', 1), (error) => error instanceof FerryError && error.code === 'invalid_argument');
  await client.put('c', 'k', { fine: true });
  assert.deepEqual(await client.get('c', 'k'), { fine: true });
  await client.close();
  await assert.rejects(client.get('c', 'k'), FerryError);
});

test('a single put, patch or remove names its own argument, a batch the item', async () => {
  const client = await open('argument-names');
  const named = (message) => ({ name: 'TypeError', message });
  await assert.rejects(client.put('c', 7, 1), named('key must be a string, got number 7'));
  await assert.rejects(client.patch('c', null, {}), named('key must be a string, got null'));
  await assert.rejects(client.remove('c', undefined), named('key must be a string, got undefined'));
  await assert.rejects(client.put(['c'], 'k', 1), named('collection must be a string, got an array'));
  await assert.rejects(client.put('c', 'k', undefined), named('value is required for put'));
  await assert.rejects(client.write([{ op: 'put', collection: 'c', key: 'k', value: 1 }, { op: 'delete', collection: 'c', key: 2 }]), named('writes[1].key must be a string, got number 2'));
  await assert.rejects(client.write([{ op: 'put', collection: 'c', key: 'k' }]), named('writes[0].value is required for put'));
  await client.close();
});

test('a value nested deeper than 32 levels is refused as such, however deep', async () => {
  const client = await open('depth');
  const nested = (levels) => {
    let value = 1;
    for (let i = 0; i < levels; ++i) value = i % 2 === 0 ? [value] : { v: value };
    return value;
  };
  await client.put('depth', 'ok', nested(32));
  assert.deepEqual(await client.get('depth', 'ok'), nested(32));
  for (const levels of [33, 34, 36, 100, 5000]) {
    const tooDeep = { name: 'FerryError', code: 'too_large', message: 'value nests deeper than 32 levels' };
    await assert.rejects(client.put('depth', 'deep', nested(levels)), tooDeep, `put, ${levels} levels`);
    await assert.rejects(client.patch('depth', 'ok', { v: nested(levels) }), tooDeep, `patch, ${levels} levels`);
    await assert.rejects(client.write([{ op: 'put', collection: 'depth', key: 'a', value: 1 }, { op: 'put', collection: 'depth', key: 'b', value: nested(levels) }]), tooDeep, `write, ${levels} levels`);
  }
  assert.equal(await client.get('depth', 'a'), undefined, 'a refused batch writes nothing');
  assert.equal(client.status().pending, 1);
  await client.close();
});

test('open checks the type of every option and names the wrong one', async () => {
  const base = { name: 'options', endpoint: server.endpoint, directory: join(tempDir(), 'options'), autoSync: false, liveUpdates: false };
  const wrong = {
    name: 7,
    endpoint: undefined,
    getToken: 'token-alice',
    storage: 'disk',
    directory: 42,
    autoSync: 'yes',
    intervalMs: -5,
    requestTimeoutMs: '1000',
    gzipAboveBytes: 'big',
    wasmBinary: 'bytes',
    followNetworkEvents: null,
    shareAcrossContexts: 'no',
    backgroundSync: 0,
    liveUpdates: 1,
    conflicts: 'merge',
    implementation: 'fastest',
    storeLockTimeoutMs: -1,
  };
  for (const [option, value] of Object.entries(wrong)) {
    await assert.rejects(
      FerryClient.open({ ...base, [option]: value }),
      (error) => error instanceof TypeError && error.message.startsWith(`options.${option} must be`),
      `options.${option}: ${String(value)}`,
    );
  }
  await assert.rejects(FerryClient.open({ ...base, requestTimeoutMs: '1000' }), {
    name: 'TypeError',
    message: 'options.requestTimeoutMs must be a positive number of milliseconds, got the string "1000"',
  });
  await assert.rejects(FerryClient.open({ ...base, requestTimeoutMs: Infinity }), TypeError);
  await assert.rejects(FerryClient.open({ ...base, conflicts: { default: 7 } }), /options\.conflicts\.default must be a string/);
  await assert.rejects(FerryClient.open({ ...base, conflicts: { collections: { notes: 3 } } }), /options\.conflicts\.collections\.notes must be a string/);
  await assert.rejects(FerryClient.open({ ...base, conflicts: { collections: [] } }), /options\.conflicts\.collections must be an object/);
  await assert.rejects(FerryClient.open({ ...base, name: 'no spaces' }), /options\.name must be 1 to 64 characters/);
  await assert.rejects(FerryClient.open({ ...base, storage: 'node', directory: undefined }), /options\.directory must be a string with storage "node"/);
  await assert.rejects(FerryClient.open({ ...base, directory: undefined }), /options\.directory must be a string with storage "node" \(the default in Node/);
  for (const endpoint of ['sync.example.com', '/v1', 'ftp://sync.example.com', 'http//localhost:8080', '']) {
    await assert.rejects(FerryClient.open({ ...base, endpoint }), {
      name: 'TypeError',
      message: `options.endpoint must be an absolute http(s) URL such as "https://sync.example.com", got the string ${JSON.stringify(endpoint)}`,
    });
  }
  await assert.rejects(FerryClient.open(null), /options must be an object, got null/);
  await assert.rejects(FerryClient.deleteLocalData({ name: 'options', directory: 5 }), /options\.directory must be a string/);
  // Nothing was left half-open: the same store opens with the right types.
  const client = await FerryClient.open({ ...base, requestTimeoutMs: 1000, intervalMs: 60_000, gzipAboveBytes: 0 });
  await client.put('options', 'k', 1);
  await client.close();
});

test('a rejected write is listed as failed, then retried or discarded', async () => {
  const proxy = await startProxy(server.endpoint);
  const client = await open('rejected', { endpoint: proxy.endpoint });
  await client.put('dead', 'a', { v: 1 });
  await client.put('dead', 'b', { v: 2 });
  proxy.faults.push('reject');
  const run = await client.syncNow();
  assert.equal(run.rejected, 2);
  assert.equal(client.status().failed, 2);
  assert.equal(client.statistics().rejected, 2);
  const failed = client.failedMutations();
  assert.deepEqual(failed.map((mutation) => mutation.key).sort(), ['a', 'b']);
  assert.equal(failed[0].error, 'injected rejection');
  const a = failed.find((mutation) => mutation.key === 'a');
  const b = failed.find((mutation) => mutation.key === 'b');

  const retriedSeq = await client.retryFailedMutation(a.seq);
  assert.ok(retriedSeq > b.seq, 'a retried mutation is queued again with a new seq');
  await client.discardFailedMutation(b.seq);
  assert.deepEqual(client.failedMutations(), []);
  assert.equal(client.status().pending, 1);
  assert.equal((await client.syncNow()).pushed, 1);
  const view = await readServer(server.endpoint);
  assert.deepEqual(view.documents.get('dead/a'), { v: 1 });
  assert.ok(!view.documents.has('dead/b'));

  await assert.rejects(client.retryFailedMutation('1'), TypeError);
  await assert.rejects(client.discardFailedMutation(-1), TypeError);
  await assert.rejects(client.discardFailedMutation(b.seq), (error) => error instanceof FerryError);
  await client.close();
  await proxy.stop();
});

test('startBackgroundSync syncs on an interval until stopBackgroundSync', async () => {
  const client = await open('interval');
  await client.put('interval', 'k', 1);
  assert.throws(() => client.startBackgroundSync('50'), TypeError);
  assert.throws(() => client.startBackgroundSync(0), TypeError);
  client.startBackgroundSync(50);
  const first = await waitForEvent(client, 'sync.completed', undefined, 10000);
  assert.equal(first.reason, 'interval');
  assert.equal(first.pushed, 1);
  await waitForEvent(client, 'sync.completed', undefined, 10000);  // and again
  client.stopBackgroundSync();
  const runs = client.statistics().runsStarted;
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(client.statistics().runsStarted, runs);
  await client.close();
  assert.throws(() => client.statistics(), FerryError);
});

test('local writes trigger a sync by themselves when autoSync is on', async () => {
  const client = await open('auto', { autoSync: true });
  const completed = waitForEvent(client, 'sync.completed', (run) => run.pushed === 1);
  await client.put('auto', 'k', 1);
  await completed;
  assert.equal(client.status().pending, 0);
  await client.close();
});

test('a refused token is refreshed once; refused again, the client waits in auth_error with every write kept', async () => {
  const asked = [];
  let signedIn = true;
  const client = await open('auth', {
    getToken: ({ refresh }) => {
      asked.push(refresh);
      if (!signedIn) return 'revoked-token';
      return refresh ? 'token-alice' : 'expired-token';
    },
  });
  await client.put('auth', 'a', 1);
  let run = await client.syncNow();
  assert.equal(run.outcome, 'completed', run.error);
  assert.deepEqual(asked, [false, true, false, true]);  // push and pull, each refused once

  signedIn = false;
  await client.put('auth', 'b', 2);
  run = await client.syncNow();
  assert.equal(run.outcome, 'failed');
  assert.match(run.error, /refused the credentials even after a token refresh/);
  assert.doesNotMatch(run.error, /revoked-token/);
  const status = client.status();
  assert.equal(status.state, 'auth_error');
  assert.equal(status.pending, 1);
  assert.equal(status.nextRetryAt, null);

  signedIn = true;
  run = await client.syncNow();
  assert.equal(run.outcome, 'completed', run.error);
  assert.equal(client.status().state, 'idle');
  assert.equal((await readServer(server.endpoint)).documents.get('auth/b'), 2);
  await client.close();
});

test('conflicts: merge combines both sides, a custom resolver decides, bad strategies are refused', async () => {
  const conflicts = {
    default: 'merge',
    collections: { counters: 'custom' },
    // Adds both sides' increments to the base: a counter that loses no update.
    resolve: ({ base, local, remote }) => ({ n: local.n + remote.n - base.n }),
  };
  const a = await open('conflict-a', { conflicts });
  const b = await open('conflict-b', { conflicts });
  await a.put('notes', 'shared', { title: 'Milk', done: false });
  await a.put('counters', 'c', { n: 10 });
  await a.syncNow();
  await b.syncNow();
  // Both edit while the other cannot see it.
  await a.patch('notes', 'shared', { title: 'Oat milk' });
  await a.patch('counters', 'c', { n: 13 });
  await b.patch('notes', 'shared', { done: true });
  await b.patch('counters', 'c', { n: 15 });
  await a.syncNow();
  const seen = [];
  b.addEventListener('sync.conflict', (event) => seen.push(event.detail));
  assert.equal((await b.syncNow()).conflicts, 2);
  await a.syncNow();
  for (const client of [a, b]) {
    assert.deepEqual(await client.get('notes', 'shared'), { title: 'Oat milk', done: true });
    assert.deepEqual(await client.get('counters', 'c'), { n: 18 });
  }
  assert.deepEqual(seen.map((conflict) => conflict.resolution).sort(), ['custom', 'merged']);
  assert.deepEqual(seen.find((conflict) => conflict.resolution === 'custom').resolved, { deleted: false, value: { n: 18 } });
  await a.close();
  await b.close();

  await assert.rejects(open('conflict-bad', { conflicts: { default: 'newestWins' } }), (error) => error instanceof FerryError && error.code === 'invalid_argument');
  await assert.rejects(open('conflict-bad2', { conflicts: { resolve: 5 } }), TypeError);
});

test('live updates: a client that never syncs by itself sees another client\'s write', async () => {
  const writer = await open('live-writer');
  const reader = await open('live-reader', { liveUpdates: true });
  for (let i = 0; i < 3; ++i) {
    const seen = waitForEvent(reader, 'change', (detail) => detail.remote && detail.documents.some((d) => d.key === `l${i}`), 10000);
    await writer.put('live', `l${i}`, { i });
    await writer.syncNow();
    await seen;
    assert.deepEqual(await reader.get('live', `l${i}`), { i });
  }
  await writer.close();
  await reader.close();
});

test('an unreachable server is reported offline, as natively, and the writes wait', async () => {
  const client = await FerryClient.open({
    name: 'unreachable',
    endpoint: 'http://127.0.0.1:9',  // nothing listens there
    getToken: () => 'token-alice',
    directory: join(tempDir(), 'unreachable'),
    autoSync: false,
    liveUpdates: false,
  });
  await client.put('notes', 'a', { a: 1 });
  const run = await client.syncNow();
  assert.equal(run.outcome, 'failed');
  assert.match(run.error, /network|connect|fetch/i, 'the run keeps what went wrong');
  assert.equal(client.status().state, 'offline');
  assert.equal(client.status().lastError, '', 'offline is a state, not an error to show');
  assert.equal(client.status().pending, 1);
  await client.close();
});

test('a server that comes back is found by a reachability probe, and networkChanged probes at once', async () => {
  // An hour's run backoff: the retry it schedules cannot come before the probe
  // (full jitter could draw 100 ms from the default 1 s and win the race).
  const client = await open('probe', { backoffBaseMs: 3_600_000, backoffMaxMs: 3_600_000 });
  await server.halt();
  try {
    await client.put('notes', 'a', { a: 1 });
    const failed = await client.syncNow();
    assert.equal(failed.outcome, 'failed');
    assert.equal(client.status().state, 'offline');
    client.networkChanged();  // still away: the probe gets no answer, nothing changes
    assert.equal(client.status().pending, 1);
  } finally {
    await server.start();
  }
  const back = Date.now();
  client.networkChanged();
  while (client.status().pending > 0 && Date.now() - back < 10_000) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(client.status().pending, 0);
  assert.ok(Date.now() - back < 3000, `pushed ${Date.now() - back} ms after the server returned`);
  // The push is committed (pending 0) before its run ends: it pulls next and
  // is recorded when that pull is answered.
  const reachableRun = () => client.history(5).some((run) => run.reason === 'reachable' && run.outcome === 'completed');
  while (!reachableRun() && Date.now() - back < 10_000) await new Promise((resolve) => setTimeout(resolve, 20));
  const runs = client.history(5);
  assert.ok(runs.some((run) => run.reason === 'reachable' && run.outcome === 'completed'), JSON.stringify(runs));
  assert.deepEqual((await readServer(server.endpoint)).documents.get('notes/a'), { a: 1 });
  await client.close();
});

test('a getToken that throws is an auth error that keeps every write', async () => {
  const client = await open('token-throws', { getToken: () => { throw new Error('session gone'); } });
  await client.put('notes', 'never-sent', { a: 1 });
  const run = await client.syncNow();
  assert.equal(run.outcome, 'failed');
  assert.match(run.error, /session gone/);
  assert.equal(client.status().state, 'auth_error');
  assert.equal(client.status().pending, 1);
  assert.equal((await readServer(server.endpoint)).documents.has('notes/never-sent'), false);
  await client.close();
});

test('a token holding CR or LF never becomes a header: an auth error that says why and keeps every write', async () => {
  const token = 'token-alice\r\nX-Injected: 1';
  const client = await open('token-crlf', { getToken: () => token });
  await client.put('notes', 'kept', { a: 1 });
  const run = await client.syncNow();
  assert.equal(run.outcome, 'failed');
  assert.match(run.error, /control character/);
  assert.ok(!run.error.includes(token), 'the token is not shown');
  assert.equal(client.status().state, 'auth_error');
  assert.equal(client.status().pending, 1);
  assert.equal((await readServer(server.endpoint)).documents.has('notes/kept'), false);
  await client.close();
});

test('an answer larger than 64 MiB is refused, as natively, and nothing is lost', async () => {
  const proxy = await startProxy(server.endpoint);
  const client = await open('huge-answer', { endpoint: proxy.endpoint });
  await client.put('notes', 'huge-answer', { a: 1 });
  proxy.faults.push('huge');
  const failed = await client.syncNow();
  assert.equal(failed.outcome, 'failed');
  assert.match(failed.error, /response larger than 67108864 bytes/);
  assert.equal(client.status().pending, 1);
  const retried = await client.syncNow();
  assert.equal(retried.outcome, 'completed', retried.error);
  assert.equal(client.status().pending, 0);
  assert.deepEqual((await readServer(server.endpoint)).documents.get('notes/huge-answer'), { a: 1 });
  await client.close();
  await proxy.stop();
});

test('a plain http:// endpoint to a host that is not loopback is warned of, once per client', async (t) => {
  const warn = t.mock.method(console, 'warn', () => {});
  const cleartext = () => warn.mock.calls.filter((call) => /plain http:\/\//.test(String(call.arguments[0]))).length;
  const remote = await open('cleartext', { endpoint: 'http://sync.example.invalid:8080' });
  assert.equal(cleartext(), 1);
  await remote.close();
  for (const endpoint of [server.endpoint, 'http://localhost:9', 'https://sync.example.invalid']) {
    const quiet = await open('not-cleartext', { endpoint });
    await quiet.close();
  }
  assert.equal(cleartext(), 1, 'loopback and https:// are not warned of');
});
