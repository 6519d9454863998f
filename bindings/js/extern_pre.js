// Prepended to the ES module (--extern-pre-js). Emscripten 3.1.6's ES6
// output uses CommonJS `require` and `__dirname` when it runs in Node, which
// an ES module does not have. ferry-sync hands them over in Node before it
// calls the factory. No top-level await here: service workers refuse module
// graphs that use it, and browsers never need these.
let require, __dirname;
export function provideNodeRequire(createRequire) {
  require = createRequire(import.meta.url);
  __dirname = new URL('.', import.meta.url).pathname;
}
