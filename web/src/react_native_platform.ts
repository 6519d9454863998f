// ferry-sync on React Native, given what React Native provides: the JSI
// binding (the TurboModule "Ferry" of ferry-sync-react-native) and AppState.
// The entry (react_native.ts) takes both from 'react-native'; this file
// imports nothing of React Native, so Node tests run it over the Node addon,
// which implements the same NativeBinding.
//
// Every client runs natively (NativeBackend over the binding): there is no
// WebAssembly build on React Native. Its HTTP goes through the host
// transport (native_transport_fetch.ts), its store is a SQLite file
// (react_native_stores.ts), and it syncs when the app comes back to the
// foreground (react_native_app_state.ts).
import type { Backend } from './backend.js';
import { syncOnResume, type AppStateSource } from './react_native_app_state.js';
import { NativeBackend, toFerryError } from './native.js';
import type { NativeBinding } from './native_binding.js';
import { FetchHostTransport, type HttpEnvironment } from './native_transport_fetch.js';
import type { ResolvedOptions } from './options.js';
import type { EmitEvent } from './owner.js';
import { setPlatform, type ImplementationRequest, type NativeImplementation } from './platform.js';
import { storedPath, storeFor } from './react_native_stores.js';
import { FerryError } from './types.js';

export interface ReactNativeHost {
  /** The binding, asked for at the first open (so a missing native module fails there, as a FerryError). */
  binding(): NativeBinding;
  appState: AppStateSource;
  /** fetch and XMLHttpRequest; the globals by default. */
  http?: HttpEnvironment;
}

export function setUpReactNative(host: ReactNativeHost): void {
  const implementation = reactNativeImplementation(host);
  setPlatform({
    createModule: noWebAssembly,
    compilePackageWasm: noWebAssembly,
    chooseNative: (request: ImplementationRequest) => {
      if (request.implementation === 'wasm') throw new FerryError('unavailable', 'React Native runs the native implementation only; implementation "wasm" is for browsers and Node');
      return implementation;
    },
  });
}

function reactNativeImplementation(host: ReactNativeHost): NativeImplementation {
  let binding: NativeBinding | undefined;
  const nativeBinding = () => (binding ??= loadBinding(host));
  return {
    open: (options, emit) => openClient(nativeBinding(), host, options, emit),
    async deleteLocalData(place) {
      const path = storedPath(place);
      if (path === undefined) return;  // a memory store is gone with its client
      await nativeBinding().deleteLocalData(path).catch((error: unknown) => {
        throw toFerryError(error);
      });
    },
  };
}

function loadBinding(host: ReactNativeHost): NativeBinding {
  try {
    return host.binding();
  } catch (error) {
    throw new FerryError(
      'unavailable',
      `the native module of ferry-sync-react-native is not there (${String((error as Error)?.message ?? error)}): ` +
        'install ferry-sync-react-native, run pod install (iOS), rebuild the app, and use the New Architecture',
    );
  }
}

/**
 * A native client whose requests the transport carries, and which syncs on
 * resume when it syncs by itself at all (as the core syncs at open only
 * then: an app that syncs by hand is left alone).
 */
async function openClient(binding: NativeBinding, host: ReactNativeHost, options: ResolvedOptions, emit: EmitEvent): Promise<Backend> {
  const transport = new FetchHostTransport(host.http);
  const store = storeFor(binding, options);
  let backend: NativeBackend | undefined;
  const syncsByItself = options.autoSync || (options.intervalMs ?? 0) > 0;
  const stopWatching = syncsByItself ? syncOnResume(host.appState, () => void backend?.syncNow('app_start', 'both').catch(() => {})) : () => {};
  // NativeBackend releases the store after close or a failed open: the end of this client.
  const release = () => {
    stopWatching();
    transport.close();
    store.release();
  };
  backend = await NativeBackend.open(binding, options, { path: store.path, release }, emit, { hostTransport: transport });
  return backend;
}

function noWebAssembly(): never {
  throw new FerryError('internal', 'React Native runs the native implementation; the WebAssembly build is not part of it');
}
