// ferry-sync in Debian's headless Chromium (playwright-core, no browser
// download), served same-origin by a real ferry-server on loopback.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { buildTestSite, chromiumOptions, openPage as openTestPage, readServer, startServer } from './helpers.mjs';

let server;
let browser;

before(async () => {
  server = await startServer('token-alice alice\ntoken-carol carol\ntoken-dave dave\ntoken-eve eve\ntoken-fay fay\ntoken-gus gus\ntoken-hal hal\ntoken-ida ida\n', ['--static', buildTestSite()]);
  browser = await chromium.launch(chromiumOptions);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const openPage = (context) => openTestPage(context, `${server.endpoint}/index.html`);

test('writes persist in IndexedDB across a reload', async () => {
  const context = await browser.newContext();
  const page = await openPage(context);
  await page.evaluate(async () => {
    const client = await window.Ferry.FerryClient.open({ name: 'reload', endpoint: location.origin, getToken: () => 'token-alice', autoSync: false });
    for (let i = 0; i < 40; ++i) await client.put('notes', `n${i}`, { i });
    await client.write([{ op: 'patch', collection: 'notes', key: 'n0', value: { edited: true } }]);
  });
  await page.reload();
  await page.evaluate(() => window.ferryReady);
  const state = await page.evaluate(async () => {
    const client = await window.Ferry.FerryClient.open({ name: 'reload', endpoint: location.origin, getToken: () => 'token-alice', autoSync: false });
    return { count: (await client.scan('notes')).length, first: await client.get('notes', 'n0'), pending: client.status().pending };
  });
  assert.equal(state.count, 40);
  assert.deepEqual(state.first, { i: 0, edited: true });
  assert.equal(state.pending, 40);
  await context.close();
});

// store_indexeddb.ts: a write puts only the files that changed, compaction's
// deleted segments leave IndexedDB too, and what IndexedDB holds reopens.
test('IndexedDB holds exactly the store\'s files, and a write rewrites only what changed', async () => {
  const context = await browser.newContext();
  const page = await openPage(context);
  const stored = await page.evaluate(async () => {
    const name = 'idbfiles';
    const client = await window.Ferry.FerryClient.open({ name, endpoint: location.origin, autoSync: false });
    const big = 'x'.repeat(40000);
    // 120 rewrites of one 40 KB document: segments roll, and compaction
    // replaces them (the journal outgrows twice the live bytes and 1 MB).
    for (let i = 0; i < 120; ++i) await client.put('notes', 'big', { i, big });
    const put = IDBObjectStore.prototype.put;
    const written = [];
    IDBObjectStore.prototype.put = function (value, key) {
      written.push(String(key));
      return put.call(this, value, key);
    };
    try {
      await client.put('notes', 'small', { small: true });
    } finally {
      IDBObjectStore.prototype.put = put;
    }
    await client.close();
    const db = await new Promise((resolve, reject) => {
      const request = indexedDB.open(`/ferry/${name}`);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const keys = await new Promise((resolve, reject) => {
      const request = db.transaction('FILE_DATA').objectStore('FILE_DATA').getAllKeys();
      request.onsuccess = () => resolve(request.result.map(String));
      request.onerror = () => reject(request.error);
    });
    db.close();
    return { written, keys };
  });
  const segments = stored.keys.filter((key) => /\/seg-\d+\.fj$/.test(key));
  // Compaction ran (the 120 writes are 4.8 MB; what is left is far less).
  assert.ok(segments.length >= 1 && segments.length < 10, stored.keys.join(' '));
  assert.ok(!stored.keys.some((key) => key.endsWith('.tmp')), stored.keys.join(' '));
  // The small write: its segment (and the directory, whose time moved) only.
  assert.ok(stored.written.length >= 1 && stored.written.length <= 2, stored.written.join(' '));
  assert.ok(stored.written.some((key) => /\/seg-\d+\.fj$/.test(key)), stored.written.join(' '));
  await page.reload();
  await page.evaluate(() => window.ferryReady);
  const reopened = await page.evaluate(async () => {
    const client = await window.Ferry.FerryClient.open({ name: 'idbfiles', endpoint: location.origin, autoSync: false });
    const result = { big: (await client.get('notes', 'big'))?.i, small: await client.get('notes', 'small') };
    await client.close();
    return result;
  });
  assert.deepEqual(reopened, { big: 119, small: { small: true } });
  await context.close();
});

test('writes made offline reach ferry-server when the network returns', async () => {
  const context = await browser.newContext();
  const page = await openPage(context);
  await page.evaluate(async () => {
    window.client = await window.Ferry.FerryClient.open({ name: 'offline', endpoint: location.origin, getToken: () => 'token-dave' });
  });
  await context.setOffline(true);
  await page.waitForFunction(() => window.client.status().state === 'offline');
  await page.evaluate(async () => {
    for (let i = 0; i < 30; ++i) await window.client.put('offline', `k${i}`, { i });
  });
  assert.equal((await readServer(server.endpoint, 'token-dave')).documents.size, 0);
  await context.setOffline(false);
  await page.waitForFunction(() => window.client.status().pending === 0, null, { timeout: 20000 });
  const view = await readServer(server.endpoint, 'token-dave');
  assert.equal(view.documents.size, 30);
  assert.equal(view.head, 30);
  await context.close();
});

test('runs in a dedicated Web Worker, persisting to IndexedDB there', async () => {
  const context = await browser.newContext();
  const page = await openPage(context);
  const result = await page.evaluate(async () => {
    const source = `
      const { FerryClient } = await import('${location.origin}/pkg/browser.js');
      const client = await FerryClient.open({ name: 'worker', endpoint: '${location.origin}', getToken: () => 'token-alice', autoSync: false });
      for (let i = 0; i < 10; ++i) await client.put('from-worker', 'w' + i, { i });
      const run = await client.syncNow();
      postMessage({ count: (await client.scan('from-worker')).length, outcome: run.outcome, pushed: run.pushed });`;
    const worker = new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })), { type: 'module' });
    return new Promise((resolve, reject) => {
      worker.onmessage = (event) => resolve(event.data);
      worker.onerror = (event) => reject(new Error(event.message));
    });
  });
  assert.deepEqual(result, { count: 10, outcome: 'completed', pushed: 10 });
  const view = await readServer(server.endpoint, 'token-alice');
  assert.ok([...view.documents.keys()].filter((key) => key.startsWith('from-worker/')).length === 10);
  await context.close();
});

