// The live queries the followers subscribed through this owner, ended when
// their follower goes away. A follower ends its own at close(), but a tab
// that is closed, reloaded or crashes cannot; its pages would be kept and
// posted to the other contexts for as long as this owner lives. Each
// follower holds a lock while it is open (election.ts, followerLockName);
// waiting for that lock tells this owner when the follower is gone.
import type { Backend, Call } from './backend.js';
import { followerLockName, whenReleased } from './election.js';

export class FollowerLiveQueries {
  /** Live query ids by the follower (its instance id) that subscribed them. */
  private readonly byFollower = new Map<string, Set<number>>();
  private readonly watching = new AbortController();

  constructor(
    private readonly locks: LockManager,
    private readonly storeLock: string,
    private readonly owner: Backend,
  ) {}

  /** A call of the follower `from` succeeded here. */
  answered(from: string, call: Call): void {
    if (call.method === 'subscribeQuery') this.add(from, call.args[0]);
    if (call.method === 'unsubscribeQuery') this.byFollower.get(from)?.delete(call.args[0]);
  }

  /** This context no longer owns the store: its engine is closing. */
  stop(): void {
    this.watching.abort();
  }

  private add(from: string, id: number): void {
    let ids = this.byFollower.get(from);
    if (!ids) {
      ids = new Set();
      this.byFollower.set(from, ids);
      whenReleased(this.locks, followerLockName(this.storeLock, from), this.watching.signal, () => this.end(from));
    }
    ids.add(id);
  }

  private end(from: string): void {
    const ids = this.byFollower.get(from) ?? [];
    this.byFollower.delete(from);
    for (const id of ids) this.owner.unsubscribeQuery(id).catch(() => {});  // the owner closed meanwhile
  }
}
