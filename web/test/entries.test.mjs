// The package's entries, read from the installed tarball: what a browser
// bundle of ferry-sync contains must be buildable for a page, a worker and a
// service worker by any bundler, with no configuration.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';

import { chromium } from 'playwright-core';

import { buildTestSite, chromiumOptions, openPage, packageModuleGraph, startServer } from './helpers.mjs';

const root = join(process.cwd(), 'node_modules', 'ferry-sync');
const manifest = createRequire(import.meta.url)('ferry-sync/package.json');

/** Every file the static imports of `entries` reach (paths inside the package). */
const moduleGraph = (entries) => packageModuleGraph(root, entries);

test('package.json sends bundlers for the browser to the browser entry, Node to the Node entry', () => {
  assert.equal(manifest.exports['.'].browser, './dist/browser.js');
  assert.equal(manifest.exports['.'].default, './dist/browser.js');
  assert.equal(manifest.exports['.'].node, './dist/node.js');
  assert.deepEqual(Object.keys(manifest.exports['./sw']), ['types', 'default']);  // browser-only
});

test('no browser file imports a Node module, imports dynamically or uses require', () => {
  const files = moduleGraph([manifest.exports['.'].browser, manifest.exports['./sw'].default]);
  assert.ok(files.includes('dist/ferry_wasm.mjs') && files.includes('dist/sw.js'), files.join(' '));
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    assert.doesNotMatch(file, /(^|_|\/)node\.m?js$/, 'a Node-only file');
    // A module specifier "node:..." (the browser glue has `node:` as an object key, which is fine).
    assert.doesNotMatch(text, /['"`]node:/, `${file} names a Node module`);
    // Dynamic imports make bundlers split chunks, which Vite 5 cannot do for a worker ("iife").
    assert.doesNotMatch(text, /\bimport\s*\(/, `${file} imports dynamically`);
    assert.doesNotMatch(text, /\brequire\s*\(/, `${file} uses require`);
    // Vite and webpack emit whatever `new URL(x, import.meta.url)` names: '.' is the folder (a dead copy of a module).
    assert.doesNotMatch(text, /new URL\(\s*['"]\.\/?['"]/, `${file} names its own folder`);
  }
});

test('a page that cannot load the .wasm gets a FerryError naming the URL and what it answered', async () => {
  const site = buildTestSite();
  rmSync(join(site, 'pkg', 'ferry_wasm.wasm'));
  const server = await startServer(undefined, ['--static', site]);
  const browser = await chromium.launch(chromiumOptions);
  try {
    const page = await openPage(await browser.newContext(), `${server.endpoint}/index.html`);
    const error = await page.evaluate(() =>
      window.Ferry.FerryClient.open({ name: 'nowasm', endpoint: location.origin }).then(
        () => 'opened',
        (error) => ({ type: error.name, code: error.code, message: error.message }),
      ),
    );
    assert.equal(error.type, 'FerryError');
    assert.equal(error.code, 'unavailable');
    assert.match(error.message, new RegExp(`${server.endpoint}/pkg/ferry_wasm.wasm answered 404`));
  } finally {
    await browser.close();
    await server.stop();
  }
});
