import { FerryClient } from 'ferry-sync';

/** Opens the store `name`, writes a todo under `key`, syncs it and closes: true when the server has it. */
export async function writeAndSync(name: string, key: string): Promise<boolean> {
  const client = await FerryClient.open({ name, endpoint: location.origin, getToken: async () => 'token-alice' });
  try {
    await client.put('todos', key, { title: `todo ${key}`, done: false });
    await client.syncNow();
    return client.status().pending === 0;
  } finally {
    await client.close();
  }
}
