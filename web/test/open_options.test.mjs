// The engine options settable from JavaScript (issue 17: backoff bounds,
// batch limits, pull page size, history limit, a log hook, custom request
// headers), on either implementation (web/test.sh runs this file with
// FERRY_SYNC_IMPLEMENTATION=wasm and =native): wrong values are refused with
// a TypeError naming the option, and each option has its effect against a
// real ferry-server on loopback, behind a proxy that counts the requests.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { FerryClient, FerryError } from 'ferry-sync';

import { startProxy, startServer, tempDir } from './helpers.mjs';

let server;
let proxy;
before(async () => {
  server = await startServer();
  proxy = await startProxy(server.endpoint);
});
after(async () => {
  await proxy.stop();
  await server.stop();
});

function open(name, overrides = {}) {
  return FerryClient.open({
    name,
    endpoint: proxy.endpoint,
    getToken: () => 'token-alice',
    directory: join(tempDir(), name),
    autoSync: false,
    liveUpdates: false,
    ...overrides,
  });
}

/** The requests the proxy saw from now on, for `path` (e.g. "/v1/pull"). */
function requestsFrom(path) {
  const start = proxy.seen.length;
  return () => proxy.seen.slice(start).filter((request) => request.url.startsWith(path));
}

test('wrong option values are a TypeError naming the option', async () => {
  const wrong = {
    backoffBaseMs: [0, -1, 1.5, '1000', 2 ** 33, NaN],
    backoffMaxMs: [0, Infinity],
    pushBatchSize: [0, 2.5, null],
    pushBatchBytes: [-4, '1'],
    pullPageSize: [0, 2 ** 32, true],
    historyLimit: [0, 1e300],
    log: ['console', 1, {}],
    headers: ['X-API-Key: 1', ['X-API-Key', '1'], { 'X-API-Key': 1 }, { 'X-API-Key': null }],
  };
  for (const [option, values] of Object.entries(wrong)) {
    for (const value of values) {
      await assert.rejects(open('wrong', { [option]: value }), (error) => {
        assert.ok(error instanceof TypeError, `${option}: ${value}: ${error}`);
        assert.match(error.message, new RegExp(`options\\.${option}`));
        return true;
      });
    }
  }
});

test('headers the native rule refuses are refused at open, naming the header, never its value', async () => {
  const refused = [
    [{ 'Content-Type': 'text/plain' }, {}],
    [{ 'X-API-Key': 'secret\r\nInjected: 1' }, {}],
    [{ 'Bad Name': 'v' }, {}],
    [{ Authorization: 'ApiKey secret' }, {}],  // beside getToken, which carries Authorization
  ];
  for (const [headers] of refused) {
    await assert.rejects(open('refused-header', { headers }), (error) => {
      assert.ok(error instanceof FerryError, String(error));
      assert.equal(error.code, 'invalid_argument');
      assert.doesNotMatch(error.message, /secret/);
      return true;
    });
  }
});

test('custom headers reach the server on push and pull; without getToken an Authorization of the app is allowed', async () => {
  const client = await open('headers', { headers: { 'X-API-Key': 'key-123', 'X-Tenant': 'acme' } });
  const seen = requestsFrom('/v1/');
  await client.put('notes', 'n', { v: 1 });
  assert.equal((await client.syncNow()).outcome, 'completed');
  const requests = seen();
  assert.ok(requests.some((request) => request.url.startsWith('/v1/push')), 'a push was sent');
  assert.ok(requests.some((request) => request.url.startsWith('/v1/pull')), 'a pull was sent');
  for (const request of requests) {
    assert.equal(request.headers['x-api-key'], 'key-123', request.url);
    assert.equal(request.headers['x-tenant'], 'acme', request.url);
    assert.equal(request.headers.authorization, 'Bearer token-alice', request.url);
  }
  await client.close();

  // The "instead of the bearer token" scheme: the app's own Authorization.
  const own = await open('own-authorization', { getToken: undefined, headers: { Authorization: 'Bearer token-alice' } });
  const ownSeen = requestsFrom('/v1/');
  assert.equal((await own.syncNow()).outcome, 'completed');
  assert.ok(ownSeen().length > 0);
  for (const request of ownSeen()) assert.equal(request.headers.authorization, 'Bearer token-alice');
  await own.close();
});

