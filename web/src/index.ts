/**
 * ferry-sync: Ferry, an offline-first sync SDK, for browsers (WebAssembly)
 * and Node (the native addon, or WebAssembly: native_node.ts chooses).
 *
 * Writes apply locally at once and are kept in a durable outbox; Ferry pushes
 * them to ferry-server in batches with retry and backoff, pulls the server's
 * changes, and resolves conflicts with each collection's strategy
 * (`options.conflicts`; the server's document wins unless said otherwise).
 *
 * Durability: a write's promise resolves only after the write is persisted:
 * in browsers, after the IndexedDB sync (store_indexeddb.ts) that included it
 * has finished. Writes made in the same turn of the event loop share one
 * sync (group commit). In Node (`storage: "node"`) writes go to files in a
 * directory and are persisted when the write returns (with the addon, to
 * one SQLite file, committed on the client's own thread).
 *
 * This file is the public API. It checks arguments and hands every call to
 * the client's backend (backend.ts): the owner's, which runs the wasm engine
 * on the store; the native one (native.ts, over the Node addon); or, while
 * another context owns a shared IndexedDB store, the follower's, which
 * forwards the call to it (docs/CONTEXTS.md).
 */
import { requireBoolean, requireFunction, requireLimit, requirePositiveNumber, requireSeq, requireString, queryText, requireSyncRequest, requireWrite, requireWrites, serializeValues } from './arguments.js';
import { BackgroundSyncArming } from './background_sync.js';
import type { Backend } from './backend.js';
import { OwnerChannel, StoreChannel } from './channel.js';
import { followerLockName, lockManager, lockName, Ownership, whileNobodyOwns } from './election.js';
import { FollowerLiveQueries } from './follower_queries.js';
import type { FerryModule } from './ferry_wasm.mjs';
import { FollowerBackend } from './follower.js';
import { LiveQueries, type QueryEventDetail } from './live_queries.js';
import { loadModule } from './module.js';
import { checkOpenOptions, checkStoreLocation, describe, printEndpointWarning, type ResolvedOptions } from './options.js';
import { OwnerBackend } from './owner.js';
import { nativeImplementation } from './platform.js';
import { deleteStore } from './storage.js';
import {
  FerryError,
  type ChangeDetail,
  type ConflictLogEntry,
  type OpenConflict,
  type FailedMutation,
  type FerryEventListener,
  type FerryEventName,
  type FerryListenerOptions,
  type Json,
  type LiveQueryPage,
  type JsonCompatible,
  type JsonObject,
  type MergePatch,
  type OpenOptions,
  type PendingMutation,
  type Query,
  type QueryPage,
  type QueryPlan,
  type StoredDocument,
  type StoreLocation,
  type SyncNowOptions,
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

/** A Ferry client. Its events (CustomEvent, data in `detail`) and their details are FerryEventMap's. */
export class FerryClient extends EventTarget {
  // @internal (tsconfig stripInternal) keeps private members out of the published .d.ts.
  /** Assigned by open(); a follower's is swapped for an owner's on takeover. */
  /** @internal */
  private backend!: Backend;
  /** @internal */
  private closed = false;
  /** Taking the store over failed: every call fails with this. */
  /** @internal */
  private failure: FerryError | undefined;
  /** With a store shared between contexts (IndexedDB). */
  /** @internal */
  private sharing:
    | {
        channel: StoreChannel;
        ownership: Ownership;
        locks: LockManager;
        ownerChannel?: OwnerChannel;
        /** The follower's own lock, held while this context follows or followed (follower_queries.ts). */
        presence?: Ownership;
      }
    | undefined;
  /** @internal With shareAcrossContexts off: the store's lock, held until close. */
  private exclusive: Ownership | undefined;
  /** @internal */
  private readonly backgroundSync: BackgroundSyncArming;
  /** @internal */
  private readonly liveQueries = new LiveQueries(() => this.backend);

  private constructor(
    /** @internal */ private readonly options: ResolvedOptions,
    /** @internal The wasm module; none with the native implementation. */
    private readonly module: FerryModule | undefined,
  ) {
    super();
    this.backgroundSync = new BackgroundSyncArming(options.name, options.backgroundSync, (error) =>
      this.dispatch('backgroundsync.unavailable', { error: String(error) }),
    );
  }

  /** Opens (or creates) a store. Wrong option types are TypeErrors naming the option. */
  static async open(options: OpenOptions): Promise<FerryClient> {
    const checked = checkOpenOptions(options);
    const native = nativeImplementation(checked);
    if (native) {
      const client = new FerryClient(checked, undefined);
      client.backend = await native.open(checked, client.dispatch);
      return client;
    }
    // Every context loads the module, owner or not: a follower must be able
    // to take the store over when the owner goes away, even offline.
    const client = new FerryClient(checked, await loadModule(checked.wasmBinary));
    printEndpointWarning(client.wasm().cleartextEndpointWarning(checked.endpoint));
    const locks = lockManager();
    if (checked.storage === 'indexeddb' && locks && checked.shareAcrossContexts) {
      await client.openShared(locks);
    } else if (checked.storage === 'indexeddb' && locks) {
      await client.openExclusive(locks);
    } else {
      client.backend = await OwnerBackend.open(client.wasm(), checked, client.dispatchAndRelay);
    }
    return client;
  }

  /**
   * Sign-out: deletes a store's local data, pending writes included. The store
   * must be closed, in every context (tab, worker) that opened it.
   */
  static async deleteLocalData(location: StoreLocation): Promise<void> {
    const place = checkStoreLocation(location);
    const native = nativeImplementation(place);
    if (native) return native.deleteLocalData(place);
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

  // `& ({} | null)` refuses undefined, which the mapped type JsonCompatible passes like any primitive.
  /** Writes a whole document; any type whose values are JSON (JsonCompatible), interfaces included. */
  async put<T extends JsonCompatible<T>>(collection: string, key: string, value: T & ({} | null)): Promise<void> {
    return this.write([requireWrite('put', collection, key, value)]);
  }

  /**
   * Applies a JSON merge patch (RFC 7396) to a document: `patch<Todo>(...)`
   * checks the patch against the document's type; `null` deletes a member.
   */
  async patch<T extends object = JsonObject>(collection: string, key: string, mergePatch: MergePatch<T>): Promise<void> {
    return this.write([requireWrite('patch', collection, key, mergePatch)]);
  }

  async remove(collection: string, key: string): Promise<void> {
    return this.write([requireWrite('delete', collection, key, undefined)]);
  }

  /** Several writes, atomically: all persisted when the promise resolves, or none. */
  async write<T extends JsonCompatible<T> = Json>(writes: readonly Write<T>[]): Promise<void> {
    this.ensureOpen();
    await this.backend.write(requireWrites(writes));
    this.backgroundSync.arm();
  }

  /** The document, or undefined. `T` is the caller's word: it is not checked at runtime. */
  async get<T = Json>(collection: string, key: string): Promise<T | undefined> {
    this.ensureOpen();
    return (await this.backend.get(requireString(collection, 'collection'), requireString(key, 'key'))) as T | undefined;
  }

  /** Documents whose key starts with `keyPrefix`, by key; `limit` 0 is all. `T` is not checked at runtime. */
  async scan<T = Json>(collection: string, keyPrefix = '', limit = 0): Promise<StoredDocument<T>[]> {
    this.ensureOpen();
    const documents = await this.backend.scan(requireString(collection, 'collection'), requireString(keyPrefix, 'keyPrefix'), requireLimit(limit, 'limit'));
    return documents as StoredDocument<T>[];
  }

  /**
   * Listens to one of the events in FerryEventMap (a CustomEvent, data in
   * `detail`); a name not in it is a compile error.
   */
  override addEventListener<Name extends FerryEventName>(
    type: Name,
    listener: FerryEventListener<Name> | null,
    options?: boolean | FerryListenerOptions,
  ): void {
    super.addEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }

  override removeEventListener<Name extends FerryEventName>(
    type: Name,
    listener: FerryEventListener<Name> | null,
    options?: boolean | Pick<FerryListenerOptions, 'capture'>,
  ): void {
    super.removeEventListener(type, listener as EventListenerOrEventListenerObject | null, options);
  }

  /** Calls `listener` when local views change (local writes, pulls, conflicts). Returns an unsubscribe function. */
  subscribe(listener: (detail: ChangeDetail) => void): () => void {
    requireFunction(listener, 'listener');
    const wrapped = (event: CustomEvent<ChangeDetail>) => listener(event.detail);
    this.addEventListener('change', wrapped);
    return () => this.removeEventListener('change', wrapped);
  }

  // ---- sync

  /**
   * Starts a sync (or joins the running one) and resolves with the run that
   * covered it. Takes a reason, or `{ reason, direction }`: with direction
   * "push" the run only pushes, with "pull" it only pulls.
   */
  async syncNow(request: SyncReason | SyncNowOptions = 'manual'): Promise<SyncRun> {
    const { reason, direction } = requireSyncRequest(request);
    this.ensureOpen();
    return this.backend.syncNow(reason, direction);
  }

  /**
   * A full resync: forgets where the last pull ended and pulls everything
   * again; documents the server no longer has are forgotten, pending writes
   * stay (and are pushed, as in any run). With a run in flight it is the run
   * after that one. Resolves with the resync's run.
   */
  async resync(): Promise<SyncRun> {
    this.ensureOpen();
    return this.backend.resync();
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

  /**
   * The network changed (a new interface, an OS callback): after network
   * failures the client probes the server at once instead of waiting out its
   * probe backoff.
   */
  networkChanged(): void {
    this.ensureOpen();
    this.backend.networkChanged();
  }

  /**
   * A local query over the local view, pending writes included: a filter on
   * JSON paths, an order, a limit and a cursor (`next` of the page before,
   * as `after`). A query that is not one is a FerryError "invalid_argument".
   * `T` is not checked at runtime.
   */
  async query<T = Json>(query: Query): Promise<QueryPage<T>> {
    this.ensureOpen();
    return (await this.backend.query(queryText(query))) as QueryPage<T>;
  }

  /** How many documents `query` matches (its limit and cursor aside). */
  async count(query: Query): Promise<number> {
    this.ensureOpen();
    return this.backend.count(queryText(query));
  }

  /**
   * A live query: `listener` gets the page `query` asks for, then each new
   * page (with the keys added, removed, changed and moved) whenever a local
   * write, a pull or a conflict's resolution changes it, in this context or
   * any other sharing the store (tabs, workers, the service worker).
   * Resolves with the function that ends it, once the first page was
   * delivered; a query that is not one rejects as `query` does. When another
   * context takes the store over, the next page lists every document as added.
   */
  async subscribeQuery<T = Json>(query: Query, listener: (page: LiveQueryPage<T>) => void): Promise<() => void> {
    requireFunction(listener, 'listener');
    const queryJson = queryText(query);
    this.ensureOpen();
    return this.liveQueries.subscribe(queryJson, listener as (page: LiveQueryPage) => void);
  }

  /** Which index `query` reads, if any, and how (the `indexes` open option). */
  async explain(query: Query): Promise<QueryPlan> {
    this.ensureOpen();
    return this.backend.explain(queryText(query));
  }

  /**
   * Whether the connection is metered (false at open; a cellular network,
   * as the app learns it from the platform): while it is, the syncs the
   * client starts itself leave the writes of `deferrable` collections for
   * later. With several contexts sharing a store, it goes to the one that
   * owns it; a context that takes the store over starts unmetered.
   */
  setMetered(metered: boolean): void {
    requireBoolean(metered, 'metered');
    this.ensureOpen();
    this.backend.setMetered(metered);
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

  /**
   * Writes waiting to be pushed, in seq order: those with seq above
   * `afterSeq` (default 0), at most `limit` (default 100). Page on with the
   * last seq of a page. Each shows its attempts, and when the last one ended
   * and why it failed.
   */
  async pendingMutations(options: { afterSeq?: number; limit?: number } = {}): Promise<PendingMutation[]> {
    if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object, got ${describe(options)}`);
    const afterSeq = options.afterSeq === undefined ? 0 : requireSeq(options.afterSeq, 'afterSeq');
    const limit = options.limit === undefined ? 100 : requireLimit(options.limit, 'limit');
    this.ensureOpen();
    return this.backend.pendingMutations(afterSeq, Math.floor(limit));
  }

  /**
   * Evicts synced documents of `collection` from this store, never from the
   * server: `keys`, or every document of the collection when left out.
   * Documents with pending writes stay. Resolves with how many went; a
   * `change` event with `evicted` names those that left the local view. An
   * evicted document's version goes too: a later local write to it meets
   * the server's copy as a conflict, so evict what you will not write again.
   */
  async evict(collection: string, keys?: string[]): Promise<number> {
    requireString(collection, 'collection');
    if (keys !== undefined && (!Array.isArray(keys) || !keys.every((key) => typeof key === 'string'))) {
      throw new TypeError(`keys must be an array of strings, got ${describe(keys)}`);
    }
    this.ensureOpen();
    const evicted = await this.backend.evict(collection, keys ?? null);
    this.sharing?.ownerChannel?.changed();
    return evicted;
  }

  /** Forgets past sync runs; with `keepLatest`, all but the newest. */
  async clearHistory(options: { keepLatest?: boolean } = {}): Promise<void> {
    if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object, got ${describe(options)}`);
    const keepLatest = options.keepLatest === undefined ? false : requireBoolean(options.keepLatest, 'keepLatest');
    this.ensureOpen();
    await this.backend.clearHistory(keepLatest);
    this.sharing?.ownerChannel?.changed();
  }

  /**
   * The conflict log: every conflict resolution, automatic or by the app's
   * resolver, oldest first: those with id above `afterId` (default 0), at
   * most `limit` (default 100). Page on with the last id of a page. Each
   * names the document, the strategy, who won and when. The newest 1,000
   * are kept.
   */
  async conflictLog(options: { afterId?: number; limit?: number } = {}): Promise<ConflictLogEntry[]> {
    if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object, got ${describe(options)}`);
    const afterId = options.afterId === undefined ? 0 : requireSeq(options.afterId, 'afterId');
    const limit = options.limit === undefined ? 100 : requireLimit(options.limit, 'limit');
    this.ensureOpen();
    return this.backend.conflictLog(afterId, Math.floor(limit));
  }

  /** Forgets every recorded conflict resolution; ids keep ascending after it. */
  async clearConflictLog(): Promise<void> {
    this.ensureOpen();
    await this.backend.clearConflictLog();
  }

  /**
   * Conflicts kept open for a person to resolve, in document order: in
   * collections whose strategy is "manual", and those an asynchronous
   * `conflicts.resolve` has not answered yet. Each has the base, the local
   * view the conflict set aside and the server's document now; the document
   * itself shows the server's version meanwhile. They survive a restart.
   */
  async conflicts(): Promise<OpenConflict[]> {
    this.ensureOpen();
    return this.backend.conflicts();
  }

  /**
   * Settles the open conflict on a document with `value`, or `null` to
   * delete it: a local write like any other, made against the server's
   * version this client knows now and pushed as usual (none when the
   * document already is `value`), and recorded in the conflict log.
   * FerryError "not_found" when no conflict is open on the document.
   */
  async resolveConflict<T extends JsonCompatible<T>>(collection: string, key: string, value: (T & {}) | null): Promise<void> {
    requireString(collection, 'collection');
    requireString(key, 'key');
    if (value === undefined) throw new TypeError('value is required (null deletes the document)');
    const valueJson = serializeValues(value, [value]);
    this.ensureOpen();
    await this.backend.resolveConflict(collection, key, valueJson);
    this.sharing?.ownerChannel?.changed();
  }

  /**
   * Stops syncing and releases the store; pending writes stay for the next
   * open. Calls made before close() still finish: writes resolve once
   * persisted, and a syncNow resolves with a run whose outcome is
   * "cancelled" if the close ended it (never with an error), so closing right
   * after opening, writing or syncing (a React effect's cleanup) is safe.
   * No events are dispatched once close() is called.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.liveQueries.endAll();
    // Followers get no new answers from here on; calls already running are
    // still answered while the owner persists them.
    this.sharing?.ownerChannel?.stop();
    await this.backend.close();
    this.sharing?.channel.close();
    this.sharing?.ownership.release();  // a follower's queued request is withdrawn
    this.sharing?.presence?.release();
    this.exclusive?.release();
  }

  // ---- internals

  /** @internal */
  private wasm(): FerryModule {
    if (!this.module) throw new FerryError('internal', 'the wasm module is not loaded (the native implementation runs this client)');
    return this.module;
  }

  /** @internal */
  private ensureOpen(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new FerryError('invalid_argument', 'the client is closed');
  }

  /** Events of this context's client (a follower's come from the owner). */
  /** @internal */
  private readonly dispatch = (type: string, detail: unknown): void => {
    if (this.closed) return;  // the app let go of this client: a listener must not meet a closed one
    if (type === 'query') {
      this.liveQueries.deliver(detail as QueryEventDetail);
      return;
    }
    // Writes are all delivered: the next pending write registers the tag again.
    if (type === 'status' && (detail as { status?: SyncStatus } | null)?.status?.pending === 0) this.backgroundSync.drained();
    this.dispatchEvent(new CustomEvent(type, { detail }));
  };

  /** Events of the engine this context runs: also to the followers, if any. */
  /** @internal */
  private readonly dispatchAndRelay = (type: string, detail: unknown): void => {
    this.dispatch(type, detail);
    this.sharing?.ownerChannel?.relay(type, detail);
  };

  /**
   * Sharing one IndexedDB store between contexts (tabs, workers): exactly
   * one owns it (a Web Lock); the others forward their calls over a
   * BroadcastChannel and receive events and state snapshots back.
   */
  /** @internal */
  private async openShared(locks: LockManager): Promise<void> {
    const name = lockName(this.options.name);
    const ownership = await Ownership.claim(locks, name);
    const channel = new StoreChannel(name);
    this.sharing = { channel, ownership, locks };
    if (ownership.owner) {
      try {
        this.becomeOwner(await OwnerBackend.open(this.wasm(), this.options, this.dispatchAndRelay));
      } catch (error) {
        channel.close();
        ownership.release();
        throw error;
      }
      return;
    }
    const follower = new FollowerBackend(channel, this.dispatch, () => this.liveQueries.subscribeAgain());
    this.backend = follower;
    // A lock no other context asks for: claimed at once, held until close.
    this.sharing.presence = await Ownership.claim(locks, followerLockName(name, follower.instanceId));
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

  /**
   * @internal
   * An IndexedDB store not shared between contexts still holds its lock, so
   * that a second context opening it (once storeLockTimeoutMs is up), or
   * deleting its data, is refused instead of overwriting it.
   */
  private async openExclusive(locks: LockManager): Promise<void> {
    const ownership = await Ownership.claim(locks, lockName(this.options.name), this.options.storeLockTimeoutMs);
    if (!ownership.owner) {
      ownership.release();
      throw new FerryError('busy', `store ${this.options.name} is open in another context (a tab or worker), and shareAcrossContexts is off`);
    }
    try {
      this.backend = await OwnerBackend.open(this.wasm(), this.options, this.dispatchAndRelay);
    } catch (error) {
      ownership.release();
      throw error;
    }
    this.exclusive = ownership;
  }

  /** @internal */
  private becomeOwner(owner: OwnerBackend): void {
    this.backend = owner;
    const { channel, locks } = this.sharing!;
    const followerQueries = new FollowerLiveQueries(locks, lockName(this.options.name), owner);
    this.sharing!.ownerChannel = new OwnerChannel(channel, owner, followerQueries);
  }

  /** The owner went away and the lock came to this context: open the store here. */
  /** @internal */
  private async takeOver(follower: FollowerBackend): Promise<boolean> {
    // A closing follower still takes over if calls it made before close()
    // wait for an answer: it runs them, then lets the store go (below).
    if (this.closed && !follower.busy) return false;
    let owner: OwnerBackend;
    try {
      owner = await OwnerBackend.open(this.wasm(), this.options, this.dispatchAndRelay);
    } catch (error) {
      this.failTakeover(follower, error);
      return false;
    }
    this.becomeOwner(owner);
    this.liveQueries.subscribeAgain();
    // Calls sent to the old owner may never have been answered: run them here.
    // The old owner may have committed one before it went away; the call's
    // write id (see ForwardedCalls) makes the store apply it only once.
    const unanswered = follower.takeUnanswered().map((pending) =>
      this.sharing!.ownerChannel!.run(pending.call).then(pending.resolve, pending.reject),
    );
    if (!this.closed) return true;
    this.sharing!.ownerChannel!.stop();
    await Promise.all(unanswered);
    await owner.close();
    return false;
  }

  /** Taking the store over failed (e.g. its files do not load): every call fails from now on. */
  /** @internal */
  private failTakeover(follower: FollowerBackend, error: unknown): void {
    const failure = new FerryError('io', `could not take over the store: ${String((error as Error)?.message ?? error)}`);
    this.dispatch('error', { error: failure.message });
    this.failure = failure;
    this.closed = true;
    follower.failAll(failure);
    this.sharing?.channel.close();
    this.sharing?.presence?.release();
  }
}
