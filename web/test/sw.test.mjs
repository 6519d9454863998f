// ferry-sync/sw in Debian's headless Chromium: a service worker delivers
// writes with no page open, and survives being stopped in the middle of a sync.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { buildTestSite, chromiumOptions, openPage, readServer, serviceWorkerControl, startServer, waitUntil } from './helpers.mjs';

let server;
let browser;

before(async () => {
  server = await startServer('token-frank frank\ntoken-gina gina\ntoken-hana hana\ntoken-ivy ivy\ntoken-jade jade\ntoken-kim kim\n', ['--static', buildTestSite()]);
  browser = await chromium.launch(chromiumOptions);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

// A page of the test site with the test service worker for `name` installed and active.
async function pageWithServiceWorker(context, name, token, syncOnStart = true) {
  const page = await openPage(context, `${server.endpoint}/index.html`);
  await page.evaluate(
    async (url) => {
      await navigator.serviceWorker.register(url, { type: 'module' });
      await navigator.serviceWorker.ready;
    },
    `/sw.js?name=${name}&token=${token}${syncOnStart ? '' : '&start=0'}`,
  );
  return page;
}

// Writes `count` documents to `collection` in the store `name` from the page
// and closes the store again, so that the service worker is free to own it.
function writeAndLetGo(page, name, token, collection, count) {
  return page.evaluate(
    async ({ name, token, collection, count }) => {
      const client = await window.Ferry.FerryClient.open({ name, endpoint: location.origin, getToken: () => token, autoSync: false, backgroundSync: false });
      for (let i = 0; i < count; ++i) await client.put(collection, `${collection}${i}`, { i });
      const { pending } = client.status();
      await client.close();
      return pending;
    },
    { name, token, collection, count },
  );
}

// Waits until the server holds `count` documents for `token`.
function serverHolds(token, count, what) {
  return waitUntil(async () => {
    const current = await readServer(server.endpoint, token);
    return current.documents.size === count ? current : undefined;
  }, what);
}

test('writes made offline are delivered by the service worker after the page is closed', async () => {
  const context = await browser.newContext();
  // Only the sync event may wake the service worker here: the page owns the
  // store while it is open (Chromium's offline emulation would not stop a
  // service worker that owned it from pushing).
  const page = await pageWithServiceWorker(context, 'outbox', 'token-frank', false);
  await page.evaluate(async () => {
    // Opened while online: the app shell (here: the module) is loaded.
    // No live stream: Chromium's offline emulation does not cover every
    // request, and a poke-triggered sync must not slip through it here.
    window.client = await window.Ferry.FerryClient.open({ name: 'outbox', endpoint: location.origin, getToken: () => 'token-frank', liveUpdates: false });
  });
  await context.setOffline(true);
  // The client has seen the network go before the page writes: a write now
  // syncs at once, and one made before the 'offline' event arrived would
  // start a sync that Chromium's emulation does not always stop.
  await page.waitForFunction(() => window.client.status().state === 'offline');
  const registered = await page.evaluate(async () => {
    for (let i = 0; i < 50; ++i) await window.client.put('notes', `n${i}`, { i, text: `offline note ${i}` });
    // The client registered the store's Background Sync tag for the pending writes.
    const registration = await navigator.serviceWorker.ready;
    for (let attempt = 0; attempt < 100; ++attempt) {
      const tags = await registration.sync.getTags();
      if (tags.length > 0) return { tags, pending: window.client.status().pending };
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { tags: [], pending: window.client.status().pending };
  });
  assert.deepEqual(registered, { tags: ['ferry-sync:outbox'], pending: 50 });
  await page.close();  // every page of the origin is gone
  assert.equal(context.pages().length, 0);
  assert.equal((await readServer(server.endpoint, 'token-frank')).documents.size, 0);

  await context.setOffline(false);  // the browser fires the sync event in the service worker
  const view = await waitUntil(async () => {
    const current = await readServer(server.endpoint, 'token-frank');
    return current.documents.size === 50 ? current : undefined;
  }, 'the service worker to deliver 50 writes');
  assert.equal(view.head, 50);  // each applied once
  assert.equal(context.pages().length, 0);

  // A page opened later sees the queue the service worker emptied.
  const later = await openPage(context, `${server.endpoint}/index.html`);
  const state = await later.evaluate(async () => {
    const client = await window.Ferry.FerryClient.open({ name: 'outbox', endpoint: location.origin, getToken: () => 'token-frank', autoSync: false });
    return { pending: client.status().pending, reasons: client.history().map((run) => run.reason), count: (await client.scan('notes')).length };
  });
  assert.equal(state.pending, 0);
  assert.equal(state.count, 50);
  assert.ok(state.reasons.includes('background_sync'), JSON.stringify(state.reasons));
  await context.close();
});

test('a service worker stopped in the middle of a sync loses nothing and applies nothing twice', async () => {
  const context = await browser.newContext();
  const page = await pageWithServiceWorker(context, 'stopped', 'token-gina');
  await page.evaluate(async () => {
    const client = await window.Ferry.FerryClient.open({ name: 'stopped', endpoint: location.origin, getToken: () => 'token-gina', autoSync: false, backgroundSync: false });
    const writes = [];
    for (let i = 0; i < 3000; ++i) writes.push({ op: 'put', collection: 'bulk', key: `d${i}`, value: { i, body: 'x'.repeat(100) } });
    for (let i = 0; i < writes.length; i += 500) await client.write(writes.slice(i, i + 500));
    await client.close();  // the store is free: the service worker will own it
  });
  const control = await serviceWorkerControl(page, server.endpoint);

  // Stopped as soon as the server has applied the first of six pushes: the
  // worker is killed with a push in flight or about to start.
  const applied = async () => (await (await fetch(`${server.endpoint}/v1/stats`, { headers: { Authorization: 'Bearer token-gina' } })).json()).mutationsApplied;
  const appliedBefore = await applied();
  await control.dispatchSync('ferry-sync:stopped');
  await waitUntil(async () => (await applied()) > appliedBefore, 'the first push', 30000, 5);
  await control.stopAll();
  const cut = await readServer(server.endpoint, 'token-gina');
  assert.ok(cut.head >= 500 && cut.head < 3000, `head ${cut.head}`);

  // The browser fires the tag again later (the event was not fulfilled); here
  // the DevTools Protocol fires it at once. The service worker starts again.
  await control.dispatchSync('ferry-sync:stopped');
  const view = await waitUntil(async () => {
    const current = await readServer(server.endpoint, 'token-gina');
    return current.documents.size === 3000 ? current : undefined;
  }, 'all 3000 writes on the server');
  // Give a wrongly repeated push the chance to show up before checking.
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal((await readServer(server.endpoint, 'token-gina')).head, 3000);  // none applied twice
  console.log(`service worker stopped after ${cut.head} of 3000 writes had been applied`);
  assert.equal(view.documents.get('bulk/d2999').i, 2999);

  const state = await page.evaluate(async () => {
    const client = await window.Ferry.FerryClient.open({ name: 'stopped', endpoint: location.origin, getToken: () => 'token-gina', autoSync: false });
    return { pending: client.status().pending, count: (await client.scan('bulk')).length };
  });
  assert.deepEqual(state, { pending: 0, count: 3000 });
  await context.close();
});

test('a page can ask the service worker to sync (the fallback without Background Sync); a failed attempt keeps every write', async () => {
  const context = await browser.newContext();
  // The page writes as the store's owner (the worker does not sync on start
  // here), then hands the store to the worker by closing.
  const page = await pageWithServiceWorker(context, 'asked', 'token-frank', false);
  await page.evaluate(async () => {
    const client = await window.Ferry.FerryClient.open({ name: 'asked', endpoint: location.origin, getToken: () => 'token-frank', autoSync: false, backgroundSync: false });
    for (let i = 0; i < 5; ++i) await client.put('asked', `a${i}`, { i });
    await client.close();  // the service worker will own the store
  });

  await server.halt();  // the server is unreachable: the attempt fails
  const failed = await page.evaluate(() => window.Ferry.requestBackgroundSync('asked'));
  assert.equal(failed.trigger, 'message', JSON.stringify(failed));
  assert.ok(failed.run, JSON.stringify(failed));
  assert.equal(failed.retry, true);
  assert.equal(failed.run.outcome, 'failed');
  assert.equal(failed.status.pending, 5);
  assert.ok(failed.error, 'the outcome says why');

  await server.start();
  const delivered = await page.evaluate(() => window.Ferry.requestBackgroundSync('asked'));
  assert.equal(delivered.retry, false);
  assert.equal(delivered.run.outcome, 'completed');
  assert.equal(delivered.status.pending, 0);
  const view = await readServer(server.endpoint, 'token-frank');
  assert.deepEqual([...view.documents.keys()].filter((key) => key.startsWith('asked/')).sort(), ['asked/a0', 'asked/a1', 'asked/a2', 'asked/a3', 'asked/a4']);
  await context.close();
});

test('a periodicsync event for the store\'s tag makes the service worker deliver the pending writes', async () => {
  const context = await browser.newContext();
  // The worker does not sync on start: only the periodicsync event can deliver.
  const page = await pageWithServiceWorker(context, 'periodic', 'token-hana', false);
  assert.equal(await writeAndLetGo(page, 'periodic', 'token-hana', 'p', 5), 5);
  const control = await serviceWorkerControl(page, server.endpoint);
  await page.goto('about:blank');  // no tab of the origin is open, none holds the store
  assert.equal((await readServer(server.endpoint, 'token-hana')).documents.size, 0);

  await control.dispatchPeriodicSync('ferry-sync:periodic');
  const view = await serverHolds('token-hana', 5, 'the periodicsync event to deliver 5 writes');
  assert.equal(view.head, 5);

  await page.goto(`${server.endpoint}/index.html`);
  await page.evaluate(() => window.ferryReady);
  const state = await page.evaluate(async () => {
    const client = await window.Ferry.FerryClient.open({ name: 'periodic', endpoint: location.origin, getToken: () => 'token-hana', autoSync: false });
    return { pending: client.status().pending, reasons: client.history().map((run) => run.reason) };
  });
  assert.equal(state.pending, 0);
  assert.deepEqual(state.reasons, ['background_sync']);
  await context.close();
});

test('registerPeriodicSync resolves false without a service worker or without permission, true once granted', async () => {
  const context = await browser.newContext();
  const page = await openPage(context, `${server.endpoint}/index.html`);
  assert.equal(await page.evaluate(() => window.Ferry.registerPeriodicSync('granted', 60000)), false);  // no service worker yet
  await page.evaluate(async () => {
    await navigator.serviceWorker.register('/sw.js?name=granted&token=token-hana&start=0', { type: 'module' });
    await navigator.serviceWorker.ready;
  });
  const tags = () => page.evaluate(async () => (await navigator.serviceWorker.ready).periodicSync.getTags());
  // Chromium grants Periodic Background Sync to installed web apps only.
  assert.equal(await page.evaluate(() => window.Ferry.registerPeriodicSync('granted', 60000)), false);
  assert.deepEqual(await tags(), []);
  const wrong = await page.evaluate(() =>
    Promise.all([window.Ferry.registerPeriodicSync('granted', 0), window.Ferry.registerPeriodicSync(42, 1000)].map((call) => call.then(() => 'resolved', (error) => error.name))),
  );
  assert.deepEqual(wrong, ['TypeError', 'TypeError']);

  // As if the app were installed (Playwright has no name for this permission).
  const pageSession = await context.newCDPSession(page);
  const { browserContextId } = (await pageSession.send('Target.getTargetInfo')).targetInfo;
  const cdp = await browser.newBrowserCDPSession();
  const permission = { name: 'periodic-background-sync' };
  await cdp.send('Browser.setPermission', { permission, setting: 'granted', origin: server.endpoint, browserContextId });
  assert.equal(await page.evaluate(() => window.Ferry.registerPeriodicSync('granted', 60000)), true);
  assert.deepEqual(await tags(), ['ferry-sync:granted']);
  await cdp.detach();  // which also ends the permission
  await context.close();
});

// Every string kept in the origin's IndexedDB databases and Cache Storage.
function storedText(page) {
  return page.evaluate(async () => {
    const decoder = new TextDecoder('utf-8', { fatal: false });
    const texts = [];
    const collect = (value) => {
      if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) texts.push(decoder.decode(value));
      else if (typeof value === 'string') texts.push(value);
      else if (value && typeof value === 'object') for (const inner of Object.values(value)) collect(inner);
    };
    for (const { name } of await indexedDB.databases()) {
      const database = await new Promise((resolve, reject) => {
        const request = indexedDB.open(name);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      for (const store of database.objectStoreNames) {
        const values = await new Promise((resolve) => {
          const request = database.transaction(store).objectStore(store).getAll();
          request.onsuccess = () => resolve(request.result);
        });
        collect(values);
      }
      database.close();
    }
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const request of await cache.keys()) {
        texts.push(request.url);
        collect(await (await cache.match(request)).arrayBuffer());
      }
    }
    return texts.join('\n');
  });
}

test('the service worker borrows the token from an open page, asks it again after a 401, and keeps it in memory only', async () => {
  const context = await browser.newContext();
  const page = await pageWithServiceWorker(context, 'lent', 'pages', false);
  await page.evaluate(() => {
    // The app's getToken: the first token has expired, a refreshed one works.
    window.asked = [];
    window.stopLending = window.Ferry.provideServiceWorkerToken('lent', ({ refresh }) => {
      window.asked.push(refresh);
      return refresh ? 'token-ivy' : 'token-expired';
    });
  });
  assert.equal(await writeAndLetGo(page, 'lent', 'token-ivy', 'a', 3), 3);
  const control = await serviceWorkerControl(page, server.endpoint);

  await control.dispatchSync('ferry-sync:lent');
  await serverHolds('token-ivy', 3, 'the service worker to deliver 3 writes with the refreshed token');
  // Handed over without refresh (once at registration, and possibly again on
  // controllerchange or when the worker asked before the hand-over arrived:
  // timing), then asked for a fresh one exactly once, after the 401.
  const asked = await page.evaluate(() => window.asked);
  assert.ok(asked.length >= 2 && asked.at(-1) === true && asked.slice(0, -1).every((refresh) => refresh === false), JSON.stringify(asked));

  // The page goes away; the token the worker holds in memory still serves it.
  assert.equal(await writeAndLetGo(page, 'lent', 'token-ivy', 'b', 2), 2);
  await page.goto('about:blank');
  await control.dispatchSync('ferry-sync:lent');
  await serverHolds('token-ivy', 5, 'the service worker to deliver 2 more writes with no page open');

  // Neither the worker nor the page stored a token anywhere.
  await page.goto(`${server.endpoint}/index.html`);
  const stored = await storedText(page);
  assert.ok(stored.includes('ferry_wasm.wasm'), 'Cache Storage was read');
  assert.ok(stored.length > 10000, 'IndexedDB was read');
  assert.ok(!stored.includes('token-'), 'a token was persisted');
  await context.close();
});

test('with no page open and no token in memory, background sync fails as an auth error, keeps every write, and the browser retries', async () => {
  const context = await browser.newContext();
  const page = await pageWithServiceWorker(context, 'tokenless', 'pages', false);
  assert.equal(await writeAndLetGo(page, 'tokenless', 'token-jade', 't', 4), 4);
  // The store's tag is registered while the worker is offline, as a
  // FerryClient registers it after writes made offline; no page lends a token.
  const control = await serviceWorkerControl(page, server.endpoint);
  await control.setWorkerOffline(true);
  await page.evaluate(async () => (await navigator.serviceWorker.ready).sync.register('ferry-sync:tokenless'));
  await page.goto('about:blank');  // no page of the origin is open
  await control.setWorkerOffline(false);  // the browser fires the sync event

  const failure = await waitUntil(
    () => control.backgroundSyncLog.find((entry) => entry.eventName === 'sync event failed'),
    'the browser to report the sync event failed',
  );
  const metadata = Object.fromEntries(failure.eventMetadata.map(({ key, value }) => [key, value]));
  assert.equal(metadata['Failure Reason'], 'waitUntil rejected');
  assert.ok(Number(metadata['Next Attempt Delay (ms)']) > 0, JSON.stringify(metadata));  // the browser tries again later
  assert.equal((await readServer(server.endpoint, 'token-jade')).documents.size, 0);

  await page.goto(`${server.endpoint}/index.html`);
  await page.evaluate(() => window.ferryReady);
  assert.deepEqual(await page.evaluate(async () => (await navigator.serviceWorker.ready).sync.getTags()), ['ferry-sync:tokenless']);
  const failed = await page.evaluate(async () => {
    const client = await window.Ferry.FerryClient.open({ name: 'tokenless', endpoint: location.origin, getToken: () => 'token-jade', autoSync: false, backgroundSync: false });
    const [run] = client.history();
    const state = { pending: client.status().pending, reason: run.reason, outcome: run.outcome, error: run.error };
    await client.close();
    return state;
  });
  assert.equal(failed.pending, 4);
  assert.equal(failed.reason, 'background_sync');
  assert.equal(failed.outcome, 'failed');
  assert.match(failed.error, /token/);

  // The browser's later attempt (fired here at once), now that a page lends a token.
  await page.evaluate(() => window.Ferry.provideServiceWorkerToken('tokenless', () => 'token-jade'));
  await control.dispatchSync('ferry-sync:tokenless');
  await serverHolds('token-jade', 4, 'the retried sync to deliver 4 writes');
  await context.close();
});

// Live queries (issue 18): a sync the service worker asks for, run by the
// page that owns the store (the worker's client is then a follower), brings
// the pulled documents into the page's live query.
test('a live query in the page follows what a sync the service worker asked for pulled', async () => {
  const context = await browser.newContext();
  const page = await pageWithServiceWorker(context, 'livesw', 'token-kim', false);
  const first = await page.evaluate(async () => {
    window.client = await window.Ferry.FerryClient.open({ name: 'livesw', endpoint: location.origin, getToken: () => 'token-kim', autoSync: false, backgroundSync: false });
    window.pages = [];
    window.end = await window.client.subscribeQuery({ collection: 'readings', orderBy: [{ path: 'at', desc: true }], limit: 2 }, (page) => window.pages.push(page));
    return window.pages[0];
  });
  assert.deepEqual([first.documents, first.next], [[], null]);
  // Another device (a second store of the same user) puts three readings on the server.
  await page.evaluate(async () => {
    const device = await window.Ferry.FerryClient.open({ name: 'livesw-device', endpoint: location.origin, getToken: () => 'token-kim', autoSync: false, backgroundSync: false });
    await device.write([1, 2, 3].map((at) => ({ op: 'put', collection: 'readings', key: `r${at}`, value: { at } })));
    await device.syncNow();
    await device.close();
  });
  const outcome = await page.evaluate(() => window.Ferry.requestBackgroundSync('livesw'));
  assert.equal(outcome.run?.outcome, 'completed', JSON.stringify(outcome));
  assert.equal(outcome.run.pulled, 3);
  const latest = await waitUntil(() => page.evaluate(() => window.pages.at(-1)?.documents.length === 2 && window.pages.at(-1)), 'the pulled readings in the live query');
  assert.deepEqual(latest.documents.map(({ key }) => key), ['r3', 'r2']);
  assert.deepEqual(latest.added, ['r3', 'r2']);
  assert.equal(typeof latest.next, 'string');
  await context.close();
});
