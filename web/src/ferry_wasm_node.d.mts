// Types for the Emscripten-generated Node glue (bindings/js): the browser
// glue's, built from the same objects with NODEFS added.
export * from './ferry_wasm.mjs';
export { default } from './ferry_wasm.mjs';
