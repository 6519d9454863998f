// Group commit for IndexedDB: the engine commits to the in-memory file
// system, and a commit is durable only once the store's persist
// (store_indexeddb.ts) has written it there. Commits made within one turn of the event loop share one
// sync; a write's promise waits for the sync that included it.
import type { MountedStore } from './storage.js';
import { FerryError } from './types.js';

export class GroupCommit {
  private waiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private scheduled = false;
  private running = false;

  /**
   * A store that needs no sync (NODEFS, MEMFS): every commit is as durable as
   * it gets when it returns, and nothing is done. `onFailure` hears of every
   * failed sync, besides the promises waiting for it.
   */
  constructor(
    private readonly store: Pick<MountedStore, 'needsSync' | 'persist'>,
    private readonly onFailure: (error: FerryError) => void,
  ) {}

  /** The engine committed: persist soon. */
  request(): void {
    if (!this.store.needsSync || this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => void this.run(), 0);
  }

  /** Resolves once everything committed so far is persisted. */
  persisted(): Promise<void> {
    if (!this.store.needsSync) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.request();
    });
  }

  private async run(): Promise<void> {
    this.scheduled = false;
    if (this.running) {
      // One persist at a time: the running one cannot include the newest commits.
      this.scheduled = true;
      setTimeout(() => void this.run(), 5);
      return;
    }
    this.running = true;
    const waiters = this.waiters;
    this.waiters = [];
    try {
      await this.store.persist();
      for (const waiter of waiters) waiter.resolve();
    } catch (error) {
      // The writes are committed in memory and stay queued; the next persist
      // retries persisting them. Their promises report the failure.
      const failure = new FerryError('io', `persisting to IndexedDB failed: ${String(error)}`);
      this.onFailure(failure);
      for (const waiter of waiters) waiter.reject(failure);
    } finally {
      this.running = false;
    }
  }
}
