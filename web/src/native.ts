// The native backend: FerryClient over a NativeBinding (the Node addon, or
// React Native's JSI object), whose calls run on native threads and answer
// with promises. Platform-neutral: the store's file and the binding come
// from the entry that chose the native implementation (native_node.ts in
// Node).
//
// What it keeps to answer synchronously (status(), statistics(), history(),
// failedMutations() are synchronous in the Backend interface): the status
// from every status event, and the rest from report(), read at open, before
// it dispatches an event that changes them (sync.completed, sync.failed,
// mutation.rejected, sync.conflict) and after a retry or discard. Events go
// through one queue, so that refresh never reorders them, and every call
// resolves only after the events that reached it first were dispatched: a
// call's own events (the binding delivers them before its result) are
// visible when its promise settles, as with the wasm build.
//
// Threading: the JS event loop.
import type { Backend } from './backend.js';
import { serializeWrites } from './arguments.js';
import { answerConflict, conflictSettler } from './conflict_answer.js';
import { answerHook, hookPoints } from './hooks.js';
import type { NativeBinding, NativeCallbacks, NativeClient } from './native_binding.js';
import { callLog, printEndpointWarning, retentionRules, type ResolvedOptions } from './options.js';
import type { EmitEvent } from './owner.js';
import { FerryError, type ConflictLogEntry, type FailedMutation, type FerryErrorCode, type Json, type OpenConflict, type PendingMutation, type QueryPage, type QueryPlan, type StoredDocument, type SyncDirection, type SyncReason, type SyncRun, type SyncStatistics, type SyncStatus, type Write } from './types.js';

/** Where the store's SQLite file is, and what to do once the client closed. */
export interface NativeStore {
  readonly path: string;
  /** After close (or a failed open): e.g. a memory store's files go. */
  release(): void;
}

/** What a host adds to the callbacks: React Native carries HTTP itself. */
export interface NativeHostHooks {
  /**
   * The host transport (React Native): its callbacks get the open client to
   * answer with (completeRequest, requestData). Requests the engine sends
   * while the open is still under way are handed over once it resolved.
   */
  hostTransport?: Required<Pick<NativeCallbacks, 'sendRequest'>> & Pick<NativeCallbacks, 'cancelRequest'> & { attach(client: NativeClient): void };
  log?: NativeCallbacks['log'];
}

/** report()'s JSON. */
interface Report {
  status: SyncStatus;
  statistics: SyncStatistics;
  history: SyncRun[];
  failedMutations: FailedMutation[];
}

/** The newest runs kept for history(); a longer history() shows these. */
const historyKept = 100;

/** ferry_sync_direction's values (ferry.h). */
const cDirections: Record<SyncDirection, number> = { both: 0, push: 1, pull: 2 };

/** Events after which statistics, history or failed mutations changed. */
const refreshingEvents = new Set(['sync.completed', 'sync.failed', 'mutation.rejected', 'sync.conflict']);

const ferryErrorCodes = new Set<string>([
  'invalid_argument', 'not_found', 'corruption', 'protocol', 'too_large', 'unavailable',
  'unauthenticated', 'cancelled', 'io', 'unsupported_version', 'internal', 'busy',
]);

/** A binding's rejection (an Error with the C API's `code`) as a FerryError. */
export function toFerryError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return error;
  const message = String((error as Error).message ?? code);
  if (code === 'invalid_handle') return new FerryError('invalid_argument', 'the client is closed');
  return new FerryError(ferryErrorCodes.has(code) ? (code as FerryErrorCode) : 'internal', message);
}

export class NativeBackend implements Backend {
  private client!: NativeClient;
  private latest!: Report;
  /** Events in order; each call's result waits for it to drain. */
  private events: Promise<void> = Promise.resolve();
  private closing = false;
  private intervalMs: number;
  private declaredOnline = true;
  private keptAlive: boolean | undefined;
  /** Host-transport calls made before open resolved, in order. */
  private beforeOpen: (() => void)[] | undefined = [];

  static async open(binding: NativeBinding, options: ResolvedOptions, store: NativeStore, emit: EmitEvent, hooks: NativeHostHooks = {}): Promise<NativeBackend> {
    const backend = new NativeBackend(options, store, emit);
    try {
      printEndpointWarning(binding.cleartextEndpointWarning(options.endpoint));
      backend.client = await binding.open(backend.openOptions(hooks), backend.callbacks(hooks)).catch((error: unknown) => {
        throw toFerryError(error);
      });
    } catch (error) {
      store.release();
      throw error;
    }
    hooks.hostTransport?.attach(backend.client);
    for (const call of backend.beforeOpen ?? []) call();
    backend.beforeOpen = undefined;
    backend.latest = await backend.report();
    backend.updateKeepAlive();
    return backend;
  }

  private constructor(
    private readonly options: ResolvedOptions,
    private readonly store: NativeStore,
    private readonly emit: EmitEvent,
  ) {
    this.intervalMs = options.intervalMs ?? 0;
  }

  get clientId(): string {
    return this.client.clientId;
  }

  // ---- calls

