// ferry-sync's live queries in headless Chromium (issue 18): a put that
// changes a live query's page, until the listener given to subscribeQuery
// has the page. Two clients in one page, both declaring an index on
// ["project", "due"], receive the same tasks in batches of 1,000
// (autoSync: false); one subscribes the page of bench/live_query_bench.cc
// (project eq, orderBy due, limit 100). Then puts that change the page,
// entering, moving within and leaving it in turn, go to both clients, the
// first one alternating. Timed on the subscribed one: from the put call
// until the listener runs (and until the put resolves, after its IndexedDB
// sync). On the other, the peers: the same put alone (awaited), and a
// client.query() after it, what an app without live queries would do. Each
// page must be that query's answer and hold the written document (entering,
// moving) or not (leaving), or the run fails. The page's clock ticks every
// 100 µs. Run by `web/bench.sh live_query_bench.mjs`; prints JSON lines.
// FERRY_BENCH_SCALE scales the 100,000 tasks; FERRY_BENCH_LIVE_WRITES sets
// the puts (600).
import { chromium } from 'playwright-core';

import { buildTestSite, chromiumOptions, startServer } from './helpers.mjs';

const scale = Number(process.env.FERRY_BENCH_SCALE ?? 1);
const tasks = Math.max(1000, Math.floor(100000 * scale));
const writes = Math.max(3, Number(process.env.FERRY_BENCH_LIVE_WRITES ?? 600));
const server = await startServer('t u\n', ['--static', buildTestSite()]);
const browser = await chromium.launch(chromiumOptions);
const context = await browser.newContext();
const page = await context.newPage();
page.on('console', (message) => {
  if (message.type() === 'error' && !message.text().includes('404')) console.error(message.text());
});
await page.goto(`${server.endpoint}/index.html`);
await page.evaluate(() => window.ferryReady);

const result = await page.evaluate(async ({ tasks, writes }) => {
  const { FerryClient } = window.Ferry;
  const indexes = [{ collection: 'tasks', paths: ['project', 'due'] }];
  const options = { endpoint: location.origin, autoSync: false, liveUpdates: false, indexes };
  const live = await FerryClient.open({ ...options, name: 'live-query-live' });
  const peer = await FerryClient.open({ ...options, name: 'live-query-peer' });

  // The tasks of web/bench/query_bench.mjs (mulberry32, seeded).
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
  const taskKey = (i) => `t${String(i).padStart(7, '0')}`;
  for (let first = 0; first < tasks; first += 1000) {
    const batch = [];
    for (let i = first; i < Math.min(tasks, first + 1000); ++i) batch.push({ op: 'put', collection: 'tasks', key: taskKey(i), value: task(i) });
    await live.write(batch);
    await peer.write(batch);
  }

  const query = { collection: 'tasks', where: { path: 'project', eq: 'p42' }, orderBy: [{ path: 'due' }], limit: 100 };
  const plan = await live.explain(query);
  if (plan.index === null) throw new Error(`unexpected plan ${JSON.stringify(plan)}`);
  // The listener keeps the page and when it came; a put waits for it.
  let current = null;
  let pages = 0;
  let arrivedAt = 0;
  let waiting = null;
  const end = await live.subscribeQuery(query, (livePage) => {
    arrivedAt = performance.now();
    current = livePage;
    ++pages;
    if (waiting) waiting();
  });
  if (pages !== 1) throw new Error(`${pages} pages after subscribeQuery`);
  const nextPage = (count) =>
    pages >= count
      ? Promise.resolve()
      : new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no page for the put')), 10000);
          waiting = () => {
            if (pages < count) return;
            clearTimeout(timer);
            waiting = null;
            resolve();
          };
        });

  const kinds = ['enter', 'move', 'leave'];
  const holds = (livePage, key) => livePage.documents.some((document) => document.key === key);
  // A due date that sorts inside the page whatever the document's key: the
  // middle one's or the first one's when it comes before the last one's;
  // else (the page shares one date) a string just before the first one's.
  const enteringDue = (documents) => {
    const last = documents[documents.length - 1].value.due;
    const middle = documents[Math.floor(documents.length / 2)].value.due;
    const first = documents[0].value.due;
    if (middle < last) return middle;
    if (first < last) return first;
    return first.slice(0, -1) + String.fromCharCode(first.charCodeAt(first.length - 1) - 1);
  };
  // The put number i makes to the page, as bench/live_query_bench.cc: a task
  // outside it enters (project p42, due among the page's), a member moves
  // (due set to the first one's) or leaves (project p43).
  const change = (i) => {
    const documents = current.documents;
    if (documents.length < 3) throw new Error('the page has fewer than 3 documents');
    const kind = i % 3;
    if (kind === 0) {
      let target;
      do target = random() % tasks;
      while (holds(current, taskKey(target)));
      const value = { ...task(target), project: 'p42', due: enteringDue(documents), title: `Changed ${i}` };
      return { kind, key: taskKey(target), value };
    }
    const member = documents[1 + (random() % (documents.length - 1))];
    const value = { ...member.value, title: `Changed ${i}` };
    if (kind === 1) value.due = documents[0].value.due;
    else value.project = 'p43';
    return { kind, key: member.key, value };
  };

  const total = [];
  const resolved = [];
  const alone = [];
  const requery = [];
  const byKind = [[], [], []];
  for (let i = 0; i < writes; ++i) {
    const { kind, key, value } = change(i);
    let answerJson = '';
    for (let turn = 0; turn < 2; ++turn) {
      if ((turn + i) % 2 === 0) {
        const expected = pages + 1;
        const start = performance.now();
        const put = live.put('tasks', key, value);
        await nextPage(expected);
        const delivered = arrivedAt - start;
        await put;
        resolved.push(performance.now() - start);
        if (pages !== expected) throw new Error(`${pages - expected + 1} pages for one put`);
        total.push(delivered);
        byKind[kind].push(delivered);
      } else {
        let start = performance.now();
        await peer.put('tasks', key, value);
        alone.push(performance.now() - start);
        start = performance.now();
        const answer = await peer.query(query);
        requery.push(performance.now() - start);
        answerJson = JSON.stringify(answer.documents);  // compared with the live page below
      }
    }
    if (holds(current, key) !== (kind !== 2)) throw new Error(`${kinds[kind]} ${key}: the page ${kind !== 2 ? 'lacks' : 'holds'} it`);
    if (JSON.stringify(current.documents) !== answerJson) throw new Error(`${kinds[kind]} ${key}: the live page differs from the query's answer`);
  }
  end();
  const results = current.documents.length;
  await live.close();
  await peer.close();

  const sorted = (samples) => [...samples].sort((a, b) => a - b);
  const at = (samples, p) => sorted(samples)[Math.floor(p * (samples.length - 1))];
  const figures = (name, samples) => ({
    [`${name}_p50_ms`]: at(samples, 0.5),
    [`${name}_p99_ms`]: at(samples, 0.99),
    [`${name}_max_ms`]: Math.max(...samples),
    [`${name}_min_ms`]: Math.min(...samples),
  });
  return {
    query: 'indexed',
    text: JSON.stringify(query),
    plan,
    writes,
    results,
    ...figures('live', total),
    ...figures('live_resolved', resolved),
    ...figures('alone', alone),
    ...figures('requery', requery),
    ...Object.assign({}, ...kinds.map((name, k) => figures(`live_${name}`, byKind[k]))),
    browser: navigator.userAgent,
  };
}, { tasks, writes });

console.log(JSON.stringify({ bench: 'browser-live-query', n: tasks, ...result }));
await context.close();
await browser.close();
await server.stop();
