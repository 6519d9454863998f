// The peer Ferry's push and pull are measured against (issue 16): PouchDB
// replicating the same documents to and from pouchdb-server on loopback.
//   node pouchdb_bench.mjs N [PUSH_BATCH_SIZE PULL_BATCH_SIZE]
// Starts pouchdb-server (LevelDB on disk) in a temporary folder, writes N
// documents of ferry_bench's shape into a local LevelDB PouchDB (not timed),
// times their replication up to the server (push), then times a fresh local
// PouchDB replicating them down (pull). Both use PouchDB's default batches
// (100 documents, 10 batches ahead) unless the batch sizes are given.
// Prints one JSON line for each, like ferry_bench.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import PouchDB from 'pouchdb';

const n = Number(process.argv[2] ?? 100000);
const [pushBatch, pullBatch] = [process.argv[3] ?? 100, process.argv[4] ?? 100].map(Number);
const require = createRequire(import.meta.url);

// ferry_bench's Document(i) and Key(i): the same fields, sizes and keys.
function document(i) {
  return {
    _id: `doc-${String(i).padStart(8, '0')}`,
    title: `Document number ${i}`,
    body: String.fromCharCode(97 + (i % 26)).repeat(120),
    done: i % 2 === 0,
    n: i,
  };
}

// pouchdb-server reads a port of 0 as "the default, 5984", so ask the
// kernel for a free one first.
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    }).on('error', reject);
  });
}

async function startServer(folder) {
  const port = await freePort();
  mkdirSync(folder);
  // Warnings and errors only: ferry-server runs with --quiet, so neither
  // server spends the run writing a line per request.
  writeFileSync(join(folder, 'config.json'),
    JSON.stringify({ log: { file: join(folder, 'log.txt'), level: 'warning' } }));
  const server = spawn(process.execPath, [
    require.resolve('pouchdb-server/bin/pouchdb-server'),
    '--host', '127.0.0.1', '--port', String(port), '--dir', folder,
    '--config', join(folder, 'config.json'), '--no-stdout-logs',
  ], { cwd: folder, stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 200; attempt++) {
    if (server.exitCode !== null) throw new Error(`pouchdb-server exited with ${server.exitCode}`);
    try {
      if ((await fetch(url)).ok) return { server, url };
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  server.kill();
  throw new Error('pouchdb-server did not answer within 20 s');
}

// Times one replication and prints its line. The batches are passed
// explicitly, so that the line states those it used.
async function measure(bench, source, target, batchSize) {
  const batches = { batch_size: batchSize, batches_limit: 10 };
  const start = performance.now();
  const result = await PouchDB.replicate(source, target, batches);
  const seconds = (performance.now() - start) / 1000;
  if (!result.ok || result.docs_written !== n) {
    throw new Error(`${bench}: replication wrote ${result.docs_written} of ${n} documents`);
  }
  console.log(JSON.stringify({ bench, n, seconds: Number(seconds.toFixed(3)),
    docs_per_s: Math.round(n / seconds), ...batches }));
}

const work = mkdtempSync(join(tmpdir(), 'ferry-pouchdb-'));
const { server, url } = await startServer(join(work, 'server'));
try {
  const local = new PouchDB(join(work, 'push-local'));
  for (let i = 0; i < n; i += 1000) {
    const chunk = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) chunk.push(document(j));
    await local.bulkDocs(chunk);
  }
  const remote = new PouchDB(`${url}/docs`);
  await remote.info();  // creates the database before the clock starts
  await measure('pouchdb-push', local, remote, pushBatch);
  await measure('pouchdb-pull', remote, new PouchDB(join(work, 'pull-local')), pullBatch);
} finally {
  if (server.exitCode === null) {
    server.kill();
    await new Promise((resolve) => server.once('exit', resolve));
  }
  rmSync(work, { recursive: true, force: true });
}
