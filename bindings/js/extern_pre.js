// Prepended to the ES module (--extern-pre-js). Emscripten 3.1.6's ES6
// output uses CommonJS `require` and `__dirname` when it runs in Node, which
// an ES module does not have; give them to it there. Browsers skip this.
let require, __dirname;
if (typeof process === 'object' && typeof process.versions === 'object' && typeof process.versions.node === 'string') {
  const { createRequire } = await import('node:module');
  require = createRequire(import.meta.url);
  __dirname = new URL('.', import.meta.url).pathname;
}
