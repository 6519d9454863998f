// The New Architecture codegen spec of the TurboModule "Ferry"
// (cpp/FerryTurboModule.h implements it in C++; codegenConfig in
// package.json points here). Its one method hands out the JSI host object
// that implements NativeBinding (ferry-sync's web/src/native_binding.ts):
// everything else is on that object, whose promises and callbacks a
// TurboModule spec cannot describe.
import type { TurboModule } from 'react-native';
import { TurboModuleRegistry } from 'react-native';

export interface Spec extends TurboModule {
  // Synchronous: returns the binding for this JS runtime.
  createBinding(): Object;
}

export default TurboModuleRegistry.getEnforcing<Spec>('Ferry');
