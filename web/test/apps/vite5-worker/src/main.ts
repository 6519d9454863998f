// The page writes a todo, and so does a Web Worker: both must reach the server.
import { writeAndSync } from './todos';

const key = new URLSearchParams(location.search).get('key') ?? 'first';
const status = document.getElementById('status')!;

function inWorker(): Promise<string> {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  return new Promise((resolve) => {
    worker.onmessage = (event: MessageEvent<string>) => resolve(event.data);
    worker.onerror = (event) => resolve(`failed: ${event.message}`);
    worker.postMessage({ key: `${key}-worker` });
  });
}

Promise.all([
  writeAndSync('page-todos', `${key}-page`).then((synced) => (synced ? 'synced' : 'pending')).catch((error) => `failed: ${String(error)}`),
  inWorker(),
]).then(([page, worker]) => {
  status.textContent = page === worker ? page : `page ${page}, worker ${worker}`;
});
