// The public types of ferry-sync: options, documents, status records and
// FerryError. No code here besides FerryError; everything is re-exported by
// index.ts.

export type JsonPrimitive = null | boolean | number | string;
export type Json = JsonPrimitive | Json[] | JsonObject;
export type JsonObject = { [key: string]: Json };

/**
 * What a document of type `T` must be for `put` and `write`: every value in
 * it JSON, checked member by member, so an `interface Todo { title: string;
 * done: boolean }` qualifies without an index signature. Functions, bigints,
 * symbols and objects with methods (Date, Map, class instances) do not, which
 * makes a write of them a compile error. Optional members may be absent (JSON
 * has no `undefined`). Used as `put<T extends JsonCompatible<T>>(..., value: T)`;
 * the mapped type keeps primitives, arrays and tuples as they are.
 */
export type JsonCompatible<T> = { [Member in keyof T]: JsonMember<T[Member]> };
type JsonMember<Value> = [Value] extends [Json]
  ? Json  // not Value: a constraint that resolves to T itself would be circular
  : Value extends JsonPrimitive
    ? JsonPrimitive
    : Value extends bigint | symbol | undefined | ((...args: never[]) => unknown)
      ? never
      : JsonCompatible<Value>;

/**
 * A JSON merge patch (RFC 7396) for documents of type `T`: any subset of its
 * members; an object member may itself be patched partially, anything else
 * (arrays included) is replaced; `null` deletes a member, so it is allowed
 * only for members `T` declares optional.
 */
export type MergePatch<T> = T extends readonly unknown[]
  ? never  // a patch that is not an object replaces the whole document: that is a put
  : { [Member in keyof T]?: MergePatchMember<T[Member]> };
type MergePatchMember<Value> =
  | (undefined extends Value ? null : never)
  | (Value extends readonly unknown[] ? Value : Value extends object ? MergePatch<Value> : Value);

/** Where a store's data lives. */
export type StorageKind = 'indexeddb' | 'node' | 'memory';

/**
 * `storage` and what it needs: a directory with Node files, nothing otherwise.
 * Without `storage` a browser uses IndexedDB and Node files, which need
 * `storage: 'node'` and `directory` spelled out.
 */
export type StorageOptions =
  | {
      /** IndexedDB in browsers (the default there), or memory (keeps nothing). */
      storage?: 'indexeddb' | 'memory';
      directory?: never;
    }
  | {
      /** Files in a directory: Node (the default there). */
      storage: 'node';
      /** The directory for the store's files (created if missing). */
      directory: string;
    };

/** The options of `FerryClient.open`: these and `StorageOptions`. */
/** Log levels of the `log` option: 0 debug, 1 info, 2 warning, 3 error. */
export type LogLevel = 0 | 1 | 2 | 3;

