// ferry-sync in headless Chromium: durable write latency (a put resolves
// after its IndexedDB sync) with 1,000 and 100,000 documents stored, and the
// time to open a 100,000-document store until the first read answers.
// Run by web/bench.sh; prints JSON lines.
import { chromium } from 'playwright-core';

import { buildTestSite, chromiumOptions, openPage, startServer } from './helpers.mjs';

const scale = Number(process.env.FERRY_BENCH_SCALE ?? 1);
const server = await startServer('t u\n', ['--static', buildTestSite()]);
const browser = await chromium.launch(chromiumOptions);

for (const stored of [1000, 100000].map((n) => Math.max(100, Math.floor(n * scale)))) {
  const context = await browser.newContext();
  const p = await openPage(context, `${server.endpoint}/index.html`);
  const result = await p.evaluate(async (stored) => {
    const client = await window.Ferry.FerryClient.open({ name: 'bench', endpoint: location.origin, autoSync: false });
    const body = 'x'.repeat(150);
    for (let i = 0; i < stored; i += 1000) {
      const writes = [];
      for (let j = i; j < Math.min(stored, i + 1000); ++j) writes.push({ op: 'put', collection: 'docs', key: `d${j}`, value: { j, body } });
      await client.write(writes);
    }
    const samples = [];
    for (let i = 0; i < 200; ++i) {
      const start = performance.now();
      await client.put('latency', `k${i}`, { i, body });
      samples.push(performance.now() - start);
    }
    samples.sort((a, b) => a - b);
    await client.close();
    return { p50: samples[Math.floor(samples.length * 0.5)], p99: samples[Math.floor(samples.length * 0.99)] };
  }, stored);
  console.log(JSON.stringify({ bench: 'browser-write', stored, p50_ms: result.p50, p99_ms: result.p99 }));
  if (stored >= 100000 * scale) {
    await p.reload();
    await p.evaluate(() => window.ferryReady);
    const open = await p.evaluate(async () => {
      const start = performance.now();
      const client = await window.Ferry.FerryClient.open({ name: 'bench', endpoint: location.origin, autoSync: false });
      const first = await client.get('docs', 'd0');
      const elapsed = performance.now() - start;
      const count = (await client.scan('docs')).length;
      await client.close();
      return { elapsed, found: first !== undefined, count };
    });
    console.log(JSON.stringify({ bench: 'browser-open', stored, open_ms: open.elapsed, found: open.found, count: open.count }));
  }
  await context.close();
}
await browser.close();
await server.stop();