test('two tabs share one store: concurrent writes reach the server once, both see everything, ownership moves on', async () => {
  const context = await browser.newContext();
  const tabs = [await openPage(context), await openPage(context)];
  for (const tab of tabs) {
    await tab.evaluate(async () => {
      window.client = await window.Ferry.FerryClient.open({ name: 'tabs', endpoint: location.origin, getToken: () => 'token-eve', autoSync: false });
    });
  }
  await Promise.all(
    tabs.map((tab, t) =>
      tab.evaluate(async (t) => {
        const writes = [];
        for (let i = 0; i < 300; ++i) writes.push(window.client.put('tabs', `t${t}-${i}`, { t, i }));
        await Promise.all(writes);
      }, t),
    ),
  );
  const runs = await Promise.all(tabs.map((tab) => tab.evaluate(() => window.client.syncNow())));
  assert.ok(runs.every((run) => run.outcome === 'completed'), JSON.stringify(runs));
  let view = await readServer(server.endpoint, 'token-eve');
  assert.equal(view.documents.size, 600);
  assert.equal(view.head, 600);
  const counts = await Promise.all(tabs.map((tab) => tab.evaluate(async () => (await window.client.scan('tabs')).length)));
  assert.deepEqual(counts, [600, 600]);

  // A tab's subscription sees a change made in the other tab.
  await tabs[1].evaluate(() => {
    window.sawPing = new Promise((resolve) =>
      window.client.subscribe(({ documents }) => documents.some((d) => d.key === 'ping') && resolve(true)),
    );
  });
  await tabs[0].evaluate(() => window.client.put('tabs', 'ping', 1));
  assert.equal(await tabs[1].evaluate(() => window.sawPing), true);

  // The owner (the first tab) goes away; the other takes the store over.
  await tabs[0].close();
  const after = await tabs[1].evaluate(async () => {
    await window.client.put('tabs', 'after-handover', 1);
    return window.client.syncNow();
  });
  assert.equal(after.outcome, 'completed');
  view = await readServer(server.endpoint, 'token-eve');
  assert.equal(view.documents.size, 602);
  assert.equal(view.head, 602);
  await context.close();
});

