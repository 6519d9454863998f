// The owner's backend: runs the wasm engine on the store and carries out what
// its runtime asks (requests, the timer, events, persisting), on the JS event
// loop. One per open store in a context; with several contexts sharing an
// IndexedDB store, only the owning one has it.
import type { Backend } from './backend.js';
import type { FerryModule, WebClientHandle } from './ferry_wasm.mjs';
import { serializeWrites } from './arguments.js';
import { answerConflict, conflictSettler } from './conflict_answer.js';
import { answerHook, hookPoints } from './hooks.js';
import { attachRuntimeHost, detachRuntimeHost, isNode, unwrap, type RuntimeHost } from './module.js';
import { callLog, retentionRules, type ResolvedOptions } from './options.js';
import { GroupCommit } from './persist.js';
import { mountStore, type MountedStore } from './storage.js';
import { canGzip, FetchTransport } from './transport_fetch.js';
import { FerryError, type ConflictLogEntry, type FailedMutation, type Json, type OpenConflict, type PendingMutation, type QueryPage, type QueryPlan, type StoredDocument, type SyncDirection, type SyncReason, type SyncRun, type SyncStatistics, type SyncStatus, type Write } from './types.js';

/** Hands an event (its type and the CustomEvent's detail) to the client. */
export type EmitEvent = (type: string, detail: unknown) => void;

/** An event as the runtime emits it: its type and fields (a run for sync.completed and sync.failed). */
type EngineEvent = { type: string; run?: SyncRun } & Record<string, unknown>;

export class OwnerBackend implements Backend {
  private readonly commits: GroupCommit;
  private readonly transport: FetchTransport;
  private readonly handle: number;
  private readonly web: WebClientHandle;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly runWaiters = new Map<number, { resolve: (run: SyncRun) => void; reject: (error: unknown) => void }>();
  private nextWaiter = 1;
  /** Undoes network listeners. */
  private readonly detach: (() => void)[] = [];
  private closing = false;
  /** The interval sync asked for (options or startBackgroundSync); 0: none. */
  private intervalMs: number;
  private id = '';

