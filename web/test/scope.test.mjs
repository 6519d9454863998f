// Sync direction, full resync and scope in Node (issue 17), on either
// implementation (web/test.sh runs this file with
// FERRY_SYNC_IMPLEMENTATION=wasm and =native), against a real ferry-server
// on loopback: push-only and pull-only runs, a resync that keeps pending
// writes, upload-only collections, a pull scope that widens, local
// retention (evict, and a rule), and deferrable writes on a metered
// connection.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { FerryClient, FerryError } from 'ferry-sync';

import { openTestClient, readServer, startServer, tempDir, waitUntil } from './helpers.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
});

const open = (name, overrides) => openTestClient(FerryClient, server.endpoint, name, overrides);

test('a push-only run sends the writes and pulls nothing; a pull-only run pulls and keeps the writes', async () => {
  const writer = await open('direction-writer');
  await writer.put('notes', 'from-writer', { v: 1 });
  await writer.syncNow();
  const client = await open('direction-client');
  const started = [];
  client.addEventListener('sync.started', (event) => started.push(event.detail.direction));
  await client.put('notes', 'mine', { v: 2 });

  const pushed = await client.syncNow({ direction: 'push' });
  assert.deepEqual([pushed.direction, pushed.outcome, pushed.pushed, pushed.pulled], ['push', 'completed', 1, 0]);
  assert.equal(await client.get('notes', 'from-writer'), undefined, 'a push-only run pulls nothing');
  assert.deepEqual((await readServer(server.endpoint)).documents.get('notes/mine'), { v: 2 });

  await client.put('notes', 'later', { v: 3 });
  const pulled = await client.syncNow({ direction: 'pull', reason: 'manual' });
  assert.deepEqual([pulled.direction, pulled.pushed], ['pull', 0]);
  assert.ok(pulled.pulled >= 1, `pulled ${pulled.pulled}`);
  assert.deepEqual(await client.get('notes', 'from-writer'), { v: 1 });
  assert.equal(client.status().pending, 1, 'a pull-only run leaves the write queued');
  assert.equal((await readServer(server.endpoint)).documents.has('notes/later'), false);

  assert.equal((await client.syncNow()).direction, 'both');
  assert.deepEqual(started, ['push', 'pull', 'both']);
  await Promise.all([writer.close(), client.close()]);
});

test('syncNow refuses a direction or a request it does not know', async () => {
  const client = await open('direction-checked');
  await assert.rejects(client.syncNow({ direction: 'up' }), { name: 'TypeError', message: /direction must be "push", "pull" or "both"/ });
  await assert.rejects(client.syncNow({ direction: 1 }), TypeError);
  await assert.rejects(client.syncNow(7), TypeError);
  await assert.rejects(client.syncNow('sideways'), { name: 'TypeError', message: /reason must be/ });
  await client.close();
});

test('a resync pulls everything again and keeps pending writes', async () => {
  const writer = await open('resync-writer');
  for (let i = 0; i < 3; ++i) await writer.put('resync', `n${i}`, { i });
  await writer.syncNow();
  const reader = await open('resync-reader', { pullCollections: ['resync'] });
  assert.equal((await reader.syncNow()).pulled, 3);
  assert.equal((await reader.syncNow()).pulled, 0, 'an ordinary pull starts at the cursor');
  await reader.put('resync', 'local', { v: 9 });
  const run = await reader.resync();
  assert.deepEqual([run.outcome, run.pushed, run.pulled], ['completed', 1, 4], 'everything, from the start');
  assert.equal(reader.statistics().fullResyncs, 1);
  assert.deepEqual(await reader.get('resync', 'local'), { v: 9 });
  assert.deepEqual(await reader.get('resync', 'n2'), { i: 2 });
  await Promise.all([writer.close(), reader.close()]);
});

test('upload-only readings reach the server and never another device', async () => {
  const a = await open('upload-a', { uploadOnly: ['readings'] });
  const b = await open('upload-b', { uploadOnly: ['readings'] });
  await a.put('readings', 'r1', { celsius: 21 });
  await a.put('upload-notes', 'n1', { t: 'x' });
  assert.equal((await a.syncNow()).outcome, 'completed');
  assert.deepEqual((await readServer(server.endpoint)).documents.get('readings/r1'), { celsius: 21 });
  assert.equal((await b.syncNow()).outcome, 'completed');
  assert.deepEqual(await b.get('upload-notes', 'n1'), { t: 'x' });
  assert.equal(await b.get('readings', 'r1'), undefined);
  assert.deepEqual(await a.get('readings', 'r1'), { celsius: 21 }, 'the writer keeps its own reading');
  await Promise.all([a.close(), b.close()]);
});

test('a pull scope leaves other collections out until it widens, keeping pending writes', async () => {
  const writer = await open('scope-writer');
  await writer.put('scope-notes', 'n1', 1);
  await writer.put('scope-tasks', 't1', 2);
  await writer.syncNow();
  const directory = join(tempDir(), 'scope-reader');
  let reader = await open('scope-reader', { directory, pullCollections: ['scope-notes'] });
  assert.equal((await reader.syncNow({ direction: 'pull' })).outcome, 'completed');
  assert.equal(await reader.get('scope-notes', 'n1'), 1);
  assert.equal(await reader.get('scope-tasks', 't1'), undefined);
  await reader.put('scope-tasks', 'mine', 3);
  await reader.close();

  reader = await open('scope-reader', { directory, pullCollections: ['scope-notes', 'scope-tasks'] });
  assert.equal((await reader.syncNow({ direction: 'pull' })).outcome, 'completed');
  assert.equal(await reader.get('scope-tasks', 't1'), 2, 'the widened scope arrives whole');
  await reader.close();

  reader = await open('scope-reader', { directory, pullCollections: [] });
  assert.equal((await reader.syncNow({ direction: 'pull' })).outcome, 'completed');
  assert.equal(await reader.get('scope-notes', 'n1'), undefined, 'what left the scope is forgotten');
  assert.equal(await reader.get('scope-tasks', 'mine'), 3, 'a pending write is kept');
  assert.equal(reader.status().pending, 1);
  await Promise.all([writer.close(), reader.close()]);
});

