// A todo list as a React app holds a client: opened in an effect, closed in
// its cleanup. "Show/hide" unmounts and remounts it (and so closes and opens
// the client), as navigating away and back does. With ?hooks, a notes list
// on ferry-sync/react instead: a live query, a document and the sync status.
import { FerryClient } from 'ferry-sync';
import { FerryProvider, useDocument, useFerryClient, useQuery, useSyncStatus } from 'ferry-sync/react';
import { useEffect, useState } from 'react';

const params = new URLSearchParams(location.search);
const key = params.get('key') ?? 'first';

export function App() {
  const [shown, setShown] = useState(true);
  if (params.has('hooks')) return <HooksApp />;
  return (
    <main>
      <button id="toggle" onClick={() => setShown((value) => !value)}>
        show/hide
      </button>
      {shown && <Todo />}
    </main>
  );
}

function Todo() {
  const [status, setStatus] = useState('opening');
  useEffect(() => {
    let mounted = true;
    const opening = FerryClient.open({ name: 'todos', endpoint: location.origin, getToken: async () => 'token-alice' });
    opening
      .then(async (client) => {
        if (!mounted) return;
        await client.put('todos', key, { title: `todo ${key}`, done: false });
        await client.syncNow();
        if (mounted) setStatus(client.status().pending === 0 ? 'synced' : 'pending');
      })
      .catch((error: unknown) => {
        if (mounted) setStatus(`failed: ${String(error)}`);
      });
    return () => {
      mounted = false;
      void opening.then((client) => client.close());
    };
  }, []);
  return <p id="status">{status}</p>;
}

function HooksApp() {
  const [client, setClient] = useState<FerryClient>();
  useEffect(() => {
    let mounted = true;
    const opening = FerryClient.open({ name: 'notes', endpoint: location.origin, getToken: async () => 'token-alice', autoSync: false });
    void opening.then((opened) => mounted && setClient(opened));
    return () => {
      mounted = false;
      void opening.then((opened) => opened.close());
    };
  }, []);
  if (!client) return <p id="opening">opening</p>;
  return (
    <FerryProvider client={client}>
      <Notes />
    </FerryProvider>
  );
}

interface Note {
  text: string;
  at: number;
}

function Notes() {
  const client = useFerryClient();
  const { page, error } = useQuery<Note>({ collection: 'notes', orderBy: [{ path: 'at', desc: true }], limit: 3 });
  const pinned = useDocument<Note>('pinned', 'note');
  const status = useSyncStatus();
  const [added, setAdded] = useState(0);
  const add = () => {
    setAdded(added + 1);
    void client.put('notes', `${Date.now()}-${Math.random()}`, { text: `${params.get('tab') ?? 'a'}${added + 1}`, at: Date.now() });
  };
  return (
    <main>
      <ul id="notes">{page?.documents.map(({ key, value }) => <li key={key}>{value.text}</li>)}</ul>
      <p id="more">{page === undefined ? 'loading' : page.next === null ? 'no more' : 'more'}</p>
      <p id="pinned">{pinned.loaded ? (pinned.value?.text ?? 'none') : 'loading'}</p>
      <p id="pending">{status.pending}</p>
      <p id="error">{error?.message ?? ''}</p>
      <button id="add" onClick={add}>add</button>
      <button id="pin" onClick={() => void client.put('pinned', 'note', { text: `pinned by ${params.get('tab') ?? 'a'}`, at: 0 })}>pin</button>
    </main>
  );
}
