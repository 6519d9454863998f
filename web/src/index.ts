/**
 * ferry-sync: the WebAssembly build of Ferry, an offline-first sync SDK.
 *
 * Writes apply locally at once and are kept in a durable outbox; Ferry pushes
 * them to ferry-server in batches with retry and backoff, pulls the server's
 * changes, and resolves conflicts (server wins for now).
 *
 * Durability: a write's promise resolves only after the write is persisted:
 * in browsers, after the IndexedDB sync (FS.syncfs of IDBFS) that included it
 * has finished. Writes made in the same turn of the event loop share one
 * sync (group commit). In Node (`storage: "node"`) writes go to files in a
 * directory and are persisted when the write returns.
 */
import createFerryModule, { provideNodeRequire, type FerryModule, type WebClientHandle } from './ferry_wasm.mjs';
import { lockNodeStore } from './store_lock_node.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface OpenOptions {
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
  /** Where data lives: IndexedDB in browsers (default there), files in Node (default there), or memory. */
  storage?: 'indexeddb' | 'node' | 'memory';
  /** Node storage: the directory for the store's files (created if missing). */
  directory?: string;
  /** Sync soon after each local write while online (default true). */
  autoSync?: boolean;
  /** Background sync interval; none by default. */
  intervalMs?: number;
  requestTimeoutMs?: number;
  /** Request bodies larger than this are gzip-compressed (CompressionStream). */
  gzipAboveBytes?: number;
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
   * `resolve` decides: it runs synchronously inside the sync, must not call
   * the client, and returns the resolved document, or null/undefined to
   * delete it; a throw keeps the server's document. With several contexts
   * sharing a store, the owner's options apply: pass the same in each.
   */
  conflicts?: {
    default?: ConflictStrategy;
    collections?: Record<string, ConflictStrategy>;
    resolve?: (input: ConflictInput) => Json | null | undefined;
  };
}

export type ConflictStrategy = 'serverWins' | 'clientWins' | 'lastWriteWins' | 'merge' | 'custom';

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

/** The Background Sync (and Periodic Background Sync) tag of a store. */
export function backgroundSyncTag(name: string): string {
  return `ferry-sync:${name}`;
}

// The parts of the service-worker registration API used here (Background
// Sync and Periodic Background Sync are not in TypeScript's DOM library).
interface SyncRegistration {
  sync?: { register(tag: string): Promise<void> };
  periodicSync?: { register(tag: string, options: { minInterval: number }): Promise<void> };
  active?: { postMessage(message: unknown, transfer: Transferable[]): void } | null;
}
function serviceWorkerContainer(): { getRegistration(): Promise<SyncRegistration | undefined> } | undefined {
  return (globalThis as unknown as { navigator?: { serviceWorker?: { getRegistration(): Promise<SyncRegistration | undefined> } } })
    .navigator?.serviceWorker;
}

/**
 * Asks the browser to wake the service worker (ferry-sync/sw) periodically to
 * sync this store, at most every `minIntervalMs`. Browsers grant this only to
 * installed web apps; resolves false where it is not granted or not supported.
 */
export async function registerPeriodicSync(name: string, minIntervalMs: number): Promise<boolean> {
  requireString(name, 'name');
  if (typeof minIntervalMs !== 'number' || !(minIntervalMs > 0)) throw new TypeError('minIntervalMs must be a positive number');
  const registration = await serviceWorkerContainer()?.getRegistration();
  if (!registration?.periodicSync) return false;
  try {
    await registration.periodicSync.register(backgroundSyncTag(name), { minInterval: minIntervalMs });
    return true;
  } catch {
    return false;  // permission not granted
  }
}

/**
 * The fallback where Background Sync is missing: asks the active service
 * worker (ferry-sync/sw) to sync the store now and resolves with its outcome
 * (see BackgroundSyncOutcome in ferry-sync/sw), or undefined without one.
 */
export async function requestBackgroundSync(name: string): Promise<unknown> {
  requireString(name, 'name');
  const worker = (await serviceWorkerContainer()?.getRegistration())?.active;
  if (!worker) return undefined;
  const { port1, port2 } = new MessageChannel();
  const answered = new Promise((resolve) => {
    port1.onmessage = (message) => {
      port1.close();
      resolve((message.data as { outcome: unknown }).outcome);
    };
  });
  worker.postMessage({ type: 'ferry-sync:sync', name }, [port2]);
  return answered;
}

export interface SyncStatus {
  state: 'never_synced' | 'idle' | 'syncing' | 'offline' | 'error' | 'auth_error';
  pending: number;
  failed: number;
  lastSyncedAt: number | null;
  lastError: string;
  nextRetryAt: number | null;
}