test('on a metered connection deferrable writes wait for syncNow or the end of it', async () => {
  // Syncs after each write: the runs the client starts itself are the ones
  // a metered connection defers (a syncNow asks for everything).
  const device = await open('metered-device', { deferrable: ['meter'], autoSync: true });
  const other = await open('metered-other');
  assert.throws(() => device.setMetered('yes'), TypeError);
  device.setMetered(true);
  await device.put('meter', 'r1', { c: 21 });
  await device.put('notes', 'metered-n1', { v: 1 });
  await waitUntil(() => device.status().pending === 1, 'the note to go up and the reading to wait', 10_000);
  assert.deepEqual((await device.pendingMutations()).map(({ key }) => key), ['r1']);
  await other.syncNow();
  assert.deepEqual([await other.get('notes', 'metered-n1'), await other.get('meter', 'r1')], [{ v: 1 }, undefined]);

  const asked = await device.syncNow();  // the app asked: everything goes
  assert.equal(asked.pushed, 1);
  await device.put('meter', 'r2', { c: 22 });  // starts no sync
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(device.status().pending, 1);
  device.setMetered(false);  // a sync starts and sends it
  await waitUntil(() => device.status().pending === 0, 'the deferred reading to go up', 10_000);
  await other.syncNow();
  assert.deepEqual([await other.get('meter', 'r1'), await other.get('meter', 'r2')], [{ c: 21 }, { c: 22 }]);
  await device.close();
  await other.close();
});

test('the scope options are checked at open', async () => {
  await assert.rejects(open('scope-s1', { uploadOnly: 'readings' }), { name: 'TypeError', message: /options\.uploadOnly must be an array of collection names/ });
  await assert.rejects(open('scope-s4', { deferrable: 'readings' }), { name: 'TypeError', message: /options\.deferrable must be an array of collection names/ });
  await assert.rejects(open('scope-s5', { deferrable: [''] }), (error) => error instanceof FerryError && error.code === 'invalid_argument');
  await assert.rejects(open('scope-s2', { pullCollections: [1] }), { name: 'TypeError', message: /options\.pullCollections/ });
  await assert.rejects(open('scope-s3', { pullCollections: [''] }), (error) => error instanceof FerryError && error.code === 'invalid_argument');
});

test('evict drops synced documents here only, keeps pending ones, and says so in a change event', async () => {
  const client = await open('evict');
  const changes = [];
  client.subscribe((change) => changes.push(change));
  for (const key of ['a', 'b', 'c']) await client.put('evict-notes', key, key);
  assert.equal((await client.syncNow()).pushed, 3);
  await client.put('evict-notes', 'b', 'again');  // pending: stays
  assert.equal(await client.evict('evict-notes', ['a', 'b']), 1);
  assert.equal(await client.get('evict-notes', 'a'), undefined);
  assert.equal(await client.get('evict-notes', 'b'), 'again');
  assert.equal(await client.evict('evict-notes'), 1, 'c; b is still pending');
  assert.deepEqual((await client.scan('evict-notes')).map((doc) => doc.key), ['b']);
  const evicted = changes.filter((change) => change.evicted).flatMap((change) => change.documents.map((doc) => doc.key));
  assert.deepEqual(evicted, ['a', 'c']);
  assert.ok(changes.every((change) => typeof change.evicted === 'boolean'));
  assert.equal(client.statistics().documentsEvicted, 2);
  const { documents } = await readServer(server.endpoint);
  assert.deepEqual(['a', 'b', 'c'].map((key) => documents.get(`evict-notes/${key}`)), ['a', 'b', 'c'], 'the server keeps them');
  await assert.rejects(client.evict('evict-notes', 'a'), TypeError);
  await assert.rejects(client.evict(''), (error) => error instanceof FerryError && error.code === 'invalid_argument');
  await client.close();
});

test('a retention rule keeps the most recently synced documents', async () => {
  const client = await open('retained', { retention: { 'retained-readings': { maxCount: 2 } } });
  for (let i = 0; i < 4; ++i) {
    await client.put('retained-readings', `r${i}`, i);
    assert.equal((await client.syncNow()).outcome, 'completed');
  }
  assert.deepEqual((await client.scan('retained-readings')).map((doc) => doc.key), ['r2', 'r3']);
  await client.close();
  await assert.rejects(open('retained-bad', { retention: { readings: { maxCount: -1 } } }), { name: 'TypeError', message: /options\.retention\.readings\.maxCount/ });
  // Above what every runtime reads as a count: refused by name, not turned into 'a rule with neither bound'.
  await assert.rejects(open('retained-huge', { retention: { readings: { maxCount: 2 ** 32 } } }), { name: 'TypeError', message: /options\.retention\.readings\.maxCount/ });
  await assert.rejects(open('retained-none', { retention: { readings: {} } }), (error) => error instanceof FerryError && error.code === 'invalid_argument');
});
