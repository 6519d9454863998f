/**
 * ferry-sync: the WebAssembly build of Ferry, an offline-first sync SDK.
 *
 * Writes apply locally at once and are kept in a durable outbox; Ferry pushes
 * them to ferry-server in batches with retry and backoff, pulls the server's
 * changes, and resolves conflicts with each collection's strategy
 * (`options.conflicts`; the server's document wins unless said otherwise).
 *
 * Durability: a write's promise resolves only after the write is persisted:
 * in browsers, after the IndexedDB sync (FS.syncfs of IDBFS) that included it
 * has finished. Writes made in the same turn of the event loop share one
 * sync (group commit). In Node (`storage: "node"`) writes go to files in a
 * directory and are persisted when the write returns.
 *
 * This file is the public API. It checks arguments and hands every call to
 * the client's backend (backend.ts): the owner's, which runs the engine on the
 * store, or, while another context owns a shared IndexedDB store, the
 * follower's, which forwards the call to it (docs/CONTEXTS.md).
 */
import { requireBoolean, requireFunction, requireLimit, requirePositiveNumber, requireSeq, requireString, requireWrites } from './arguments.js';
import { BackgroundSyncArming } from './background_sync.js';
import type { Backend } from './backend.js';
import { OwnerChannel, StoreChannel } from './channel.js';
import { lockManager, lockName, Ownership, whileNobodyOwns } from './election.js';
import type { FerryModule } from './ferry_wasm.mjs';
import { FollowerBackend } from './follower.js';
import { loadModule } from './module.js';
import { checkOpenOptions, checkStoreLocation, describe, type ResolvedOptions } from './options.js';
import { OwnerBackend } from './owner.js';
import { deleteStore } from './storage.js';
import {
  FerryError,
  type ChangeDetail,
  type FailedMutation,
  type Json,
  type OpenOptions,
  type StoredDocument,
  type StoreLocation,
  type SyncReason,
  type SyncRun,
  type SyncStatistics,
  type SyncStatus,
  type Write,
} from './types.js';

export * from './types.js';
export {
  backgroundSyncTag,
  provideServiceWorkerToken,
  registerPeriodicSync,
  requestBackgroundSync,
  type ServiceWorkerTokenMessage,
  type ServiceWorkerTokenRequest,
} from './background_sync.js';

const syncReasons = new Set<unknown>(['manual', 'background_sync', 'poke', 'app_start']);

/** A Ferry client. Events (CustomEvent, data in `detail`): sync.started,
 * sync.progress, sync.completed, sync.failed, sync.conflict,
 * mutation.rejected, status, change, persist.failed,
 * backgroundsync.unavailable, error (a follower could not take the store over). */
export class FerryClient extends EventTarget {
  /** Assigned by open(); a follower's is swapped for an owner's on takeover. */
  private backend!: Backend;
  private closed = false;
  /** Taking the store over failed: every call fails with this. */
  private failure: FerryError | undefined;
  /** With a store shared between contexts (IndexedDB). */
  private sharing: { channel: StoreChannel; ownership: Ownership; ownerChannel?: OwnerChannel } | undefined;
  private readonly backgroundSync: BackgroundSyncArming;

  private constructor(
    private readonly options: ResolvedOptions,
    private readonly module: FerryModule,
  ) {
    super();
    this.backgroundSync = new BackgroundSyncArming(options.name, options.backgroundSync, (error) =>
      this.dispatch('backgroundsync.unavailable', { error: String(error) }),
    );
  }

  /** Opens (or creates) a store. Wrong option types are TypeErrors naming the option. */
  static async open(options: OpenOptions): Promise<FerryClient> {
    const checked = checkOpenOptions(options);
    // Every context loads the module, owner or not: a follower must be able
    // to take the store over when the owner goes away, even offline.
    const client = new FerryClient(checked, await loadModule(checked.wasmBinary));
    const locks = lockManager();
    if (checked.storage === 'indexeddb' && locks && checked.shareAcrossContexts) {
      await client.openShared(locks);
    } else {
      client.backend = await OwnerBackend.open(client.module, checked, client.dispatchAndRelay);
    }
    return client;
  }