// Live queries across tabs (issue 18): a follower's live query follows the
// writes of every tab, and goes on when its owner goes away.
test('a live query in a follower tab follows every tab\'s writes, and a takeover', async () => {
  const context = await browser.newContext();
  const tabs = [await openPage(context), await openPage(context), await openPage(context)];
  for (const tab of tabs) {
    await tab.evaluate(async () => {
      window.client = await window.Ferry.FerryClient.open({ name: 'livetabs', endpoint: location.origin, getToken: () => 'token-ida', autoSync: false });
    });
  }
  await tabs[0].evaluate(() => window.client.put('tasks', 't1', { n: 1 }));
  // The second tab, a follower, keeps every page; waitFor(keys) resolves
  // with the first page holding exactly those keys.
  const first = await tabs[1].evaluate(async () => {
    window.pages = [];
    const waiting = [];
    window.waitFor = (keys) =>
      new Promise((resolve) => {
        waiting.push({ keys: keys.join(), resolve });
        check();
      });
    const check = () => {
      const latest = window.pages.at(-1);
      if (!latest) return;
      const keys = latest.documents.map(({ key }) => key).join();
      for (const wait of waiting.filter((w) => w.keys === keys)) wait.resolve(latest);
    };
    window.end = await window.client.subscribeQuery({ collection: 'tasks', orderBy: [{ path: 'n' }] }, (page) => {
      window.pages.push(page);
      check();
    });
    return window.pages[0];
  });
  assert.deepEqual([first.documents, first.added], [[{ key: 't1', value: { n: 1 } }], ['t1']]);

  // Another follower's write, then the owner's.
  let waited = tabs[1].evaluate(() => window.waitFor(['t1', 't2']));
  await tabs[2].evaluate(() => window.client.put('tasks', 't2', { n: 2 }));
  assert.deepEqual((await waited).added, ['t2']);
  waited = tabs[1].evaluate(() => window.waitFor(['t0', 't1', 't2']));
  await tabs[0].evaluate(() => window.client.put('tasks', 't0', { n: 0 }));
  assert.deepEqual((await waited).added, ['t0']);
  const counts = await tabs[1].evaluate(() => window.pages.length);
  await tabs[0].evaluate(() => window.client.put('notes', 'n1', { n: 1 }));  // not in the query: no page
  await tabs[2].evaluate(() => window.client.put('tasks', 't1', { n: 1 }));  // written as it was: no page either
  await tabs[1].evaluate(() => window.client.get('tasks', 't1'));  // a round trip: the owner's events came first
  assert.equal(await tabs[1].evaluate(() => window.pages.length), counts);

  // The owner goes away; one of the others takes the store over, and the
  // live query follows the writes made after.
  await tabs[0].close();
  waited = tabs[1].evaluate(() => window.waitFor(['t0', 't1', 't2', 't3']));
  await tabs[2].evaluate(() => window.client.put('tasks', 't3', { n: 3 }));
  const afterTakeover = await waited;
  assert.deepEqual(afterTakeover.documents.map(({ value }) => value.n), [0, 1, 2, 3]);

  // Ended: the next write brings no page.
  const before = await tabs[1].evaluate(() => {
    window.end();
    return window.pages.length;
  });
  await tabs[2].evaluate(() => window.client.put('tasks', 't4', { n: 4 }));
  await tabs[1].evaluate(() => window.client.get('tasks', 't4'));
  assert.equal(await tabs[1].evaluate(() => window.pages.length), before);
  await context.close();
});

// A follower tab that goes away without closing its client (closed,
// reloaded, crashed) cannot end its live queries; the owner ends them when
// the tab's lock is released, instead of keeping their pages and posting
// them to the other tabs for as long as it lives.
test('the owner ends the live queries of a follower tab that went away', async () => {
  const context = await browser.newContext();
  const [owner, gone, observer] = [await openPage(context), await openPage(context), await openPage(context)];
  for (const tab of [owner, gone, observer]) {
    await tab.evaluate(async () => {
      window.client = await window.Ferry.FerryClient.open({ name: 'livegone', endpoint: location.origin, getToken: () => 'token-ida', autoSync: false });
    });
  }
  // The observer counts the pages the owner posts to the followers.
  await observer.evaluate(() => {
    window.pagesPosted = 0;
    new BroadcastChannel('ferry-sync:livegone').onmessage = ({ data }) => {
      if (data?.kind === 'event' && data.type === 'query') window.pagesPosted += 1;
    };
  });
  let n = 0;
  const pagesPerWrite = async () => {
    const before = await observer.evaluate(() => window.pagesPosted);
    n += 1;
    await owner.evaluate((n) => window.client.put('tasks', `t${n}`, { n }), n);
    await observer.evaluate(() => window.client.get('tasks', 't1'));  // a round trip: the owner's events came first
    return (await observer.evaluate(() => window.pagesPosted)) - before;
  };
  await gone.evaluate(() => window.client.subscribeQuery({ collection: 'tasks' }, () => {}));
  assert.equal(await pagesPerWrite(), 1);
  await gone.close();
  let pages = 1;
  for (let attempt = 0; attempt < 50 && pages > 0; ++attempt) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    pages = await pagesPerWrite();
  }
  assert.equal(pages, 0, 'the owner still keeps the live query of a tab that is gone');
  // The other tabs' live queries are theirs to end.
  await observer.evaluate(() => window.client.subscribeQuery({ collection: 'tasks' }, () => {}));
  assert.equal(await pagesPerWrite(), 1);
  await context.close();
});

