/**
 * ferry-sync/sw: Ferry inside a service worker, so that writes made offline
 * reach the server even after the user closed every tab.
 *
 * Call `installFerrySync(options)` once, at the top level of the service
 * worker script (event listeners must exist when the script first runs):
 *
 *   import { installFerrySync, tokenFromPages } from 'ferry-sync/sw';
 *   installFerrySync({ name: 'notes', endpoint: 'https://sync.example.com', getToken: tokenFromPages('notes') });
 *
 * `tokenFromPages` borrows the token from the app's pages (which lend it with
 * `provideServiceWorkerToken` from ferry-sync) and keeps it in memory only;
 * any other getToken that works in a service worker will do.
 *
 * The service worker syncs the store on:
 * - the Background Sync `sync` event for the tag `ferry-sync:<name>`, which
 *   FerryClient registers in the page whenever writes are pending. The event
 *   is kept alive (waitUntil) until the sync ends and is rejected when writes
 *   are still pending afterwards (offline, 5xx, timeout, 429), so the browser
 *   retries it with its own backoff;
 * - the Periodic Background Sync `periodicsync` event for the same tag, where
 *   the browser grants it (see registerPeriodicSync in ferry-sync);
 * - where those APIs are missing or disabled: the service worker starting, a
 *   message from a page (`requestBackgroundSync` in ferry-sync), and the
 *   service worker's `online` event.
 *
 * The service worker is one more context in the store's ownership protocol
 * (docs/CONTEXTS.md): when a tab owns the store, the service worker asks that
 * tab to sync; when no context has it open, the service worker opens it, syncs
 * and closes it again, so that a tab opened later takes over at once. A failed
 * sync never drops a write: writes leave the outbox only when the server has
 * answered for them. Pages observe the queue through their own FerryClient:
 * status().pending, history() (runs the service worker made are recorded with
 * reason "background_sync") and failedMutations().
 */
import {
  backgroundSyncTag,
  FerryClient,
  type OpenOptions,
  type ServiceWorkerTokenMessage,
  type ServiceWorkerTokenRequest,
  type SyncRun,
  type SyncStatus,
} from './browser.js';

export interface ServiceWorkerSyncOptions
  extends Pick<OpenOptions, 'name' | 'endpoint' | 'getToken' | 'requestTimeoutMs' | 'gzipAboveBytes'> {
  /** Sync when the service worker starts (default true). */
  syncOnStart?: boolean;
}

export interface BackgroundSyncOutcome {
  /** What started this sync: "sync", "periodicsync", "message", "start" or "online". */
  trigger: string;
  /** The run that covered it; absent when the store could not be opened. */
  run?: SyncRun;
  /** The queue right after the run. */
  status?: SyncStatus;
  /** Writes are still waiting: the browser should try again later. */
  retry: boolean;
  error?: string;
}

/** A message a page posts to the service worker to ask for a sync (the message fallback). */
export interface BackgroundSyncRequest {
  type: 'ferry-sync:sync';
  name: string;
}

// The few service-worker types used here (the package compiles against the
// DOM library, which does not describe ServiceWorkerGlobalScope).
interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface SyncEvent extends ExtendableEvent {
  readonly tag: string;
  readonly lastChance?: boolean;
}
interface ExtendableMessageEvent extends ExtendableEvent {
  readonly data: unknown;
  readonly source: { postMessage(message: unknown): void } | null;
  readonly ports: readonly MessagePort[];
}

interface WindowClients {
  matchAll(options: { type: 'window'; includeUncontrolled: boolean }): Promise<readonly { postMessage(message: unknown, transfer: Transferable[]): void }[]>;
}

export interface TokenFromPagesOptions {
  /** How long to wait for an open page to answer (default 5000 ms). */
  timeoutMs?: number;
}

/**
 * A getToken for installFerrySync that gets the store's token from the app's
 * pages, which lend it with `provideServiceWorkerToken(name, getToken)` (from
 * ferry-sync): the token a page handed over is kept in memory only (never in
 * IndexedDB or Cache Storage, so it is gone when the browser stops the service
 * worker), and when there is none, or the server refused it (`refresh`), the
 * open pages are asked for a fresh one. With no token in memory and no page
 * to answer, it throws: the sync fails with an auth error, every write stays
 * queued, and the `sync` event is rejected so the browser tries again later.
 *
 * Call it at the top level of the service worker script, as installFerrySync.
 */
