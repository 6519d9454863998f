// The one interface behind FerryClient. Three backends implement it: the
// owner's (owner.ts), which runs the wasm engine on the store, the native one
// (native.ts, over the Node addon or React Native's JSI object), and the
// follower's (follower.ts), which forwards every call to the context that owns
// the store. FerryClient chooses one at open and swaps a follower for an owner
// when it takes the store over. Arguments arrive checked (arguments.ts).
import { FerryError, type ConflictLogEntry, type FailedMutation, type Json, type OpenConflict, type PendingMutation, type QueryPage, type QueryPlan, type StoredDocument, type SyncDirection, type SyncReason, type SyncRun, type SyncStatistics, type SyncStatus, type Write } from './types.js';

/**
 * The calls a follower forwards to the owner (the channel's "call" messages).
 *
 * `writeId` (write, retryFailedMutation, discardFailedMutation,
 * resolveConflict): a follower
 * gives each such call an id, and sends the same id whenever it runs the call
 * again (to a new owner, or itself after taking the store over). The store
 * remembers the ids it applied (SyncEngine::HandleLocalWrites), so a call the
 * old owner committed but never answered is not applied a second time: the
 * repeat answers like the first run. The owner's own calls pass none.
 */
export interface ForwardedCalls {
  /** Resolves once the writes are persisted. */
  write(writes: Write[], writeId?: string): Promise<void>;
  get(collection: string, key: string): Promise<Json | undefined>;
  scan(collection: string, keyPrefix: string, limit: number): Promise<StoredDocument[]>;
  /** A local query as JSON text (arguments.ts queryText). */
  query(queryJson: string): Promise<QueryPage>;
  count(queryJson: string): Promise<number>;
  explain(queryJson: string): Promise<QueryPlan>;
  /** A live query with the caller's id; its pages come as "query" events (live_queries.ts). */
  subscribeQuery(id: number, queryJson: string): Promise<void>;
  unsubscribeQuery(id: number): Promise<void>;
  /** Resolves with the run that covered the request. */
  syncNow(reason: SyncReason, direction: SyncDirection): Promise<SyncRun>;
  /** Resolves with the full resync's run. */
  resync(): Promise<SyncRun>;
  startBackgroundSync(intervalMs: number): void;
  stopBackgroundSync(): void;
  setOnline(online: boolean): void;
  networkChanged(): void;
  setMetered(metered: boolean): void;
  cancel(): void;
  /** Resolves with the mutation's new seq once the retry is persisted. */
  retryFailedMutation(seq: number, writeId?: string): Promise<number>;
  discardFailedMutation(seq: number, writeId?: string): Promise<void>;
  /** Pending writes with seq above `afterSeq`, in seq order, at most `limit` (0: 100). */
  pendingMutations(afterSeq: number, limit: number): Promise<PendingMutation[]>;
  /** Forgets past runs; with `keepLatest`, all but the newest. */
  clearHistory(keepLatest: boolean): Promise<void>;
  /** Conflict log entries with id above `afterId`, oldest first, at most `limit` (0: 100). */
  conflictLog(afterId: number, limit: number): Promise<ConflictLogEntry[]>;
  clearConflictLog(): Promise<void>;
  /** Open conflicts, in document order. */
  conflicts(): Promise<OpenConflict[]>;
  /** Settles an open conflict with `valueJson`, the document or null (a delete); resolves once persisted. */
  resolveConflict(collection: string, key: string, valueJson: string, writeId?: string): Promise<void>;
  /** Evicts `keys` of `collection` from the local store (null: every document of it); resolves with how many went. */
  evict(collection: string, keys: string[] | null): Promise<number>;
}

export interface Backend extends ForwardedCalls {
  /** Empty until known (a follower that has not heard from its owner yet). */
  readonly clientId: string;
  // A follower answers these from the owner's latest snapshot.
  status(): SyncStatus;
  statistics(): SyncStatistics;
  history(limit: number): SyncRun[];
  failedMutations(): FailedMutation[];
  /** Stops syncing and releases what the backend holds; pending writes stay in the store. */
  close(): Promise<void>;
}

export type CallName = keyof ForwardedCalls;

/** A forwarded call as it travels: the method and its arguments. */
export type Call = { [Method in CallName]: { method: Method; args: Parameters<ForwardedCalls[Method]> } }[CallName];

/** What a forwarded call resolves with. */
export type CallResult<Method extends CallName> = Awaited<ReturnType<ForwardedCalls[Method]>>;

/** Runs a forwarded call on `backend`. */
export async function invoke(backend: ForwardedCalls, call: Call): Promise<unknown> {
  switch (call.method) {
    case 'write':
      return backend.write(...call.args);
    case 'get':
      return backend.get(...call.args);
    case 'scan':
      return backend.scan(...call.args);
    case 'query':
      return backend.query(...call.args);
    case 'count':
      return backend.count(...call.args);
    case 'explain':
      return backend.explain(...call.args);
    case 'subscribeQuery':
      return backend.subscribeQuery(...call.args);
    case 'unsubscribeQuery':
      return backend.unsubscribeQuery(...call.args);
    case 'syncNow':
      return backend.syncNow(...call.args);
    case 'resync':
      return backend.resync(...call.args);
    case 'startBackgroundSync':
      return backend.startBackgroundSync(...call.args);
    case 'stopBackgroundSync':
      return backend.stopBackgroundSync(...call.args);
    case 'setOnline':
      return backend.setOnline(...call.args);
    case 'networkChanged':
      return backend.networkChanged(...call.args);
    case 'setMetered':
      return backend.setMetered(...call.args);
    case 'cancel':
      return backend.cancel(...call.args);
    case 'retryFailedMutation':
      return backend.retryFailedMutation(...call.args);
    case 'discardFailedMutation':
      return backend.discardFailedMutation(...call.args);
    case 'pendingMutations':
      return backend.pendingMutations(...call.args);
    case 'clearHistory':
      return backend.clearHistory(...call.args);
    case 'conflictLog':
      return backend.conflictLog(...call.args);
    case 'clearConflictLog':
      return backend.clearConflictLog(...call.args);
    case 'conflicts':
      return backend.conflicts(...call.args);
    case 'resolveConflict':
      return backend.resolveConflict(...call.args);
    case 'evict':
      return backend.evict(...call.args);
    default:
      // A context running another version of ferry-sync.
      throw new FerryError('invalid_argument', `unknown call ${(call as { method: unknown }).method}`);
  }
}