export interface SyncRun {
  id: number;
  reason: string;
  startedAt: number;
  finishedAt: number;
  outcome: 'completed' | 'failed' | 'cancelled';
  pushed: number;
  pulled: number;
  conflicts: number;
  rejected: number;
  error: string;
}

export interface FailedMutation {
  seq: number;
  op: 'put' | 'patch' | 'delete';
  collection: string;
  key: string;
  value?: Json;
  error: string;
  attempts: number;
}

export interface ChangeDetail {
  documents: { collection: string; key: string }[];
  remote: boolean;
}

/** A failure reported by Ferry, with a stable code (e.g. "invalid_argument"). */
export class FerryError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'FerryError';
  }
}

// ---------------------------------------------------------------- module

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
let modulePromise: Promise<FerryModule> | undefined;
const clients = new Map<number, FerryClient>();
let nextHandle = 1;

async function loadModule(wasmBinary?: ArrayBuffer | Uint8Array): Promise<FerryModule> {
  if (!modulePromise) {
    modulePromise = (async () => {
      const options: Record<string, unknown> = {};
      if (wasmBinary) {
        options.wasmBinary = wasmBinary;
      } else if (isNode) {
        // Node 20 has a global fetch, which makes this Emscripten's loader try
        // to fetch the .wasm by file path; hand it the bytes instead.
        const fs = await import('node:fs');
        options.wasmBinary = fs.readFileSync(new URL('./ferry_wasm.wasm', import.meta.url));
      }
      if (isNode) provideNodeRequire((await import('node:module')).createRequire);
      const module = await createFerryModule(options);
      module.ferryHost = host;
      return module;
    })();
  }
  return modulePromise;
}

// What the C++ runtime calls (bindings/js/library_ferry.js).
const host = {
  fetch(handle: number, requestId: number, method: string, target: string, body: string, timeoutMs: number, refresh: boolean) {
    clients.get(handle)?.startRequest(requestId, method, target, body, timeoutMs, refresh);
  },
  abort(handle: number, requestId: number) {
    clients.get(handle)?.abortRequest(requestId);
  },
  setTimer(handle: number, delayMs: number) {
    clients.get(handle)?.setTimer(delayMs);
  },
  emit(handle: number, eventJson: string) {
    clients.get(handle)?.deliver(JSON.parse(eventJson));
  },
  persist(handle: number) {
    clients.get(handle)?.requestPersist();
  },
  resolve(handle: number, inputJson: string): string {
    const client = clients.get(handle);
    return client ? client.resolveConflict(inputJson) : JSON.stringify({ error: 'the client is closed' });
  },
};

function unwrap<T>(resultJson: string): T {
  const result = JSON.parse(resultJson);
  if (!result.ok) throw new FerryError(result.code, result.message);
  return result as T;
}