export interface CommonOpenOptions {
  /** Names the local store; one store per user (sign-out deletes it). */
  name: string;
  /** ferry-server base URL, e.g. "https://sync.example.com". */
  endpoint: string;
  /**
   * Asked before every request; the token is sent as a bearer token and never
   * stored. `refresh` is true when the server has just refused the token
   * (401): return a fresh one. The request is repeated once with it; a second
   * 401 sets the state to "auth_error" (writes kept, no automatic retries).
   */
  getToken?: (request: { refresh: boolean }) => string | Promise<string>;
  /** Sync soon after each local write while online (default true). */
  autoSync?: boolean;
  /** Background sync interval; none by default. */
  intervalMs?: number;
  /** How long one request to ferry-server may take (default 30 s). */
  requestTimeoutMs?: number;
  /**
   * A write whose push failed for a transient reason (no answer: a network
   * error or a timeout; or HTTP 408, 429, 5xx) once this many pushes carried
   * it is dead-lettered with that error (`mutation.rejected`;
   * `failedMutations()` lists it). None by default: writes wait for ever.
   */
  maxAttempts?: number;
  /** Dead letters older than this (ms since they were dead-lettered) are discarded, at open and as time passes. None by default. */
  deadLetterMaxAgeMs?: number;
  /**
   * Collections whose writes are pushed but never pulled back (device
   * readings, logs): the devices of one account do not download each
   * other's. A write pushed from here stays readable in this store until
   * the next full resync or scope change forgets it.
   */
  uploadOnly?: string[];
  /**
   * Collections whose writes wait while the connection is metered
   * (`setMetered(true)`): the syncs the client starts itself push
   * everything else, and a write to them alone starts none; `syncNow`
   * pushes them, and so does the first sync after `setMetered(false)`.
   * Pulls are not deferred. Writes pushed ahead of deferred ones give them
   * new seqs (`pendingMutations` shows them), a cost in proportion to the
   * writes waiting.
   */
  deferrable?: string[];
  /**
   * Query indexes, per collection (docs/API.md, "Local queries"). Opening
   * with other declarations than the store's last rebuilds or drops those
   * that changed, before `open` resolves.
   */
  indexes?: IndexDeclaration[];
  /**
   * Pull only these collections (`[]`: none; absent: every one). Opening
   * with a scope other than the store's last one pulls the new scope from
   * the beginning and then forgets documents outside it, keeping those with
   * pending writes; nothing is deleted on the server.
   */
  pullCollections?: string[];
  /**
   * Local retention by collection: `{ readings: { maxAgeMs: 7 * 86_400_000 } }`.
   * Synced documents are evicted from this store (never from the server) at
   * open and after each completed run; documents with pending writes stay.
   * A document's age counts from when its server copy last changed here.
   */
  retention?: Record<string, RetentionRule>;
  /**
   * Retry delay after the n-th failed run: uniform in
   * [0, min(backoffMaxMs, backoffBaseMs * 2^(n-1))] (full jitter). Defaults
   * 1000 and 300000 ms.
   */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** At most this many writes per push request (default 500); the ceiling of network-aware batching. */
  pushBatchSize?: number;
  /** At most this many bytes of encoded values per push request (default 1 MiB). */
  pushBatchBytes?: number;
  /** Changes asked for per pull page (default 1000). */
  pullPageSize?: number;
  /** Sync runs kept in the history (default 100). */
  historyLimit?: number;
  /** Conflict resolutions `conflictLog()` keeps, the newest (default 1000; 0: none are recorded). */
  conflictLogLimit?: number;
  /**
   * Receives the engine host's log lines (levels 0 debug, 1 info, 2
   * warning, 3 error); never given a token or a header's value.
   */
  log?: (level: LogLevel, message: string) => void;
  /**
   * Headers sent with every request, the live stream included (an API key
   * beside or instead of the bearer token). Refused at open (FerryError
   * "invalid_argument"): names that are not HTTP tokens, values holding
   * CR, LF or NUL, headers Ferry owns (Accept, Content-Type, ...), and
   * Authorization beside `getToken`. A browser sends them cross-origin only
   * if the server allows them in CORS preflight (ferry-server
   * `--cors-allow-headers`).
   */
  headers?: Record<string, string>;
  /** Request bodies larger than this are gzip-compressed (CompressionStream; default 1024). */
  gzipAboveBytes?: number;
  /**
   * How long `open` waits for another client (in this process or another,
   * or, with `shareAcrossContexts` off, another tab or worker) to close the
   * store, in milliseconds; 0, the default, fails at once with code "busy".
   */
  storeLockTimeoutMs?: number;
  /** The module's .wasm bytes, if the loader cannot fetch them itself. */
  wasmBinary?: ArrayBuffer | Uint8Array;
  /** Listens to the environment's online/offline events (default true). */
  followNetworkEvents?: boolean;
  /**
   * With IndexedDB storage, contexts (tabs, workers) opening the same store
   * share it: one owns it, the others forward their calls (default true).
   * Turning this off is only safe when one context at a time opens the store.
   */
  shareAcrossContexts?: boolean;
  /**
   * Browsers: while writes are pending, keep the Background Sync tag
   * `ferry-sync:<name>` registered with this origin's service worker, so that
   * a service worker running ferry-sync/sw delivers them even after every tab
   * is closed (default true). Does nothing without a service worker or the
   * Background Sync API.
   */
  backgroundSync?: boolean;
  /**
   * Keep ferry-server's live stream (/v1/live, Server-Sent Events read with
   * fetch, which unlike EventSource can send the token) open and sync as soon
   * as another device changes something (default: as `autoSync`, so a client
   * that syncs only when told stays that way). When the stream is
   * unavailable it reconnects with backoff; `intervalMs`, if set, keeps
   * syncing meanwhile.
   */
  liveUpdates?: boolean;
  /**
   * How conflicts are resolved when the server refuses a write because the
   * document changed meanwhile (docs/PROTOCOL.md): a default strategy and
   * per-collection ones (server wins unless said otherwise). With "custom",
   * `resolve` decides: it runs inside the sync, must not call the client,
   * and returns the resolved document, or null/undefined to delete it; a
   * throw keeps the server's document. It may return a promise instead: the
   * conflict is then kept open (`conflicts()`, the server's document shown)
   * and resolved with the promise's value when it settles; a rejection
   * leaves it open for `resolveConflict`. With "manual", a person decides:
   * see `conflicts()` and `resolveConflict()`. With several contexts
   * sharing a store, the owner's options apply: pass the same in each.
   */
  conflicts?: {
    default?: ConflictStrategy;
    collections?: Record<string, ConflictStrategy>;
    resolve?: (input: ConflictInput) => Json | null | undefined | PromiseLike<Json | null | undefined>;
  };
  /**
   * Hooks into each sync, run by the context that owns the store, inside
   * the sync: each answers synchronously (a promise is an error) and must
   * not call the client. A hook that throws fails the run; nothing is lost
   * and the next run asks again. See `SyncHooks`.
   */
  hooks?: SyncHooks;
  /**
   * Node: which build runs the client (default: the Node addon when the
   * platform package ferry-sync-linux-x64-gnu is installed and loads, else
   * WebAssembly; a store directory written by one is opened with that one).
   * Overrides the environment variable FERRY_SYNC_IMPLEMENTATION
   * ("native" | "wasm"). A forced implementation that cannot run is a
   * FerryError, never a silent fallback. Browsers only have "wasm".
   * The two keep different files in a store directory: "native" one SQLite
   * file (ferry.db, durable when a write resolves), "wasm" a journal
   * (journal/, likewise); neither reads the other's.
   */
  implementation?: Implementation;
}

