// The bytes a web app downloads from ferry-sync: every file a page or its
// workers may load (dist/files.json, written by build.sh), each gzip -9 as a
// server would send it, summed and split into the .wasm, its JS glue and
// the package's own JS. Prints one JSON line (bench/run.sh reports it); with
// --check, exits 1 when the sum is over size/budget.json's budget, so CI
// fails when the bundle grows.
//   node size/bundle_size.mjs [--check] [DIST]
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const check = args.includes('--check');
const dist = args.find((arg) => arg !== '--check') ?? join(here, '..', 'dist');
const budget = JSON.parse(readFileSync(join(here, 'budget.json'), 'utf8'));

const gzipped = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
const part = (file) => (file.endsWith('.wasm') ? 'wasm' : file.startsWith('ferry_wasm') ? 'glue' : 'js');
const sizes = { wasm_gzip: 0, glue_gzip: 0, js_gzip: 0 };
for (const file of JSON.parse(readFileSync(join(dist, 'files.json'), 'utf8'))) {
  sizes[`${part(file)}_gzip`] += gzipped(file);
}
const total = sizes.wasm_gzip + sizes.glue_gzip + sizes.js_gzip;
console.log(JSON.stringify({
  bench: 'bundle-size', ...sizes, total_gzip: total,
  budget_gzip: budget.budget_gzip_bytes, goal_gzip: budget.goal_gzip_bytes,
}));
if (check && total > budget.budget_gzip_bytes) {
  const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
  console.error(`ferry-sync's bundle is ${kb(total)} gzipped, over its budget of ` +
    `${kb(budget.budget_gzip_bytes)} (web/size/budget.json): see what grew with ` +
    `\`node web/size/bundle_size.mjs\` and wasm-opt --metrics`);
  process.exit(1);
}
