// Where a store's files live, for the module's file system: the one place that
// mounts a store (MEMFS loaded from and persisted to IndexedDB by
// store_indexeddb.ts, NODEFS for a directory in Node, MEMFS for memory) and
// takes it down again. Opening a store and deleting its data
// both go through mountStore.
import type { EmscriptenFS, FerryModule } from './ferry_wasm.mjs';
import { platform, type DirectoryStores } from './platform.js';
import { IndexedDbFiles } from './store_indexeddb.js';
import { FerryError, type StorageKind } from './types.js';

export interface MountedStore {
  /** The journal store's directory, for WebClient.open. */
  readonly journalPath: string;
  /** A commit is durable only after persist() (IndexedDB); elsewhere when it returns. */
  readonly needsSync: boolean;
  /** Writes this store's changed files to IndexedDB; does nothing elsewhere. */
  persist(): Promise<void>;
  /** Deletes the store's files (sign-out), from IndexedDB too. */
  clear(): Promise<void>;
  /** Unmounts the store; its files stay for the next mount. */
  unmount(): void;
}

export interface StorePlace {
  name: string;
  storage: StorageKind;
  /** Required with storage "node" (checked by options.ts). */
  directory?: string;
  /** How long mounting waits for another client to close the store; 0 or none: "busy" at once. */
  storeLockTimeoutMs?: number;
}

/**
 * Mounts the store `place` names at /ferry/<name> and loads it. Fails if this
 * context has it mounted already (an open client, or a deletion under way).
 */
export async function mountStore(module: FerryModule, place: StorePlace): Promise<MountedStore> {
  const FS = module.FS;
  const mountPoint = `/ferry/${place.name}`;
  if (!FS.analyzePath('/ferry').exists) FS.mkdir('/ferry');
  const release = await whenFree(place.storeLockTimeoutMs ?? 0, () => {
    if (FS.analyzePath(mountPoint).exists) {
      throw new FerryError('busy', `store ${place.name} is already open in this context`);
    }
    // One client per store directory (store_lock_node.ts), claimed before any
    // file is touched; released in unmount(), also when mounting fails below.
    return place.storage === 'node' ? directoryStores().claim(place.directory!) : () => {};
  });
  FS.mkdir(mountPoint);
  let mounted = false;
  const unmount = () => {
    if (mounted) FS.unmount(mountPoint);
    mounted = false;
    FS.rmdir(mountPoint);
    release();
  };
  let indexedDb: IndexedDbFiles | undefined;
  try {
    if (place.storage === 'node') {
      FS.mount(FS.filesystems.NODEFS, { root: place.directory }, mountPoint);
      mounted = true;
    } else {
      FS.mount(FS.filesystems.MEMFS, {}, mountPoint);
      mounted = true;
      if (place.storage === 'indexeddb') {
        indexedDb = await IndexedDbFiles.load(FS, mountPoint).catch((error: unknown) => {
          throw new FerryError('io', `loading the store from IndexedDB failed: ${String(error)}`);
        });
      }
    }
  } catch (error) {
    unmount();
    throw error;
  }
  const journalPath = `${mountPoint}/journal`;
  const persist = () => (indexedDb ? indexedDb.persist() : Promise.resolve());
  return {
    journalPath,
    needsSync: indexedDb !== undefined,
    persist,
    async clear() {
      if (FS.analyzePath(journalPath).exists) {
        for (const file of FS.readdir(journalPath)) if (file !== '.' && file !== '..') FS.unlink(`${journalPath}/${file}`);
        FS.rmdir(journalPath);
      }
      await persist();
    },
    unmount,
  };
}

/**
 * `claim`'s result once it stops failing with "busy", trying again every few
 * milliseconds for up to `timeoutMs` (the store lock timeout); then its error.
 * Neither a mount point nor a lock file can be waited on, so it polls, as
 * the native StoreLock does.
 */
async function whenFree<T>(timeoutMs: number, claim: () => T): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      return claim();
    } catch (error) {
      const left = deadline - performance.now();
      if (!(error instanceof FerryError && error.code === 'busy') || left <= 0) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(left, 20)));
    }
  }
}

/** Sign-out: deletes a store's data, pending writes included. The store must be closed. */
export async function deleteStore(module: FerryModule, place: StorePlace): Promise<void> {
  const store = await mountStore(module, place);
  try {
    await store.clear();
  } finally {
    store.unmount();
  }
  // The directory itself, which open created.
  if (place.storage === 'node') directoryStores().remove(place.directory!);
}

function directoryStores(): DirectoryStores {
  const directories = platform().directories;
  if (!directories) throw new FerryError('invalid_argument', 'storage "node" needs Node (ferry-sync\'s node entry)');
  return directories;
}
