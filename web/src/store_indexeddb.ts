// A store's files in IndexedDB: loads them into a MEMFS mount and writes back
// the files that changed since the last write. It replaces Emscripten's
// IDBFS.syncfs, whose every sync lists all local files (a path lookup and a
// stat each) and walks every IndexedDB record with a cursor to compare
// timestamps: with 100,000 documents (about 400 journal segments) that was
// most of a durable write's time, although only the newest segment changed
// (docs/benchmarks/profiles.md, "Chromium: durable write and open").
//
// The records are IDBFS's own, so a store written by an earlier version opens
// and the other way round: database `<mount point>` (version 21), object store
// FILE_DATA with index "timestamp", one record per file or directory keyed by
// its absolute path: { timestamp: Date, mode, contents?: Uint8Array }.
//
// JS event loop only; one persist() at a time (GroupCommit runs them so).
import type { EmscriptenFS, MemfsNode } from './ferry_wasm.mjs';

const version = 21;
const files = 'FILE_DATA';

interface FileRecord {
  timestamp: Date;
  mode: number;
  contents?: Uint8Array;
}

/** What was last written for a path: a node that is still this, has not changed. */
interface Written {
  node: MemfsNode;
  timestamp: number;
  usedBytes: number;
  /** The bytes of a small file, which may be rewritten in place at the same size (HEAD). */
  small?: Uint8Array;
}

// Files up to this size are also compared by content: the journal rewrites
// HEAD in place, at a fixed width, and two rewrites within one millisecond
// leave its node, size and timestamp as they were.
const comparedBytes = 64;

function smallContents(node: MemfsNode): Uint8Array | undefined {
  if (node.usedBytes > comparedBytes || !(node.contents instanceof Uint8Array)) return undefined;
  return node.contents.slice(0, node.usedBytes);
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (!a || !b) return a === b;
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

// One connection per database for the context's lifetime, as IDBFS keeps
// them: reopening would cost every store open a round trip.
const databases = new Map<string, Promise<IDBDatabase>>();

function database(name: string): Promise<IDBDatabase> {
  let opened = databases.get(name);
  if (!opened) {
    opened = new Promise<IDBDatabase>((resolve, reject) => {
      if (typeof indexedDB === 'undefined') throw new Error('IndexedDB is not available here');
      const request = indexedDB.open(name, version);
      request.onupgradeneeded = () => {
        const db = request.result;
        const store = db.objectStoreNames.contains(files) ? request.transaction!.objectStore(files) : db.createObjectStore(files);
        if (!store.indexNames.contains('timestamp')) store.createIndex('timestamp', 'timestamp', { unique: false });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    opened.catch(() => databases.delete(name));
    databases.set(name, opened);
  }
  return opened;
}

/** Resolves when `transaction` commits; rejects if it fails or aborts. */
function completion(transaction: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error ?? new Error('IndexedDB transaction aborted'));
  });
}

function request<T>(pending: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    pending.onsuccess = () => resolve(pending.result);
    pending.onerror = () => reject(pending.error);
  });
}

export class IndexedDbFiles {
  /** Every path as IndexedDB holds it since the last load or persist. */
  private readonly written = new Map<string, Written>();

  private constructor(
    private readonly FS: EmscriptenFS,
    private readonly mountPoint: string,
    private readonly db: IDBDatabase,
  ) {}

  /**
   * Loads the files stored for `mountPoint` into it (a fresh MEMFS mount).
   * Keys and records are read in one transaction, so the copy is one state
   * of the store even if another context writes it meanwhile.
   */
  static async load(FS: EmscriptenFS, mountPoint: string): Promise<IndexedDbFiles> {
    const db = await database(mountPoint);
    const store = db.transaction(files, 'readonly').objectStore(files);
    const [paths, records] = await Promise.all([request(store.getAllKeys()), request(store.getAll() as IDBRequest<FileRecord[]>)]);
    const loaded = new IndexedDbFiles(FS, mountPoint, db);
    // Sorted, so a directory is made before the files in it.
    const order = paths.map((_, index) => index).sort((a, b) => (String(paths[a]) < String(paths[b]) ? -1 : 1));
    for (const index of order) loaded.restore(String(paths[index]), records[index]);
    return loaded;
  }

  private restore(path: string, record: FileRecord): void {
    const FS = this.FS;
    if (FS.isDir(record.mode)) {
      FS.mkdirTree(path, record.mode);
    } else if (FS.isFile(record.mode)) {
      FS.writeFile(path, record.contents ?? new Uint8Array(0), { canOwn: true });
    } else {
      throw new Error(`stored entry ${path} is neither a file nor a directory`);
    }
    FS.chmod(path, record.mode);
    FS.utime(path, record.timestamp.getTime(), record.timestamp.getTime());
    this.remember(path, FS.lookupPath(path).node);
  }

  private remember(path: string, node: MemfsNode): void {
    this.written.set(path, { node, timestamp: node.timestamp, usedBytes: node.usedBytes, small: smallContents(node) });
  }

  /**
   * Writes every file and directory that changed since the last load or
   * persist, and deletes what is gone, in one transaction; resolves once it
   * has committed. A file changed when its node, its size or its timestamp
   * did (journal segments only grow), or, for a small file, its bytes (HEAD
   * is rewritten in place). Walks the mount's nodes, not paths: no lookup per file. After a
   * failure nothing counts as written, so the next persist tries it all again.
   */
  async persist(): Promise<void> {
    const present = new Map<string, MemfsNode>();
    this.walk(this.FS.lookupPath(this.mountPoint).node, this.mountPoint, present);
    const changed = [...present].filter(([path, node]) => {
      const before = this.written.get(path);
      return (
        !before ||
        before.node !== node ||
        before.timestamp !== node.timestamp ||
        before.usedBytes !== node.usedBytes ||
        !sameBytes(before.small, smallContents(node))
      );
    });
    const removed = [...this.written.keys()].filter((path) => !present.has(path));
    if (changed.length === 0 && removed.length === 0) return;
    const transaction = this.db.transaction(files, 'readwrite');
    const store = transaction.objectStore(files);
    for (const [path, node] of changed) {
      const record: FileRecord = { timestamp: new Date(node.timestamp), mode: node.mode };
      // put() copies the record at once: later appends do not reach it. A
      // copy of the used bytes only (a view would store the whole buffer).
      if (this.FS.isFile(node.mode)) record.contents = (node.contents as Uint8Array | null)?.slice(0, node.usedBytes) ?? new Uint8Array(0);
      store.put(record, path);
    }
    for (const path of removed) store.delete(path);
    const snapshot = changed.map(([path, node]) => ({ path, node, timestamp: node.timestamp, usedBytes: node.usedBytes, small: smallContents(node) }));
    await completion(transaction);
    for (const { path, ...written } of snapshot) this.written.set(path, written);
    for (const path of removed) this.written.delete(path);
  }

  private walk(directory: MemfsNode, path: string, into: Map<string, MemfsNode>): void {
    for (const [name, node] of Object.entries(directory.contents as Record<string, MemfsNode>)) {
      const child = `${path}/${name}`;
      into.set(child, node);
      if (this.FS.isDir(node.mode)) this.walk(node, child, into);
    }
  }
}