export type OpenOptions = CommonOpenOptions & StorageOptions;

/** What `FerryClient.deleteLocalData` needs to find a store. */
export type StoreLocation = Pick<CommonOpenOptions, 'name' | 'wasmBinary' | 'implementation'> & StorageOptions;

/**
 * Which build of Ferry runs a client: "native", the Node addon (the platform
 * package ferry-sync-linux-x64-gnu: C++ with SQLite and libcurl on threads of
 * its own), or "wasm", the WebAssembly build (browsers, and Node without the
 * addon).
 */
export type Implementation = 'native' | 'wasm';

export type ConflictStrategy = 'serverWins' | 'clientWins' | 'lastWriteWins' | 'merge' | 'custom' | 'manual';

/** A conflict for a custom resolver; null stands for an absent (deleted) document. */
export interface ConflictInput {
  collection: string;
  key: string;
  /** The server's document the local writes were made against. */
  base: Json;
  /** The local view: base with every pending local write applied. */
  local: Json;
  /** What the server holds now. */
  remote: Json;
  /** Stamps of the newest local write and of the server's write; they sort as text. */
  localHlc: string;
  remoteHlc: string;
}

/**
 * A conflict kept open for a person to resolve, as `conflicts()` lists it:
 * in a collection whose strategy is "manual", or one an asynchronous
 * `resolve` has not answered yet. The document shows the server's version
 * until `resolveConflict` settles it; open conflicts survive a restart.
 */
export interface OpenConflict extends ConflictInput {
  /** The server's document as this client knows it now (a later pull moves it). */
  remote: Json;
  strategy: 'manual' | 'custom';
  /** When the conflict was met (ms since the epoch). */
  at: number;
  /** The sync run that met it. */
  runId: number;
  /** The version of `remote`. */
  serverVersion: number;
}

