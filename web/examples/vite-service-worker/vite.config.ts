import { defineConfig } from 'vite';
import { ferryServiceWorker } from 'ferry-sync/vite';

export default defineConfig({
  // Emits dist/sw.js in `vite build`, serves /sw.js in `vite dev`.
  plugins: [ferryServiceWorker({ entry: 'src/sw.ts' })],
});
