// Live queries (issue 18) in Node, on either implementation (web/test.sh
// runs this file with FERRY_SYNC_IMPLEMENTATION=wasm and =native): the first
// page, then a page with its differences after each write that changes the
// result, and none for writes that cannot; a pull from another client
// changes it too; ending one stops its pages.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { FerryClient, FerryError } from 'ferry-sync';

import { openTestClient, startServer } from './helpers.mjs';

/** Collects a live query's pages; `next()` resolves with the next one to come. */
function pages() {
  const seen = [];
  const waiting = [];
  return {
    seen,
    listener(page) {
      seen.push(page);
      waiting.shift()?.(page);
    },
    next() {
      return new Promise((resolve) => waiting.push(resolve));
    },
  };
}

const keys = (page) => page.documents.map(({ key }) => key);

test('a live query delivers its page, then each page a write changes', async () => {
  const client = await openTestClient(FerryClient, 'http://127.0.0.1:9', 'live-local');
  await client.put('tasks', 't1', { due: 3, open: true });
  await client.put('tasks', 't2', { due: 1, open: true });
  const live = pages();
  const query = { collection: 'tasks', where: { path: 'open', eq: true }, orderBy: [{ path: 'due' }], limit: 2 };
  const end = await client.subscribeQuery(query, live.listener);
  assert.equal(live.seen.length, 1, 'the first page comes before subscribeQuery resolves');
  assert.deepEqual(live.seen[0], {
    documents: [{ key: 't2', value: { due: 1, open: true } }, { key: 't1', value: { due: 3, open: true } }],
    next: null,
    added: ['t2', 't1'],
    removed: [],
    changed: [],
    moved: [],
  });

  // A document that sorts first pushes t1 off the page, which then has a next one.
  let page = live.next();
  await client.put('tasks', 't0', { due: 0, open: true });
  assert.deepEqual(await page, {
    documents: [{ key: 't0', value: { due: 0, open: true } }, { key: 't2', value: { due: 1, open: true } }],
    next: (await client.query(query)).next,
    added: ['t0'],
    removed: ['t1'],
    changed: [],
    moved: [],
  });
  assert.equal(typeof live.seen[1].next, 'string');

  // Writes the query cannot see bring no page; the next one that can does.
  await client.put('notes', 'n1', { open: true });
  await client.put('tasks', 't9', { due: 9, open: false });
  page = live.next();
  await client.remove('tasks', 't0');
  assert.deepEqual({ ...(await page), documents: undefined, next: undefined }, {
    documents: undefined,
    next: undefined,
    added: ['t1'],
    removed: ['t0'],
    changed: [],
    moved: [],
  });
  assert.equal(live.seen.length, 3);

  page = live.next();
  await client.put('tasks', 't1', { due: 0, open: true });
  const moved = await page;
  assert.deepEqual([keys(moved), moved.changed, moved.moved.length], [['t1', 't2'], ['t1'], 1]);

  end();
  await client.put('tasks', 't2', { due: 5, open: true });
  await client.query(query);  // a round trip after the write: any page would have come by now
  assert.equal(live.seen.length, 4);
  await client.close();
});

test('a live query follows a pull from another client', async () => {
  const server = await startServer();
  try {
    const reader = await openTestClient(FerryClient, server.endpoint, 'live-reader', { autoSync: false });
    const writer = await openTestClient(FerryClient, server.endpoint, 'live-writer', { autoSync: false });
    const live = pages();
    const end = await reader.subscribeQuery({ collection: 'readings', orderBy: [{ path: 'at', desc: true }], limit: 3 }, live.listener);
    assert.deepEqual(keys(live.seen[0]), []);
    await writer.write([1, 2, 3, 4].map((at) => ({ op: 'put', collection: 'readings', key: `r${at}`, value: { at } })));
    await writer.syncNow();
    const page = live.next();
    await reader.syncNow();
    const pulled = await page;
    assert.deepEqual([keys(pulled), pulled.added, typeof pulled.next], [['r4', 'r3', 'r2'], ['r4', 'r3', 'r2'], 'string']);
    end();
    await Promise.all([reader.close(), writer.close()]);
  } finally {
    await server.stop();
  }
});

test('a live query that is not one is refused', async () => {
  const client = await openTestClient(FerryClient, 'http://127.0.0.1:9', 'live-refusals');
  const invalid = (error) => error instanceof FerryError && error.code === 'invalid_argument';
  await assert.rejects(client.subscribeQuery({ collection: 'tasks', after: 'not a cursor' }, () => {}), invalid);
  await assert.rejects(client.subscribeQuery({ collection: 'tasks' }, 'not a function'), TypeError);
  await assert.rejects(client.subscribeQuery({ collection: 7 }, () => {}), TypeError);
  await client.close();
  await assert.rejects(client.subscribeQuery({ collection: 'tasks' }, () => {}), invalid);
});
