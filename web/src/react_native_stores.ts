// Where a React Native app's stores live. JavaScript cannot find the app's
// documents directory by itself (React Native has no file-system API, and
// on Android only Java's Context.getFilesDir() knows it), so the app tells
// ferry-sync once, from the file-system module it already has:
//   expo-file-system:  setDocumentsDirectory(Paths.document.uri)
//   react-native-fs:   setDocumentsDirectory(DocumentDirectoryPath)
// Stores are SQLite files (with -wal, -shm and .lock beside them) directly
// in an existing directory, since nothing here can create one:
//   default storage:            <documents>/ferry-sync-<name>.db
//   storage "memory":           <documents>/ferry-sync-memory-<random>.db, deleted at close
//   storage "node", directory:  <directory>/ferry.db (the directory must exist)
// One client per store: the native store's lock file refuses a second.
import type { NativeBinding } from './native_binding.js';
import type { NativeStore } from './native.js';
import type { ResolvedStorage } from './options.js';
import { FerryError } from './types.js';

let documentsDirectory: string | undefined;

/** Where stores go by default: a path, or a file:// URI (expo-file-system's form). */
export function setDocumentsDirectory(directory: string): void {
  if (typeof directory !== 'string' || directory === '') throw new TypeError('the documents directory must be a non-empty string');
  const path = directory.startsWith('file://') ? decodeURIComponent(new URL(directory).pathname) : directory;
  documentsDirectory = path.replace(/\/+$/, '');
}

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

function documents(): string {
  if (documentsDirectory === undefined) {
    throw new FerryError(
      'invalid_argument',
      'ferry-sync on React Native keeps stores in the app\'s documents directory, which JavaScript cannot find by itself: ' +
        'call setDocumentsDirectory() first (e.g. with expo-file-system\'s Paths.document.uri or react-native-fs\'s DocumentDirectoryPath), ' +
        'or open with storage "node" and an existing directory',
    );
  }
  return documentsDirectory;
}