/**
 * One write of a batch (`FerryClient.write`) to a document of type `T`: the
 * document (put), a JSON merge patch of it (patch; documents that are
 * objects), or no value (delete).
 */
export type Write<T = Json> = { collection: string; key: string } & (
  | { op: 'put'; value: T }
  | { op: 'patch'; value: T extends object ? MergePatch<T> : never }
  | { op: 'delete'; value?: undefined }
);

/** A document as `scan` returns it. `T` is the caller's word, not checked at runtime. */
export interface StoredDocument<T = Json> {
  key: string;
  value: T;
}

/** A condition on one JSON path of a document (docs/API.md, "Local queries"). */
export interface QueryCondition {
  /** Dotted ("a.b") or an array of member names. */
  path: string | string[];
  eq?: Json;
  /** Ranges match values of the bound's type only (numbers, strings by UTF-8 bytes, booleans). */
  gt?: Json;
  gte?: Json;
  lt?: Json;
  lte?: Json;
  in?: Json[];
  /** true holds for null too. */
  exists?: boolean;
  prefix?: string;
}

export type QueryFilter = QueryCondition | { and: QueryFilter[] } | { or: QueryFilter[] };

/** A local query over one collection's local view, pending writes included. */
export interface Query {
  collection: string;
  where?: QueryFilter;
  /** Missing values first, then null, booleans, numbers, strings, arrays, objects; ties by key. */
  orderBy?: { path: string | string[]; desc?: boolean }[];
  /** 0 or absent: every match. */
  limit?: number;
  /** A page's `next`, for the page after it. */
  after?: string | null;
}

/**
 * A live query's page (`FerryClient.subscribeQuery`): the whole page, and
 * the keys that differ from the page before (the first: every one added).
 */
export interface LiveQueryPage<T = Json> extends QueryPage<T> {
  /** In this page only. */
  added: string[];
  /** In the page before only. */
  removed: string[];
  /** In both, with another value. */
  changed: string[];
  /** In both, and among the fewest whose moving turns the old order into this one. */
  moved: string[];
}

/**
 * An index on one collection (`open({ indexes })`): kept in the same commit
 * as every write it indexes; queries read it when it fits (see `explain`).
 */
export interface IndexDeclaration {
  collection: string;
  /** Dotted paths or arrays of member names, most significant first. */
  paths: (string | string[])[];
  /** Defaults to the paths joined by ",". */
  name?: string;
}

/** How a query is answered (`FerryClient.explain`). */
export interface QueryPlan {
  collection: string;
  /** The index read, or null: the collection is scanned. */
  index: string | null;
  /** Leading index paths fixed by `eq`. */
  equalities: number;
  /** A range, prefix or `in` on the index path after them. */
  narrowed: boolean;
  /** Read in the query's order, stopping at its limit. */
  ordered: boolean;
}

export interface QueryPage<T = Json> {
  documents: StoredDocument<T>[];
  /** The cursor of the next page (pass it as `after`); null after the last. */
  next: string | null;
}

/** Why a sync was asked for (`FerryClient.syncNow`). */
export type SyncReason = 'manual' | 'background_sync' | 'poke' | 'app_start';

/**
 * Which way a run syncs: `push` only (never pulls, not even its own writes
 * back), `pull` only (pushes nothing, even with writes pending), or `both`
 * (the default, and every automatic run).
 */
export type SyncDirection = 'both' | 'push' | 'pull';

/** What `FerryClient.syncNow` may be asked: why, and which way (both by default). */
export interface SyncNowOptions {
  reason?: SyncReason;
  direction?: SyncDirection;
}

export interface SyncStatus {
  state: 'never_synced' | 'idle' | 'syncing' | 'offline' | 'error' | 'auth_error';
  pending: number;
  failed: number;
  lastSyncedAt: number | null;
  lastError: string;
  nextRetryAt: number | null;
}

/** Counters kept across runs (pushed, pulled, conflicts, …), by name. */
export type SyncStatistics = Record<string, number>;

/** What started a sync run: `SyncReason`s and the engine's own triggers. */
export type SyncTrigger = SyncReason | 'local_write' | 'online' | 'interval' | 'retry' | 'follow_up' | 'reachable';

