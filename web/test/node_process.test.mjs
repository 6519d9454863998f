// ferry-sync in a Node process of its own: a script that writes and never
// calls close() ends once its writes are delivered (the live stream and idle
// retries do not hold the process), and one whose writes cannot go up keeps
// running until they do.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { FerryClient } from 'ferry-sync';

import { readServer, startServer, tempDir } from './helpers.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
});

/** Runs `code` as an ES module in a new Node process here (where ferry-sync is installed). */
function script(code) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

const within = (promise, ms) => Promise.race([promise, new Promise((resolve) => setTimeout(() => resolve('still running'), ms))]);

test('a script that writes and never closes ends once its write is delivered, live stream and all', async () => {
  const directory = join(tempDir(), 'script');
  const run = script(`
    import { FerryClient } from 'ferry-sync';
    const client = await FerryClient.open({ name: 'script', endpoint: ${JSON.stringify(server.endpoint)},
      getToken: () => 'token-alice', directory: ${JSON.stringify(directory)} });  // autoSync and liveUpdates on
    client.addEventListener('status', ({ detail }) => { if (detail.status.pending === 0) console.log('delivered'); });
    await client.put('scripts', 'one', { done: true });
    console.log('written');
  `);
  assert.equal(await within(run.exited, 15000), 0, run.output());
  assert.match(run.output(), /written[\s\S]*delivered/);
  assert.deepEqual((await readServer(server.endpoint)).documents.get('scripts/one'), { done: true });
});

test('a script whose writes cannot go up keeps running, and the writes stay for the next open', async () => {
  const directory = join(tempDir(), 'stuck');
  const run = script(`
    import { FerryClient } from 'ferry-sync';
    const client = await FerryClient.open({ name: 'stuck', endpoint: 'http://127.0.0.1:9',
      getToken: () => 'token-alice', directory: ${JSON.stringify(directory)} });
    await client.put('scripts', 'two', { done: false });
    console.log('written');
  `);
  assert.equal(await within(run.exited, 3000), 'still running', run.output());
  assert.match(run.output(), /written/);
  run.child.kill('SIGKILL');
  await run.exited;
  const client = await FerryClient.open({ name: 'stuck', endpoint: server.endpoint, getToken: () => 'token-alice', directory, autoSync: false, liveUpdates: false });
  assert.equal(client.status().pending, 1);
  await client.close();
});
