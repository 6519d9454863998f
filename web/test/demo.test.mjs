// The notes demo (web/examples/notes) in Debian's headless Chromium, served
// by a real ferry-server: it works offline, reloads offline from the service
// worker's cache, and syncs when the network returns; the status UI says so.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { chromiumOptions, readServer, startServer, tempDir, waitUntil } from './helpers.mjs';

const demoDir = process.env.FERRY_DEMO_DIR;
const outputDir = process.env.FERRY_TEST_OUTPUT ?? process.cwd();
let server;
let browser;

before(async () => {
  if (!demoDir) throw new Error('FERRY_DEMO_DIR must name web/examples/notes');
  // Built as scripts/demo-web.sh builds it, with the installed package.
  const site = tempDir();
  execFileSync('bash', [join(demoDir, 'build.sh'), join(process.cwd(), 'node_modules', 'ferry-sync', 'dist'), site], { stdio: 'inherit' });
  server = await startServer('demo-token demo\n', ['--static', site]);
  browser = await chromium.launch(chromiumOptions);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const text = (page, id) => page.locator(`#${id}`).innerText();

test('the notes demo: add notes offline, reload offline, sync when online', async () => {
  const context = await browser.newContext({ viewport: { width: 720, height: 640 } });
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error));
  await page.goto(`${server.endpoint}/`);
  await page.waitForSelector('body[data-ready="true"]');
  // The service worker has cached the shell and controls the page.
  await page.waitForSelector('#background[data-ready="true"]');
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);

  // Offline: the page is told so (setOffline) and the server is really gone,
  // because Chromium's offline emulation does not reach every request a
  // service worker makes.
  await context.setOffline(true);
  await server.halt();
  for (const note of ['Buy oat milk', 'Call the plumber', 'Book train to Lyon']) {
    await page.fill('#text', note);
    await page.click('#add button[type=submit]');
  }
  await page.waitForFunction(() => document.querySelectorAll('#notes li').length === 3);
  await waitUntil(async () => (await text(page, 'pending')) === '3 changes', 'three pending changes');
  assert.equal(await text(page, 'network'), 'offline');
  assert.equal(await text(page, 'state'), 'waiting for the network');

  // Reload with the network still off: the shell comes from the cache, the
  // notes from IndexedDB.
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  assert.deepEqual(await page.locator('#notes li span').allInnerTexts(), ['Book train to Lyon', 'Call the plumber', 'Buy oat milk']);
  assert.equal(await text(page, 'pending'), '3 changes');

  await server.start();
  await context.setOffline(false);
  await waitUntil(async () => (await text(page, 'pending')) === '0 changes', 'the notes to sync');
  await waitUntil(async () => (await text(page, 'state')) === 'up to date', 'the status to say so');
  assert.equal(await text(page, 'network'), 'online');
  assert.notEqual(await text(page, 'last-synced'), 'never');
  const view = await readServer(server.endpoint, 'demo-token');
  assert.deepEqual([...view.documents.values()].map((note) => note.text).sort(), ['Book train to Lyon', 'Buy oat milk', 'Call the plumber']);
  assert.equal(view.head, 3);  // each note applied once

  // A second tab shares the store: a note added there is listed here at once
  // (the app's live query, ferry-sync/react's useQuery).
  const second = await context.newPage();
  await second.goto(`${server.endpoint}/`);
  await second.waitForSelector('body[data-ready="true"]');
  await second.fill('#text', 'Water the plants');
  await second.click('#add button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#notes li span')?.textContent === 'Water the plants', null, { timeout: 15000 });
  assert.equal(await page.locator('#notes li').count(), 4);
  await second.close();

  mkdirSync(outputDir, { recursive: true });
  const screenshot = join(outputDir, 'web-demo.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`screenshot of the notes demo: ${screenshot}`);
  await context.close();
});
