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
  /** Starts (or joins) a sync; the host's syncDone(waiter, result) reports its run. */
  syncNow(reason: string, waiter: number): void;
  setOnline(online: boolean): void;
  cancel(): void;
  setInterval(intervalMs: number): void;
  status(): string;
  statistics(): string;
  history(limit: number): string;
  failedMutations(): string;
  /** `writeId` as for write(). */
  retryFailedMutation(seq: number, writeId: string): string;
  discardFailedMutation(seq: number, writeId: string): string;
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
  mkdirTree(path: string): void;
  mount(type: unknown, options: Record<string, unknown>, mountpoint: string): void;
  unmount(mountpoint: string): void;
  rmdir(path: string): void;
  readdir(path: string): string[];
  unlink(path: string): void;
  syncfs(populate: boolean, callback: (error: unknown) => void): void;
  analyzePath(path: string): { exists: boolean };
  /** The node at `path`; a mount point's root node carries its mount. */
  lookupPath(path: string): { node: { mount: unknown } };
  filesystems: Record<string, unknown> & { IDBFS: IdbFileSystem };
}

/** Emscripten's IDBFS: syncs one mount with IndexedDB (FS.syncfs runs this for every mount). */
export interface IdbFileSystem {
  syncfs(mount: unknown, populate: boolean, callback: (error: unknown) => void): void;
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
