// Queue control in Node (issue 17), on either implementation (web/test.sh
// runs this file with FERRY_SYNC_IMPLEMENTATION=wasm and =native): the
// pending listing, the cap on attempts, dead letters discarded by age, and
// clearing the history, against a real ferry-server on loopback.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { FerryClient } from 'ferry-sync';

import { startServer, tempDir, waitUntil } from './helpers.mjs';

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
    liveUpdates: false,
    ...overrides,
  });
}

test('pendingMutations lists waiting writes in pages, with attempts and the last error', async () => {
  const client = await open('pending-pages');
  for (let i = 0; i < 5; ++i) await client.put('notes', `n${i}`, { i });
  await client.remove('notes', 'gone');
  const first = await client.pendingMutations({ limit: 2 });
  assert.deepEqual(first.map((m) => m.key), ['n0', 'n1']);
  assert.deepEqual(
    { ...first[0], seq: 0 },
    { seq: 0, op: 'put', collection: 'notes', key: 'n0', attempts: 0, lastAttemptAt: null, lastError: null },
  );
  const second = await client.pendingMutations({ afterSeq: first.at(-1).seq, limit: 2 });
  assert.deepEqual(second.map((m) => m.key), ['n2', 'n3']);
  const rest = await client.pendingMutations({ afterSeq: second.at(-1).seq });
  assert.deepEqual(rest.map((m) => [m.key, m.op]), [['n4', 'put'], ['gone', 'delete']]);
  assert.deepEqual(await client.pendingMutations({ afterSeq: rest.at(-1).seq }), []);
  assert.equal((await client.pendingMutations()).length, 6);
  await client.close();
});

test('transient failures count until maxAttempts dead-letters the write with its last error', async () => {
  const client = await open('capped', { endpoint: 'http://127.0.0.1:9', maxAttempts: 3 });  // nothing listens there
  const rejected = [];
  client.addEventListener('mutation.rejected', (event) => rejected.push(event.detail));
  await client.put('notes', 'stuck', { v: 1 });
  assert.equal((await client.syncNow()).outcome, 'failed');
  const [pending] = await client.pendingMutations();
  assert.equal(pending.key, 'stuck');
  assert.ok(pending.attempts >= 1, `attempts ${pending.attempts}`);
  assert.match(pending.lastError, /network|connect|fetch/i);
  assert.ok(Math.abs(pending.lastAttemptAt - Date.now()) < 60_000, `lastAttemptAt ${pending.lastAttemptAt}`);
  // Each failed push counts, the automatic retry's too.
  for (let i = 0; i < 10 && client.failedMutations().length === 0; ++i) await client.syncNow();
  const [failed] = client.failedMutations();
  assert.equal(failed?.key, 'stuck');
  assert.equal(failed.attempts, 3);
  assert.match(failed.error, /network|connect|fetch/i);
  assert.deepEqual(await client.pendingMutations(), []);
  assert.equal(client.status().failed, 1);
  assert.equal(client.status().pending, 0);
  assert.equal(rejected.length, 1);
  assert.equal(rejected[0].mutation.key, 'stuck');
  assert.equal(rejected[0].error, failed.error);
  await client.close();
});

test('without maxAttempts a write waits through any number of failures', async () => {
  const client = await open('uncapped', { endpoint: 'http://127.0.0.1:9' });
  await client.put('notes', 'waiting', { v: 1 });
  for (let i = 0; i < 4; ++i) await client.syncNow();
  const [pending] = await client.pendingMutations();
  assert.ok(pending.attempts >= 4, `attempts ${pending.attempts}`);
  assert.deepEqual(client.failedMutations(), []);
  await client.close();
});

test('dead letters older than deadLetterMaxAgeMs are discarded as time passes', async () => {
  const client = await open('aging', { endpoint: 'http://127.0.0.1:9', maxAttempts: 1, deadLetterMaxAgeMs: 1500 });
  await client.put('notes', 'doomed', { v: 1 });
  await client.syncNow();
  assert.equal(client.failedMutations().length, 1);
  await waitUntil(() => client.failedMutations().length === 0, 'the dead letter to be discarded', 10_000);
  assert.equal(client.status().failed, 0);
  await client.close();
});

