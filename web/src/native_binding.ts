// The interface a native Ferry exposes to JavaScript: the Node addon
// (`require('ferry-sync-linux-x64-gnu')`, bindings/node) and the React Native
// JSI host object (`global.__ferry`) both implement exactly this, over the
// C API and bindings/async. NativeBackend (native.ts) is its one user.
//
// Every method that touches the store or the engine returns a promise: the
// work runs on the client's worker and owner threads, never on the JS
// thread. Results and events come back on the JS thread through one ordered
// queue, so the events a call caused (status, change) are dispatched before
// its promise settles. Errors reject with an Error whose `code` is the C
// API's error name (ferry_result_name: "busy", "invalid_argument", ...;
// "invalid_handle" once the client is closed). Wrong argument types throw a
// TypeError synchronously.

export interface NativeBinding {
  /** ferry_version() of the native library. */
  readonly version: string;
  open(options: NativeOpenOptions, callbacks: NativeCallbacks): Promise<NativeClient>;
  /** Sign-out: deletes the store file at `path` (it must be closed). */
  deleteLocalData(path: string): Promise<void>;
  /** ferry_cleartext_endpoint_warning, synchronous: "" when there is nothing to warn of. */
  cleartextEndpointWarning(endpoint: string): string;
}

export interface NativeOpenOptions {
  /** The SQLite file of the store. */
  path: string;
  endpoint: string;
  syncOnLocalWrite: boolean;
  requestTimeoutMs: number;
  /** Background sync interval at open; 0: none. */
  intervalMs: number;
  liveUpdates: boolean;
  gzipAboveBytes: number;
  /** As ferry_client_options.conflicts_json ("" = server wins everywhere). */
  conflictsJson: string;
  /** true: callbacks.sendRequest carries HTTP (React Native); false: libcurl (Node). */
  hostTransport: boolean;
  /** As ferry_client_options.store_lock_timeout_ms; 0: "busy" at once. */
  storeLockTimeoutMs: number;
  /** As ferry_client_options.max_attempts; 0: no cap. */
  maxAttempts: number;
  /** As ferry_client_options.dead_letter_max_age_ms; 0: dead letters are kept. */
  deadLetterMaxAgeMs: number;
  /** As the ferry_client_options fields of the same names (snake_case); 0: the default. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  pushBatchSize: number;
  pushBatchBytes: number;
  pullPageSize: number;
  historyLimit: number;
  /** As ferry_client_options.conflict_log_limit (0: none); null: the default. */
  conflictLogLimit: number | null;
  /** As ferry_client_options.hook_points: which hooks callbacks.hook answers (hooks.ts hookPoints). */
  hookPoints: number;
  /** As ferry_client_options.headers; refused at open by the C API's rule. */
  headers: Record<string, string>;
  /** As ferry_client_options.upload_only. */
  uploadOnly: string[];
  /** As ferry_client_options.deferrable. */
  deferrable: string[];
  /** As ferry_client_options.indexes_json. */
  indexesJson: string;
  /** As ferry_client_options.pull_collections; null: every collection (has_pull_scope false). */
  pullCollections: string[] | null;
  /** As ferry_client_options.retention; 0: a bound left out. */
  retention: { collection: string; maxAgeMs: number; maxCount: number }[];
}

/** Called on the JS thread, in order. */
export interface NativeCallbacks {
  onEvent(eventJson: string): void;
  /** Absent: no Authorization header. A throw or rejection is an auth error with its message. */
  getToken?(refresh: boolean): string | undefined | Promise<string | undefined>;
  /** Synchronous; answers {"value":doc} | {"deleted":true} | {"error":msg} as JSON. */
  resolveConflict?(inputJson: string): string;
  /** Synchronous; `point` a FERRY_HOOK_* bit; answers as hooks.ts answerHook. */
  hook?(point: number, inputJson: string): string;
  /** hostTransport only: start the request; answer with completeRequest (and requestData for a stream). */
  sendRequest?(request: NativeHttpRequest): void;
  cancelRequest?(id: number): void;
  /** level: 0 debug, 1 info, 2 warning, 3 error. */
  log?(level: number, message: string): void;
}

export interface NativeHttpRequest {
  id: number;
  method: string;
  url: string;
  headers: [string, string][];
  body: Uint8Array;
  /** 0: no limit (the live stream). */
  timeoutMs: number;
  /** The live stream: pass each chunk to requestData, then complete the request. */
  stream: boolean;
}

export interface NativeClient {
  readonly clientId: string;
  /** ferry_client_write: resolves once the writes are committed. */
  write(writesJson: string): Promise<void>;
  /** The document's JSON text, or undefined. */
  get(collection: string, key: string): Promise<string | undefined>;
  /** [{"key","value"}] as JSON text; limit 0: all. */
  scan(collection: string, keyPrefix: string, limit: number): Promise<string>;
  /** ferry_client_query: the page's JSON text. */
  query(queryJson: string): Promise<string>;
  count(queryJson: string): Promise<number>;
  /** ferry_client_explain: the plan's JSON text. */
  explain(queryJson: string): Promise<string>;
  /** ferry_client_subscribe_query with the caller's id: resolves once its first page was delivered. */
  subscribeQuery(id: number, queryJson: string): Promise<void>;
  unsubscribeQuery(id: number): Promise<void>;
  /** The run's JSON text; `direction` a ferry_sync_direction (0 both, 1 push, 2 pull). */
  syncNow(direction: number): Promise<string>;
  /** ferry_client_resync: the run's JSON text. */
  resync(): Promise<string>;
  startBackgroundSync(intervalMs: number): Promise<void>;
  stopBackgroundSync(): Promise<void>;
  setOnline(online: boolean): Promise<void>;
  networkChanged(): Promise<void>;
  setMetered(metered: boolean): Promise<void>;
  cancel(): Promise<void>;
  /** {"status","statistics","history","failedMutations"} as JSON text. */
  report(historyLimit: number): Promise<string>;
  /** Resolves with the mutation's new seq. */
  retryFailedMutation(seq: number): Promise<number>;
  discardFailedMutation(seq: number): Promise<void>;
  /** ferry_client_pending_mutations: a JSON array as text. */
  pendingMutations(afterSeq: number, limit: number): Promise<string>;
  clearHistory(keepLatest: boolean): Promise<void>;
  /** ferry_client_conflict_log: a JSON array as text. */
  conflictLog(afterId: number, limit: number): Promise<string>;
  clearConflictLog(): Promise<void>;
  /** ferry_client_conflicts: a JSON array as text. */
  conflicts(): Promise<string>;
  /** ferry_client_resolve_conflict: `valueJson` the document, or null to delete it. */
  resolveConflict(collection: string, key: string, valueJson: string): Promise<void>;
  /** ferry_client_evict: `keys`, or the whole collection with null; resolves with how many went. */
  evict(collection: string, keys: string[] | null): Promise<number>;
  /** Host transport answers (any time; a late one is ignored). status 0 with transportError: no HTTP answer. */
  completeRequest(id: number, status: number, body: Uint8Array, retryAfter: string, transportError: string): void;
  requestData(id: number, chunk: Uint8Array): void;
  /** Closes the client; nothing is delivered after this resolves. */
  close(): Promise<void>;
  /**
   * Node: whether the open client keeps the process running (its calls in
   * flight always do). The TS layer sets it while the client has work:
   * writes pending, an interval sync. Absent where it means nothing (React Native).
   */
  setKeepAlive?(keepAlive: boolean): void;
}