  /**
   * Sign-out: deletes a store's local data, pending writes included. The store
   * must be closed, in every context (tab, worker) that opened it.
   */
  static async deleteLocalData(location: StoreLocation): Promise<void> {
    const place = checkStoreLocation(location);
    const module = await loadModule(place.wasmBinary);
    const locks = lockManager();
    if (place.storage === 'indexeddb' && locks) {
      await whileNobodyOwns(locks, lockName(place.name), () => deleteStore(module, place));
    } else {
      await deleteStore(module, place);
    }
  }

  get clientId(): string {
    return this.backend.clientId;
  }

  // ---- local data

  put(collection: string, key: string, value: Json): Promise<void> {
    return this.write([{ op: 'put', collection, key, value }]);
  }

  patch(collection: string, key: string, mergePatch: { [key: string]: Json }): Promise<void> {
    return this.write([{ op: 'patch', collection, key, value: mergePatch }]);
  }

  remove(collection: string, key: string): Promise<void> {
    return this.write([{ op: 'delete', collection, key }]);
  }

  /** Several writes, atomically: all persisted when the promise resolves, or none. */
  async write(writes: Write[]): Promise<void> {
    this.ensureOpen();
    await this.backend.write(requireWrites(writes));
    this.backgroundSync.arm();
  }

  async get(collection: string, key: string): Promise<Json | undefined> {
    this.ensureOpen();
    return this.backend.get(requireString(collection, 'collection'), requireString(key, 'key'));
  }

  async scan(collection: string, keyPrefix = '', limit = 0): Promise<StoredDocument[]> {
    this.ensureOpen();
    return this.backend.scan(requireString(collection, 'collection'), requireString(keyPrefix, 'keyPrefix'), requireLimit(limit, 'limit'));
  }

  /** Calls `listener` when local views change (local writes, pulls, conflicts). Returns an unsubscribe function. */
  subscribe(listener: (detail: ChangeDetail) => void): () => void {
    requireFunction(listener, 'listener');
    const wrapped = (event: Event) => listener((event as CustomEvent<ChangeDetail>).detail);
    this.addEventListener('change', wrapped);
    return () => this.removeEventListener('change', wrapped);
  }

  // ---- sync

  /** Starts a sync (or joins the running one) and resolves with the run that covered it. */
  async syncNow(reason: SyncReason = 'manual'): Promise<SyncRun> {
    if (!syncReasons.has(reason)) {
      throw new TypeError(`reason must be "manual", "background_sync", "poke" or "app_start", got ${describe(reason)}`);
    }
    this.ensureOpen();
    return this.backend.syncNow(reason);
  }

  /** Syncs every `intervalMs` besides the other triggers, until stopBackgroundSync(). */
  startBackgroundSync(intervalMs: number): void {
    requirePositiveNumber(intervalMs, 'intervalMs');
    this.ensureOpen();
    this.backend.startBackgroundSync(intervalMs);
  }

  stopBackgroundSync(): void {
    this.ensureOpen();
    this.backend.stopBackgroundSync();
  }

  setOnline(online: boolean): void {
    requireBoolean(online, 'online');
    this.ensureOpen();
    this.backend.setOnline(online);
  }

  /** Stops the running sync; every mutation stays pending. */
  cancel(): void {
    this.ensureOpen();
    this.backend.cancel();
  }

  /** In a context that shares another's store, the state as last reported by the owner (likewise below). */
  status(): SyncStatus {
    this.ensureOpen();
    return this.backend.status();
  }

  statistics(): SyncStatistics {
    this.ensureOpen();
    return this.backend.statistics();
  }

  /** The newest runs first; a context sharing another's store sees the newest 20 at most. */
  history(limit = 50): SyncRun[] {
    requireLimit(limit, 'limit');
    this.ensureOpen();
    return this.backend.history(limit);
  }

  /** Mutations the server rejected, kept until retried or discarded. */
  failedMutations(): FailedMutation[] {
    this.ensureOpen();
    return this.backend.failedMutations();
  }

  /** Queues a failed mutation again; resolves with its new seq once persisted. */
  async retryFailedMutation(seq: number): Promise<number> {
    this.ensureOpen();
    const retried = await this.backend.retryFailedMutation(requireSeq(seq));
    this.backgroundSync.arm();
    return retried;
  }

