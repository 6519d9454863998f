// Prepended to the Node glue, ferry_wasm_node.mjs (--extern-pre-js).
// Emscripten 3.1.6's ES module output uses CommonJS `require` and `__dirname`
// when it runs in Node, which an ES module does not have. The browser glue
// has no such code and gets no prelude: a bundler must not see Node modules.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const __dirname = fileURLToPath(new URL('.', import.meta.url));
