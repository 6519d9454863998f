// A todo list as a React app holds a client: opened in an effect, closed in
// its cleanup. "Show/hide" unmounts and remounts it (and so closes and opens
// the client), as navigating away and back does.
import { FerryClient } from 'ferry-sync';
import { useEffect, useState } from 'react';

const key = new URLSearchParams(location.search).get('key') ?? 'first';

export function App() {
  const [shown, setShown] = useState(true);
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
