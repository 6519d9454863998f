// One client per store directory in Node (storage "node"): a second open, from
// this process or another, fails with code 'busy' and the first keeps
// working; once the first closes or dies, the store opens again. No server
// is needed: nothing here syncs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { FerryClient, FerryError } from 'ferry-sync';

import { tempDir } from './helpers.mjs';

let opened = 0;
function open(name, directory, more = {}) {
  // A fresh name each time, so a test that fails with a client open does not
  // make later tests fail too ('already open').
  return FerryClient.open({ name: `${name}-${++opened}`, endpoint: 'http://127.0.0.1:9', directory, autoSync: false, liveUpdates: false, ...more });
}

/** A child Node process that opens `directory`; resolves with its first line. */
async function openInChild(directory) {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./store_lock_child.mjs', import.meta.url)), directory], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  return { child, said: first.value ?? '' };
}

async function closeChild(child) {
  child.stdin.end('close\n');
  if (child.exitCode === null) await once(child, 'exit');
}

async function assertBusy(promise, holder) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof FerryError, String(error));
    assert.equal(error.code, 'busy');
    assert.match(error.message, holder);
    return true;
  });
}

test('a second open in the same process fails clearly and the first keeps working', async () => {
  const directory = join(tempDir(), 'store');
  const first = await open('first', directory);
  await assertBusy(open('second', directory), /in use by another client in this process/);
  await first.put('notes', 'a', { text: 'still works' });
  assert.deepEqual(await first.get('notes', 'a'), { text: 'still works' });
  await first.close();
  const second = await open('second', directory);
  assert.deepEqual(await second.get('notes', 'a'), { text: 'still works' });
  await second.close();
});

test('a second open from another process fails clearly until that process closes the store', async () => {
  const directory = join(tempDir(), 'store');
  const { child, said } = await openInChild(directory);
  try {
    assert.equal(said, 'open');
    await assertBusy(open('here', directory), new RegExp(`in use by another client \\(process ${child.pid}\\)`));
  } finally {
    await closeChild(child);
  }
  const here = await open('here', directory);
  assert.deepEqual(await here.get('notes', 'from-child'), { by: 'child' });
  await here.close();
});

test('with storeLockTimeoutMs, an open waits for the other process to close the store', async () => {
  const directory = join(tempDir(), 'store');
  const { child, said } = await openInChild(directory);
  let closing;
  try {
    assert.equal(said, 'open');
    const started = performance.now();
    await assertBusy(open('here', directory, { storeLockTimeoutMs: 300 }), new RegExp(`\\(process ${child.pid}\\)`));
    assert.ok(performance.now() - started >= 290, 'it waited before giving up');
    const waiting = open('here', directory, { storeLockTimeoutMs: 20_000 });
    closing = new Promise((resolve) => setTimeout(resolve, 200)).then(() => closeChild(child));
    const here = await waiting;
    assert.deepEqual(await here.get('notes', 'from-child'), { by: 'child' });
    await here.close();
  } finally {
    await (closing ?? closeChild(child));
  }
});

test('with storeLockTimeoutMs, an open waits for a client in this process to close', async () => {
  const directory = join(tempDir(), 'store');
  const first = await open('first', directory);
  await assertBusy(open('second', directory, { storeLockTimeoutMs: 100 }), /in this process/);
  const waiting = open('second', directory, { storeLockTimeoutMs: 20_000 });
  await first.put('notes', 'a', { text: 'first' });
  await first.close();
  const second = await waiting;
  assert.deepEqual(await second.get('notes', 'a'), { text: 'first' });
  await second.close();
});

test('another process cannot open a store this process holds', async () => {
  const directory = join(tempDir(), 'store');
  const here = await open('here', directory);
  const { child, said } = await openInChild(directory);
  if (child.exitCode === null) await once(child, 'exit');
  assert.match(said, new RegExp(`^refused busy .*in use by another client \\(process ${process.pid}\\)`));
  await here.put('notes', 'b', { text: 'still works' });
  assert.deepEqual(await here.get('notes', 'b'), { text: 'still works' });
  await here.close();
});

test('the store opens again once the process holding it is killed', async () => {
  const directory = join(tempDir(), 'store');
  const { child, said } = await openInChild(directory);
  assert.equal(said, 'open');
  child.kill('SIGKILL');  // no close: its LOCK file stays behind, naming a dead process
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  const here = await open('here', directory);
  assert.deepEqual(await here.get('notes', 'from-child'), { by: 'child' });
  await here.close();
});

test('deleting the local data of a store in use fails clearly and deletes nothing', async () => {
  const directory = join(tempDir(), 'store');
  const here = await open('here', directory);
  await here.put('notes', 'c', { text: 'kept' });
  await assertBusy(FerryClient.deleteLocalData({ name: 'here', storage: 'node', directory }), /in this process/);
  assert.deepEqual(await here.get('notes', 'c'), { text: 'kept' });
  await here.close();
  await FerryClient.deleteLocalData({ name: 'here', storage: 'node', directory });
});
