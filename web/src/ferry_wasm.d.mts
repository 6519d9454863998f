// Types for the Emscripten-generated browser glue (bindings/js), copied next
// to index.js at build time; ferry_wasm_node.d.mts says the Node glue is the same.
export interface WebClientHandle {
  open(directory: string, optionsJson: string): string;
  /**
   * `writeId`: empty, or the id of a call forwarded by another context, the
   * same each time it is run: the store applies it once (see follower.ts).
   */
  write(writesJson: string, writeId: string): string;
  get(collection: string, key: string): string;
  scan(collection: string, prefix: string, limit: number): string;
  query(queryJson: string): string;
  count(queryJson: string): string;
  explain(queryJson: string): string;
  subscribeQuery(id: number, queryJson: string): string;
  unsubscribeQuery(id: number): string;
  /** Starts (or joins) a sync; the host's syncDone(waiter, result) reports its run. */
  syncNow(reason: string, direction: string, waiter: number): void;
  /** A full resync, reported as syncNow's run. */
  resync(waiter: number): void;
  setOnline(online: boolean): void;
  networkChanged(): void;
  setMetered(metered: boolean): void;
  cancel(): void;
  setInterval(intervalMs: number): void;
  status(): string;
  statistics(): string;
  history(limit: number): string;
  failedMutations(): string;
  /** `writeId` as for write(). */
  retryFailedMutation(seq: number, writeId: string): string;
  discardFailedMutation(seq: number, writeId: string): string;
  pendingMutations(afterSeq: number, limit: number): string;
  clearHistory(keepLatest: boolean): string;
  /** {"entries": [...]} (ConflictLogEntry). */
  conflictLog(afterId: number, limit: number): string;
  clearConflictLog(): string;
  /** {"conflicts": [...]} (OpenConflict). */
  conflicts(): string;
  /** `valueJson`: the document, or null to delete it. */
  resolveConflict(collection: string, key: string, valueJson: string, writeId: string): string;
  /** `keysJson`: an array of keys, or null for the whole collection; {"evicted": n}. */
  evict(collection: string, keysJson: string): string;
  handleToken(requestId: number, token: string): void;
  handleTokenFailure(requestId: number, error: string): void;
  handleStreamData(requestId: number, chunk: string): void;
  handleTransferDone(requestId: number, status: number, body: string, retryAfter: string, error: string, serverReached: boolean): void;
  handleTimeout(): void;
  clientId(): string;
  close(): void;
  delete(): void;
}

export interface EmscriptenFS {
  mkdir(path: string): void;
  mkdirTree(path: string, mode?: number): void;
  mount(type: unknown, options: Record<string, unknown>, mountpoint: string): void;
  unmount(mountpoint: string): void;
  rmdir(path: string): void;
  readdir(path: string): string[];
  unlink(path: string): void;
  writeFile(path: string, data: Uint8Array, options?: { canOwn?: boolean }): void;
  chmod(path: string, mode: number): void;
  utime(path: string, atime: number, mtime: number): void;
  isDir(mode: number): boolean;
  isFile(mode: number): boolean;
  analyzePath(path: string): { exists: boolean };
  lookupPath(path: string): { node: MemfsNode };
  filesystems: Record<string, unknown>;
}

/**
 * A node of Emscripten's in-memory file system (MEMFS), as
 * store_indexeddb.ts reads it: a file's bytes are the first `usedBytes` of
 * `contents`; a directory's `contents` maps names to nodes.
 */
export interface MemfsNode {
  mode: number;
  /** The last change, in milliseconds. */
  timestamp: number;
  usedBytes: number;
  contents: Uint8Array | Record<string, MemfsNode> | null;
}

export interface FerryModule {
  WebClient: new (handle: number) => WebClientHandle;
  /** The EngineHost's warning for a plain http:// endpoint to a host that is not loopback; "" when there is none. */
  cleartextEndpointWarning(endpoint: string): string;
  FS: EmscriptenFS;
  ferryHost?: unknown;
}

/** The factory's options that ferry-sync uses (Emscripten's Module object). */
export interface ModuleOptions {
  /** Instantiates the .wasm with the glue's imports and hands the instance to `receive`; returns {} (asynchronous). */
  instantiateWasm(imports: WebAssembly.Imports, receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void): object;
}

export default function createFerryModule(options: ModuleOptions): Promise<FerryModule>;
