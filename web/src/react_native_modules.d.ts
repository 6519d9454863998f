// The part of 'react-native' that react_native.ts uses, declared here so
// that ferry-sync builds without React Native installed (its own types are
// Flow-generated and pull in React). Not published: dist has no .d.ts of
// this file, and the entry's exported types name nothing of React Native.
declare module 'react-native' {
  export const TurboModuleRegistry: { getEnforcing<Module>(name: string): Module };
  export const AppState: {
    readonly currentState: string | null;
    addEventListener(type: 'change', listener: (state: string) => void): { remove(): void };
  };
}
