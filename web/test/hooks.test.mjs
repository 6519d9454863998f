// Hooks (issue 17), in Node on either implementation (web/test.sh runs this
// file with FERRY_SYNC_IMPLEMENTATION=wasm and =native), against a real
// ferry-server on loopback: beforePush rewrites and refuses writes,
// afterPull rewrites and keeps out pulled changes, beforeRun postpones runs,
// and a hook that throws or answers wrongly fails the run and loses nothing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { FerryClient } from 'ferry-sync';

import { openTestClient, startServer } from './helpers.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
});

const open = (name, overrides) => openTestClient(FerryClient, server.endpoint, name, overrides);

test('beforePush rewrites and refuses writes, afterPull rewrites and keeps out changes', async () => {
  const pushed = [];
  const device = await open('hooks-device', {
    hooks: {
      beforePush(write) {
        pushed.push(write);
        if (write.collection === 'secrets') return { refuse: 'secrets stay on the device' };
        if (write.key === 'loud') return { value: { text: write.value.text.toUpperCase() } };
      },
      afterPull(change) {
        if (change.key === 'hidden') return { refuse: 'not for this device' };
        if (change.key === 'tagged') return { value: { ...change.value, seen: true } };
      },
    },
  });
  const other = await open('hooks-other');
  await device.put('secrets', 's1', { pin: 1 });
  await device.put('notes', 'loud', { text: 'hello' });
  await device.put('notes', 'plain', { text: 'as is' });
  const run = await device.syncNow();
  assert.deepEqual([run.outcome, run.pushed, run.rejected], ['completed', 2, 1]);
  const written = pushed.find((write) => write.key === 'loud');
  assert.deepEqual([written.op, written.collection, written.value], ['put', 'notes', { text: 'hello' }]);
  assert.ok(written.seq > 0 && typeof written.hlc === 'string');
  const [failed, ...more] = device.failedMutations();
  assert.deepEqual([failed.collection, failed.key, failed.error, more], ['secrets', 's1', 'secrets stay on the device', []]);
  // The rewrite is what went up, and the device keeps it as it was written.
  await other.syncNow();
  assert.deepEqual(await other.get('notes', 'loud'), { text: 'HELLO' });
  assert.deepEqual(await other.get('notes', 'plain'), { text: 'as is' });
  assert.equal(await other.get('secrets', 's1'), undefined);

  await other.put('notes', 'hidden', { v: 1 });
  await other.put('notes', 'tagged', { v: 2 });
  await other.syncNow();
  await device.syncNow();
  assert.equal(await device.get('notes', 'hidden'), undefined);
  assert.deepEqual(await device.get('notes', 'tagged'), { v: 2, seen: true });
  await device.close();
  await other.close();
});

test('beforeRun postpones runs until it lets them go; the writes wait', async () => {
  let foreground = false;
  const asked = [];
  const client = await open('hooks-postpone', {
    hooks: {
      beforeRun(run) {
        asked.push(run);
        return foreground;
      },
    },
  });
  await client.put('notes', 'later', { v: 1 });
  const postponed = await client.syncNow({ direction: 'push' });
  assert.deepEqual([postponed.outcome, postponed.error, postponed.pushed], ['cancelled', 'postponed', 0]);
  assert.deepEqual(asked.at(-1), { reason: 'manual', direction: 'push' });
  assert.equal(client.status().pending, 1);
  foreground = true;
  const run = await client.syncNow();
  assert.deepEqual([run.outcome, run.pushed], ['completed', 1]);
  await client.close();
});

test('a hook that throws, answers a promise or answers wrongly fails the run and loses nothing', async () => {
  let answer = () => {
    throw new Error('bug in the hook');
  };
  const client = await open('hooks-failing', { hooks: { beforePush: () => answer() } });
  await client.put('notes', 'n1', { v: 1 });
  const answers = [
    [answer, /hooks\.beforePush threw: bug in the hook/],
    [() => Promise.resolve(), /answer synchronously/],
    [() => ({ value: undefined }), /must return nothing, \{ value \} or \{ refuse: reason \}/],
    [() => 7, /must return nothing/],
  ];
  for (const [given, error] of answers) {
    answer = given;
    const run = await client.syncNow();
    assert.equal(run.outcome, 'failed');
    assert.match(run.error, error);
    assert.equal(client.status().pending, 1);
  }
  answer = () => undefined;
  const run = await client.syncNow();
  assert.deepEqual([run.outcome, run.pushed], ['completed', 1]);
  await client.close();
});

test('hooks must be functions', async () => {
  await assert.rejects(open('hooks-bad', { hooks: { beforePush: 'no' } }), /options\.hooks\.beforePush must be a function/);
  await assert.rejects(open('hooks-bad', { hooks: 3 }), /options\.hooks must be an object/);
});