  async write(writes: Write[]): Promise<void> {
    await this.call(this.client.write(serializeWrites(writes)));
  }

  async get(collection: string, key: string): Promise<Json | undefined> {
    const text = await this.call(this.client.get(collection, key));
    return text === undefined ? undefined : (JSON.parse(text) as Json);
  }

  async query(queryJson: string): Promise<QueryPage> {
    return JSON.parse(await this.call(this.client.query(queryJson))) as QueryPage;
  }

  async count(queryJson: string): Promise<number> {
    return this.call(this.client.count(queryJson));
  }

  async explain(queryJson: string): Promise<QueryPlan> {
    return JSON.parse(await this.call(this.client.explain(queryJson))) as QueryPlan;
  }

  async subscribeQuery(id: number, queryJson: string): Promise<void> {
    return this.call(this.client.subscribeQuery(id, queryJson));
  }

  async unsubscribeQuery(id: number): Promise<void> {
    return this.call(this.client.unsubscribeQuery(id));
  }

  async scan(collection: string, keyPrefix: string, limit: number): Promise<StoredDocument[]> {
    return JSON.parse(await this.call(this.client.scan(collection, keyPrefix, limit))) as StoredDocument[];
  }

  /** The C API runs every requested sync as "manual": `reason` is not carried (the engine's own triggers are). */
  async syncNow(_reason: SyncReason, direction: SyncDirection): Promise<SyncRun> {
    return JSON.parse(await this.call(this.client.syncNow(cDirections[direction]))) as SyncRun;
  }

  async resync(): Promise<SyncRun> {
    return JSON.parse(await this.call(this.client.resync())) as SyncRun;
  }

  startBackgroundSync(intervalMs: number): void {
    this.intervalMs = intervalMs;
    this.updateKeepAlive();
    this.fireAndForget(this.client.startBackgroundSync(intervalMs));
  }

  stopBackgroundSync(): void {
    this.intervalMs = 0;
    this.updateKeepAlive();
    this.fireAndForget(this.client.stopBackgroundSync());
  }

  setOnline(online: boolean): void {
    this.declaredOnline = online;
    this.updateKeepAlive();
    this.fireAndForget(this.client.setOnline(online));
  }

  networkChanged(): void {
    this.fireAndForget(this.client.networkChanged());
  }

  setMetered(metered: boolean): void {
    this.fireAndForget(this.client.setMetered(metered));
  }

  cancel(): void {
    this.fireAndForget(this.client.cancel());
  }

  status(): SyncStatus {
    return this.latest.status;
  }

  statistics(): SyncStatistics {
    return this.latest.statistics;
  }

  history(limit: number): SyncRun[] {
    return this.latest.history.slice(0, limit > 0 ? limit : historyKept);
  }

  failedMutations(): FailedMutation[] {
    return this.latest.failedMutations;
  }

  async retryFailedMutation(seq: number): Promise<number> {
    const retried = await this.call(this.client.retryFailedMutation(seq));
    await this.refresh();
    return retried;
  }

  async discardFailedMutation(seq: number): Promise<void> {
    await this.call(this.client.discardFailedMutation(seq));
    await this.refresh();
  }

  async pendingMutations(afterSeq: number, limit: number): Promise<PendingMutation[]> {
    return JSON.parse(await this.call(this.client.pendingMutations(afterSeq, limit))) as PendingMutation[];
  }

  async evict(collection: string, keys: string[] | null): Promise<number> {
    const evicted = await this.call(this.client.evict(collection, keys));
    await this.refresh();  // statistics count the evictions
    return evicted;
  }

  async clearHistory(keepLatest: boolean): Promise<void> {
    await this.call(this.client.clearHistory(keepLatest));
    await this.refresh();
  }

  async conflictLog(afterId: number, limit: number): Promise<ConflictLogEntry[]> {
    return JSON.parse(await this.call(this.client.conflictLog(afterId, limit))) as ConflictLogEntry[];
  }

  async clearConflictLog(): Promise<void> {
    await this.call(this.client.clearConflictLog());
  }

  async conflicts(): Promise<OpenConflict[]> {
    return JSON.parse(await this.call(this.client.conflicts())) as OpenConflict[];
  }

  async resolveConflict(collection: string, key: string, valueJson: string): Promise<void> {
    await this.call(this.client.resolveConflict(collection, key, valueJson));
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    try {
      await this.client.close().catch((error: unknown) => {
        throw toFerryError(error);
      });
    } finally {
      this.store.release();
    }
  }

  // ---- internals

