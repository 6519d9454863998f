// What each function of ferry-sync's wasm costs, to find what to cut
// (issue 16's size goal; twiggy is not on this machine). Needs a .wasm
// linked with names: function_sizes.sh links one with --profiling-funcs
// from the wasm-release build's objects and runs this on it.
//   node size/function_sizes.mjs WASM [TOP]   (TOP: how many to list, 40)
// Prints the code bytes of the TOP largest functions, then the sums by
// group (nlohmann, std::sort, std::function, ferry:: by class, ...). The
// bytes are a function body's before gzip; the shipped build has the same
// code without the names.
import { readFileSync } from 'node:fs';

const [file, topArgument] = process.argv.slice(2);
if (!file) {
  console.error('usage: node size/function_sizes.mjs WASM [TOP]');
  process.exit(2);
}
const bytes = readFileSync(file);

/** Reads an unsigned LEB128 at `at`: [value, next offset]. */
function leb(at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, at];
  }
}

/** Skips a name (length-prefixed bytes): the offset after it. */
function skipName(at) {
  const [length, next] = leb(at);
  return next + length;
}

/** The function imports (they come first in the function index space). */
function countFunctionImports(at) {
  let [count, next] = leb(at);
  let functions = 0;
  for (let i = 0; i < count; ++i) {
    next = skipName(skipName(next));
    const kind = bytes[next++];
    if (kind === 0) {
      functions += 1;
      next = leb(next)[1];
    } else if (kind === 1) {
      next = leb(leb(next + 1)[1])[1];  // table: element type, limits (flag, min)
    } else if (kind === 2) {
      const flags = bytes[next];
      next = leb(next + 1)[1];  // memory limits: flag, min
      if (flags & 1) next = leb(next)[1];
    } else if (kind === 3) {
      next += 2;  // global: type, mutability
    } else {
      next = leb(next)[1];  // tag
    }
  }
  return functions;
}

let imports = 0;
const bodies = [];
const names = new Map();
for (let at = 8; at < bytes.length;) {
  const id = bytes[at];
  const [size, start] = leb(at + 1);
  const end = start + size;
  if (id === 2) imports = countFunctionImports(start);
  if (id === 10) {
    let [count, next] = leb(start);
    for (let i = 0; i < count; ++i) {
      const [length, body] = leb(next);
      bodies.push(length);
      next = body + length;
    }
  }
  if (id === 0) {
    const [length, next] = leb(start);
    if (bytes.toString('utf8', next, next + length) === 'name') {
      for (let sub = next + length; sub < end;) {
        const kind = bytes[sub];
        const [subSize, subStart] = leb(sub + 1);
        if (kind === 1) {
          let [count, entry] = leb(subStart);
          for (let i = 0; i < count; ++i) {
            const [index, nameAt] = leb(entry);
            const [nameLength, text] = leb(nameAt);
            names.set(index, bytes.toString('utf8', text, text + nameLength));
            entry = text + nameLength;
          }
        }
        sub = subStart + subSize;
      }
    }
  }
  at = end;
}
if (names.size === 0) {
  console.error(`${file} has no function names: link it with --profiling-funcs (function_sizes.sh)`);
  process.exit(1);
}

const functions = bodies.map((size, i) => ({ size, name: names.get(imports + i) ?? `function ${imports + i}` }));
functions.sort((a, b) => b.size - a.size);
const total = functions.reduce((sum, f) => sum + f.size, 0);

/** A function's group: the library, the std:: template, or ferry's class. */
function group(name) {
  if (name.includes('nlohmann')) return 'nlohmann-json';
  const ferry = /^ferry::(?:[a-z_]+::)*([A-Za-z_]+)/.exec(name);
  if (ferry) return `ferry::${ferry[1]}`;
  if (/std::__2::__sort|__insertion_sort/.test(name)) return 'std::sort';
  if (/std::__2::__function::/.test(name)) return 'std::function';
  if (/std::__2::__tree|std::__2::(map|set)</.test(name)) return 'std::map/set';
  if (/^(embind|emscripten|_embind)/.test(name)) return 'embind';
  if (/^std::/.test(name)) return 'std (other)';
  return 'other (libc, runtime, lambdas)';
}
const groups = new Map();
for (const { size, name } of functions) groups.set(group(name), (groups.get(group(name)) ?? 0) + size);

const top = Number(topArgument ?? 40);
console.log(`${functions.length} functions, ${total} bytes of code`);
console.log(`\nthe ${top} largest:`);
for (const { size, name } of functions.slice(0, top)) console.log(`${String(size).padStart(7)}  ${name.slice(0, Number(process.env.FERRY_NAME_WIDTH ?? 160))}`);
console.log('\nby group:');
for (const [name, size] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${String(size).padStart(7)}  ${(100 * size / total).toFixed(1).padStart(5)}%  ${name}`);
}
