// The app's documents directory, where React Native stores go by default.
// JavaScript cannot find it by itself (React Native has no file-system API,
// and on Android only Java's Context.getFilesDir() knows it), so the app
// names it once, from the file-system module it already has:
//   expo-file-system:  setDocumentsDirectory(Paths.document.uri)
//   react-native-fs:   setDocumentsDirectory(DocumentDirectoryPath)
// Published (the React Native entry exports setDocumentsDirectory): this
// file imports nothing internal, so its declarations show nothing either.
import { FerryError } from './types.js';

let documentsDirectory: string | undefined;

/** Where stores go by default: a path, or a file:// URI (expo-file-system's form). */
export function setDocumentsDirectory(directory: string): void {
  if (typeof directory !== 'string' || directory === '') throw new TypeError('the documents directory must be a non-empty string');
  // Not `new URL(...).pathname`: React Native's URL reads paths of http(s) URLs only.
  const path = directory.startsWith('file://') ? decodeURIComponent(directory.replace(/^file:\/\/(localhost)?/, '')) : directory;
  documentsDirectory = path.replace(/\/+$/, '');
}

/** The directory set by setDocumentsDirectory; a FerryError saying how to set it if none is. */
export function documents(): string {
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