  private openOptions(hooks: NativeHostHooks) {
    const conflicts = this.options.conflicts;
    const strategies = { default: conflicts?.default, collections: conflicts?.collections };
    return {
      path: this.store.path,
      endpoint: this.options.endpoint,
      syncOnLocalWrite: this.options.autoSync,
      requestTimeoutMs: this.options.requestTimeoutMs,
      intervalMs: this.options.intervalMs ?? 0,
      liveUpdates: this.options.liveUpdates,
      gzipAboveBytes: this.options.gzipAboveBytes,
      conflictsJson: JSON.stringify(strategies),
      hostTransport: hooks.hostTransport !== undefined,
      storeLockTimeoutMs: this.options.storeLockTimeoutMs,
      maxAttempts: this.options.maxAttempts ?? 0,
      deadLetterMaxAgeMs: this.options.deadLetterMaxAgeMs ?? 0,
      backoffBaseMs: this.options.backoffBaseMs ?? 0,
      backoffMaxMs: this.options.backoffMaxMs ?? 0,
      pushBatchSize: this.options.pushBatchSize ?? 0,
      pushBatchBytes: this.options.pushBatchBytes ?? 0,
      pullPageSize: this.options.pullPageSize ?? 0,
      historyLimit: this.options.historyLimit ?? 0,
      conflictLogLimit: this.options.conflictLogLimit ?? null,
      hookPoints: hookPoints(this.options.hooks),
      headers: this.options.headers ?? {},
      uploadOnly: this.options.uploadOnly ?? [],
      deferrable: this.options.deferrable ?? [],
      indexesJson: JSON.stringify(this.options.indexes ?? []),
      pullCollections: this.options.pullCollections ?? null,
      retention: retentionRules(this.options.retention),
    };
  }

  private callbacks(hooks: NativeHostHooks): NativeCallbacks {
    const { getToken, conflicts, hooks: appHooks } = this.options;
    const resolve = conflicts?.resolve;
    return {
      onEvent: (eventJson) => this.onEvent(eventJson),
      getToken: getToken ? (refresh) => getToken({ refresh }) : undefined,
      resolveConflict: resolve ? (inputJson) => answerConflict(resolve, inputJson, conflictSettler(this, this.options.log)) : undefined,
      hook: appHooks ? (point, inputJson) => answerHook(appHooks, point, inputJson) : undefined,
      log: this.options.log ? (level, message) => callLog(this.options.log, level, message) : hooks.log,
      ...this.hostTransport(hooks),
    };
  }

  private hostTransport(hooks: NativeHostHooks): Pick<NativeCallbacks, 'sendRequest' | 'cancelRequest'> {
    const transport = hooks.hostTransport;
    if (!transport) return {};
    const afterOpen = (call: () => void) => (this.beforeOpen ? this.beforeOpen.push(call) : call());
    return {
      sendRequest: (request) => afterOpen(() => transport.sendRequest(request)),
      cancelRequest: transport.cancelRequest && ((id) => afterOpen(() => transport.cancelRequest!(id))),
    };
  }

  /** A call's value once the events that came before it are dispatched; errors as FerryError. */
  private async call<T>(pending: Promise<T>): Promise<T> {
    let value: T;
    try {
      value = await pending;
    } catch (error) {
      throw toFerryError(error);
    }
    await this.events;
    return value;
  }

  /** Calls whose promise nobody holds (void in the Backend interface). */
  private fireAndForget(pending: Promise<void>): void {
    pending.catch(() => {});  // only a closed client refuses them, and FerryClient checks that first
  }

  private onEvent(eventJson: string): void {
    const event = JSON.parse(eventJson) as { type: string; status?: SyncStatus; run?: SyncRun } & Record<string, unknown>;
    // Events before open resolved are dropped (nobody can listen yet; open
    // reads the state afterwards), as the wasm build's during its open.
    if (!this.client) return;
    this.events = this.events.then(() => this.dispatch(event)).catch(() => {});
  }

  private async dispatch(event: { type: string; status?: SyncStatus; run?: SyncRun } & Record<string, unknown>): Promise<void> {
    // Dead letters discarded by age announce themselves only in the status.
    const deadLettersChanged = event.type === 'status' && event.status !== undefined && event.status.failed !== this.latest?.failedMutations.length;
    if (event.type === 'status' && event.status) {
      this.latest = { ...this.latest, status: event.status };
      this.updateKeepAlive();
    }
    if (refreshingEvents.has(event.type) || deadLettersChanged) await this.refresh();
    const { type, ...fields } = event;
    const finished = type === 'sync.completed' || type === 'sync.failed';
    this.emit(type, finished ? event.run : fields);
  }

  /** Reads statistics, history and failed mutations again (the status too, the newest there is). */
  private async refresh(): Promise<void> {
    if (this.closing) return;
    try {
      this.latest = await this.report();
    } catch {
      // Closed meanwhile: what was read last stays.
    }
  }

  private async report(): Promise<Report> {
    try {
      return JSON.parse(await this.client.report(historyKept)) as Report;
    } catch (error) {
      throw toFerryError(error);
    }
  }

  /**
   * Node: the client keeps the process running while it has work, as the
   * wasm build's timers do: an interval sync, or writes waiting that it will
   * try to deliver (syncing on writes, not declared offline, not waiting for
   * a new token). Its calls in flight keep it running anyway.
   */
  private updateKeepAlive(): void {
    if (!this.latest || this.closing) return;
    const { pending, state } = this.latest.status;
    const work = this.intervalMs > 0 || (pending > 0 && this.options.autoSync && this.declaredOnline && state !== 'auth_error');
    if (work === this.keptAlive) return;
    this.keptAlive = work;
    this.client.setKeepAlive?.(work);
  }
}