export function tokenFromPages(name: string, options: TokenFromPagesOptions = {}): NonNullable<OpenOptions['getToken']> {
  if (typeof name !== 'string' || name === '') throw new TypeError('name must be a non-empty string');
  const timeoutMs = options.timeoutMs ?? 5000;
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) throw new TypeError('options.timeoutMs must be a positive number');
  const scope = globalThis as unknown as {
    addEventListener(type: string, listener: (event: Event) => void): void;
    clients: WindowClients;
  };
  let lent: string | undefined;  // memory only
  scope.addEventListener('message', (event) => {
    const data = (event as ExtendableMessageEvent).data as Partial<ServiceWorkerTokenMessage> | null;
    if (data?.type === 'ferry-sync:token' && data.name === name && typeof data.token === 'string' && data.token !== '') {
      lent = data.token;
    }
  });

  // Asks every open page at once; the first token wins. One question at a
  // time: requests that overlap share it.
  let asking: Promise<string> | undefined;
  async function askPages(refresh: boolean): Promise<string> {
    const pages = await scope.clients.matchAll({ type: 'window', includeUncontrolled: true });
    if (pages.length === 0) throw new Error('no token: no page is open to lend one (provideServiceWorkerToken)');
    return new Promise<string>((resolve, reject) => {
      let unanswered = pages.length;
      let lastError = 'no page answered';
      const ports: MessagePort[] = [];
      const finish = (): void => {
        clearTimeout(timer);
        for (const port of ports) port.close();
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no token: no open page answered within ${timeoutMs} ms (provideServiceWorkerToken)`));
      }, timeoutMs);
      for (const page of pages) {
        const { port1, port2 } = new MessageChannel();
        ports.push(port1);
        port1.onmessage = (message) => {
          const answer = message.data as { token?: unknown; error?: unknown } | null;
          if (typeof answer?.token === 'string' && answer.token !== '') {
            finish();
            resolve(answer.token);
          } else {
            lastError = String(answer?.error ?? 'an empty answer');
            if (--unanswered === 0) {
              finish();
              reject(new Error(`no token: ${lastError}`));
            }
          }
        };
        const request: ServiceWorkerTokenRequest = { type: 'ferry-sync:token-request', name, refresh };
        page.postMessage(request, [port2]);
      }
    });
  }

  return async ({ refresh }) => {
    if (!refresh && lent !== undefined) return lent;
    lent = undefined;  // refused by the server, or none: ask again
    asking ??= askPages(refresh).finally(() => (asking = undefined));
    const token = await asking;
    lent = token;
    return token;
  };
}

export interface FerryServiceWorker {
  /** Syncs now (joining a sync that is already running) and reports the outcome. */
  sync(trigger: string): Promise<BackgroundSyncOutcome>;
}

export function installFerrySync(options: ServiceWorkerSyncOptions): FerryServiceWorker {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const scope = globalThis as unknown as {
    addEventListener(type: string, listener: (event: Event) => void): void;
  };
  const tag = backgroundSyncTag(options.name);

  // A service worker's own fetches bypass its fetch handler, so the module
  // must be at hand when the network is not: it is cached when the worker
  // installs and loaded from that cache.
  const wasmUrl = new URL('./ferry_wasm.wasm', import.meta.url).href;
  const moduleCache = 'ferry-sync-module';
  const caches = (globalThis as unknown as { caches?: CacheStorage }).caches;
  async function cachedModule(): Promise<ArrayBuffer | undefined> {
    try {
      const cached = await caches?.match(wasmUrl, { cacheName: moduleCache });
      return cached ? await cached.arrayBuffer() : undefined;
    } catch {
      return undefined;  // no Cache Storage: the loader fetches the module
    }
  }
  scope.addEventListener('install', (event) => {
    (event as ExtendableEvent).waitUntil(
      (async () => {
        try {
          await (await caches?.open(moduleCache))?.add(wasmUrl);
        } catch {
          // offline at install: the loader fetches the module when it can
        }
      })(),
    );
  });

  // One FerryClient while any sync request is active: requests that overlap
  // share it, and the last one to finish closes it, which releases the store
  // to whichever tab opens it next.
  let session: Promise<FerryClient> | undefined;
  let users = 0;

  async function sync(trigger: string): Promise<BackgroundSyncOutcome> {
    ++users;
    if (!session) {
      // Assigned before any await, so overlapping requests share it.
      session = (async () =>
        FerryClient.open({
          wasmBinary: await cachedModule(),
          name: options.name,
          endpoint: options.endpoint,
          getToken: options.getToken,
          requestTimeoutMs: options.requestTimeoutMs,
          gzipAboveBytes: options.gzipAboveBytes,
          storage: 'indexeddb',
          autoSync: false,  // this context syncs on the events above, not after writes
          backgroundSync: false,  // the service worker is what the tag wakes up
          liveUpdates: false,  // it syncs on the events above and closes the store again
        }))();
    }
    const opened = session;
    try {
      const client = await opened;
      const run = await client.syncNow(trigger === 'start' ? 'app_start' : 'background_sync');
      const status = client.status();
      return { trigger, run, status, retry: status.pending > 0, error: run.error || undefined };
    } catch (error) {
      // The store could not be opened (or the owner went away mid-call): the
      // writes are still in the store; ask to be woken again.
      return { trigger, retry: true, error: String((error as Error)?.message ?? error) };
    } finally {
      if (--users === 0) {
        session = undefined;
        try {
          await (await opened).close();
        } catch {
          // open failed: nothing to close
        }
      }
    }
  }

  scope.addEventListener('sync', (event) => {
    const syncEvent = event as SyncEvent;
    if (syncEvent.tag !== tag) return;
    syncEvent.waitUntil(
      sync('sync').then((outcome) => {
        // Rejecting makes the browser retry the tag later with backoff. On the
        // last chance there is no later: the writes simply wait in the store
        // for the next page visit, start or online event.
        if (outcome.retry && !syncEvent.lastChance) {
          throw new Error(`ferry-sync: writes still pending (${outcome.error ?? 'not all were answered'})`);
        }
      }),
    );
  });

  scope.addEventListener('periodicsync', (event) => {
    const syncEvent = event as SyncEvent;
    if (syncEvent.tag === tag) syncEvent.waitUntil(sync('periodicsync'));
  });

  scope.addEventListener('message', (event) => {
    const message = event as ExtendableMessageEvent;
    const data = message.data as Partial<BackgroundSyncRequest> | null;
    if (data?.type !== 'ferry-sync:sync' || data.name !== options.name) return;
    message.waitUntil(
      sync('message').then((outcome) => {
        const reply = { type: 'ferry-sync:outcome', name: options.name, outcome };
        if (message.ports[0]) message.ports[0].postMessage(reply);
        else message.source?.postMessage(reply);
      }),
    );
  });

  // No waitUntil exists for these two: the sync runs while the browser keeps
  // the service worker alive for whatever else woke it.
  scope.addEventListener('online', () => void sync('online'));
  if (options.syncOnStart !== false) void sync('start');

  return { sync };
}
