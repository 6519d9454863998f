import { FerryClient, provideServiceWorkerToken } from 'ferry-sync';
import { endpoint, storeName } from './config';

// The app's token source. A real app returns its session's access token, and
// a fresh one when called with { refresh: true } (the server refused the last).
const getToken = async () => 'demo-token';

async function start() {
  // A module service worker: `vite build` emitted it as /sw.js, `vite dev` serves it there.
  await navigator.serviceWorker.register('/sw.js', { type: 'module' });
  // Lend it tokens: it keeps them in memory only and asks an open page again after a 401.
  provideServiceWorkerToken(storeName, getToken);

  const client = await FerryClient.open({ name: storeName, endpoint, getToken });
  const render = () => {
    const { state, pending } = client.status();
    document.querySelector('#status')!.textContent = `${state}, ${pending} pending`;
  };
  client.addEventListener('status', render);
  render();
  Object.assign(window, { client });
  document.body.dataset.ready = 'true';
}

void start();