test('pullPageSize 10 pulls 25 documents in 3 pages', async () => {
  const writer = await open('pages-writer');
  await writer.write(Array.from({ length: 25 }, (_, i) => ({ op: 'put', collection: 'paged', key: `d${String(i).padStart(2, '0')}`, value: { i } })));
  assert.equal((await writer.syncNow()).outcome, 'completed');
  await writer.close();

  const reader = await open('pages-reader', { pullPageSize: 10 });
  const pulls = requestsFrom('/v1/pull');
  const run = await reader.syncNow();
  assert.equal(run.outcome, 'completed');
  assert.ok(run.pulled >= 25, `pulled ${run.pulled}`);
  assert.equal((await reader.scan('paged')).length, 25);
  // Every change the server holds for alice (the 25, and a few from the
  // tests before), in pages of at most 10; with the default, one page.
  const pages = pulls().length;
  assert.ok(pages >= 3 && pages <= Math.ceil(run.pulled / 10) + 1, `${pages} pulls for ${run.pulled} changes`);
  for (const request of pulls()) assert.match(request.url, /[?&]limit=10(&|$)/);
  await reader.close();
});

test('pushBatchSize 2 pushes 5 writes in 3 requests', async () => {
  const client = await open('batches', { pushBatchSize: 2 });
  await client.write(Array.from({ length: 5 }, (_, i) => ({ op: 'put', collection: 'batched', key: `b${i}`, value: { i } })));
  const pushes = requestsFrom('/v1/push');
  const run = await client.syncNow();
  assert.equal(run.outcome, 'completed');
  assert.equal(run.pushed, 5);
  assert.equal(pushes().length, 3);
  await client.close();
});

test('historyLimit 2 keeps the 2 newest runs', async () => {
  const client = await open('history', { historyLimit: 2 });
  const runs = [];
  for (let i = 0; i < 4; ++i) runs.push(await client.syncNow());
  const kept = client.history(10);
  assert.equal(kept.length, 2);
  assert.deepEqual(kept.map((run) => run.id).sort(), runs.slice(2).map((run) => run.id).sort());
  await client.close();
});

test('the log hook receives the engine host\'s lines, never a token or a header value', async () => {
  const lines = [];
  const client = await open('logged', {
    headers: { 'X-API-Key': 'key-secret-456' },
    log: (level, message) => lines.push({ level, message }),
  });
  await client.put('notes', 'logged', { v: 1 });
  await client.syncNow();
  await client.close();
  assert.ok(lines.length > 0, 'no log line');
  for (const { level, message } of lines) {
    assert.ok([0, 1, 2, 3].includes(level), `level ${level}`);
    assert.equal(typeof message, 'string');
    assert.doesNotMatch(message, /token-alice|key-secret-456/);
  }
});

test('a log hook that throws does not break the client', async () => {
  const client = await open('log-throws', { log: () => { throw new Error('from the hook'); } });
  await client.put('notes', 'x', { v: 1 });
  assert.equal((await client.syncNow()).outcome, 'completed');
  await client.close();
});

test('backoff bounds are taken: a failed run retries within backoffMaxMs', async () => {
  const client = await open('backoff', { endpoint: 'http://127.0.0.1:9', backoffBaseMs: 1, backoffMaxMs: 5 });
  await client.put('notes', 'waiting', { v: 1 });
  const failed = [];
  client.addEventListener('sync.failed', (event) => failed.push(event.detail));
  await client.syncNow();
  // With a 5 ms cap the automatic retries follow each other quickly; with
  // the default (1 s base) there would be none within half a second.
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.ok(failed.length >= 3, `${failed.length} failed runs in 500 ms`);
  await client.close();
});
