// The follower's backend: another context (tab, worker) owns the store, so
// every call goes to it over the channel and resolves with its answer. Events
// and state snapshots come back from the owner; status(), statistics(),
// history() and failedMutations() answer from the latest snapshot.
import type { Backend, Call, CallName, CallResult, ForwardedCalls } from './backend.js';
import { deserializeError, type ChannelMessage, type Snapshot, type StoreChannel } from './channel.js';
import { FerryError, type ConflictLogEntry, type FailedMutation, type Json, type OpenConflict, type PendingMutation, type QueryPage, type QueryPlan, type StoredDocument, type SyncDirection, type SyncReason, type SyncRun, type SyncStatistics, type SyncStatus, type Write } from './types.js';

/** A forwarded call still waiting for its answer. */
export interface PendingCall {
  call: Call;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class FollowerBackend implements Backend {
  /** Resolves when the owner's first snapshot has arrived. */
  readonly ready: Promise<void>;
  private markReady: () => void = () => {};
  private snapshot: Snapshot | undefined;
  /** Names this context's calls (and its lock: follower_queries.ts). */
  readonly instanceId = Math.random().toString(36).slice(2) + Date.now().toString(36);
  private nextCallId = 1;
  private readonly pending = new Map<number, PendingCall>();
  private whenSettled: (() => void)[] = [];

  constructor(
    private readonly channel: StoreChannel,
    private readonly emit: (type: string, detail: unknown) => void,
    /** A new owner took the store over (the old one went away). */
    private readonly onNewOwner: () => void = () => {},
  ) {
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    channel.listen((message) => this.onMessage(message));
    channel.post({ kind: 'hello' });
  }

  get clientId(): string {
    return this.snapshot?.clientId ?? '';
  }

  // Calls that change the store carry an id (see ForwardedCalls): the call,
  // id included, is what is sent again to a new owner or run here after a
  // takeover.
  write(writes: Write[]): Promise<void> {
    return this.forward('write', writes, newWriteId());
  }
  get(collection: string, key: string): Promise<Json | undefined> {
    return this.forward('get', collection, key);
  }
  query(queryJson: string): Promise<QueryPage> {
    return this.forward('query', queryJson);
  }
  count(queryJson: string): Promise<number> {
    return this.forward('count', queryJson);
  }
  explain(queryJson: string): Promise<QueryPlan> {
    return this.forward('explain', queryJson);
  }
  subscribeQuery(id: number, queryJson: string): Promise<void> {
    return this.forward('subscribeQuery', id, queryJson);
  }
  unsubscribeQuery(id: number): Promise<void> {
    return this.forward('unsubscribeQuery', id);
  }
  scan(collection: string, keyPrefix: string, limit: number): Promise<StoredDocument[]> {
    return this.forward('scan', collection, keyPrefix, limit);
  }
  syncNow(reason: SyncReason, direction: SyncDirection): Promise<SyncRun> {
    return this.forward('syncNow', reason, direction);
  }
  resync(): Promise<SyncRun> {
    return this.forward('resync');
  }
  retryFailedMutation(seq: number): Promise<number> {
    return this.forward('retryFailedMutation', seq, newWriteId());
  }
  discardFailedMutation(seq: number): Promise<void> {
    return this.forward('discardFailedMutation', seq, newWriteId());
  }
  pendingMutations(afterSeq: number, limit: number): Promise<PendingMutation[]> {
    return this.forward('pendingMutations', afterSeq, limit);
  }
  clearHistory(keepLatest: boolean): Promise<void> {
    return this.forward('clearHistory', keepLatest);
  }
  conflictLog(afterId: number, limit: number): Promise<ConflictLogEntry[]> {
    return this.forward('conflictLog', afterId, limit);
  }
  clearConflictLog(): Promise<void> {
    return this.forward('clearConflictLog');
  }
  conflicts(): Promise<OpenConflict[]> {
    return this.forward('conflicts');
  }
  resolveConflict(collection: string, key: string, valueJson: string): Promise<void> {
    return this.forward('resolveConflict', collection, key, valueJson, newWriteId());
  }
  evict(collection: string, keys: string[] | null): Promise<number> {
    return this.forward('evict', collection, keys);
  }

  // These return nothing, so nobody waits for the owner's answer; what they
  // change shows in the owner's events and snapshots.
  startBackgroundSync(intervalMs: number): void {
    this.forward('startBackgroundSync', intervalMs).catch(() => {});
  }
  stopBackgroundSync(): void {
    this.forward('stopBackgroundSync').catch(() => {});
  }
  setOnline(online: boolean): void {
    this.forward('setOnline', online).catch(() => {});
  }
  networkChanged(): void {
    this.forward('networkChanged').catch(() => {});
  }
  setMetered(metered: boolean): void {
    this.forward('setMetered', metered).catch(() => {});
  }
  cancel(): void {
    this.forward('cancel').catch(() => {});
  }

  status(): SyncStatus {
    return this.latest().status;
  }
  statistics(): SyncStatistics {
    return this.latest().statistics;
  }
  history(limit: number): SyncRun[] {
    return this.latest().history.slice(0, limit);
  }
  failedMutations(): FailedMutation[] {
    return this.latest().failedMutations;
  }

  /**
   * Calls made before close() still get their answers: writes are persisted
   * by the owner (or, if it goes away meanwhile, by this context taking the
   * store over to run them; see index.ts). A syncNow is not waited for: the
   * owner's sync goes on for the other contexts, and this one's promise
   * resolves with a cancelled run, as the owner's own close does.
   */
  async close(): Promise<void> {
    const now = Date.now();
    for (const [id, pending] of this.pending) {
      const { call } = pending;
      if (call.method !== 'syncNow' && call.method !== 'resync') continue;
      this.pending.delete(id);
      pending.resolve(call.method === 'syncNow' ? cancelledRun(call.args[0], call.args[1], now) : cancelledRun('manual', 'both', now));
    }
    await this.settled();
  }

  /** Whether a call is still waiting for its answer. */
  get busy(): boolean {
    return this.pending.size > 0;
  }

  /** Resolves once no call is waiting for its answer. */
  private settled(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.whenSettled.push(resolve));
  }

