// The type test: test/types/usage.ts, a file of right calls and of wrong calls
// marked @ts-expect-error, compiled with tsc against this project's installed
// ferry-sync (the packed tarball, test.sh), so it checks the published .d.ts
// as a consumer's bundler or Node sees them. Also: no private or internal
// members in the declarations the package's exports lead to.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const packageRoot = path.join(here, 'node_modules', 'ferry-sync');

// As a bundled browser app sees the package (DOM library) and as a Node
// project does (Node16 resolution, @types/node, no DOM library).
for (const config of ['tsconfig.json', 'tsconfig.node.json']) {
  test(`the type test compiles against the installed package (types/${config})`, () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const run = spawnSync(process.execPath, [tsc, '-p', path.join(here, 'types', config)], { encoding: 'utf8' });
    assert.equal(run.status, 0, `tsc failed (an unused @ts-expect-error is a wrong call that compiled):\n${run.stdout}${run.stderr}`);
  });
}

test('the published declarations show no private or internal members', () => {
  const files = publicDeclarations();
  assert.ok(files.some((file) => file.endsWith('index.d.ts')), `found only ${files.join(', ')}`);
  const leaks = [];
  for (const file of files) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      // A private constructor says "use FerryClient.open"; it shows nothing internal.
      if (/\bprivate\b|#private|@internal/.test(line) && !/^\s*private constructor\(\);$/.test(line)) {
        leaks.push(`${path.relative(packageRoot, file)}: ${line.trim()}`);
      }
    }
  }
  assert.deepEqual(leaks, []);
});

/** The .d.ts files the package's exports name, and every one they import, transitively. */
function publicDeclarations() {
  const manifest = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8'));
  const pending = [];
  const collect = (value, key) => {
    if (typeof value === 'string') {
      if (key === 'types' || /\.d\.[cm]?ts$/.test(value)) pending.push(path.join(packageRoot, value));
    } else if (value && typeof value === 'object') {
      for (const [name, nested] of Object.entries(value)) collect(nested, name);
    }
  };
  collect({ types: manifest.types, exports: manifest.exports });
  const seen = new Set();
  while (pending.length > 0) {
    const file = pending.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    assert.ok(existsSync(file), `a published declaration imports ${path.relative(packageRoot, file)}, which is not in the package`);
    const text = readFileSync(file, 'utf8');
    for (const [, specifier] of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      pending.push(path.join(path.dirname(file), specifier.replace(/\.(m?)js$/, '.d.$1ts')));
    }
  }
  return [...seen];
}