test('the conflict log lists each resolution, pages by id and clears', async () => {
  const other = await open('log-other');
  const device = await open('log-device', { conflicts: { collections: { tasks: 'merge' } } });
  const conflict = async (collection, key) => {
    await other.put(collection, key, { by: 'other', n: 1 });
    // A field only the device writes: a merge keeps it whichever stamp
    // wins "by" (two writes in one millisecond order by client id).
    await device.put(collection, key, { by: 'device', mine: true });
    await other.syncNow();
    return device.syncNow();
  };
  await conflict('notes', 'n1');
  const run = await conflict('tasks', 't1');
  const log = await device.conflictLog();
  assert.deepEqual(log.map(({ collection, key, strategy, winner, resolution }) => [collection, key, strategy, winner, resolution]), [
    ['notes', 'n1', 'serverWins', 'server', 'server_wins'],
    ['tasks', 't1', 'merge', 'new', 'merged'],
  ]);
  assert.ok(log[0].id < log[1].id && log[1].runId === run.id && log[1].serverVersion > 0);
  assert.ok(Math.abs(log[1].at - Date.now()) < 60_000);
  assert.deepEqual(await device.conflictLog({ afterId: log[0].id, limit: 1 }), [log[1]]);
  assert.deepEqual(await other.conflictLog(), []);
  await device.clearConflictLog();
  assert.deepEqual(await device.conflictLog(), []);
  await assert.rejects(device.conflictLog({ afterId: -1 }), TypeError);
  await assert.rejects(device.conflictLog({ limit: 'ten' }), TypeError);
  await other.close();
  await device.close();
});

test('conflictLogLimit bounds the conflict log, and 0 records nothing', async () => {
  const other = await open('bound-other');
  const kept = await open('bound-kept', { conflictLogLimit: 1 });
  const none = await open('bound-none', { conflictLogLimit: 0 });
  for (const key of ['k1', 'k2']) {
    await other.put('notes', key, { by: 'other' });
    await kept.put('notes', key, { by: 'kept' });
    await none.put('notes', key, { by: 'none' });
  }
  await other.syncNow();
  assert.equal((await kept.syncNow()).conflicts, 2);
  assert.equal((await none.syncNow()).conflicts, 2);
  assert.deepEqual((await kept.conflictLog()).map((entry) => entry.key), ['k2']);
  assert.deepEqual(await none.conflictLog(), []);
  await assert.rejects(open('bound-bad', { conflictLogLimit: -1 }), { name: 'TypeError', message: /conflictLogLimit/ });
  for (const client of [other, kept, none]) await client.close();
});

test('clearHistory forgets runs, or all but the latest', async () => {
  const client = await open('history');
  for (let i = 0; i < 3; ++i) assert.equal((await client.syncNow()).outcome, 'completed');
  const runs = client.history();
  assert.equal(runs.length, 3);
  await client.clearHistory({ keepLatest: true });
  assert.deepEqual(client.history().map((run) => run.id), [runs[0].id]);
  await client.clearHistory();
  assert.deepEqual(client.history(), []);
  await client.syncNow();
  assert.equal(client.history().length, 1);
  await client.close();
});

test('queue control options and arguments are checked', async () => {
  for (const [option, value] of [['maxAttempts', 0], ['maxAttempts', 1.5], ['maxAttempts', '3'], ['deadLetterMaxAgeMs', -1], ['deadLetterMaxAgeMs', 0]]) {
    await assert.rejects(open(`bad-${option}`, { [option]: value }), (error) => error instanceof TypeError && error.message.includes(option), `${option}: ${value}`);
  }
  const client = await open('arguments');
  await assert.rejects(client.pendingMutations({ afterSeq: -1 }), TypeError);
  await assert.rejects(client.pendingMutations({ limit: 'all' }), TypeError);
  await assert.rejects(client.pendingMutations(null), TypeError);
  await assert.rejects(client.clearHistory({ keepLatest: 'yes' }), TypeError);
  await client.close();
});