test('a follower tab reaches every operation through the owner, errors keep their type, and takes over with the same client id', async () => {
  const context = await browser.newContext();
  const tabs = [await openPage(context), await openPage(context)];
  const ids = [];
  for (const tab of tabs) {
    ids.push(await tab.evaluate(async () => {
      window.client = await window.Ferry.FerryClient.open({ name: 'follower', endpoint: location.origin, getToken: () => 'token-fay', autoSync: false });
      return window.client.clientId;
    }));
  }
  assert.ok(ids[0]);
  assert.equal(ids[1], ids[0], 'the follower reports the owner\'s client id');
  const seen = await tabs[1].evaluate(async () => {
    const client = window.client;
    const failure = async (call) => {
      try {
        await call();
        return 'no error';
      } catch (error) {
        return error.name;
      }
    };
    await client.write([{ op: 'put', collection: 'ops', key: 'a', value: { v: 1 } }, { op: 'put', collection: 'ops', key: 'b', value: 2 }]);
    await client.patch('ops', 'a', { w: 2 });
    await client.remove('ops', 'b');
    const got = await client.get('ops', 'a');
    const keys = (await client.scan('ops')).map((item) => item.key);
    const wrongType = await failure(() => client.put(42, 'k', 1));  // checked in this tab
    const badValue = await failure(() => client.patch('ops', 'a', [1, 2]));  // refused by the owner's engine
    const unknownSeq = await failure(() => client.discardFailedMutation(999999));
    // Interval syncs run in the owner; their events reach this tab.
    const completed = new Promise((resolve) => client.addEventListener('sync.completed', (event) => resolve(event.detail), { once: true }));
    client.startBackgroundSync(50);
    const intervalRun = await completed;
    client.stopBackgroundSync();
    const pushOnly = await client.syncNow({ direction: 'push' });
    const resync = await client.resync();
    const run = await client.syncNow();
    const evicted = await client.evict('ops', ['a']);
    const afterEvict = await client.get('ops', 'a');
    return {
      got, keys, wrongType, badValue, unknownSeq, intervalReason: intervalRun.reason, run,
      pushOnly: pushOnly.direction, resync: resync.outcome, evicted, afterEvict: afterEvict ?? 'gone',
      statistics: client.statistics(), failed: client.failedMutations(), status: client.status(), history: client.history(3),
    };
  });
  assert.deepEqual(seen.got, { v: 1, w: 2 });
  assert.deepEqual(seen.keys, ['a']);
  assert.equal(seen.wrongType, 'TypeError');
  assert.equal(seen.badValue, 'FerryError');
  assert.equal(seen.unknownSeq, 'FerryError');
  assert.equal(seen.intervalReason, 'interval');
  assert.equal(seen.run.outcome, 'completed');
  assert.equal(seen.pushOnly, 'push');
  assert.equal(seen.resync, 'completed');
  assert.equal(seen.evicted, 1);
  assert.equal(seen.afterEvict, 'gone');
  assert.equal(seen.statistics.fullResyncs, 1);
  assert.ok(seen.statistics.runsCompleted >= 4, JSON.stringify(seen.statistics));
  assert.deepEqual(seen.failed, []);
  assert.equal(seen.status.pending, 0);
  assert.equal(seen.history[0].id, seen.run.id, 'the snapshot already holds the run syncNow resolved with');
  const beforeTakeover = await readServer(server.endpoint, 'token-fay');
  assert.deepEqual(beforeTakeover.documents.get('ops/a'), { v: 1, w: 2 });

  // The owner goes away: the follower's backend becomes the owner's, with the same store.
  await tabs[0].close();
  const after = await tabs[1].evaluate(async () => {
    const client = window.client;
    await client.put('ops', 'c', 3);
    const run = await client.syncNow();
    const statistics = client.statistics();
    const history = client.history(1);
    await client.close();
    let closed = 'no error';
    try {
      await client.get('ops', 'a');
    } catch (error) {
      closed = error.name;
    }
    return { run, clientId: client.clientId, statistics, history, closed };
  });
  assert.equal(after.run.outcome, 'completed');
  // The new write went, and nothing went twice. The old owner may have
  // closed before its last acknowledgements reached IndexedDB; then the new
  // owner sends those writes again and the server answers them as repeats:
  // more pushed, but one new version only (the write of ops/c).
  assert.ok(after.run.pushed >= 1, JSON.stringify(after.run));
  const afterTakeover = await readServer(server.endpoint, 'token-fay');
  assert.equal(afterTakeover.head, beforeTakeover.head + 1, 'a repeated write was applied again');
  assert.equal(afterTakeover.documents.get('ops/c'), 3);
  assert.deepEqual(afterTakeover.documents.get('ops/a'), { v: 1, w: 2 });
  assert.equal(after.clientId, ids[0]);
  // Answered by the new owner's engine. (The old owner's last run may be
  // missing from its counts: a run's own records are persisted after
  // syncNow resolves, and the tab closed at once.)
  assert.ok(after.statistics.runsCompleted >= 1, JSON.stringify(after.statistics));
  assert.equal(after.history[0].id, after.run.id);
  assert.equal(after.closed, 'FerryError');
  await context.close();
});

