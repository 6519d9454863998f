// Conflicts a person resolves (issue 17), in Node on either implementation
// (web/test.sh runs this file with FERRY_SYNC_IMPLEMENTATION=wasm and
// =native), against a real ferry-server on loopback: the "manual" strategy
// keeps a conflict open across a reopen until resolveConflict settles it,
// and a conflicts.resolve that returns a promise keeps it open until the
// promise settles.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { FerryClient, FerryError } from 'ferry-sync';

import { openTestClient, startServer, tempDir, waitForEvent, waitUntil } from './helpers.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
});

const open = (name, overrides) => openTestClient(FerryClient, server.endpoint, name, overrides);

/** Both hold {v: 0}; `other` writes {v: 1} and syncs first, then `device`'s {v: 2} meets it. */
async function makeConflict(device, other, key) {
  await other.put('notes', key, { v: 0 });
  await other.syncNow();
  await device.syncNow();
  await other.put('notes', key, { v: 1 });
  await other.syncNow();
  await device.put('notes', key, { v: 2 });
  return device.syncNow();
}

test('a manual conflict stays open across a reopen until resolveConflict settles it', async () => {
  // The same directory both times: openTestClient makes a new one per call.
  const manual = { conflicts: { collections: { notes: 'manual' } }, directory: join(tempDir(), 'manual-device') };
  const other = await open('manual-other');
  let device = await open('manual-device', manual);
  const event = waitForEvent(device, 'sync.conflict');
  const run = await makeConflict(device, other, 'n1');
  assert.equal((await event).resolution, 'manual');

  const [conflict, ...rest] = await device.conflicts();
  assert.deepEqual(rest, []);
  assert.deepEqual(
    [conflict.collection, conflict.key, conflict.strategy, conflict.base, conflict.local, conflict.remote],
    ['notes', 'n1', 'manual', { v: 0 }, { v: 2 }, { v: 1 }],
  );
  assert.ok(conflict.runId === run.id && conflict.serverVersion > 0 && conflict.localHlc && conflict.remoteHlc);
  assert.deepEqual(await device.get('notes', 'n1'), { v: 1 });
  assert.equal(device.status().pending, 0);

  await device.close();
  device = await open('manual-device', manual);
  assert.deepEqual(await device.conflicts(), [conflict]);
  await assert.rejects(device.resolveConflict('notes', 'n1'), TypeError);
  await assert.rejects(device.resolveConflict('notes', 7, { v: 3 }), TypeError);
  await assert.rejects(device.resolveConflict('notes', 'n1', { v: 10n }), TypeError);
  await device.resolveConflict('notes', 'n1', { v: 3 });
  assert.deepEqual(await device.conflicts(), []);
  assert.deepEqual(await device.get('notes', 'n1'), { v: 3 });
  await device.syncNow();
  await other.syncNow();
  assert.deepEqual(await other.get('notes', 'n1'), { v: 3 });
  const [logged] = await device.conflictLog();
  assert.deepEqual([logged.strategy, logged.winner, logged.resolution], ['manual', 'new', 'manual']);
  await assert.rejects(device.resolveConflict('notes', 'n1', null), (error) => error instanceof FerryError && error.code === 'not_found');

  await makeConflict(device, other, 'n2');
  await device.resolveConflict('notes', 'n2', null);
  await device.syncNow();
  await other.syncNow();
  assert.equal(await other.get('notes', 'n2'), undefined);
  await other.close();
  await device.close();
});

test('a conflicts.resolve that returns a promise keeps the conflict open until it settles', async () => {
  const answers = [];
  const warnings = [];
  const other = await open('async-other');
  const device = await open('async-device', {
    conflicts: {
      default: 'custom',
      resolve: () => new Promise((resolve, reject) => answers.push({ resolve, reject })),
    },
    log: (level, message) => level >= 2 && warnings.push(message),
  });
  const event = waitForEvent(device, 'sync.conflict');
  await makeConflict(device, other, 'a1');
  assert.equal((await event).resolution, 'deferred');
  assert.equal(answers.length, 1);
  const [open1] = await device.conflicts();
  assert.deepEqual([open1.key, open1.strategy, open1.local, open1.remote], ['a1', 'custom', { v: 2 }, { v: 1 }]);
  assert.deepEqual(await device.get('notes', 'a1'), { v: 1 });

  answers[0].resolve({ v: 12 });
  await waitUntil(async () => (await device.conflicts()).length === 0, 'the promise to settle the conflict');
  assert.deepEqual(await device.get('notes', 'a1'), { v: 12 });
  await device.syncNow();
  await other.syncNow();
  assert.deepEqual(await other.get('notes', 'a1'), { v: 12 });

  // A rejection leaves it open, says so in the log, and the app can still resolve it.
  await makeConflict(device, other, 'a2');
  answers[1].reject(new Error('the user went away'));
  await waitUntil(() => warnings.some((line) => line.includes('the user went away')), 'the warning');
  assert.deepEqual((await device.conflicts()).map((conflict) => conflict.key), ['a2']);
  await device.resolveConflict('notes', 'a2', { v: 20 });
  assert.deepEqual(await device.conflicts(), []);
  await other.close();
  await device.close();
});