function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${typeof value}`);
  return value;
}

function serialize(value: unknown, name: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(`${name} is not JSON-serializable: ${(error as Error).message}`);
  }
  if (text === undefined) throw new TypeError(`${name} is not JSON-serializable`);
  return text;
}

async function gzip(text: string): Promise<ArrayBuffer> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Response(stream).arrayBuffer();
}

// ---------------------------------------------------------------- client

/** A Ferry client. Events (CustomEvent, data in `detail`): sync.started,
 * sync.progress, sync.completed, sync.failed, sync.conflict,
 * mutation.rejected, status, change. */
export class FerryClient extends EventTarget {
  private readonly inflight = new Map<number, AbortController>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastRun: SyncRun | undefined;
  private readonly runWaiters: { ticket: number; resolve: (run: SyncRun) => void }[] = [];
  private persistWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private persistScheduled = false;
  private persisting = false;
  private closed = false;
  private readonly detach: (() => void)[] = [];

  // The wasm client; absent while this context follows another owner.
  private module!: FerryModule;
  private web!: WebClientHandle;
  private handle = 0;
  private mountPoint = '';
  private releaseStoreLock = () => {};
  private usesIndexedDb = false;

  // Sharing one IndexedDB store between contexts (tabs, workers): exactly one
  // owns it (a Web Lock); the others forward their calls over a
  // BroadcastChannel and receive events and state snapshots back.
  private role: 'local' | 'owner' | 'follower' = 'local';
  private channel: BroadcastChannel | undefined;
  private readonly instanceId = Math.random().toString(36).slice(2) + Date.now().toString(36);
  private nextCallId = 1;
  private readonly pendingCalls = new Map<
    number,
    { method: string; args: unknown[]; resolve: (value: unknown) => void; reject: (error: unknown) => void }
  >();
  private snapshot: { clientId: string; status: SyncStatus; stats: Record<string, number>; history: SyncRun[]; failed: FailedMutation[] } | undefined;
  private snapshotScheduled = false;
  private backgroundSyncArmed = false;
  private takeoverError: FerryError | undefined;
  private releaseLock: () => void = () => {};
  private readonly untilClosed = new Promise<void>((resolve) => (this.releaseLock = resolve));

  private constructor(
    private readonly options: OpenOptions,
    private readonly storage: 'indexeddb' | 'node' | 'memory',
  ) {
    super();
    // Writes are all delivered: the next pending write registers the tag again.
    this.addEventListener('status', (event) => {
      if ((event as CustomEvent<{ status?: SyncStatus }>).detail?.status?.pending === 0) this.backgroundSyncArmed = false;
    });
  }

  static async open(options: OpenOptions): Promise<FerryClient> {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    requireString(options.name, 'options.name');
    requireString(options.endpoint, 'options.endpoint');
    if (options.conflicts !== undefined && (typeof options.conflicts !== 'object' || options.conflicts === null)) {
      throw new TypeError('options.conflicts must be an object');
    }
    if (options.conflicts?.resolve !== undefined && typeof options.conflicts.resolve !== 'function') {
      throw new TypeError('options.conflicts.resolve must be a function');
    }
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(options.name)) {
      throw new TypeError('options.name must be 1 to 64 characters of [A-Za-z0-9_-]');
    }
    const storage = options.storage ?? (isNode ? 'node' : 'indexeddb');
    const client = new FerryClient(options, storage);
    const locks = (globalThis as unknown as { navigator?: { locks?: LockManager } }).navigator?.locks;
    if (storage !== 'indexeddb' || !locks || options.shareAcrossContexts === false) {
      await client.startLocal();
      return client;
    }
    const lockName = `ferry-sync:${options.name}`;
    // Every context loads the module, owner or not: a follower must be able
    // to take the store over when the owner goes away, even offline.
    await loadModule(options.wasmBinary);
    const owner = await new Promise<boolean>((decided) => {
      void locks.request(lockName, { ifAvailable: true }, async (lock) => {
        decided(lock !== null);
        if (lock) await client.untilClosed;  // held for as long as this client is open
      });
    });
    client.channel = new BroadcastChannel(lockName);
    client.channel.onmessage = (message) => client.onChannelMessage(message.data);
    if (owner) {
      try {
        await client.startLocal();
      } catch (error) {
        client.channel.close();
        client.releaseLock();
        throw error;
      }
      client.role = 'owner';
      client.channel.postMessage({ kind: 'owner' });
      client.scheduleSnapshot();
    } else {
      client.role = 'follower';
      // Takes over when the owner goes away (closed, reloaded, crashed).
      void locks.request(lockName, async () => {
        if (client.closed) return;
        try {
          await client.promote();
        } catch (error) {
          client.failTakeover(error);
          return;
        }
        await client.untilClosed;
      });
      await client.awaitSnapshot();
    }
    return client;
  }

  private async startLocal(): Promise<void> {
    // IDBFS loads a store in two IndexedDB transactions (list, then read). A
    // sync committed in between by a context that just went away (a closed
    // tab) can leave the loaded copy mixing two states; the journal then
    // refuses it (a segment it needs is missing). Loading again after that
    // sync has landed gives a consistent copy; real damage fails every time.
    for (let attempt = 1; ; ++attempt) {
      try {
        await this.startLocalOnce();
        return;
      } catch (error) {
        const retryable = this.storage === 'indexeddb' && attempt < 3 &&
          (!(error instanceof FerryError) || error.code === 'corruption' || error.code === 'io');
        if (!retryable) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  }

  private async startLocalOnce(): Promise<void> {
    const options = this.options;
    const module = await loadModule(options.wasmBinary);
    const FS = module.FS;
    const mountPoint = `/ferry/${options.name}`;
    if (!FS.analyzePath('/ferry').exists) FS.mkdir('/ferry');
    if (FS.analyzePath(mountPoint).exists) throw new FerryError('invalid_argument', `store ${options.name} is already open`);
    if (this.storage === 'node') this.releaseStoreLock = await lockNodeStore(requireString(options.directory, 'options.directory (storage "node")'), (code, message) => new FerryError(code, message));
    FS.mkdir(mountPoint);
    const unmount = () => {
      if (this.storage !== 'memory') FS.unmount(mountPoint);
      FS.rmdir(mountPoint);
    };
    if (this.storage === 'indexeddb') {
      FS.mount(FS.filesystems.IDBFS, {}, mountPoint);
      try {
        await new Promise<void>((resolve, reject) =>
          FS.syncfs(true, (error) => (error ? reject(new FerryError('io', String(error))) : resolve())),
        );
      } catch (error) {
        unmount();
        throw error;
      }
    } else if (this.storage === 'node') {
      const directory = requireString(options.directory, 'options.directory (storage "node")');
      const fs = await import('node:fs');
      fs.mkdirSync(directory, { recursive: true });
      FS.mount(FS.filesystems.NODEFS, { root: directory }, mountPoint);
    }
    const handle = nextHandle++;
    const web = new module.WebClient(handle);
    const engineOptions = {
      conflicts: {
        default: options.conflicts?.default,
        collections: options.conflicts?.collections,
        custom: typeof options.conflicts?.resolve === 'function',
      },
      seed: Math.floor(Math.random() * 2 ** 52) + 1,
      autoSync: options.autoSync ?? true,
      intervalMs: options.intervalMs,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    };
    // Set before opening: the runtime calls back into this client (timers,
    // requests, persist) from inside open().
    this.module = module;
    this.web = web;
    this.handle = handle;
    this.mountPoint = mountPoint;
    this.usesIndexedDb = this.storage === 'indexeddb';
    clients.set(handle, this);
    try {
      unwrap(web.open(`${mountPoint}/journal`, JSON.stringify(engineOptions)));
    } catch (error) {
      clients.delete(handle);
      web.delete();
      unmount();
      this.releaseStoreLock();
      throw error;
    }
    this.followNetwork();
    if (options.liveUpdates ?? options.autoSync ?? true) void this.runLiveStream();
  }

  // ---- sharing between contexts

  /** The owner went away and the lock came to this context: open the store here. */
  private async promote(): Promise<void> {
    await this.startLocal();
    this.role = 'owner';
    this.channel?.postMessage({ kind: 'owner' });
    this.scheduleSnapshot();
    // Calls sent to the old owner may never have been answered: run them here.
    // Writes are idempotent in effect (put, patch, delete), so a repeat is safe.
    const pending = [...this.pendingCalls.values()];
    this.pendingCalls.clear();
    for (const call of pending) this.invoke(call.method, call.args).then(call.resolve, call.reject);
  }

  /** Taking the store over failed (e.g. its files do not load): every call fails from now on. */
  private failTakeover(error: unknown): void {
    const failure = new FerryError('io', `could not take over the store: ${String((error as Error)?.message ?? error)}`);
    this.takeoverError = failure;
    this.closed = true;
    this.channel?.close();
    for (const call of this.pendingCalls.values()) call.reject(failure);
    this.pendingCalls.clear();
    this.dispatchEvent(new CustomEvent('error', { detail: { error: failure.message } }));
  }

  private remote<T>(method: string, args: unknown[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const id = this.nextCallId++;
      this.pendingCalls.set(id, { method, args, resolve: resolve as (value: unknown) => void, reject });
      this.channel!.postMessage({ kind: 'call', id, from: this.instanceId, method, args });
    });
  }

  private awaitSnapshot(): Promise<void> {
    return new Promise((resolve, reject) => {
      // The owner may go away before it answers; then this context either
      // took the store over itself or could not.
      const check = () => {
        if (this.takeoverError) reject(this.takeoverError);
        else if (this.snapshot || this.role === 'owner') resolve();
        else setTimeout(check, 10);
      };
      this.channel!.postMessage({ kind: 'hello' });
      check();
    });
  }

  private static readonly forwarded = new Set([
    'write', 'get', 'scan', 'syncNow', 'start', 'stop', 'setOnline', 'cancel', 'retry', 'discard',
  ]);

  private async invoke(method: string, args: unknown[]): Promise<unknown> {
    if (!FerryClient.forwarded.has(method)) throw new FerryError('invalid_argument', `unknown call ${method}`);
    const result = await (this as unknown as Record<string, (...a: unknown[]) => unknown>)[method](...args);
    this.scheduleSnapshot();
    return result;
  }

  private onChannelMessage(message: { kind: string } & Record<string, any>): void {
    if (this.role === 'owner') {
      if (message.kind === 'hello') this.scheduleSnapshot();
      if (message.kind === 'call') {
        const reply = (fields: Record<string, unknown>) =>
          this.channel?.postMessage({ kind: 'result', id: message.id, to: message.from, ...fields });
        // The snapshot goes first, so a follower's status() already reflects
        // the call when its promise resolves (e.g. pending after syncNow).
        this.invoke(message.method, message.args).then(
          (value) => {
            this.postSnapshot();
            reply({ ok: true, value });
          },
          (error: Error & { code?: string }) => {
            this.postSnapshot();
            reply({ ok: false, error: { name: error?.name, code: error?.code, message: String(error?.message ?? error) } });
          },
        );
      }
      return;
    }
    if (this.role !== 'follower') return;
    if (message.kind === 'result' && message.to === this.instanceId) {
      const call = this.pendingCalls.get(message.id);
      if (!call) return;
      this.pendingCalls.delete(message.id);
      if (message.ok) {
        call.resolve(message.value);
      } else {
        const { name, code, message: text } = message.error;
        call.reject(name === 'TypeError' ? new TypeError(text) : new FerryError(code ?? 'internal', text));
      }
    } else if (message.kind === 'event') {
      this.dispatchEvent(new CustomEvent(message.type, { detail: message.detail }));
    } else if (message.kind === 'snapshot') {
      this.snapshot = message.snapshot;
    } else if (message.kind === 'owner') {
      // A new owner: calls the old one never answered go to it.
      for (const [id, call] of this.pendingCalls) {
        this.channel?.postMessage({ kind: 'call', id, from: this.instanceId, method: call.method, args: call.args });
      }
    }
  }

  private scheduleSnapshot(): void {
    if (this.role !== 'owner' || this.snapshotScheduled) return;
    this.snapshotScheduled = true;
    setTimeout(() => {
      this.snapshotScheduled = false;
      this.postSnapshot();
    }, 0);
  }

  private postSnapshot(): void {
    if (this.closed || this.role !== 'owner') return;
    this.channel?.postMessage({
      kind: 'snapshot',
      snapshot: { clientId: this.clientId, status: this.status(), stats: this.stats(), history: this.history(20), failed: this.failed() },
    });
  }

  /** Sign-out: deletes a store's local data, pending writes included. The store must be closed. */
  static async deleteLocalData(options: Pick<OpenOptions, 'name' | 'storage' | 'directory' | 'wasmBinary'>): Promise<void> {
    const storage = options.storage ?? (isNode ? 'node' : 'indexeddb');
    if (storage === 'node') {
      const fs = await import('node:fs');
      const release = await lockNodeStore(requireString(options.directory, 'options.directory'), (code, message) => new FerryError(code, message));
      fs.rmSync(requireString(options.directory, 'options.directory'), { recursive: true, force: true });
      release();
    } else if (storage === 'indexeddb') {
      const FS = (await loadModule(options.wasmBinary)).FS as FerryModule['FS'] & {
        readdir(path: string): string[];
        unlink(path: string): void;
        rmdir(path: string): void;
      };
      const mountPoint = `/ferry/${requireString(options.name, 'options.name')}`;
      if (FS.analyzePath(mountPoint).exists) throw new FerryError('invalid_argument', 'close the store first');
      if (!FS.analyzePath('/ferry').exists) FS.mkdir('/ferry');
      FS.mkdir(mountPoint);
      FS.mount(FS.filesystems.IDBFS, {}, mountPoint);
      const sync = (populate: boolean) =>
        new Promise<void>((resolve, reject) => FS.syncfs(populate, (error) => (error ? reject(error) : resolve())));
      await sync(true);
      const journal = `${mountPoint}/journal`;
      if (FS.analyzePath(journal).exists) {
        for (const file of FS.readdir(journal)) if (file !== '.' && file !== '..') FS.unlink(`${journal}/${file}`);
        FS.rmdir(journal);
      }
      await sync(false);
      FS.unmount(mountPoint);
      FS.rmdir(mountPoint);
    }
  }

  get clientId(): string {
    if (this.role === 'follower') return this.snapshot?.clientId ?? '';
    return this.web.clientId();
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
  async write(writes: { op: 'put' | 'patch' | 'delete'; collection: string; key: string; value?: Json }[]): Promise<void> {
    this.ensureOpen();
    if (this.role === 'follower') {
      await this.remote('write', [writes]);
      this.armBackgroundSync();
      return;
    }
    if (!Array.isArray(writes)) throw new TypeError('writes must be an array');
    for (const [i, w] of writes.entries()) {
      if (typeof w !== 'object' || w === null) throw new TypeError(`writes[${i}] must be an object`);
      requireString(w.collection, `writes[${i}].collection`);
      requireString(w.key, `writes[${i}].key`);
      if (w.op !== 'put' && w.op !== 'patch' && w.op !== 'delete') throw new TypeError(`writes[${i}].op must be put, patch or delete`);
      if (w.op === 'put' && w.value === undefined) throw new TypeError(`writes[${i}].value is required for put`);
    }
    const text = serialize(writes, 'the written value');
    unwrap(this.web.write(text));
    await this.persisted();
    this.armBackgroundSync();
  }

  async get(collection: string, key: string): Promise<Json | undefined> {
    this.ensureOpen();
    if (this.role === 'follower') return this.remote('get', [collection, key]);
    const result = unwrap<{ value: Json; exists: boolean }>(
      this.web.get(requireString(collection, 'collection'), requireString(key, 'key')),
    );
    return result.exists ? result.value : undefined;
  }

  async scan(collection: string, keyPrefix = '', limit = 0): Promise<{ key: string; value: Json }[]> {
    this.ensureOpen();
    if (this.role === 'follower') return this.remote('scan', [collection, keyPrefix, limit]);
    if (typeof limit !== 'number' || !(limit >= 0)) throw new TypeError('limit must be a non-negative number');
    return unwrap<{ items: { key: string; value: Json }[] }>(
      this.web.scan(requireString(collection, 'collection'), requireString(keyPrefix, 'keyPrefix'), limit),
    ).items;
  }

  /** Calls `listener` when local views change (local writes, pulls, conflicts). Returns an unsubscribe function. */
  subscribe(listener: (detail: ChangeDetail) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    const wrapped = (event: Event) => listener((event as CustomEvent<ChangeDetail>).detail);
    this.addEventListener('change', wrapped);
    return () => this.removeEventListener('change', wrapped);
  }

  // ---- sync

  /** Starts a sync (or joins the running one) and resolves with the run that covered it. */
  syncNow(reason: 'manual' | 'background_sync' | 'poke' | 'app_start' = 'manual'): Promise<SyncRun> {
    this.ensureOpen();
    if (this.role === 'follower') return this.remote('syncNow', [reason]);
    return new Promise((resolve) => {
      const ticket = this.web.trigger(reason);
      if (this.lastRun && this.lastRun.id >= ticket) {
        resolve(this.lastRun);
      } else {
        this.runWaiters.push({ ticket, resolve });
      }
    });
  }

  start(intervalMs: number): void {
    if (typeof intervalMs !== 'number' || !(intervalMs > 0)) throw new TypeError('intervalMs must be a positive number');
    this.ensureOpen();
    if (this.role === 'follower') return void this.remote('start', [intervalMs]);
    this.web.setInterval(intervalMs);
  }

  stop(): void {
    this.ensureOpen();
    if (this.role === 'follower') return void this.remote('stop', []);
    this.web.setInterval(0);
  }

  setOnline(online: boolean): void {
    if (typeof online !== 'boolean') throw new TypeError('online must be a boolean');
    this.ensureOpen();
    if (this.role === 'follower') return void this.remote('setOnline', [online]);
    this.web.setOnline(online);
  }

  cancel(): void {
    this.ensureOpen();
    if (this.role === 'follower') return void this.remote('cancel', []);
    this.web.cancel();
  }

  /** In a context that shares another's store, the state as last reported by the owner. */
  status(): SyncStatus {
    this.ensureOpen();
    if (this.role === 'follower') return this.snapshot!.status;
    return unwrap<{ status: SyncStatus }>(this.web.status()).status;
  }

  stats(): Record<string, number> {
    this.ensureOpen();
    if (this.role === 'follower') return this.snapshot!.stats;
    return unwrap<{ statistics: Record<string, number> }>(this.web.statistics()).statistics;
  }

  history(limit = 50): SyncRun[] {
    this.ensureOpen();
    if (this.role === 'follower') return this.snapshot!.history.slice(0, limit);
    return unwrap<{ runs: SyncRun[] }>(this.web.history(limit)).runs;
  }

  failed(): FailedMutation[] {
    this.ensureOpen();
    if (this.role === 'follower') return this.snapshot!.failed;
    return unwrap<{ mutations: FailedMutation[] }>(this.web.failed()).mutations;
  }

  async retry(seq: number): Promise<number> {
    this.ensureOpen();
    if (this.role === 'follower') return this.remote('retry', [seq]);
    const result = unwrap<{ seq: number }>(this.web.retryFailed(seq));
    await this.persisted();
    return result.seq;
  }

  async discard(seq: number): Promise<void> {
    this.ensureOpen();
    if (this.role === 'follower') return this.remote('discard', [seq]);
    unwrap(this.web.discardFailed(seq));
    await this.persisted();
  }

  /** Stops syncing and releases the store; pending writes stay for the next open. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.role === 'follower') {
      this.closed = true;
      this.channel?.close();
      this.releaseLock();  // withdraws the queued request for ownership
      return;
    }
    // Network listeners and the live stream go first: nothing may reach the
    // engine once it is closing.
    for (const undo of this.detach) undo();
    this.detach.length = 0;
    this.web.close();
    for (const controller of this.inflight.values()) controller.abort();
    this.inflight.clear();
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.persisted();
    this.closed = true;
    for (const undo of this.detach) undo();
    this.channel?.close();
    this.releaseLock();
    clients.delete(this.handle);
    this.web.delete();
    const FS = this.module.FS as FerryModule['FS'] & { rmdir(path: string): void };
    try {
      FS.unmount(this.mountPoint);
    } catch {
      // memory storage has no mount
    }
    try {
      FS.rmdir(this.mountPoint);
    } catch {
      // memory storage keeps its files until the page goes away
    }
    this.releaseStoreLock();
  }

  // ---- host side (called by the runtime)

  /** The headers every request to ferry-server carries; the token is asked for each request (never kept). */
  private async requestHeaders(accept: string, refresh: boolean): Promise<Record<string, string>> {
    const headers: Record<string, string> = { Accept: accept, 'Ferry-Protocol': '1' };
    const token = this.options.getToken ? await this.options.getToken({ refresh }) : '';
    if (token) headers.Authorization = `Bearer ${token}`;
    return headers;
  }

  private url(path: string): string {
    return this.options.endpoint.replace(/\/+$/, '') + path;
  }

  /** @internal */
  startRequest(requestId: number, method: string, target: string, body: string, timeoutMs: number, refresh = false): void {
    const controller = new AbortController();
    this.inflight.set(requestId, controller);
    const timeout = setTimeout(() => controller.abort(), timeoutMs);
    const finish = (status: number, text: string, retryAfter: string, error: string) => {
      clearTimeout(timeout);
      if (!this.inflight.delete(requestId) || this.closed) return; // cancelled: no answer
      this.web.handleResponse(requestId, status, text, retryAfter, error);
    };
    (async () => {
      const headers = await this.requestHeaders('application/json', refresh);
      let payload: BodyInit | undefined;
      if (body) {
        headers['Content-Type'] = 'application/json';
        payload = body;
        if (body.length > (this.options.gzipAboveBytes ?? 1024) && typeof CompressionStream !== 'undefined') {
          payload = await gzip(body);
          headers['Content-Encoding'] = 'gzip';
        }
      }
      const response = await fetch(this.url(target), {
        method,
        headers,
        body: payload,
        signal: controller.signal,
      });
      const text = await response.text();
      finish(response.status, text, response.headers.get('Retry-After') ?? '', '');
    })().catch((error: unknown) => {
      finish(0, '', '', controller.signal.aborted ? 'request timed out' : String((error as Error)?.message ?? error));
    });
  }

  /** @internal */
  abortRequest(requestId: number): void {
    const controller = this.inflight.get(requestId);
    this.inflight.delete(requestId);
    controller?.abort();
  }

  /** @internal */
  setTimer(delayMs: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (delayMs >= 0 && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (!this.closed) this.web.handleTimer();
      }, delayMs);
    }
  }

  /** @internal */
  deliver(event: { type: string; run?: SyncRun } & Record<string, unknown>): void {
    if ((event.type === 'sync.completed' || event.type === 'sync.failed') && event.run) {
      const run = event.run;
      this.lastRun = run;
      for (let i = this.runWaiters.length - 1; i >= 0; --i) {
        if (run.id >= this.runWaiters[i].ticket) this.runWaiters.splice(i, 1)[0].resolve(run);
      }
    }
    const { type, ...rest } = event;
    const detail = type === 'sync.completed' || type === 'sync.failed' ? event.run : rest;
    this.dispatchEvent(new CustomEvent(type, { detail }));
    if (this.role === 'owner') {
      this.channel?.postMessage({ kind: 'event', type, detail });
      this.scheduleSnapshot();
    }
  }

  /** @internal A conflict for the custom resolver; answers {value} | {deleted} | {error}. */
  resolveConflict(inputJson: string): string {
    try {
      const decided = this.options.conflicts!.resolve!(JSON.parse(inputJson) as ConflictInput);
      if (decided !== null && typeof decided === 'object' && typeof (decided as { then?: unknown }).then === 'function') {
        return JSON.stringify({ error: 'conflicts.resolve must return the document, not a promise' });
      }
      if (decided === null || decided === undefined) return JSON.stringify({ deleted: true });
      const text = JSON.stringify({ value: decided });
      return text === undefined ? JSON.stringify({ error: 'the resolved document is not JSON' }) : text;
    } catch (error) {
      return JSON.stringify({ error: `conflicts.resolve threw: ${String((error as Error)?.message ?? error)}` });
    }
  }

  /** @internal The runtime committed to the store: persist it soon (group commit). */
  requestPersist(): void {
    if (!this.usesIndexedDb) return;
    if (!this.persistScheduled) {
      this.persistScheduled = true;
      setTimeout(() => void this.runPersist(), 0);
    }
  }

  // ---- internals

  /**
   * Registers the store's Background Sync tag once per stretch of pending
   * writes (registering is cheap but not free, and the browser keeps one
   * registration per tag anyway). The service worker's sync event then
   * delivers the writes even if this context goes away first.
   */
  private armBackgroundSync(): void {
    if (this.backgroundSyncArmed || this.options.backgroundSync === false || isNode) return;
    const container = serviceWorkerContainer();
    if (!container) return;
    this.backgroundSyncArmed = true;
    container
      .getRegistration()
      .then((registration) => registration?.sync?.register(backgroundSyncTag(this.options.name)))
      .catch((error: unknown) => {
        // No permission or no service worker: the writes still go out while a
        // context has the store open; try again with the next write.
        this.backgroundSyncArmed = false;
        this.dispatchEvent(new CustomEvent('backgroundsync.unavailable', { detail: { error: String(error) } }));
      });
  }

  private ensureOpen(): void {
    if (this.takeoverError) throw this.takeoverError;
    if (this.closed) throw new FerryError('invalid_argument', 'the client is closed');
  }

  /** Resolves once everything committed so far is persisted. */
  private persisted(): Promise<void> {
    if (!this.usesIndexedDb) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.persistWaiters.push({ resolve, reject });
      this.requestPersist();
    });
  }

  private async runPersist(): Promise<void> {
    this.persistScheduled = false;
    if (this.persisting) {
      // One sync at a time: the running one cannot include the newest writes.
      this.persistScheduled = true;
      setTimeout(() => void this.runPersist(), 5);
      return;
    }
    this.persisting = true;
    const waiters = this.persistWaiters;
    this.persistWaiters = [];
    try {
      await new Promise<void>((resolve, reject) =>
        this.module.FS.syncfs(false, (error) => (error ? reject(error) : resolve())),
      );
      for (const waiter of waiters) waiter.resolve();
    } catch (error) {
      // The writes are committed in memory and stay queued; the next sync
      // retries persisting them. Their promises report the failure.
      const failure = new FerryError('io', `persisting to IndexedDB failed: ${String(error)}`);
      this.dispatchEvent(new CustomEvent('persist.failed', { detail: { error: failure.message } }));
      for (const waiter of waiters) waiter.reject(failure);
    } finally {
      this.persisting = false;
    }
  }

  /**
   * The live stream, for as long as this context owns the store: "hello" on
   * connect (catch up on what was missed) and "poke" on changes trigger a
   * sync. Reconnects with jittered backoff, at most every 30 s.
   */
  private async runLiveStream(): Promise<void> {
    const controller = new AbortController();
    this.detach.push(() => controller.abort());
    let failures = 0;
    while (!this.closed) {
      const online = (globalThis as { navigator?: { onLine?: boolean } }).navigator?.onLine !== false;
      if (online) {
        try {
          const headers = await this.requestHeaders('text/event-stream', failures > 0);
          const response = await fetch(this.url('/v1/live'), { headers, signal: controller.signal });
          if (response.ok && response.body) {
            const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
            let buffered = '';
            for (;;) {
              const { value, done } = await reader.read();
              if (done || this.closed) break;
              buffered += value;
              let newline: number;
              while ((newline = buffered.indexOf('\n')) >= 0) {
                const line = buffered.slice(0, newline).replace(/\r$/, '');
                buffered = buffered.slice(newline + 1);
                if (line === 'event: hello') failures = 0;
                if ((line === 'event: hello' || line === 'event: poke') && !this.closed) this.web.trigger('poke');
              }
              if (buffered.length > 65536) buffered = '';  // not an event stream
            }
          } else {
            await response.body?.cancel();
          }
        } catch {
          // aborted (closed) or unreachable: retried below
        }
      }
      if (this.closed) return;
      ++failures;
      const cap = Math.min(30_000, 500 * 2 ** Math.min(failures, 16));
      await new Promise((resolve) => setTimeout(resolve, cap / 2 + Math.random() * (cap / 2)));
    }
  }

  private followNetwork(): void {
    if (this.options.followNetworkEvents === false) return;
    const target = globalThis as unknown as {
      addEventListener?: (type: string, listener: () => void) => void;
      removeEventListener?: (type: string, listener: () => void) => void;
      navigator?: { onLine?: boolean };
    };
    if (typeof target.addEventListener !== 'function' || isNode) return;
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