// Two tabs on store `name`; the first owns it. In the owner's page (the
// test's own script: ferry-sync is unchanged) answers to forwarded calls are
// dropped once window.loseAnswers is set, as if the page closed between a
// call's commit and its answer; window.answerDropped resolves with the first.
async function ownerLosingAnswers(name, token) {
  const context = await browser.newContext();
  const tabs = [await openPage(context), await openPage(context)];
  for (const tab of tabs) {
    await tab.evaluate(async ({ name, token }) => {
      const post = BroadcastChannel.prototype.postMessage;
      window.answerDropped = new Promise((resolve) => {
        BroadcastChannel.prototype.postMessage = function (message) {
          if (window.loseAnswers && message?.kind === 'result') return resolve(message);
          return post.call(this, message);
        };
      });
      window.client = await window.Ferry.FerryClient.open({ name, endpoint: location.origin, getToken: () => token, autoSync: false });
    }, { name, token });
  }
  return { context, owner: tabs[0], follower: tabs[1] };
}

const settled = (promise) => promise.then((value) => ({ value }), (error) => ({ error: `${error.name}: ${error.message}` }));

test('a write the owner committed but never answered is applied once when the follower takes over and runs it again', async () => {
  const { context, owner, follower } = await ownerLosingAnswers('once', 'token-gus');
  await owner.evaluate(() => (window.loseAnswers = true));
  await follower.evaluate(`window.written = (${settled})(window.client.put('once', 'k', { n: 1 })); undefined`);
  const pushed = await owner.evaluate(async () => {
    const answer = await window.answerDropped;  // posted only once the write was persisted
    const run = await window.client.syncNow();  // the old owner pushes it, too
    return { answered: answer.outcome.ok, run };
  });
  assert.equal(pushed.answered, true);
  assert.equal(pushed.run.outcome, 'completed');
  assert.equal(pushed.run.pushed, 1);
  await owner.close();

  // The follower takes the store over and runs the unanswered write again.
  const after = await follower.evaluate(async () => {
    const timeout = new Promise((resolve) => setTimeout(() => resolve('no answer within 20 s'), 20000));
    const written = await Promise.race([window.written, timeout]);
    const client = window.client;
    const run = await client.syncNow();
    return { written, run, value: await client.get('once', 'k'), count: (await client.scan('once')).length, pending: client.status().pending };
  });
  assert.deepEqual(after.written, { value: undefined });
  assert.equal(after.run.outcome, 'completed');
  assert.deepEqual(after.value, { n: 1 });
  assert.equal(after.count, 1);
  assert.equal(after.pending, 0);
  const view = await readServer(server.endpoint, 'token-gus');
  assert.equal(view.documents.size, 1);
  assert.equal(view.head, 1, 'the write was applied once, not again by the new owner');
  await context.close();
});

