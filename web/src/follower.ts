// The follower's backend: another context (tab, worker) owns the store, so
// every call goes to it over the channel and resolves with its answer. Events
// and state snapshots come back from the owner; status(), statistics(),
// history() and failedMutations() answer from the latest snapshot.
import type { Backend, Call, CallName, CallResult, ForwardedCalls } from './backend.js';
import { deserializeError, type ChannelMessage, type Snapshot, type StoreChannel } from './channel.js';
import { FerryError, type FailedMutation, type Json, type StoredDocument, type SyncReason, type SyncRun, type SyncStatistics, type SyncStatus, type Write } from './types.js';

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
  private readonly instanceId = Math.random().toString(36).slice(2) + Date.now().toString(36);
  private nextCallId = 1;
  private readonly pending = new Map<number, PendingCall>();

  constructor(
    private readonly channel: StoreChannel,
    private readonly emit: (type: string, detail: unknown) => void,
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
  scan(collection: string, keyPrefix: string, limit: number): Promise<StoredDocument[]> {
    return this.forward('scan', collection, keyPrefix, limit);
  }
  syncNow(reason: SyncReason): Promise<SyncRun> {
    return this.forward('syncNow', reason);
  }
  retryFailedMutation(seq: number): Promise<number> {
    return this.forward('retryFailedMutation', seq, newWriteId());
  }
  discardFailedMutation(seq: number): Promise<void> {
    return this.forward('discardFailedMutation', seq, newWriteId());
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

  async close(): Promise<void> {
    this.failAll(new FerryError('invalid_argument', 'the client is closed'));
  }

  /** This context became the owner: hands over the calls no owner answered, to run here. */
  takeUnanswered(): PendingCall[] {
    const unanswered = [...this.pending.values()];
    this.pending.clear();
    return unanswered;
  }

  /** Rejects every call waiting for an answer. */
  failAll(error: Error): void {
    for (const call of this.pending.values()) call.reject(error);
    this.pending.clear();
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
