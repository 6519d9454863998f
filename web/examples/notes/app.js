// The Ferry notes demo: an offline-capable notes list on ferry-sync.
import { FerryClient, registerPeriodicSync } from './ferry-sync/browser.js';
import { STORE, getToken } from './config.js';

const $ = (id) => document.getElementById(id);

// The service worker caches this app's shell (so it loads offline) and
// delivers pending notes when every tab is closed (ferry-sync/sw).
const serviceWorker = 'serviceWorker' in navigator
  ? navigator.serviceWorker.register('sw.js', { type: 'module' }).then(() => navigator.serviceWorker.ready)
  : Promise.resolve(undefined);

const client = await FerryClient.open({ name: STORE, endpoint: location.origin, getToken, intervalMs: 15_000 });
window.app = { client };  // for the tests and the curious

// ---- notes

async function renderNotes() {
  const notes = (await client.scan('notes')).sort((a, b) => b.value.createdAt - a.value.createdAt);
  $('notes').replaceChildren(...notes.map(({ key, value }) => {
    const item = document.createElement('li');
    const text = document.createElement('span');
    text.textContent = value.text;
    const time = document.createElement('time');
    time.dateTime = new Date(value.createdAt).toISOString();
    time.textContent = new Date(value.createdAt).toLocaleTimeString();
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.title = 'Delete';
    remove.textContent = '×';
    remove.addEventListener('click', () => client.remove('notes', key));
    item.append(text, time, remove);
    return item;
  }));
}

$('add').addEventListener('submit', async (event) => {
  event.preventDefault();
  const text = $('text').value.trim();
  if (!text) return;
  $('text').value = '';
  const key = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  await client.put('notes', key, { text, createdAt: Date.now() });
});

client.subscribe(() => void renderNotes());

// ---- sync status

function badge(element, text, kind) {
  element.textContent = text;
  element.className = `badge ${kind}`;
}

function renderStatus() {
  const status = client.status();
  badge($('network'), navigator.onLine ? 'online' : 'offline', navigator.onLine ? 'online' : 'offline');
  const states = { never_synced: 'not synced yet', idle: 'up to date', syncing: 'syncing…', offline: 'waiting for the network', error: 'will retry', auth_error: 'sign-in needed' };
  badge($('state'), status.pending > 0 && status.state === 'idle' ? 'changes waiting' : states[status.state], status.state);
  $('pending').textContent = `${status.pending} change${status.pending === 1 ? '' : 's'}` + (status.failed ? `, ${status.failed} refused` : '');
  $('last-synced').textContent = status.lastSyncedAt ? new Date(status.lastSyncedAt).toLocaleTimeString() : 'never';
  const error = status.state === 'error' ? status.lastError : '';
  $('error').hidden = !error;
  $('error').textContent = error && `Last error: ${error}`;
  if (status.state !== 'syncing') $('progress').hidden = true;
}

client.addEventListener('status', renderStatus);
client.addEventListener('sync.progress', ({ detail }) => {
  $('progress').hidden = false;
  $('progress').max = Math.max(1, detail.pushTotal);
  $('progress').value = detail.pushDone;
});
addEventListener('online', renderStatus);
addEventListener('offline', renderStatus);
$('sync-now').addEventListener('click', () => client.syncNow());
setInterval(renderStatus, 5_000);

serviceWorker.then(async (registration) => {
  if (!registration) return void ($('background').textContent = 'not available');
  const periodic = await registerPeriodicSync(STORE, 12 * 60 * 60 * 1000);
  $('background').textContent = periodic ? 'on (and every 12 h)' : 'SyncManager' in window ? 'on' : 'when the app starts';
  $('background').dataset.ready = 'true';
});

await renderNotes();
renderStatus();
document.body.dataset.ready = 'true';