test('a retry of a failed mutation the owner committed but never answered is answered with its seq after a takeover', async () => {
  const { context, owner, follower } = await ownerLosingAnswers('once-retry', 'token-hal');
  await follower.evaluate(() => window.client.put('retry', 'k', { n: 1 }));
  // The server rejects the first push (the owner page answers it itself).
  const failed = await owner.evaluate(async () => {
    const fetchFromServer = window.fetch;
    window.fetch = async (url, init) => {
      if (!String(url).endsWith('/v1/push')) return fetchFromServer(url, init);
      window.fetch = fetchFromServer;
      const { mutations } = JSON.parse(init.body);
      const results = mutations.map(({ seq }) => ({ seq, status: 'rejected', error: 'injected rejection' }));
      return new Response(JSON.stringify({ results }), { headers: { 'Content-Type': 'application/json' } });
    };
    await window.client.syncNow();
    window.loseAnswers = true;
    return window.client.failedMutations();
  });
  assert.equal(failed.length, 1);
  await follower.evaluate(`window.retried = (${settled})(window.client.retryFailedMutation(${failed[0].seq})); undefined`);
  const pushed = await owner.evaluate(async () => {
    const answer = await window.answerDropped;
    const run = await window.client.syncNow();
    return { answer: answer.outcome, run };
  });
  assert.equal(pushed.answer.ok, true);
  assert.equal(pushed.run.pushed, 1);
  await owner.close();

  const after = await follower.evaluate(async () => {
    const timeout = new Promise((resolve) => setTimeout(() => resolve('no answer within 20 s'), 20000));
    const retried = await Promise.race([window.retried, timeout]);
    const run = await window.client.syncNow();
    return { retried, run, status: window.client.status() };
  });
  assert.deepEqual(after.retried, { value: pushed.answer.value }, 'the same seq the old owner queued');
  assert.equal(after.run.outcome, 'completed');
  assert.equal(after.status.pending, 0);
  assert.equal(after.status.failed, 0);
  const view = await readServer(server.endpoint, 'token-hal');
  assert.deepEqual(view.documents.get('retry/k'), { n: 1 });
  assert.equal(view.head, 1);
  await context.close();
});

test('deleteLocalData refuses a store another tab has open, and deletes it once that tab closed it', async () => {
  const context = await browser.newContext();
  const tabs = [await openPage(context), await openPage(context)];
  await tabs[0].evaluate(async () => {
    window.client = await window.Ferry.FerryClient.open({ name: 'signout', endpoint: location.origin, getToken: () => 'token-fay', autoSync: false });
    await window.client.put('signout', 'k', 1);
  });
  const refused = await tabs[1].evaluate(async () => {
    try {
      await window.Ferry.FerryClient.deleteLocalData({ name: 'signout' });
      return 'deleted';
    } catch (error) {
      return `${error.name}: ${error.message}`;
    }
  });
  assert.match(refused, /^FerryError: the store is open in another context/);
  await tabs[0].evaluate(() => window.client.close());
  const reopened = await tabs[1].evaluate(async () => {
    await window.Ferry.FerryClient.deleteLocalData({ name: 'signout' });
    const client = await window.Ferry.FerryClient.open({ name: 'signout', endpoint: location.origin, getToken: () => 'token-fay', autoSync: false });
    const value = await client.get('signout', 'k');
    const pending = client.status().pending;
    await client.close();
    return { value: value ?? null, pending };
  });
  assert.deepEqual(reopened, { value: null, pending: 0 });
  await context.close();
});

test('a page closed mid-sync loses nothing and applies nothing twice', async () => {
  const context = await browser.newContext();
  const first = await openPage(context);
  await first.evaluate(async () => {
    const client = await window.Ferry.FerryClient.open({ name: 'midsync', endpoint: location.origin, getToken: () => 'token-carol', autoSync: false });
    const writes = [];
    for (let i = 0; i < 3000; ++i) writes.push({ op: 'put', collection: 'bulk', key: `d${i}`, value: { i, body: 'x'.repeat(100) } });
    for (let i = 0; i < writes.length; i += 500) await client.write(writes.slice(i, i + 500));
    window.progressed = new Promise((resolve) => client.addEventListener('sync.progress', resolve, { once: true }));
    void client.syncNow();
    await window.progressed;
  });
  await first.close();  // no clean shutdown: the sync is cut off

  const second = await openPage(context);
  const run = await second.evaluate(async () => {
    const client = await window.Ferry.FerryClient.open({ name: 'midsync', endpoint: location.origin, getToken: () => 'token-carol', autoSync: false });
    let run = await client.syncNow();
    for (let attempt = 0; attempt < 5 && run.outcome !== 'completed'; ++attempt) run = await client.syncNow();
    return { run, pending: client.status().pending };
  });
  assert.equal(run.run.outcome, 'completed');
  assert.equal(run.pending, 0);
  const view = await readServer(server.endpoint, 'token-carol');
  assert.equal(view.documents.size, 3000);
  assert.equal(view.head, 3000);  // 3000 mutations applied, none twice
  await context.close();
});

