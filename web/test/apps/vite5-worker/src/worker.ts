// A Web Worker with its own store: writes there sync like the page's.
import { writeAndSync } from './todos';

self.onmessage = async (event: MessageEvent<{ key: string }>) => {
  try {
    self.postMessage((await writeAndSync('worker-todos', event.data.key)) ? 'synced' : 'pending');
  } catch (error) {
    self.postMessage(`failed: ${String(error)}`);
  }
};
