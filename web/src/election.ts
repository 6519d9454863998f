// Which context owns a shared IndexedDB store: whoever holds the Web Lock
// `ferry-sync:<name>` (docs/CONTEXTS.md). The browser releases the locks of a
// context that goes away (closed, reloaded, crashed), so a waiting context
// gets the lock and takes the store over.
import { FerryError } from './types.js';

/** The context's Web Locks, where there are any. */
export function lockManager(): LockManager | undefined {
  return (globalThis as unknown as { navigator?: { locks?: LockManager } }).navigator?.locks;
}

export function lockName(storeName: string): string {
  return `ferry-sync:${storeName}`;
}

/**
 * The lock a follower holds while it is open, so that the owner learns when
 * it goes away, closed or not (follower_queries.ts).
 */
export function followerLockName(storeLock: string, instanceId: string): string {
  return `${storeLock}:follower:${instanceId}`;
}

/** Runs `gone` once nobody holds the lock `name`, unless `signal` aborts first. */
export function whenReleased(locks: LockManager, name: string, signal: AbortSignal, gone: () => void): void {
  locks.request(name, { signal }, async () => gone()).catch(() => {});  // aborted
}

/** The claims of this context not yet released: its clients on each store, owning or following, and its followers' own locks. */
const claimedHere = new Set<Ownership>();

export class Ownership {
  private releaseLock: () => void = () => {};
  private readonly released = new Promise<void>((resolve) => (this.releaseLock = resolve));
  private readonly withdraw = new AbortController();

  /** Whether this context got the lock when it claimed it. */
  private ownsAtOnce = false;

  private constructor(
    private readonly locks: LockManager,
    readonly name: string,
  ) {}

  get owner(): boolean {
    return this.ownsAtOnce;
  }

  /**
   * Takes the lock if nobody holds it, or if it comes free within `waitMs`
   * (0: at once); held until release().
   */
  static async claim(locks: LockManager, name: string, waitMs = 0): Promise<Ownership> {
    const ownership = new Ownership(locks, name);
    claimedHere.add(ownership);
    const options: LockOptions = waitMs > 0 ? { signal: AbortSignal.timeout(waitMs) } : { ifAvailable: true };
    ownership.ownsAtOnce = await new Promise<boolean>((decided) => {
      locks
        .request(name, options, async (lock) => {
          decided(lock !== null);
          if (lock) await ownership.released;
        })
        .catch(() => decided(false));  // the wait timed out
    });
    return ownership;
  }

  /**
   * A follower queues for the lock. When it comes, `takeOver` runs; the lock is
   * held from then on if it resolves true (until release()), and passed on to
   * the next context waiting if it resolves false.
   */
  awaitTakeover(takeOver: () => Promise<boolean>): void {
    this.locks
      .request(this.name, { signal: this.withdraw.signal }, async () => {
        if (await takeOver()) await this.released;
      })
      .catch(() => {});  // withdrawn by release()
  }

  /** Gives the lock up, or withdraws the queued request for it. */
  release(): void {
    claimedHere.delete(this);
    this.withdraw.abort();
    this.releaseLock();
  }
}

/**
 * Runs `work` holding the store's lock, so that no context opens the store
 * meanwhile; fails at once if a context, this one or another, has it open.
 */
export async function whileNobodyOwns<T>(locks: LockManager, name: string, work: () => Promise<T>): Promise<T> {
  return locks.request(name, { ifAvailable: true }, async (lock) => {
    if (!lock) {
      const here = [...claimedHere].some((ownership) => ownership.name === name);
      throw new FerryError(
        'busy',
        here ? 'the store is open in this context: close its client first' : 'the store is open in another context (a tab or worker): close it there first',
      );
    }
    return work();
  }) as Promise<T>;
}