test('closing right after opening, writing or syncing throws nothing and loses nothing (React StrictMode effects)', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const uncaught = [];
  page.on('pageerror', (error) => uncaught.push(String(error)));
  await page.goto(`${server.endpoint}/index.html`);
  await page.evaluate(() => window.ferryReady);
  const outcome = await page.evaluate(async () => {
    const options = { name: 'strict', endpoint: location.origin, getToken: () => 'token-gus' };
    const settled = [];
    // What a component does in an effect, and its cleanup: nothing awaited,
    // nothing caught, listeners that read the client's state.
    const mount = (tag) => {
      const opened = window.Ferry.FerryClient.open(options);
      opened.then((client) => {
        client.addEventListener('status', () => client.status());
        client.addEventListener('change', () => client.status().pending);
        settled.push(client.put('todos', tag, { tag }).then(() => 'put'));
        settled.push(client.syncNow().then((run) => run.outcome));
      });
      return () => opened.then((client) => client.close());
    };
    for (let i = 0; i < 12; ++i) {
      // StrictMode runs effect, cleanup, effect in one go; a later unmount runs the cleanup again.
      mount(`a${i}`)();
      const cleanup = mount(`b${i}`);
      await new Promise((resolve) => setTimeout(resolve, (i % 4) * 15));
      await cleanup();
    }
    // A second client in the same tab follows the first (it owns the store):
    // its calls travel to the owner, and it closes before they are answered.
    const owner = await window.Ferry.FerryClient.open(options);
    for (let i = 0; i < 3; ++i) {
      const follower = await window.Ferry.FerryClient.open(options);
      settled.push(follower.put('todos', `f${i}`, { i }).then(() => 'put'));
      settled.push(follower.syncNow().then((run) => run.outcome));
      await follower.close();
    }
    await owner.close();
    const outcomes = await Promise.allSettled(settled);
    const client = await window.Ferry.FerryClient.open({ ...options, autoSync: false });
    const stored = (await client.scan('todos')).map((document) => document.key).sort();
    await client.close();
    return { outcomes: outcomes.map((o) => (o.status === 'fulfilled' ? o.value : `rejected: ${o.reason}`)), stored };
  });
  assert.deepEqual(uncaught, []);
  const rejected = outcome.outcomes.filter((o) => o.startsWith('rejected'));
  assert.deepEqual(rejected, [], 'a call made before close() was rejected');
  assert.equal(outcome.outcomes.filter((o) => o === 'put').length, 27);
  for (const o of outcome.outcomes) assert.ok(['put', 'completed', 'cancelled', 'failed'].includes(o), o);
  assert.equal(outcome.stored.length, 27, 'every write made before close() was persisted');
  await context.close();
});

test('several stores open in one page persist side by side, without overlapping IndexedDB syncs', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const warnings = [];
  page.on('console', (message) => warnings.push(message.text()));
  await page.goto(`${server.endpoint}/index.html`);
  await page.evaluate(() => window.ferryReady);
  const counts = await page.evaluate(async () => {
    const names = ['multi-a', 'multi-b', 'multi-c'];
    const clients = await Promise.all(names.map((name) => window.Ferry.FerryClient.open({ name, endpoint: location.origin, getToken: () => 'token-hal', autoSync: false })));
    await Promise.all(clients.flatMap((client) => Array.from({ length: 20 }, (_, i) => client.put('notes', `n${i}`, { i }))));
    await Promise.all(clients.map((client) => client.close()));
    const reopened = await Promise.all(names.map((name) => window.Ferry.FerryClient.open({ name, endpoint: location.origin, autoSync: false })));
    const counts = await Promise.all(reopened.map(async (client) => (await client.scan('notes')).length));
    await Promise.all(reopened.map((client) => client.close()));
    return counts;
  });
  assert.deepEqual(counts, [20, 20, 20]);
  assert.deepEqual(warnings.filter((text) => /syncfs/i.test(text)), []);
  await context.close();
});

