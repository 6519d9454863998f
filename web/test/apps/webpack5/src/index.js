import { FerryClient } from 'ferry-sync';

const key = new URLSearchParams(location.search).get('key') ?? 'first';
const status = document.getElementById('status');

async function main() {
  const client = await FerryClient.open({ name: 'todos', endpoint: location.origin, getToken: async () => 'token-alice' });
  await client.put('todos', key, { title: `todo ${key}`, done: false });
  await client.syncNow();
  status.textContent = client.status().pending === 0 ? 'synced' : 'pending';
  await client.close();
}

main().catch((error) => {
  status.textContent = `failed: ${String(error)}`;
});
