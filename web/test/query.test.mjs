// Local queries (issue 18) in Node, on either implementation (web/test.sh
// runs this file with FERRY_SYNC_IMPLEMENTATION=wasm and =native): a filter,
// an order, pages by cursor, a count with a pending delete, and refusals.
// No server: a query reads this store only.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { FerryClient, FerryError } from 'ferry-sync';

import { openTestClient } from './helpers.mjs';

const tasks = {
  t1: { project: 'p1', due: 3, title: 'Re: plan' },
  t2: { project: 'p1', due: 1 },
  t3: { project: 'p2', due: 2 },
  t4: { project: 'p1', due: 2, done: true },
};

async function openWithTasks(name) {
  const client = await openTestClient(FerryClient, 'http://127.0.0.1:9', name);
  await client.write(Object.entries(tasks).map(([key, value]) => ({ op: 'put', collection: 'tasks', key, value })));
  return client;
}

test('a filtered, sorted query pages to the end by cursor', async () => {
  const client = await openWithTasks('query-pages');
  const query = { collection: 'tasks', where: { path: 'project', eq: 'p1' }, orderBy: [{ path: 'due' }], limit: 2 };
  const first = await client.query(query);
  assert.deepEqual(first.documents, [{ key: 't2', value: tasks.t2 }, { key: 't4', value: tasks.t4 }]);
  assert.equal(typeof first.next, 'string');
  const last = await client.query({ ...query, after: first.next });
  assert.deepEqual([last.documents.map(({ key }) => key), last.next], [['t1'], null]);
  const descending = await client.query({ collection: 'tasks', orderBy: [{ path: 'due', desc: true }, { path: 'project' }] });
  assert.deepEqual(descending.documents.map(({ key }) => key), ['t1', 't4', 't3', 't2']);
  await client.close();
});

test('filters combine with and/or, and count sees pending writes', async () => {
  const client = await openWithTasks('query-count');
  const openOrReplied = { or: [{ path: 'done', exists: false }, { path: 'title', prefix: 'Re:' }] };
  assert.equal(await client.count({ collection: 'tasks', where: { and: [{ path: 'project', in: ['p1'] }, openOrReplied] } }), 2);
  assert.equal(await client.count({ collection: 'tasks' }), 4);
  await client.remove('tasks', 't3');
  assert.equal(await client.count({ collection: 'tasks', where: { path: 'due', gte: 2 } }), 2);
  await client.close();
});

test('a query that is not one is refused', async () => {
  const client = await openWithTasks('query-refusals');
  const invalid = (error) => error instanceof FerryError && error.code === 'invalid_argument';
  await assert.rejects(client.query({ collection: 'tasks', where: { path: 'due', like: 1 } }), invalid);
  await assert.rejects(client.query({ collection: 'tasks', after: 'not a cursor' }), invalid);
  await assert.rejects(client.count({ collection: 'tasks', limit: -1 }), invalid);
  await assert.rejects(client.query('tasks'), TypeError);
  await assert.rejects(client.query({ collection: 7 }), TypeError);
  await assert.rejects(client.count({ collection: 'tasks', where: { path: 'due', eq: 10n } }), TypeError);
  await client.close();
});

test('an index declared at open answers in order and says so', async () => {
  const indexes = [{ collection: 'tasks', paths: ['project', 'due'], name: 'by_due' }];
  const client = await openTestClient(FerryClient, 'http://127.0.0.1:9', 'query-index', { indexes });
  await client.write(Object.entries(tasks).map(([key, value]) => ({ op: 'put', collection: 'tasks', key, value })));
  const query = { collection: 'tasks', where: { path: 'project', eq: 'p1' }, orderBy: [{ path: 'due' }], limit: 2 };
  assert.deepEqual(await client.explain(query), { collection: 'tasks', index: 'by_due', equalities: 1, narrowed: false, ordered: true });
  const first = await client.query(query);
  assert.deepEqual(first.documents.map(({ key }) => key), ['t2', 't4']);
  const last = await client.query({ ...query, after: first.next });
  assert.deepEqual([last.documents.map(({ key }) => key), last.next], [['t1'], null]);
  assert.equal((await client.explain({ collection: 'tasks', where: { path: 'title', eq: 'x' } })).index, null);
  await client.close();
});

test('index declarations that are not ones are refused at open', async () => {
  await assert.rejects(openTestClient(FerryClient, 'http://127.0.0.1:9', 'index-type', { indexes: 'tasks' }), TypeError);
  await assert.rejects(
    openTestClient(FerryClient, 'http://127.0.0.1:9', 'index-declaration', { indexes: [{ collection: 'tasks' }] }),
    (error) => error instanceof FerryError && error.code === 'invalid_argument' && /indexes/.test(error.message),
  );
});