test('a plain http:// endpoint to a host that is not loopback is warned of in the console, once per client', async () => {
  const page = await openPage(await browser.newContext());
  const warnings = [];
  page.on('console', (message) => message.type() === 'warning' && warnings.push(message.text()));
  await page.evaluate(async () => {
    for (const endpoint of ['http://sync.example.invalid:8080', location.origin]) {
      const client = await window.Ferry.FerryClient.open({ name: 'cleartext', endpoint, autoSync: false });
      await client.close();
    }
  });
  assert.deepEqual(
    warnings.filter((text) => /plain http:\/\//.test(text)),
    ['ferry-sync: the endpoint is plain http:// to sync.example.invalid, which is not loopback: tokens and data cross the network unencrypted; use https://'],
  );
  await page.context().close();
});

test('deleteLocalData refuses a store open in the same page (busy, saying so), and its data survives', async () => {
  const page = await openPage(await browser.newContext());
  const outcome = await page.evaluate(async () => {
    const client = await window.Ferry.FerryClient.open({ name: 'samepage', endpoint: location.origin, getToken: () => 'token-gus', autoSync: false });
    await client.put('notes', 'k', { kept: true });
    let refused;
    try {
      await window.Ferry.FerryClient.deleteLocalData({ name: 'samepage' });
      refused = 'deleted';
    } catch (error) {
      refused = `${error.code}: ${error.message}`;
    }
    const stillThere = await client.get('notes', 'k');
    await client.close();
    const reopened = await window.Ferry.FerryClient.open({ name: 'samepage', endpoint: location.origin, getToken: () => 'token-gus', autoSync: false });
    const afterReopen = await reopened.get('notes', 'k');
    const pending = reopened.status().pending;
    await reopened.close();
    return { refused, stillThere, afterReopen, pending };
  });
  assert.match(outcome.refused, /^busy: the store is open in this context/);
  assert.deepEqual(outcome.stillThere, { kept: true });
  assert.deepEqual(outcome.afterReopen, { kept: true });
  assert.equal(outcome.pending, 1, 'the write is still waiting to be synced');
  await page.context().close();
});

test('with shareAcrossContexts off and storeLockTimeoutMs, a second context waits for the first to close the store', async () => {
  const context = await browser.newContext();
  const tabs = [await openPage(context), await openPage(context)];
  const options = { name: 'waiting', autoSync: false, shareAcrossContexts: false };
  await tabs[0].evaluate(async (options) => {
    window.client = await window.Ferry.FerryClient.open({ ...options, endpoint: location.origin });
    await window.client.put('notes', 'k', 'first');
  }, options);
  const timedOut = await tabs[1].evaluate(async (options) => {
    const started = performance.now();
    try {
      await window.Ferry.FerryClient.open({ ...options, endpoint: location.origin, storeLockTimeoutMs: 300 });
      return 'opened';
    } catch (error) {
      return { code: error.code, waited: performance.now() - started };
    }
  }, options);
  assert.equal(timedOut.code, 'busy');
  assert.ok(timedOut.waited >= 290, `waited ${timedOut.waited} ms`);
  const waiting = tabs[1].evaluate(async (options) => {
    const client = await window.Ferry.FerryClient.open({ ...options, endpoint: location.origin, storeLockTimeoutMs: 20_000 });
    const value = await client.get('notes', 'k');
    await client.close();
    return value;
  }, options);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await tabs[0].evaluate(() => window.client.close());
  assert.equal(await waiting, 'first', 'the waiting context opened the store once the first closed it');
  await context.close();
});

test('with shareAcrossContexts off, a second context is refused the store (busy), and so is deleting it', async () => {
  const context = await browser.newContext();
  const tabs = [await openPage(context), await openPage(context)];
  const options = { name: 'exclusive', endpoint: server.endpoint, autoSync: false, shareAcrossContexts: false };
  await tabs[0].evaluate(async (options) => {
    window.client = await window.Ferry.FerryClient.open({ ...options, endpoint: location.origin });
    await window.client.put('notes', 'k', 1);
  }, options);
  const refused = await tabs[1].evaluate(async (options) => {
    const codes = [];
    for (const attempt of [() => window.Ferry.FerryClient.open({ ...options, endpoint: location.origin }), () => window.Ferry.FerryClient.deleteLocalData({ name: options.name })]) {
      try {
        await attempt();
        codes.push('succeeded');
      } catch (error) {
        codes.push(error.code);
      }
    }
    return codes;
  }, options);
  assert.deepEqual(refused, ['busy', 'busy']);
  const kept = await tabs[0].evaluate(async () => {
    const value = await window.client.get('notes', 'k');
    await window.client.close();
    return value;
  });
  assert.equal(kept, 1);
  const reopened = await tabs[1].evaluate(async (options) => {
    const client = await window.Ferry.FerryClient.open({ ...options, endpoint: location.origin });
    const value = await client.get('notes', 'k');
    await client.close();
    return value;
  }, options);
  assert.equal(reopened, 1, 'once the first context closed it, the store opens elsewhere');
  await context.close();
});
