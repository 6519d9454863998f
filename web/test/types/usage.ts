// The type test: compiled with tsc (strict, noEmit, skipLibCheck off) against
// the packed package as a consumer installs it (types.test.mjs). Right calls
// must compile; every wrong call is marked @ts-expect-error, so tsc fails
// when one of them compiles. Nothing here runs.
import {
  FerryClient,
  FerryError,
  type ConflictDetail,
  type ConflictLogEntry,
  type FerryErrorCode,
  type FerryEventMap,
  type Json,
  type OpenConflict,
  type OpenOptions,
  type PendingMutation,
  type StoredDocument,
  type SyncRun,
  type SyncStatus,
  type Write,
} from 'ferry-sync';
import { installFerrySync } from 'ferry-sync/sw';

/** Fails to compile unless A and B are the same type. */
function expectType<A>(): <B>(value: B & ([A] extends [B] ? ([B] extends [A] ? unknown : never) : never)) => void {
  return () => {};
}

interface Todo {
  title: string;
  done: boolean;
  tags?: string[];
  due?: { day: string; remind: boolean } | null;
}

export async function usage(): Promise<void> {
  // ---- open: storage and directory go together
  const client = await FerryClient.open({ name: 'alice', endpoint: 'https://sync.example.com' });
  await FerryClient.open({ name: 'a', endpoint: 'http://localhost:8080', storage: 'indexeddb', getToken: async ({ refresh }) => (refresh ? 'new' : 'old') });
  await FerryClient.open({ name: 'a', endpoint: 'http://localhost:8080', storage: 'memory' });
  await FerryClient.open({ name: 'a', endpoint: 'http://localhost:8080', storage: 'node', directory: '/tmp/a' });
  // @ts-expect-error storage "node" needs a directory
  await FerryClient.open({ name: 'a', endpoint: 'http://localhost:8080', storage: 'node' });
  // @ts-expect-error a directory is only for storage "node"
  await FerryClient.open({ name: 'a', endpoint: 'http://localhost:8080', storage: 'indexeddb', directory: '/tmp/a' });
  // @ts-expect-error not a storage
  await FerryClient.open({ name: 'a', endpoint: 'http://localhost:8080', storage: 'localstorage' });
  // @ts-expect-error endpoint is required
  await FerryClient.open({ name: 'a' });
  await FerryClient.open({ name: 'a', endpoint: 'http://localhost:8080', storage: 'node', directory: '/tmp/a', storeLockTimeoutMs: 5_000 });
  // @ts-expect-error the store lock timeout is a number of milliseconds
  await FerryClient.open({ name: 'a', endpoint: 'http://localhost:8080', storeLockTimeoutMs: '5s' });
  // ---- open: the engine's bounds, a log hook and custom headers (issue 17)
  await FerryClient.open({
    name: 'a',
    endpoint: 'http://localhost:8080',
    backoffBaseMs: 500,
    backoffMaxMs: 60_000,
    pushBatchSize: 100,
    pushBatchBytes: 256 * 1024,
    pullPageSize: 200,
    historyLimit: 20,
    conflictLogLimit: 0,
    log: (level, message) => {
      expectType<0 | 1 | 2 | 3>()(level);
      expectType<string>()(message);
    },
    headers: { 'X-API-Key': 'k' },
  });
  // ---- conflicts a person resolves, and an asynchronous resolver (issue 17)
  await FerryClient.open({
    name: 'a',
    endpoint: 'http://localhost:8080',
    conflicts: { collections: { notes: 'manual', todos: 'custom' }, resolve: async ({ remote }) => remote },
  });
  // @ts-expect-error not a strategy
  await FerryClient.open({ name: 'a', endpoint: 'http://localhost:8080', conflicts: { default: 'ask' } });
  // ---- metered connections (issue 17)
  const metered = await FerryClient.open({ name: 'a', endpoint: 'http://localhost:8080', deferrable: ['readings'] });
  metered.setMetered(true);
  // @ts-expect-error metered is a boolean
  metered.setMetered('yes');
  // ---- local queries (issue 18)
  const page = await metered.query<Todo>({ collection: 'todos', where: { and: [{ path: 'done', eq: false }, { path: ['title'], prefix: 'a' }] }, orderBy: [{ path: 'title', desc: true }], limit: 10 });
  expectType<Todo[]>()(page.documents.map(({ value }) => value));
  expectType<string | null>()(page.next);
  expectType<number>()(await metered.count({ collection: 'todos', where: { or: [{ path: 'done', exists: true }] } }));
  // @ts-expect-error a query names its collection
  await metered.query({ where: { path: 'done', eq: true } });
  // @ts-expect-error exists takes a boolean
  await metered.count({ collection: 'todos', where: { path: 'done', exists: 'yes' } });
  const indexed = await FerryClient.open({ name: 'a', endpoint: 'http://localhost:8080', indexes: [{ collection: 'todos', paths: ['done', ['title']], name: 'open' }] });
  const plan = await indexed.explain({ collection: 'todos', where: { path: 'done', eq: false } });
  expectType<string | null>()(plan.index);
  expectType<boolean>()(plan.ordered);
  const end = await indexed.subscribeQuery<Todo>({ collection: 'todos', limit: 5 }, (live) => {
    expectType<Todo[]>()(live.documents.map(({ value }) => value));
    expectType<string[]>()(live.added.concat(live.removed, live.changed, live.moved));
  });
  expectType<() => void>()(end);
  // @ts-expect-error a live query's listener takes its page
  await indexed.subscribeQuery({ collection: 'todos' }, (page: number) => page);
  // @ts-expect-error an index declaration names its paths
  await FerryClient.open({ name: 'a', endpoint: 'http://localhost:8080', indexes: [{ collection: 'todos' }] });
  // ---- hooks (issue 17)
  await FerryClient.open({
    name: 'a',
    endpoint: 'http://localhost:8080',
    hooks: {
      beforePush: (write) => {
        expectType<'put' | 'patch' | 'delete'>()(write.op);
        if (write.collection === 'secrets') return { refuse: 'kept on the device' };
        return write.key === 'loud' ? { value: { text: 'LOUD' } } : undefined;
      },
      afterPull: ({ key, value }) => (key === 'tagged' ? { value: { value, seen: true } } : undefined),
      beforeRun: ({ reason, direction }) => reason !== 'interval' && direction !== 'pull',
    },
  });
  // @ts-expect-error a refusal gives its reason as a string
  await FerryClient.open({ name: 'a', endpoint: 'http://localhost:8080', hooks: { beforePush: () => ({ refuse: true }) } });
  // @ts-expect-error hooks answer synchronously
  await FerryClient.open({ name: 'a', endpoint: 'http://localhost:8080', hooks: { beforeRun: async () => true } });
  // @ts-expect-error header values are strings
  await FerryClient.open({ name: 'a', endpoint: 'http://localhost:8080', headers: { 'X-Count': 1 } });
  // @ts-expect-error the pull page size is a number
  await FerryClient.open({ name: 'a', endpoint: 'http://localhost:8080', pullPageSize: '10' });
  // @ts-expect-error the log hook is a function
  await FerryClient.open({ name: 'a', endpoint: 'http://localhost:8080', log: console });
  await FerryClient.deleteLocalData({ name: 'a', storage: 'node', directory: '/tmp/a' });
  await FerryClient.deleteLocalData({ name: 'a' });
  // @ts-expect-error storage "node" needs a directory
  await FerryClient.deleteLocalData({ name: 'a', storage: 'node' });
  const options: OpenOptions = { name: 'a', endpoint: 'https://x', storage: 'node', directory: '/d' };
  if (options.storage === 'node') expectType<string>()(options.directory);

  // ---- events: names checked, details typed without casts
  client.addEventListener('sync.completed', (event) => expectType<number>()(event.detail.pushed));
  // @ts-expect-error a typo in the event name
  client.addEventListener('sync.complete', () => {});
  // @ts-expect-error a typo in the event name
  client.removeEventListener('sync.complete', () => {});
  client.addEventListener('sync.started', (event) => expectType<number>()(event.detail.runId));
  client.addEventListener('sync.progress', (event) => expectType<'push' | 'pull'>()(event.detail.phase));
  client.addEventListener('sync.failed', (event) => expectType<SyncRun>()(event.detail));
  client.addEventListener('sync.conflict', (event) => {
    expectType<ConflictDetail>()(event.detail);
    expectType<string>()(event.detail.local.key);
  });
  client.addEventListener('mutation.rejected', (event) => expectType<string>()(event.detail.error));
  // The status event carries the status wrapped: { status }.
  client.addEventListener('status', (event) => expectType<SyncStatus>()(event.detail.status));
  // @ts-expect-error the status is event.detail.status, not event.detail
  client.addEventListener('status', (event) => event.detail.state);
  client.addEventListener('change', (event) => expectType<boolean>()(event.detail.remote));
  client.addEventListener('persist.failed', (event) => expectType<string>()(event.detail.error));
  client.addEventListener('backgroundsync.unavailable', (event) => expectType<string>()(event.detail.error));
  client.addEventListener('error', (event) => expectType<string>()(event.detail.error));
  // @ts-expect-error a detail has only its own fields
  client.addEventListener('sync.completed', (event) => event.detail.documents);
  // Plain DOM listeners and listener objects still fit; options too.
  const plain = (event: Event) => void event.type;
  client.addEventListener('change', plain, { once: true });
  client.removeEventListener('change', plain);
  client.addEventListener('sync.completed', { handleEvent: (event) => expectType<number>()(event.detail.pulled) });
  const names: (keyof FerryEventMap)[] = ['sync.started', 'status', 'error'];
  void names;

  // ---- documents: generics, interfaces without index signatures
  const todo: Todo = { title: 'Milk', done: false };
  await client.put('todos', 't1', todo);
  await client.put<Todo>('todos', 't2', { title: 'Bread', done: true, tags: ['shop'] });
  await client.put('notes', 'n1', { title: 'x', nested: [1, 'two', { three: null }] });
  const anyJson: Json = JSON.parse('{}') as Json;
  await client.put('notes', 'n2', anyJson);
  // @ts-expect-error a member missing from Todo
  await client.put<Todo>('todos', 't3', { title: 'x' });
  // @ts-expect-error a function is not JSON
  await client.put('todos', 't4', { title: 'x', onClick: () => {} });
  // @ts-expect-error a Date is not JSON (it would come back as a string)
  await client.put('todos', 't5', { at: new Date() });
  // @ts-expect-error a bigint is not JSON
  await client.put('todos', 't6', { n: BigInt(1) });
  // @ts-expect-error undefined is no document
  await client.put('todos', 't7', undefined);
  // @ts-expect-error the key is a string
  await client.put('todos', 8, todo);

  const got = await client.get<Todo>('todos', 't1');
  expectType<Todo | undefined>()(got);
  // @ts-expect-error it may be absent
  void got.title;
  expectType<Json | undefined>()(await client.get('todos', 't1'));
  const all = await client.scan<Todo>('todos', 't', 10);
  expectType<StoredDocument<Todo>[]>()(all);
  expectType<boolean>()(all[0].value.done);
  expectType<Json>()((await client.scan('todos'))[0].value);

  await client.patch<Todo>('todos', 't1', { done: true });
  await client.patch<Todo>('todos', 't1', { due: { remind: false } });  // nested objects merge
  await client.patch<Todo>('todos', 't1', { tags: null, due: null });  // null deletes an optional member
  await client.patch('todos', 't1', { anything: 1, gone: null });
  // @ts-expect-error a required member cannot be deleted
  await client.patch<Todo>('todos', 't1', { title: null });
  // @ts-expect-error the wrong type for a member
  await client.patch<Todo>('todos', 't1', { done: 'yes' });
  // @ts-expect-error not a member of Todo
  await client.patch<Todo>('todos', 't1', { colour: 'red' });
  // @ts-expect-error a merge patch is an object
  await client.patch('todos', 't1', [1, 2]);
  await client.remove('todos', 't1');

  const writes: Write<Todo>[] = [
    { op: 'put', collection: 'todos', key: 'a', value: todo },
    { op: 'patch', collection: 'todos', key: 'b', value: { done: true } },
    { op: 'delete', collection: 'todos', key: 'c' },
  ];
  await client.write(writes);
  await client.write([{ op: 'put', collection: 'notes', key: 'n', value: { any: ['json'] } }, { op: 'delete', collection: 'notes', key: 'm' }]);
  // @ts-expect-error delete takes no value
  await client.write([{ op: 'delete', collection: 'todos', key: 'c', value: todo }]);
  // @ts-expect-error put needs a value
  await client.write<Todo>([{ op: 'put', collection: 'todos', key: 'a' }]);
  // @ts-expect-error not an op
  await client.write([{ op: 'upsert', collection: 'todos', key: 'a', value: 1 }]);

  // ---- errors: a union of codes
  try {
    await client.syncNow();
  } catch (error) {
    if (error instanceof FerryError) {
      expectType<FerryErrorCode>()(error.code);
      if (error.code === 'busy' || error.code === 'unauthenticated') return;
      // @ts-expect-error not a code Ferry uses
      if (error.code === 'network_error') return;
    }
  }
  // @ts-expect-error not a code Ferry uses
  void new FerryError('oops', 'message');

  // ---- the rest of the API, and no internals
  expectType<SyncStatus['state']>()(client.status().state);
  expectType<SyncRun[]>()(client.history(5));
  expectType<PendingMutation[]>()(await client.pendingMutations({ afterSeq: 10, limit: 50 }));
  expectType<ConflictLogEntry[]>()(await client.conflictLog({ afterId: 3, limit: 10 }));
  expectType<'server' | 'local' | 'new'>()((await client.conflictLog())[0]!.winner);
  await client.clearConflictLog();
  expectType<OpenConflict[]>()(await client.conflicts());
  expectType<'manual' | 'custom'>()((await client.conflicts())[0]!.strategy);
  await client.resolveConflict<Todo>('todos', 't1', { title: 'merged', done: false });
  await client.resolveConflict('todos', 't1', null);
  // @ts-expect-error a value, or null to delete: not undefined
  await client.resolveConflict('todos', 't1', undefined);
  // @ts-expect-error the value must match the type given
  await client.resolveConflict<Todo>('todos', 't1', { title: 1 });
  // @ts-expect-error afterId is a number
  await client.conflictLog({ afterId: '3' });
  expectType<number | null>()((await client.pendingMutations())[0]!.lastAttemptAt);
  await client.clearHistory({ keepLatest: true });
  // @ts-expect-error keepLatest is a boolean
  await client.clearHistory({ keepLatest: 'yes' });
  expectType<string>()(client.clientId);
  // @ts-expect-error syncNow takes a reason from the list
  await client.syncNow('whenever');
  // @ts-expect-error internals are not part of the API
  void client.backend;
  // @ts-expect-error the constructor is private: use FerryClient.open
  void new FerryClient();
  await client.close();

  installFerrySync({ name: 'alice', endpoint: 'https://sync.example.com' });
}
