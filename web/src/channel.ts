// The BroadcastChannel between the contexts (tabs, workers) sharing one
// IndexedDB store (docs/CONTEXTS.md): the messages, and the owner's side,
// which answers the followers' calls, relays its events and posts snapshots
// of its state. The follower's side is follower.ts.
import { invoke, type Backend, type Call } from './backend.js';
import type { FollowerLiveQueries } from './follower_queries.js';
import { FerryError, type FailedMutation, type FerryErrorCode, type SyncRun, type SyncStatistics, type SyncStatus } from './types.js';

/** What a follower answers status(), statistics(), history() and failedMutations() from. */
export interface Snapshot {
  clientId: string;
  status: SyncStatus;
  statistics: SyncStatistics;
  /** The newest runs only (the owner's history(20)). */
  history: SyncRun[];
  failedMutations: FailedMutation[];
}

/** An error as it travels; TypeError and FerryError keep their type. */
export interface SerializedError {
  name: string;
  /** A FerryError's code: set by the context that threw it, which runs ferry-sync too. */
  code?: FerryErrorCode;
  message: string;
}

export type CallOutcome = { ok: true; value: unknown } | { ok: false; error: SerializedError };

export type ChannelMessage =
  /** A follower asks for a snapshot (it has just opened). */
  | { kind: 'hello' }
  /** A context has just become the owner: calls the old one left unanswered go to it. */
  | { kind: 'owner' }
  /** A follower's call, answered with a "result" addressed to `from`. */
  | { kind: 'call'; id: number; from: string; call: Call }
  | { kind: 'result'; id: number; to: string; outcome: CallOutcome }
  /** An event of the owner's client, dispatched again by every follower. */
  | { kind: 'event'; type: string; detail: unknown }
  | { kind: 'snapshot'; snapshot: Snapshot };

const kinds = new Set<string>(['hello', 'owner', 'call', 'result', 'event', 'snapshot']);

/** A BroadcastChannel that carries ChannelMessages only, to one listener. */
export class StoreChannel {
  private readonly channel: BroadcastChannel;
  private listener: (message: ChannelMessage) => void = () => {};
  private closed = false;

  constructor(name: string) {
    this.channel = new BroadcastChannel(name);
    this.channel.onmessage = (event: MessageEvent<unknown>) => {
      const data = event.data;
      if (typeof data === 'object' && data !== null && kinds.has((data as { kind?: unknown }).kind as string)) {
        this.listener(data as ChannelMessage);
      }
    };
  }

  /** Does nothing once closed. */
  post(message: ChannelMessage): void {
    if (!this.closed) this.channel.postMessage(message);
  }

  /** Replaces the listener (a follower's by the owner's, when it takes over). */
  listen(listener: (message: ChannelMessage) => void): void {
    this.listener = listener;
  }

  close(): void {
    this.closed = true;
    this.listener = () => {};
    this.channel.close();
  }
}

export function serializeError(error: unknown): SerializedError {
  const { name, code, message } = (error ?? {}) as { name?: unknown; code?: unknown; message?: unknown };
  return {
    name: typeof name === 'string' ? name : 'Error',
    code: typeof code === 'string' ? (code as FerryErrorCode) : undefined,
    message: String(message ?? error),
  };
}

export function deserializeError(error: SerializedError): Error {
  return error.name === 'TypeError' ? new TypeError(error.message) : new FerryError(error.code ?? 'internal', error.message);
}

/** The owner's side: serves the followers from `owner` until stop(). */
export class OwnerChannel {
  private snapshotScheduled = false;
  private stopped = false;

  constructor(
    private readonly channel: StoreChannel,
    private readonly owner: Backend,
    private readonly followerQueries: FollowerLiveQueries,
  ) {
    channel.listen((message) => this.onMessage(message));
    channel.post({ kind: 'owner' });
    this.scheduleSnapshot();
  }

  /** Passes an event of the owner's client on to every follower. */
  relay(type: string, detail: unknown): void {
    if (this.stopped) return;
    this.channel.post({ kind: 'event', type, detail });
    this.scheduleSnapshot();
  }

  /** The owner's own call changed what a snapshot holds (e.g. the history) without an event. */
  changed(): void {
    this.scheduleSnapshot();
  }

  /** Runs a call that was forwarded to this context while it followed another owner. */
  run(call: Call): Promise<unknown> {
    return invoke(this.owner, call).finally(() => this.scheduleSnapshot());
  }

  /**
   * Takes no more calls and posts no more events or snapshots; calls already
   * running are still answered while the channel is open.
   */
  stop(): void {
    this.stopped = true;
    this.followerQueries.stop();
  }

  private onMessage(message: ChannelMessage): void {
    if (this.stopped) return;
    if (message.kind === 'hello') this.scheduleSnapshot();
    if (message.kind !== 'call') return;
    const reply = (outcome: CallOutcome) => {
      // The snapshot goes first, so a follower's status() already reflects
      // the call when its promise resolves (e.g. pending after syncNow).
      this.postSnapshot();
      this.channel.post({ kind: 'result', id: message.id, to: message.from, outcome });
    };
    invoke(this.owner, message.call).then(
      (value) => {
        this.followerQueries.answered(message.from, message.call);
        reply({ ok: true, value });
      },
      (error: unknown) => reply({ ok: false, error: serializeError(error) }),
    );
  }

  private scheduleSnapshot(): void {
    if (this.stopped || this.snapshotScheduled) return;
    this.snapshotScheduled = true;
    setTimeout(() => {
      this.snapshotScheduled = false;
      this.postSnapshot();
    }, 0);
  }

  private postSnapshot(): void {
    if (this.stopped) return;
    const owner = this.owner;
    this.channel.post({
      kind: 'snapshot',
      snapshot: {
        clientId: owner.clientId,
        status: owner.status(),
        statistics: owner.statistics(),
        history: owner.history(20),
        failedMutations: owner.failedMutations(),
      },
    });
  }
}
