// ferry-sync in Node, one implementation (FERRY_SYNC_IMPLEMENTATION: the
// addon "native" or "wasm"), against a fresh ferry-server: durable single
// writes, batched writes, reads, push and pull of N documents. Prints one
// JSON line. Run by bench/node_bench.sh from a project with both packages
// installed, so both implementations are measured the same way in one run.
//   node node_bench.mjs N
import { rmSync } from 'node:fs';
import { join } from 'node:path';

import { FerryClient } from 'ferry-sync';

import { startServer, tempDir } from './helpers.mjs';

const n = Number(process.argv[2] ?? 20000);
const singles = Math.max(100, Math.floor(n / 10));
const implementation = process.env.FERRY_SYNC_IMPLEMENTATION;
const document = (i) => ({ title: `note ${i}`, body: 'x'.repeat(160), done: i % 2 === 0 });

const server = await startServer('bench-token bench\n');
const open = (name) =>
  FerryClient.open({ name, endpoint: server.endpoint, getToken: () => 'bench-token', directory: join(tempDir(), name), autoSync: false, liveUpdates: false });
const seconds = (start) => (performance.now() - start) / 1000;
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

const writer = await open('writer');
// Durable single writes, one at a time (each resolves once committed).
const latencies = [];
for (let i = 0; i < singles; ++i) {
  const start = performance.now();
  await writer.put('single', `s${i}`, document(i));
  latencies.push(performance.now() - start);
}
latencies.sort((a, b) => a - b);
// Batched writes: 1,000 documents a commit.
let start = performance.now();
for (let i = 0; i < n; i += 1000) {
  await writer.write(Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ op: 'put', collection: 'bulk', key: `b${i + j}`, value: document(i + j) })));
}
const batchSeconds = seconds(start);
// Reads, one at a time.
start = performance.now();
for (let i = 0; i < n; ++i) await writer.get('bulk', `b${i}`);
const readSeconds = seconds(start);
// Push every pending write.
start = performance.now();
const pushed = await writer.syncNow();
const pushSeconds = seconds(start);
await writer.close();
// A fresh client pulls them all.
const reader = await open('reader');
start = performance.now();
const pulled = await reader.syncNow();
const pullSeconds = seconds(start);
await reader.close();
await server.stop();

console.log(JSON.stringify({
  bench: `node-${implementation}`,
  n,
  singles,
  single_p50_ms: percentile(latencies, 0.5),
  single_p99_ms: percentile(latencies, 0.99),
  single_writes_per_s: singles / (latencies.reduce((a, b) => a + b, 0) / 1000),
  batch_docs_per_s: n / batchSeconds,
  reads_per_s: n / readSeconds,
  pushed: pushed.pushed,
  push_docs_per_s: pushed.pushed / pushSeconds,
  pulled: pulled.pulled,
  pull_docs_per_s: pulled.pulled / pullSeconds,
}));