export interface SyncRun {
  id: number;
  reason: SyncTrigger;
  direction: SyncDirection;
  startedAt: number;
  finishedAt: number;
  outcome: 'completed' | 'failed' | 'cancelled';
  pushed: number;
  pulled: number;
  conflicts: number;
  rejected: number;
  error: string;
}

/** A local write as the outbox keeps it (events and `failedMutations` report these). */
export interface Mutation {
  seq: number;
  op: 'put' | 'patch' | 'delete';
  collection: string;
  key: string;
  /** The server version the write was made against (0: none). */
  baseVersion: number;
  /** Its hybrid logical clock stamp; stamps sort as text. */
  hlc: string;
  /** The document (put) or the merge patch (patch); absent for delete. */
  value?: Json;
}

/**
 * What `beforePush` and `afterPull` answer: nothing keeps the write or the
 * change as it is, `{ value }` replaces its document (or a write's patch),
 * `{ refuse: reason }` refuses it.
 */
export type HookAnswer = void | { value: Json } | { refuse: string };

/** A pulled change with a document, as `afterPull` sees it. */
export interface PulledChange {
  collection: string;
  key: string;
  value: Json;
}

/** The `hooks` open option: each is optional. */
export interface SyncHooks {
  /**
   * Each write a push is about to carry, asked again on a retry. `{ value }`
   * pushes that value instead and keeps it in the queue from then on;
   * `{ refuse }` makes it a dead letter with that reason
   * (`failedMutations`, a `mutation.rejected` event).
   */
  beforePush?: (write: Mutation) => HookAnswer;
  /** Each pulled change with a document, before it is stored: `{ refuse }` keeps it out. */
  afterPull?: (change: PulledChange) => HookAnswer;
  /**
   * Before each sync run: false postpones it (the run ends cancelled with
   * error "postponed"; an interval tick is skipped without a run). What a
   * run did comes afterwards in `sync.completed` or `sync.failed`.
   */
  beforeRun?: (run: { reason: SyncTrigger; direction: SyncDirection }) => boolean | void;
}

/** A write waiting to be pushed, as `pendingMutations` lists it. */
export interface PendingMutation {
  seq: number;
  op: 'put' | 'patch' | 'delete';
  collection: string;
  key: string;
  /** Pushes that carried it so far. */
  attempts: number;
  /** When the last push that carried it ended (ms since the epoch); null before the first. */
  lastAttemptAt: number | null;
  /** The error of the last push that carried it and failed; null while none has. */
  lastError: string | null;
}

/** A conflict resolution, as `conflictLog` lists it. */
export interface ConflictLogEntry {
  /** Ascending, never reused (clearConflictLog included): page on with the last id of a page. */
  id: number;
  /** When it was resolved (ms since the epoch). */
  at: number;
  collection: string;
  key: string;
  strategy: ConflictStrategy;
  /** `server`: the server's document stands; `local`: the local edit won and goes up again; `new`: a merged or custom value. */
  winner: 'server' | 'local' | 'new';
  /** As in the `sync.conflict` event, e.g. `merged`. */
  resolution: string;
  /** The sync run that met the conflict. */
  runId: number;
  /** The server's version the local write met. */
  serverVersion: number;
}

/** A mutation the server rejected, kept until retried or discarded. */
export interface FailedMutation extends Mutation {
  error: string;
  attempts: number;
}

export interface ChangeDetail {
  documents: { collection: string; key: string }[];
  remote: boolean;
  /** Local retention dropped them from this store (`evict`, `retention`); the server keeps them. */
  evicted: boolean;
}

/**
 * Local retention of one collection (`retention` option): documents synced
 * longer ago than `maxAgeMs`, and beyond `maxCount` the longest synced, are
 * evicted from this store, never from the server. A rule needs one bound.
 */
export interface RetentionRule {
  maxAgeMs?: number;
  maxCount?: number;
}

