// The page's side of service-worker background sync (ferry-sync/sw): the
// Background Sync tag registered while writes are pending, Periodic
// Background Sync, and the message fallback where neither API exists.
import { requireString } from './arguments.js';
import { isNode } from './module.js';

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
