// ferry-sync/react: React hooks over a FerryClient (issue 18). Each hook is
// a small external store read through useSyncExternalStore, so a render never
// sees a torn value under concurrent rendering, and each store's subscribe
// starts what it listens to and its cleanup ends it, so StrictMode's second
// effect run starts it again rather than leaking the first. The hooks keep no
// state of their own: the live query (the engine keeps its page), the
// document and the status all come from the client.
import { createContext, createElement, useContext, useMemo, useSyncExternalStore, type ReactNode } from 'react';

import { queryText } from './arguments.js';
import type { FerryClient } from './index.js';
import type { Json, LiveQueryPage, Query, SyncStatus } from './types.js';

const ClientContext = createContext<FerryClient | null>(null);

/** Makes `client` the one the hooks below use, in everything it wraps. */
export function FerryProvider({ client, children }: { client: FerryClient; children?: ReactNode }): ReactNode {
  return createElement(ClientContext.Provider, { value: client }, children);
}

/** The FerryProvider's client; outside one, an Error that says so. */
export function useFerryClient(): FerryClient {
  const client = useContext(ClientContext);
  if (!client) throw new Error('ferry-sync/react: a hook ran outside <FerryProvider client={...}>');
  return client;
}

/** What useQuery gives: the page, once the first came, or the error that refused the query. */
export interface QueryState<T = Json> {
  /** The page now; undefined until the first arrives (or after an error). */
  page: LiveQueryPage<T> | undefined;
  error: Error | undefined;
}

/** What useDocument gives: the document (undefined: none or not read yet). */
export interface DocumentState<T = Json> {
  value: T | undefined;
  /** False until the first read answered. */
  loaded: boolean;
  error: Error | undefined;
}

/** A value that changes, and the subscribe function useSyncExternalStore takes. */
interface ExternalStore<Snapshot> {
  subscribe(onChange: () => void): () => void;
  snapshot(): Snapshot;
}

/**
 * A live query's page (FerryClient.subscribeQuery), kept as the local view
 * changes: re-renders with each new page. A query object made anew at each
 * render is fine: the hook keys it by its JSON text.
 */
export function useQuery<T = Json>(query: Query): QueryState<T> {
  const client = useFerryClient();
  const text = queryText(query);
  const store = useMemo(() => liveQueryStore(client, text), [client, text]);
  return useSyncExternalStore(store.subscribe, store.snapshot) as QueryState<T>;
}

/** One document, re-read whenever a change event names it. */
export function useDocument<T = Json>(collection: string, key: string): DocumentState<T> {
  const client = useFerryClient();
  const store = useMemo(() => documentStore(client, collection, key), [client, collection, key]);
  return useSyncExternalStore(store.subscribe, store.snapshot) as DocumentState<T>;
}

/** The client's sync status, re-rendering with each `status` event. */
export function useSyncStatus(): SyncStatus {
  const client = useFerryClient();
  const store = useMemo(() => statusStore(client), [client]);
  return useSyncExternalStore(store.subscribe, store.snapshot);
}

function liveQueryStore(client: FerryClient, text: string): ExternalStore<QueryState> {
  let state: QueryState = { page: undefined, error: undefined };
  return {
    subscribe(onChange) {
      let ended = false;
      const update = (next: QueryState) => {
        if (ended) return;
        state = next;
        onChange();
      };
      const subscribed = client.subscribeQuery(JSON.parse(text) as Query, (page) => update({ page, error: undefined }));
      subscribed.catch((error: unknown) => update({ page: undefined, error: asError(error) }));
      return () => {
        ended = true;
        subscribed.then((end) => end(), () => {});
      };
    },
    snapshot: () => state,
  };
}

function documentStore(client: FerryClient, collection: string, key: string): ExternalStore<DocumentState> {
  let state: DocumentState = { value: undefined, loaded: false, error: undefined };
  return {
    subscribe(onChange) {
      let ended = false;
      let reads = 0;  // only the latest read's answer counts
      const read = () => {
        const mine = ++reads;
        client.get(collection, key).then(
          (value) => mine === reads && !ended && set({ value, loaded: true, error: undefined }),
          (error: unknown) => mine === reads && !ended && set({ value: undefined, loaded: true, error: asError(error) }),
        );
      };
      const set = (next: DocumentState) => {
        state = next;
        onChange();
      };
      const unsubscribe = client.subscribe(({ documents }) => {
        if (documents.some((id) => id.collection === collection && id.key === key)) read();
      });
      read();
      return () => {
        ended = true;
        unsubscribe();
      };
    },
    snapshot: () => state,
  };
}

function statusStore(client: FerryClient): ExternalStore<SyncStatus> {
  let state = client.status();
  return {
    subscribe(onChange) {
      const listener = (event: CustomEvent<{ status: SyncStatus }>) => {
        state = event.detail.status;
        onChange();
      };
      client.addEventListener('status', listener);
      state = client.status();  // a change between the render and this subscribe
      return () => client.removeEventListener('status', listener);
    },
    snapshot: () => state,
  };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