/** The `detail` of `sync.progress`. */
export interface SyncProgress {
  runId: number;
  phase: 'push' | 'pull';
  /** Writes the server applied (or had applied) so far. */
  pushed: number;
  /** Writes answered so far: applied, duplicate, conflict or rejected. */
  pushDone: number;
  /** Pending when the run began plus writes it picked up. */
  pushTotal: number;
  pulled: number;
  /**
   * An estimate of the changes this pull brings (pulled plus at most what the
   * server says remains) while pages follow; equal to `pulled` once the last
   * page is in; 0 while unknown (before the first page, or a scoped pull).
   */
  pullTotal: number;
}

/** The `detail` of `sync.conflict`: the server refused a local write and the collection's strategy decided. */
export interface ConflictDetail {
  runId: number;
  /** The write the server refused (the first, if several). */
  local: Mutation;
  /** What the server held. */
  server: { version: number; deleted: boolean; value?: Json; hlc?: string };
  /**
   * What was decided: "server_wins", "client_wins", "last_write_wins_local",
   * "last_write_wins_remote", "merged", "custom", "custom_failed: <message>"
   * (the server's document was kept), or, for a conflict kept open for
   * `resolveConflict`, "manual" or "deferred" (`resolve` returned a promise).
   */
  resolution: string;
  /** The document now; pushed again unless it is the server's. */
  resolved: { deleted: boolean; value?: Json };
}

/**
 * Every event a FerryClient dispatches (a CustomEvent) and its `detail`;
 * `addEventListener` takes only these names.
 */
export interface FerryEventMap {
  'sync.started': { runId: number; reason: SyncTrigger; direction: SyncDirection };
  'sync.progress': SyncProgress;
  'sync.completed': SyncRun;
  /** Also a cancelled run (`outcome` says). */
  'sync.failed': SyncRun;
  'sync.conflict': ConflictDetail;
  'mutation.rejected': { mutation: Mutation; error: string };
  /** The status, wrapped: `event.detail.status`. */
  status: { status: SyncStatus };
  /** Local views changed (as `subscribe` reports). */
  change: ChangeDetail;
  /** Persisting to IndexedDB failed; the writes stay committed in memory and queued. */
  'persist.failed': { error: string };
  /** Registering the Background Sync tag failed (no service worker or API). */
  'backgroundsync.unavailable': { error: string };
  /** A context sharing another's store could not take it over; every call fails from now on. */
  error: { error: string };
}

export type FerryEventName = keyof FerryEventMap;
export type FerryEvent<Name extends FerryEventName> = CustomEvent<FerryEventMap[Name]>;
/** A listener for the event `Name`: a function or an object with `handleEvent`. */
export type FerryEventListener<Name extends FerryEventName> =
  | ((event: FerryEvent<Name>) => void)
  | { handleEvent(event: FerryEvent<Name>): void };

/**
 * addEventListener's options, spelled out rather than the DOM's
 * AddEventListenerOptions, so that a Node project without the DOM library
 * compiles against these declarations.
 */
export interface FerryListenerOptions {
  capture?: boolean;
  once?: boolean;
  passive?: boolean;
  signal?: AbortSignal;
}

/**
 * The codes a FerryError carries (core's ErrorCodeName). "cursor_expired"
 * is missing on purpose: the engine handles an expired cursor itself (a full
 * resync) and never reports it.
 */
export type FerryErrorCode =
  | 'invalid_argument'  // the caller passed something malformed, or the client is closed
  | 'not_found'  // e.g. no failed mutation with that seq
  | 'corruption'  // stored data does not decode
  | 'protocol'  // the server answered something the protocol does not allow
  | 'too_large'  // a size or nesting limit was exceeded
  | 'unavailable'  // network or server unavailable; retried
  | 'unauthenticated'  // the server refused the token
  | 'cancelled'  // the operation was cancelled (e.g. the client closed)
  | 'io'  // storage failed
  | 'unsupported_version'  // a store or protocol version newer than this build
  | 'internal'  // a broken invariant inside Ferry
  | 'busy';  // the store is in use by another client (Node: another process or object)

/** A failure reported by Ferry, with a stable code (e.g. "invalid_argument"). */
export class FerryError extends Error {
  constructor(readonly code: FerryErrorCode, message: string) {
    super(message);
    this.name = 'FerryError';
  }
}
