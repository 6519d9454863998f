// Live queries for one FerryClient (docs/API.md, "Live queries"). The engine
// keeps each page current and says what changed (core/src/live_query.cc);
// this routes its "query" events to the listeners by id, and subscribes
// again when the engine behind the client changes (a follower's owner went
// away, or this context took the store over). Ids are picked here, at
// random, so that a page is known as this listener's from the first, and
// the contexts sharing one owner never pick the same.
import type { ForwardedCalls } from './backend.js';
import type { LiveQueryPage } from './types.js';

/** A "query" event's detail: the page and the id of its live query. */
export interface QueryEventDetail extends LiveQueryPage {
  query: number;
}

interface Subscription {
  readonly id: number;
  readonly queryJson: string;
  readonly listener: (page: LiveQueryPage) => void;
  /** The engine has it: subscribe again when the engine changes. */
  subscribed: boolean;
}

export class LiveQueries {
  private readonly byId = new Map<number, Subscription>();

  constructor(private readonly backend: () => ForwardedCalls) {}

  /** Resolves once subscribed, the first page delivered; rejects as the engine refuses the query. */
  async subscribe(queryJson: string, listener: (page: LiveQueryPage) => void): Promise<() => void> {
    const subscription: Subscription = { id: randomId(), queryJson, listener, subscribed: false };
    this.byId.set(subscription.id, subscription);
    try {
      await this.backend().subscribeQuery(subscription.id, queryJson);
    } catch (error) {
      this.byId.delete(subscription.id);
      throw error;
    }
    subscription.subscribed = true;
    return () => this.end(subscription);
  }

  /** Every "query" event of the engine behind the client. */
  deliver(detail: QueryEventDetail): void {
    const subscription = this.byId.get(detail.query);
    if (!subscription) return;  // another context's, or one that ended
    const { query: _id, ...page } = detail;
    try {
      subscription.listener(page);
    } catch (error) {
      // As an EventTarget reports a listener's exception: it must not stop
      // the engine's other events, or the other listeners.
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  /**
   * The engine behind the client changed: it has none of the live queries.
   * A subscribe call still out is sent to it again (follower.ts, index.ts
   * takeOver), so only those subscribed already are subscribed again.
   */
  subscribeAgain(): void {
    for (const subscription of this.byId.values()) {
      if (subscription.subscribed) this.backend().subscribeQuery(subscription.id, subscription.queryJson).catch(() => {});
    }
  }

  /** The client closes: the engine stops keeping its pages. */
  endAll(): void {
    for (const subscription of [...this.byId.values()]) this.end(subscription);
  }

  private end(subscription: Subscription): void {
    if (this.byId.get(subscription.id) !== subscription) return;
    this.byId.delete(subscription.id);
    this.backend().unsubscribeQuery(subscription.id).catch(() => {});  // a closed client ended it
  }
}

/**
 * A whole number from 1 to 2^53 - 1: exact in a double and in the engine's
 * uint64. Math.random, not crypto: React Native has no crypto, and an id
 * needs to be unlikely to meet another, not unguessable.
 */
function randomId(): number {
  return Math.floor(Math.random() * (2 ** 53 - 2)) + 1;
}
