// A page on one origin syncing with a ferry-server on another, in Chromium:
// the dev-server setup that `ferry-server --cors-origin` exists for. The page
// comes from one ferry-server (--static) and the API from a second one on
// another port, so every request is cross-origin and preflighted (the
// client sends Authorization, Content-Type, Content-Encoding, Ferry-Protocol).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { buildTestSite, chromiumOptions, openPage, readServer, startServer } from './helpers.mjs';

let site;
let browser;
const servers = [];

before(async () => {
  site = await startServer('token-alice alice\n', ['--static', buildTestSite()]);
  servers.push(site);
  browser = await chromium.launch(chromiumOptions);
});

after(async () => {
  await browser?.close();
  for (const server of servers) await server.stop();
});

// Writes five documents (large enough that the client gzips the push) and
// syncs them to `endpoint` from the page's origin; resolves to the status after.
async function syncFromPage(page, endpoint, name, options = {}) {
  return page.evaluate(
    async ({ endpoint, name, options }) => {
      const client = await window.Ferry.FerryClient.open({ name, endpoint, getToken: () => 'token-alice', autoSync: false, ...options });
      for (let i = 0; i < 5; ++i) await client.put('notes', `n${i}`, { i, text: 'x'.repeat(3000) });
      await client.syncNow().catch(() => {});
      const status = client.status();
      await client.close();
      return status;
    },
    { endpoint, name, options },
  );
}

test('a page on an allowed origin syncs with ferry-server --cors-origin', async () => {
  const api = await startServer('token-alice alice\n', ['--cors-origin', site.endpoint]);
  servers.push(api);
  const context = await browser.newContext();
  const page = await openPage(context, `${site.endpoint}/`);
  assert.equal((await syncFromPage(page, api.endpoint, 'allowed')).pending, 0);
  assert.equal((await readServer(api.endpoint)).documents.size, 5);
  // The live stream and error answers are readable cross-origin too.
  const answers = await page.evaluate(async (endpoint) => {
    const live = await fetch(`${endpoint}/v1/live`, { headers: { Authorization: 'Bearer token-alice', Accept: 'text/event-stream' } });
    const reader = live.body.getReader();
    const { value } = await reader.read();
    await reader.cancel();
    const refused = await fetch(`${endpoint}/v1/pull`, { headers: { Authorization: 'Bearer wrong-token' } });
    return { live: new TextDecoder().decode(value), refused: refused.status };
  }, api.endpoint);
  assert.match(answers.live, /event: hello/);
  assert.equal(answers.refused, 401);
  await context.close();
});

test('without --cors-origin the browser refuses and nothing reaches the server', async () => {
  const api = await startServer('token-alice alice\n', []);
  servers.push(api);
  const context = await browser.newContext();
  const page = await openPage(context, `${site.endpoint}/`);
  const status = await syncFromPage(page, api.endpoint, 'refused');
  assert.equal(status.pending, 5);
  assert.equal((await readServer(api.endpoint)).documents.size, 0);
  // Not "offline": the server answered, and the error says what to change.
  assert.equal(status.state, 'error');
  assert.match(status.lastError, /CORS/);
  assert.ok(status.lastError.includes(`--cors-origin ${site.endpoint}`), status.lastError);
  await context.close();
});

// An app's custom header (an X-API-Key scheme) crosses origins only when
// the server allows it in preflight (--cors-allow-header); without it the
// browser refuses before anything is sent.
test('a custom header crosses origins with --cors-allow-header, and is refused without it', async () => {
  const headers = { 'X-API-Key': 'key-123' };
  const allowing = await startServer('token-alice alice\n', ['--cors-origin', site.endpoint, '--cors-allow-header', 'X-API-Key']);
  const plain = await startServer('token-alice alice\n', ['--cors-origin', site.endpoint]);
  servers.push(allowing, plain);
  const context = await browser.newContext();
  const page = await openPage(context, `${site.endpoint}/`);
  assert.equal((await syncFromPage(page, allowing.endpoint, 'with-key', { headers })).pending, 0);
  assert.equal((await readServer(allowing.endpoint)).documents.size, 5);
  const refused = await syncFromPage(page, plain.endpoint, 'key-refused', { headers });
  assert.equal(refused.pending, 5);
  assert.equal((await readServer(plain.endpoint)).documents.size, 0);
  assert.equal(refused.state, 'error');
  assert.ok(refused.lastError.includes('--cors-allow-header X-API-Key'), refused.lastError);
  await context.close();
});