  /** Mounts and loads the store and opens the engine on it. */
  static async open(module: FerryModule, options: ResolvedOptions, emit: EmitEvent): Promise<OwnerBackend> {
    // A load that fails or that the journal refuses is tried again: IDBFS,
    // which loaded in two IndexedDB transactions, could mix two states when a
    // closed tab's last sync landed in between. store_indexeddb.ts loads in
    // one transaction; the retry stays for a transient IndexedDB failure.
    // Real damage fails every time.
    for (let attempt = 1; ; ++attempt) {
      try {
        return await OwnerBackend.openOnce(module, options, emit);
      } catch (error) {
        const retryable = options.storage === 'indexeddb' && attempt < 3 &&
          (!(error instanceof FerryError) || error.code === 'corruption' || error.code === 'io');
        if (!retryable) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  }

  private static async openOnce(module: FerryModule, options: ResolvedOptions, emit: EmitEvent): Promise<OwnerBackend> {
    const store = await mountStore(module, options);
    const owner = new OwnerBackend(module, store, options, emit);
    try {
      owner.openEngine();
    } catch (error) {
      detachRuntimeHost(owner.handle);
      owner.web.delete();
      store.unmount();
      throw error;
    }
    return owner;
  }

  private constructor(
    module: FerryModule,
    private readonly store: MountedStore,
    private readonly options: ResolvedOptions,
    private readonly emit: EmitEvent,
  ) {
    this.intervalMs = options.intervalMs ?? 0;
    this.commits = new GroupCommit(store, (failure) => emit('persist.failed', { error: failure.message }));
    this.transport = new FetchTransport({
      data: (requestId, chunk) => {
        if (!this.closing) this.web.handleStreamData(requestId, chunk);
      },
      done: (requestId, status, body, retryAfter, error, serverReached) => {
        if (!this.closing) this.web.handleTransferDone(requestId, status, body, retryAfter, error, serverReached);
      },
    });
    // Registered before the engine opens: the runtime calls back (timers,
    // requests, persist) from inside open().
    this.handle = attachRuntimeHost(this.runtimeHost());
    this.web = new module.WebClient(this.handle);
  }

  private openEngine(): void {
    const conflicts = this.options.conflicts;
    const engineOptions = {
      endpoint: this.options.endpoint,
      hasTokenProvider: typeof this.options.getToken === 'function',
      gzipAboveBytes: this.options.gzipAboveBytes,
      canGzip,
      liveUpdates: this.options.liveUpdates,
      conflicts: { default: conflicts?.default, collections: conflicts?.collections, custom: typeof conflicts?.resolve === 'function' },
      seed: Math.floor(Math.random() * 2 ** 52) + 1,
      autoSync: this.options.autoSync,
      intervalMs: this.options.intervalMs,
      requestTimeoutMs: this.options.requestTimeoutMs,
      maxAttempts: this.options.maxAttempts,
      deadLetterMaxAgeMs: this.options.deadLetterMaxAgeMs,
      backoffBaseMs: this.options.backoffBaseMs,
      backoffMaxMs: this.options.backoffMaxMs,
      pushBatchSize: this.options.pushBatchSize,
      pushBatchBytes: this.options.pushBatchBytes,
      pullPageSize: this.options.pullPageSize,
      historyLimit: this.options.historyLimit,
      conflictLogLimit: this.options.conflictLogLimit,
      uploadOnly: this.options.uploadOnly ?? [],
      deferrable: this.options.deferrable ?? [],
      indexes: this.options.indexes ?? [],
      pullCollections: this.options.pullCollections ?? null,
      retention: retentionRules(this.options.retention),
      hasLog: typeof this.options.log === 'function',
      headers: this.options.headers ?? {},
      hooks: hookPoints(this.options.hooks),
    };
    this.id = unwrap<{ clientId: string }>(this.web.open(this.store.journalPath, JSON.stringify(engineOptions))).clientId;
    this.followNetwork();
  }

  /** Kept from open: it never changes, and stays readable after close. */
  get clientId(): string {
    return this.id;
  }

  async write(writes: Write[], writeId = ''): Promise<void> {
    unwrap(this.web.write(serializeWrites(writes), writeId));
    await this.commits.persisted();
  }

  async get(collection: string, key: string): Promise<Json | undefined> {
    const result = unwrap<{ value: Json; exists: boolean }>(this.web.get(collection, key));
    return result.exists ? result.value : undefined;
  }

  async query(queryJson: string): Promise<QueryPage> {
    return unwrap<{ page: QueryPage }>(this.web.query(queryJson)).page;
  }

  async count(queryJson: string): Promise<number> {
    return unwrap<{ count: number }>(this.web.count(queryJson)).count;
  }

  async explain(queryJson: string): Promise<QueryPlan> {
    return unwrap<{ plan: QueryPlan }>(this.web.explain(queryJson)).plan;
  }

  async subscribeQuery(id: number, queryJson: string): Promise<void> {
    unwrap(this.web.subscribeQuery(id, queryJson));
  }

  async unsubscribeQuery(id: number): Promise<void> {
    unwrap(this.web.unsubscribeQuery(id));
  }

  async scan(collection: string, keyPrefix: string, limit: number): Promise<StoredDocument[]> {
    return unwrap<{ items: StoredDocument[] }>(this.web.scan(collection, keyPrefix, limit)).items;
  }

  syncNow(reason: SyncReason, direction: SyncDirection): Promise<SyncRun> {
    return this.waitForRun((waiter) => this.web.syncNow(reason, direction, waiter));
  }

  resync(): Promise<SyncRun> {
    return this.waitForRun((waiter) => this.web.resync(waiter));
  }

  /** Starts a run with `start(waiter)`; the module's syncDone(waiter) settles the promise. */
  private waitForRun(start: (waiter: number) => void): Promise<SyncRun> {
    return new Promise((resolve, reject) => {
      const waiter = this.nextWaiter++;
      this.runWaiters.set(waiter, { resolve, reject });
      start(waiter);
    });
  }

  startBackgroundSync(intervalMs: number): void {
    this.intervalMs = intervalMs;
    this.web.setInterval(intervalMs);
  }

  stopBackgroundSync(): void {
    this.intervalMs = 0;
    this.web.setInterval(0);
  }

  setOnline(online: boolean): void {
    this.web.setOnline(online);
  }

  networkChanged(): void {
    this.web.networkChanged();
  }

  setMetered(metered: boolean): void {
    this.web.setMetered(metered);
  }

  cancel(): void {
    this.web.cancel();
  }

  status(): SyncStatus {
    return unwrap<{ status: SyncStatus }>(this.web.status()).status;
  }

  statistics(): SyncStatistics {
    return unwrap<{ statistics: SyncStatistics }>(this.web.statistics()).statistics;
  }

  history(limit: number): SyncRun[] {
    return unwrap<{ runs: SyncRun[] }>(this.web.history(limit)).runs;
  }

  failedMutations(): FailedMutation[] {
    return unwrap<{ mutations: FailedMutation[] }>(this.web.failedMutations()).mutations;
  }

  async retryFailedMutation(seq: number, writeId = ''): Promise<number> {
    const result = unwrap<{ seq: number }>(this.web.retryFailedMutation(seq, writeId));
    await this.commits.persisted();
    return result.seq;
  }

  async discardFailedMutation(seq: number, writeId = ''): Promise<void> {
    unwrap(this.web.discardFailedMutation(seq, writeId));
    await this.commits.persisted();
  }

  async pendingMutations(afterSeq: number, limit: number): Promise<PendingMutation[]> {
    return unwrap<{ mutations: PendingMutation[] }>(this.web.pendingMutations(afterSeq, limit)).mutations;
  }

  async clearHistory(keepLatest: boolean): Promise<void> {
    unwrap(this.web.clearHistory(keepLatest));
    await this.commits.persisted();
  }

  async conflictLog(afterId: number, limit: number): Promise<ConflictLogEntry[]> {
    return unwrap<{ entries: ConflictLogEntry[] }>(this.web.conflictLog(afterId, limit)).entries;
  }

  async clearConflictLog(): Promise<void> {
    unwrap(this.web.clearConflictLog());
    await this.commits.persisted();
  }

  async conflicts(): Promise<OpenConflict[]> {
    return unwrap<{ conflicts: OpenConflict[] }>(this.web.conflicts()).conflicts;
  }

  async resolveConflict(collection: string, key: string, valueJson: string, writeId = ''): Promise<void> {
    unwrap(this.web.resolveConflict(collection, key, valueJson, writeId));
    await this.commits.persisted();
  }
  async evict(collection: string, keys: string[] | null): Promise<number> {
    const { evicted } = unwrap<{ evicted: number }>(this.web.evict(collection, JSON.stringify(keys)));
    await this.commits.persisted();
    return evicted;
  }


  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    // Network listeners and the live stream go first: nothing may reach the
    // engine once it is closing.
    for (const undo of this.detach) undo();
    this.detach.length = 0;
    this.web.close();  // pending syncNow waiters are told the client closed
    this.transport.abortAll();
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.commits.persisted();
    detachRuntimeHost(this.handle);
    this.web.delete();
    this.store.unmount();
  }

  /** What the engine's runtime calls (module.ts routes it here by handle). */
  private runtimeHost(): RuntimeHost {
    return {
      needToken: (requestId, refresh) => this.fetchToken(requestId, refresh),
      fetch: (request) => this.transport.start(request),
      abort: (requestId) => this.transport.abort(requestId),
      syncDone: (waiter, resultJson) => this.syncDone(waiter, resultJson),
      setTimer: (delayMs) => this.setTimer(delayMs),
      emit: (eventJson) => this.deliver(JSON.parse(eventJson) as EngineEvent),
      persist: () => this.commits.request(),
      resolve: (inputJson) => answerConflict(this.options.conflicts!.resolve!, inputJson, conflictSettler(this, this.options.log)),
      hook: (point, inputJson) => answerHook(this.options.hooks ?? {}, point, inputJson),
      log: (level, message) => callLog(this.options.log, level, message),
    };
  }

  private setTimer(delayMs: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (delayMs >= 0 && !this.closing) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (!this.closing) this.web.handleTimeout();
      }, delayMs);
      // Node: a client keeps the process running while it has work, writes
      // waiting to go up or an interval sync; not for reconnecting its live
      // stream or other idle retries, so a script ends without close().
      if (isNode && !this.hasWork()) (this.timer as { unref?: () => void }).unref?.();
    }
  }

  private hasWork(): boolean {
    if (this.intervalMs > 0) return true;
    const answer = JSON.parse(this.web.status()) as { ok: boolean; status?: SyncStatus };
    return !answer.ok || (answer.status?.pending ?? 0) > 0;  // not open yet (a timer armed inside open): keep it
  }

  /** The app's getToken, asked afresh for every request; the token is never kept. */
  private fetchToken(requestId: number, refresh: boolean): void {
    Promise.resolve()
      .then(() => this.options.getToken!({ refresh }))
      .then(
        (token) => {
          if (!this.closing) this.web.handleToken(requestId, typeof token === 'string' ? token : '');
        },
        (error: unknown) => {
          if (!this.closing) this.web.handleTokenFailure(requestId, String((error as Error)?.message ?? error));
        },
      );
  }

  private syncDone(waiter: number, resultJson: string): void {
    const pending = this.runWaiters.get(waiter);
    if (!pending) return;
    this.runWaiters.delete(waiter);
    try {
      pending.resolve(unwrap<{ run: SyncRun }>(resultJson).run);
    } catch (error) {
      pending.reject(error);
    }
  }

  private deliver(event: EngineEvent): void {
    const finished = event.type === 'sync.completed' || event.type === 'sync.failed';
    const { type, ...fields } = event;
    this.emit(type, finished ? event.run : fields);
  }

  /** Feeds the environment's online/offline events to the engine. */
  private followNetwork(): void {
    if (!this.options.followNetworkEvents || isNode) return;
    const target = globalThis as unknown as {
      addEventListener?: (type: string, listener: () => void) => void;
      removeEventListener?: (type: string, listener: () => void) => void;
      navigator?: { onLine?: boolean };
    };
    if (typeof target.addEventListener !== 'function') return;
    const online = () => this.setOnline(true);
    const offline = () => this.setOnline(false);
    target.addEventListener('online', online);
    target.addEventListener('offline', offline);
    this.detach.push(() => {
      target.removeEventListener?.('online', online);
      target.removeEventListener?.('offline', offline);
    });
    if (target.navigator?.onLine === false) this.setOnline(false);
  }
}
