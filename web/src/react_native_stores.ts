// Where a React Native app's stores live: SQLite files (with -wal, -shm and
// .lock beside them) directly in an existing directory, since nothing here
// can create one:
//   default storage:            <documents>/ferry-sync-<name>.db
//   storage "memory":           <documents>/ferry-sync-memory-<random>.db, deleted at close
//   storage "node", directory:  <directory>/ferry.db (the directory must exist)
// <documents> is what the app named with setDocumentsDirectory
// (react_native_documents.ts). One client per store: the native store's
// lock file refuses a second.
import type { NativeBinding } from './native_binding.js';
import type { NativeStore } from './native.js';
import type { ResolvedStorage } from './options.js';
import { documents } from './react_native_documents.js';

/** The store's SQLite file for a place; a memory store's file goes at release. */
export function storeFor(binding: NativeBinding, place: ResolvedStorage & { name: string }): NativeStore {
  const kept = storedPath(place);
  if (kept !== undefined) return { path: kept, release: () => {} };
  const path = `${documents()}/ferry-sync-memory-${Math.random().toString(36).slice(2)}.db`;
  return { path, release: () => void binding.deleteLocalData(path).catch(() => {}) };
}

/** The file a store's local data is in (sign-out deletes it); a memory store has none to keep. */
export function storedPath(place: ResolvedStorage & { name: string }): string | undefined {
  if (place.storage === 'memory') return undefined;
  if (place.storage === 'node') return `${place.directory!.replace(/\/+$/, '')}/ferry.db`;
  return `${documents()}/ferry-sync-${place.name}.db`;
}