  async discardFailedMutation(seq: number): Promise<void> {
    this.ensureOpen();
    await this.backend.discardFailedMutation(requireSeq(seq));
  }

  /** Stops syncing and releases the store; pending writes stay for the next open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Followers get no new answers from here on; calls already running are
    // still answered while the owner persists them.
    this.sharing?.ownerChannel?.stop();
    await this.backend.close();
    this.sharing?.channel.close();
    this.sharing?.ownership.release();  // a follower's queued request is withdrawn
  }

  // ---- internals

  private ensureOpen(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new FerryError('invalid_argument', 'the client is closed');
  }

  /** Events of this context's client (a follower's come from the owner). */
  private readonly dispatch = (type: string, detail: unknown): void => {
    // Writes are all delivered: the next pending write registers the tag again.
    if (type === 'status' && (detail as { status?: SyncStatus } | null)?.status?.pending === 0) this.backgroundSync.drained();
    this.dispatchEvent(new CustomEvent(type, { detail }));
  };

  /** Events of the engine this context runs: also to the followers, if any. */
  private readonly dispatchAndRelay = (type: string, detail: unknown): void => {
    this.dispatch(type, detail);
    this.sharing?.ownerChannel?.relay(type, detail);
  };

  /**
   * Sharing one IndexedDB store between contexts (tabs, workers): exactly
   * one owns it (a Web Lock); the others forward their calls over a
   * BroadcastChannel and receive events and state snapshots back.
   */
  private async openShared(locks: LockManager): Promise<void> {
    const name = lockName(this.options.name);
    const ownership = await Ownership.claim(locks, name);
    const channel = new StoreChannel(name);
    this.sharing = { channel, ownership };
    if (ownership.owner) {
      try {
        this.becomeOwner(await OwnerBackend.open(this.module, this.options, this.dispatchAndRelay));
      } catch (error) {
        channel.close();
        ownership.release();
        throw error;
      }
      return;
    }
    const follower = new FollowerBackend(channel, this.dispatch);
    this.backend = follower;
    // Takes over when the owner goes away (closed, reloaded, crashed). The
    // owner may go away before it answers; then this context either took the
    // store over itself or could not.
    const takenOver = new Promise<void>((resolve, reject) => {
      ownership.awaitTakeover(async () => {
        const owning = await this.takeOver(follower);
        if (owning) resolve();
        else if (this.failure) reject(this.failure);
        return owning;
      });
    });
    takenOver.catch(() => {});  // once open, a failure shows as the `error` event and failing calls
    await Promise.race([follower.ready, takenOver]);
  }

  private becomeOwner(owner: OwnerBackend): void {
    this.backend = owner;
    this.sharing!.ownerChannel = new OwnerChannel(this.sharing!.channel, owner);
  }

  /** The owner went away and the lock came to this context: open the store here. */
  private async takeOver(follower: FollowerBackend): Promise<boolean> {
    if (this.closed) return false;
    let owner: OwnerBackend;
    try {
      owner = await OwnerBackend.open(this.module, this.options, this.dispatchAndRelay);
    } catch (error) {
      this.failTakeover(follower, error);
      return false;
    }
    if (this.closed) {
      await owner.close();
      return false;
    }
    this.becomeOwner(owner);
    // Calls sent to the old owner may never have been answered: run them here.
    // The old owner may have committed one before it went away; the call's
    // write id (see ForwardedCalls) makes the store apply it only once.
    for (const pending of follower.takeUnanswered()) this.sharing!.ownerChannel!.run(pending.call).then(pending.resolve, pending.reject);
    return true;
  }

  /** Taking the store over failed (e.g. its files do not load): every call fails from now on. */
  private failTakeover(follower: FollowerBackend, error: unknown): void {
    const failure = new FerryError('io', `could not take over the store: ${String((error as Error)?.message ?? error)}`);
    this.failure = failure;
    this.closed = true;
    follower.failAll(failure);
    this.sharing?.channel.close();
    this.dispatch('error', { error: failure.message });
  }
}
