// The Ferry notes demo: an offline-capable notes list in React, reading its
// data through ferry-sync/react (a live query, the sync status) and writing
// through the client. build.sh bundles it (esbuild) into app.js.
import { FerryClient, registerPeriodicSync } from './ferry-sync/browser.js';
import { FerryProvider, useFerryClient, useQuery, useSyncStatus } from './ferry-sync/react.js';
import { StrictMode, useEffect, useState, useSyncExternalStore } from 'react';
import { createRoot } from 'react-dom/client';
import { STORE, getToken } from './config.js';

// The service worker caches this app's shell (so it loads offline) and
// delivers pending notes when every tab is closed (ferry-sync/sw).
const serviceWorker = 'serviceWorker' in navigator
  ? navigator.serviceWorker.register('sw.js', { type: 'module' }).then(() => navigator.serviceWorker.ready)
  : Promise.resolve(undefined);

const client = await FerryClient.open({ name: STORE, endpoint: location.origin, getToken, intervalMs: 15_000 });
window.app = { client };  // for the tests and the curious

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <FerryProvider client={client}>
      <Status />
      <AddNote />
      <Notes />
    </FerryProvider>
  </StrictMode>,
);

// ---- notes

function Notes() {
  const client = useFerryClient();
  const { page, error } = useQuery({ collection: 'notes', orderBy: [{ path: 'createdAt', desc: true }] });
  useEffect(() => {
    if (page) document.body.dataset.ready = 'true';  // the notes are on screen
  }, [page]);
  if (error) return <p className="error">{error.message}</p>;
  return (
    <ul id="notes">
      {page?.documents.map(({ key, value }) => (
        <li key={key}>
          <span>{value.text}</span>
          <time dateTime={new Date(value.createdAt).toISOString()}>{new Date(value.createdAt).toLocaleTimeString()}</time>
          <button type="button" title="Delete" onClick={() => client.remove('notes', key)}>×</button>
        </li>
      ))}
    </ul>
  );
}

function AddNote() {
  const client = useFerryClient();
  const [text, setText] = useState('');
  const add = async (event) => {
    event.preventDefault();
    const note = text.trim();
    if (!note) return;
    setText('');
    const key = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    await client.put('notes', key, { text: note, createdAt: Date.now() });
  };
  return (
    <form id="add" onSubmit={add}>
      <input id="text" name="text" placeholder="Write a note…" autoComplete="off" required maxLength={2000} value={text} onChange={(event) => setText(event.target.value)} />
      <button type="submit">Add</button>
    </form>
  );
}

// ---- sync status

const states = { never_synced: 'not synced yet', idle: 'up to date', syncing: 'syncing…', offline: 'waiting for the network', error: 'will retry', auth_error: 'sign-in needed' };

function Status() {
  const client = useFerryClient();
  const status = useSyncStatus();
  const online = useOnline();
  const progress = usePushProgress(status.state === 'syncing');
  const error = status.state === 'error' ? status.lastError : '';
  const state = status.pending > 0 && status.state === 'idle' ? 'changes waiting' : states[status.state];
  return (
    <section id="status" aria-live="polite">
      <div><span className="label">Network</span> <span id="network" className={`badge ${online ? 'online' : 'offline'}`}>{online ? 'online' : 'offline'}</span></div>
      <div><span className="label">Sync</span> <span id="state" className={`badge ${status.state}`}>{state}</span></div>
      <div><span className="label">Waiting to sync</span> <span id="pending">{`${status.pending} change${status.pending === 1 ? '' : 's'}` + (status.failed ? `, ${status.failed} refused` : '')}</span></div>
      <div><span className="label">Last synced</span> <span id="last-synced">{status.lastSyncedAt ? new Date(status.lastSyncedAt).toLocaleTimeString() : 'never'}</span></div>
      <div><span className="label">Background sync</span> <BackgroundSync /></div>
      <div className="wide"><progress id="progress" max={progress.max} value={progress.done} hidden={!progress.shown} /></div>
      <div className="wide error" id="error" hidden={!error}>{error && `Last error: ${error}`}</div>
      <div className="wide"><button id="sync-now" type="button" onClick={() => client.syncNow()}>Sync now</button></div>
    </section>
  );
}

/** navigator.onLine, re-rendering on the online and offline events. */
function useOnline() {
  return useSyncExternalStore(
    (onChange) => {
      addEventListener('online', onChange);
      addEventListener('offline', onChange);
      return () => {
        removeEventListener('online', onChange);
        removeEventListener('offline', onChange);
      };
    },
    () => navigator.onLine,
  );
}

/** The running push's progress (sync.progress events), shown while a run lasts. */
function usePushProgress(syncing) {
  const client = useFerryClient();
  const [progress, setProgress] = useState({ shown: false, done: 0, max: 1 });
  useEffect(() => {
    const listener = ({ detail }) => setProgress({ shown: true, done: detail.pushDone, max: Math.max(1, detail.pushTotal) });
    client.addEventListener('sync.progress', listener);
    return () => client.removeEventListener('sync.progress', listener);
  }, [client]);
  return syncing ? progress : { ...progress, shown: false };
}

function BackgroundSync() {
  const [text, setText] = useState('–');
  useEffect(() => {
    let mounted = true;
    serviceWorker.then(async (registration) => {
      const periodic = registration ? await registerPeriodicSync(STORE, 12 * 60 * 60 * 1000) : false;
      if (!mounted) return;
      setText(!registration ? 'not available' : periodic ? 'on (and every 12 h)' : 'SyncManager' in window ? 'on' : 'when the app starts');
    });
    return () => {
      mounted = false;
    };
  }, []);
  return <span id="background" data-ready={text === '–' ? undefined : 'true'}>{text}</span>;
}
