// The page's side of service-worker background sync (ferry-sync/sw): the
// Background Sync tag registered while writes are pending, Periodic
// Background Sync, the message fallback where neither API exists, and the
// tokens a page lends the service worker.
import { requireString } from './arguments.js';
import { isNode } from './module.js';
import type { OpenOptions } from './types.js';

/** The Background Sync (and Periodic Background Sync) tag of a store. */
export function backgroundSyncTag(name: string): string {
  return `ferry-sync:${name}`;
}

// The parts of the service-worker registration API used here (Background
// Sync and Periodic Background Sync are not in TypeScript's DOM library).
interface SyncRegistration {
  active?: { postMessage(message: unknown, transfer?: Transferable[]): void } | null;
  sync?: { register(tag: string): Promise<void> };
  periodicSync?: { register(tag: string, options: { minInterval: number }): Promise<void> };
}
interface ServiceWorkerContainerPart extends EventTarget {
  getRegistration(): Promise<SyncRegistration | undefined>;
  startMessages?(): void;
}
function serviceWorkerContainer(): ServiceWorkerContainerPart | undefined {
  return (globalThis as unknown as { navigator?: { serviceWorker?: ServiceWorkerContainerPart } }).navigator?.serviceWorker;
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

/**
 * Registers a store's Background Sync tag once per stretch of pending writes
 * (registering is cheap but not free, and the browser keeps one registration
 * per tag anyway). The service worker's sync event then delivers the writes
 * even if this context goes away first.
 * @internal (FerryClient's; kept out of the published .d.ts)
 */
export class BackgroundSyncArming {
  private armed = false;

  /** `onUnavailable` hears why registering failed (no permission, no service worker). */
  constructor(
    private readonly name: string,
    private readonly enabled: boolean,
    private readonly onUnavailable: (error: unknown) => void,
  ) {}

  /** After a write. */
  arm(): void {
    if (this.armed || !this.enabled || isNode) return;
    const container = serviceWorkerContainer();
    if (!container) return;
    this.armed = true;
    container
      .getRegistration()
      .then((registration) => registration?.sync?.register(backgroundSyncTag(this.name)))
      .catch((error: unknown) => {
        // The writes still go out while a context has the store open; try
        // again with the next write.
        this.armed = false;
        this.onUnavailable(error);
      });
  }

  /** Every write is delivered: the next pending write registers the tag again. */
  drained(): void {
    this.armed = false;
  }
}

/** A token a page lends the service worker for a store (ferry-sync/sw keeps it in memory only). */
export interface ServiceWorkerTokenMessage {
  type: 'ferry-sync:token';
  name: string;
  token: string;
}

/** The service worker asks the pages for a token (over `ports[0]`); a page answers `{ token }` or `{ error }`. */
export interface ServiceWorkerTokenRequest {
  type: 'ferry-sync:token-request';
  name: string;
  refresh: boolean;
}

/**
 * Lends the service worker (ferry-sync/sw with `getToken: tokenFromPages(name)`)
 * the tokens of the store `name`, from this page's `getToken`, for as long as
 * the page is open: hands it one now, again whenever the page is hidden (the
 * last chance before a tab closes) or another service worker takes control, and
 * answers the service worker's requests (`refresh` after a 401 is passed on).
 * The service worker keeps the token in memory only. Returns a function that
 * stops lending.
 */
export function provideServiceWorkerToken(name: string, getToken: NonNullable<OpenOptions['getToken']>): () => void {
  requireString(name, 'name');
  if (typeof getToken !== 'function') throw new TypeError('getToken must be a function');
  const container = serviceWorkerContainer();
  if (!container) return () => {};
  const token = async (refresh: boolean): Promise<string> => {
    const value = await getToken({ refresh });
    if (typeof value !== 'string' || value === '') throw new TypeError('getToken must return a non-empty string');
    return value;
  };
  const hand = (): void => {
    void (async () => {
      const worker = (await container.getRegistration())?.active;
      if (worker) worker.postMessage({ type: 'ferry-sync:token', name, token: await token(false) } satisfies ServiceWorkerTokenMessage);
    })().catch(() => {
      // no token now: the service worker asks when it needs one
    });
  };
  const answer = (event: Event): void => {
    const message = event as MessageEvent;
    const request = message.data as Partial<ServiceWorkerTokenRequest> | null;
    if (request?.type !== 'ferry-sync:token-request' || request.name !== name || !message.ports[0]) return;
    const port = message.ports[0];
    token(request.refresh === true).then(
      (value) => port.postMessage({ token: value }),
      (error: unknown) => port.postMessage({ error: String((error as Error)?.message ?? error) }),
    );
  };
  const document = (globalThis as unknown as { document?: Document }).document;
  const onVisibility = (): void => {
    if (document?.visibilityState === 'hidden') hand();
  };
  container.addEventListener('message', answer);
  container.addEventListener('controllerchange', hand);
  document?.addEventListener('visibilitychange', onVisibility);
  container.startMessages?.();  // messages from the service worker wait until this (or the page's load)
  hand();
  return () => {
    container.removeEventListener('message', answer);
    container.removeEventListener('controllerchange', hand);
    document?.removeEventListener('visibilitychange', onVisibility);
  };
}
