// The other process of store_lock.test.mjs: opens the store in the directory
// named by argv[2] and says on stdout how that went ('open' or 'refused
// <code> <message>'); once open, it holds the store until a line 'close'
// arrives on stdin (then closes and exits) or it is killed.
import { createInterface } from 'node:readline';

import { FerryClient } from 'ferry-sync';

const directory = process.argv[2];
let client;
try {
  client = await FerryClient.open({ name: 'other', endpoint: 'http://127.0.0.1:9', directory, autoSync: false, liveUpdates: false });
  await client.put('notes', 'from-child', { by: 'child' });
  console.log('open');
} catch (error) {
  console.log(`refused ${error.code} ${error.message}`);
  process.exit(0);
}
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'close') break;
}
await client.close();
process.exit(0);
