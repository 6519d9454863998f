// ferry-sync's local queries in headless Chromium (issue 18): the same query
// on a store that declares an index on ["project", "due"] and on one that
// declares none (a scan), both in one page, alternating; and what that index
// costs the writes that fill them (the same batches of 1,000 to each in turn).
// Each query must give the same answer on both stores, and the page 100
// documents at full size, or the run fails. Each round times one scan and
// 30 indexed answers in groups of 10 (the page's clock ticks every 100 µs),
// each sample a group's mean. Run by `web/bench.sh query_bench.mjs`; prints
// JSON lines. FERRY_BENCH_SCALE scales the 100,000 tasks;
// FERRY_BENCH_QUERY_ROUNDS sets how many rounds each query runs (11).
import { chromium } from 'playwright-core';

import { buildTestSite, chromiumOptions, startServer } from './helpers.mjs';

const scale = Number(process.env.FERRY_BENCH_SCALE ?? 1);
const tasks = Math.max(1000, Math.floor(100000 * scale));
const rounds = Math.max(1, Number(process.env.FERRY_BENCH_QUERY_ROUNDS ?? 11));
const server = await startServer('t u\n', ['--static', buildTestSite()]);
const browser = await chromium.launch(chromiumOptions);
const context = await browser.newContext();
const page = await context.newPage();
page.on('console', (message) => {
  if (message.type() === 'error' && !message.text().includes('404')) console.error(message.text());
});
await page.goto(`${server.endpoint}/index.html`);
await page.evaluate(() => window.ferryReady);

const result = await page.evaluate(async ({ tasks, rounds }) => {
  const { FerryClient } = window.Ferry;
  const options = { endpoint: location.origin, autoSync: false, liveUpdates: false };
  const scan = await FerryClient.open({ ...options, name: 'query-scan' });
  const indexed = await FerryClient.open({ ...options, name: 'query-indexed', indexes: [{ collection: 'tasks', paths: ['project', 'due'] }] });
  const clients = [scan, indexed];

  // The tasks of bench/query_bench.cc: 100 projects, due dates in 2026,
  // priorities 0-4, three states, about 200 bytes each (mulberry32, seeded).
  let seed = 42;
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
  const states = ['open', 'blocked', 'done'];
  const two = (n) => String(n).padStart(2, '0');
  const notes = 'n'.repeat(90);
  const task = (i) => ({
    project: `p${random() % 100}`,
    due: `2026-${two((random() % 12) + 1)}-${two((random() % 28) + 1)}`,
    priority: random() % 5,
    state: states[random() % 3],
    title: `Task number ${i} of the benchmark`,
    notes,
  });

  // Each batch to both stores, the first one alternating; a write resolves
  // after its IndexedDB sync.
  const batchMs = [[], []];
  for (let first = 0, batch = 0; first < tasks; first += 1000, ++batch) {
    const writes = [];
    for (let i = first; i < Math.min(tasks, first + 1000); ++i) {
      writes.push({ op: 'put', collection: 'tasks', key: `t${String(i).padStart(7, '0')}`, value: task(i) });
    }
    for (let turn = 0; turn < 2; ++turn) {
      const s = (turn + batch) % 2;
      const start = performance.now();
      await clients[s].write(writes);
      if (writes.length === 1000) batchMs[s].push(performance.now() - start);
    }
  }

  const median = (samples) => [...samples].sort((a, b) => a - b)[Math.floor((samples.length - 1) / 2)];
  const min = (samples) => Math.min(...samples);
  const cases = [
    { name: 'page', query: { collection: 'tasks', where: { path: 'project', eq: 'p42' }, orderBy: [{ path: 'due' }], limit: 100 } },
    { name: 'count', count: true, query: { collection: 'tasks', where: { path: 'project', eq: 'p42' } } },
    {
      name: 'range',
      query: { collection: 'tasks', where: { and: [{ path: 'project', eq: 'p42' }, { path: 'due', gte: '2026-03-01', lt: '2026-04-01' }] }, orderBy: [{ path: 'due' }] },
    },
  ];
  const answer = (client, c) => (c.count ? client.count(c.query) : client.query(c.query));
  const size = (c, answer) => (c.count ? answer : answer.documents.length);
  const queries = [];
  for (const c of cases) {
    const scanPlan = await scan.explain(c.query);
    const indexPlan = await indexed.explain(c.query);
    if (scanPlan.index !== null || indexPlan.index === null) throw new Error(`${c.name}: unexpected plans ${JSON.stringify([scanPlan, indexPlan])}`);
    const expected = await answer(scan, c);
    if (JSON.stringify(await answer(indexed, c)) !== JSON.stringify(expected)) throw new Error(`${c.name}: the indexed store answers differently from the scan`);
    const results = size(c, expected);
    if (c.name === 'page') {
      const matches = await scan.count(c.query);
      if (results !== Math.min(100, matches) || (tasks >= 100000 && results !== 100)) throw new Error(`page: ${results} results of ${matches} matches`);
    }
    const scanMs = [];
    const indexMs = [];
    for (let round = 0; round < rounds; ++round) {
      let start = performance.now();
      if (size(c, await answer(scan, c)) !== results) throw new Error('scan answer changed');
      scanMs.push(performance.now() - start);
      // performance.now() ticks every 100 µs here: indexed answers are
      // timed in groups of 10, each sample a group's mean.
      for (let group = 0; group < 3; ++group) {
        start = performance.now();
        for (let i = 0; i < 10; ++i) {
          if (size(c, await answer(indexed, c)) !== results) throw new Error('indexed answer changed');
        }
        indexMs.push((performance.now() - start) / 10);
      }
    }
    queries.push({
      query: c.name,
      text: JSON.stringify(c.query),
      results,
      plan: indexPlan,
      scan_runs: scanMs.length,
      index_runs: indexMs.length * 10,
      index_groups: indexMs.length,
      scan_median_ms: median(scanMs),
      scan_min_ms: min(scanMs),
      index_median_ms: median(indexMs),
      index_min_ms: min(indexMs),
      index_max_ms: Math.max(...indexMs),
    });
  }
  await scan.close();
  await indexed.close();
  const rate = (samples) => samples.map((ms) => 1000 / (ms / 1000));
  const writes = [0, 1].map((s) => ({
    indexes: s,
    batches: batchMs[s].length,
    bulk_median_docs_per_s: median(rate(batchMs[s])),
    bulk_best_docs_per_s: Math.max(...rate(batchMs[s])),
  }));
  return { writes, queries, userAgent: navigator.userAgent };
}, { tasks, rounds });

for (const line of result.writes) console.log(JSON.stringify({ bench: 'browser-query-writes', n: tasks, batch: 1000, ...line }));
for (const line of result.queries) console.log(JSON.stringify({ bench: 'browser-query', n: tasks, browser: result.userAgent, ...line }));
await context.close();
await browser.close();
await server.stop();
