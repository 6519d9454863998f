// The public types of ferry-sync: options, documents, status records and
// FerryError. No code here besides FerryError; everything is re-exported by
// index.ts.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Where a store's data lives. */
export type StorageKind = 'indexeddb' | 'node' | 'memory';

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
  storage?: StorageKind;
  /** Node storage: the directory for the store's files (created if missing). */
  directory?: string;
  /** Sync soon after each local write while online (default true). */
  autoSync?: boolean;
  /** Background sync interval; none by default. */
  intervalMs?: number;
  /** How long one request to ferry-server may take (default 30 s). */
  requestTimeoutMs?: number;
  /** Request bodies larger than this are gzip-compressed (CompressionStream; default 1024). */
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

/** What `FerryClient.deleteLocalData` needs to find a store. */
export type StoreLocation = Pick<OpenOptions, 'name' | 'storage' | 'directory' | 'wasmBinary'>;

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

/** One write of a batch (`FerryClient.write`). */
export interface Write {
  op: 'put' | 'patch' | 'delete';
  collection: string;
  key: string;
  /** The document (put) or the JSON merge patch (patch); absent for delete. */
  value?: Json;
}

export interface StoredDocument {
  key: string;
  value: Json;
}

/** Why a sync was asked for (`FerryClient.syncNow`). */
export type SyncReason = 'manual' | 'background_sync' | 'poke' | 'app_start';

export interface SyncStatus {
  state: 'never_synced' | 'idle' | 'syncing' | 'offline' | 'error' | 'auth_error';
  pending: number;
  failed: number;
  lastSyncedAt: number | null;
  lastError: string;
  nextRetryAt: number | null;
}

/** Counters kept across runs (pushed, pulled, conflicts, …), by name. */
export type SyncStatistics = Record<string, number>;

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
