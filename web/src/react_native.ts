/**
 * ferry-sync on React Native: the package's entry there (package.json
 * "exports", condition "react-native", which Metro sets; also
 * "ferry-sync/react-native"). The same FerryClient API as in browsers and
 * Node, run by the native module of ferry-sync-react-native (a TurboModule
 * whose createBinding() returns the JSI object implementing NativeBinding),
 * with requests carried by React Native's fetch and XMLHttpRequest. Stores
 * live in the app's documents directory, which the app names once with
 * setDocumentsDirectory (react_native_documents.ts says why and how).
 */
import { AppState, TurboModuleRegistry } from 'react-native';

import type { NativeBinding } from './native_binding.js';
import { setUpReactNative } from './react_native_platform.js';

export * from './index.js';
export { setDocumentsDirectory } from './react_native_documents.js';

/** ferry-sync-react-native's spec (src/NativeFerry.ts), as far as this entry uses it. */
interface FerryTurboModule {
  createBinding(): object;
}

setUpReactNative({
  binding: () => TurboModuleRegistry.getEnforcing<FerryTurboModule>('Ferry').createBinding() as NativeBinding,
  appState: AppState,
});