  /** This context became the owner: hands over the calls no owner answered, to run here. */
  takeUnanswered(): PendingCall[] {
    const unanswered = [...this.pending.values()];
    this.pending.clear();
    this.notifySettled();
    return unanswered;
  }

  /** Rejects every call waiting for an answer. */
  failAll(error: Error): void {
    for (const call of this.pending.values()) call.reject(error);
    this.pending.clear();
    this.notifySettled();
  }

  private notifySettled(): void {
    if (this.pending.size > 0) return;
    for (const resolve of this.whenSettled.splice(0)) resolve();
  }

  private latest(): Snapshot {
    if (!this.snapshot) throw new FerryError('internal', 'the owning context has not reported its state yet');
    return this.snapshot;
  }

  private forward<Method extends CallName>(method: Method, ...args: Parameters<ForwardedCalls[Method]>): Promise<CallResult<Method>> {
    const call = { method, args } as Call;
    return new Promise((resolve, reject) => {
      const id = this.nextCallId++;
      try {
        this.channel.post({ kind: 'call', id, from: this.instanceId, call });
      } catch (error) {
        // A value the structured clone cannot copy (e.g. a function).
        throw new TypeError(`the arguments of ${method} cannot be sent to the context that owns the store: ${String((error as Error)?.message ?? error)}`);
      }
      this.pending.set(id, { call, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  private onMessage(message: ChannelMessage): void {
    switch (message.kind) {
      case 'result': {
        if (message.to !== this.instanceId) return;
        const call = this.pending.get(message.id);
        if (!call) return;
        this.pending.delete(message.id);
        if (message.outcome.ok) call.resolve(message.outcome.value);
        else call.reject(deserializeError(message.outcome.error));
        this.notifySettled();
        return;
      }
      case 'event':
        this.emit(message.type, message.detail);
        return;
      case 'snapshot':
        this.snapshot = message.snapshot;
        this.markReady();
        return;
      case 'owner':
        // A new owner: calls the old one never answered go to it.
        for (const [id, pending] of this.pending) this.channel.post({ kind: 'call', id, from: this.instanceId, call: pending.call });
        this.onNewOwner();
        return;
      default:
        return;  // hello and call are for the owner
    }
  }
}

/** 32 hex digits of randomness: a write id (at most 64 of [A-Za-z0-9_-]) unique across contexts. */
function newWriteId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** What a syncNow of a closed context resolves with: no run of its own covered it. */
function cancelledRun(reason: SyncReason, direction: SyncDirection, now: number): SyncRun {
  return {
    id: 0,
    reason,
    direction,
    startedAt: now,
    finishedAt: now,
    outcome: 'cancelled',
    pushed: 0,
    pulled: 0,
    conflicts: 0,
    rejected: 0,
    error: 'the client was closed before the sync ended',
  };
}
