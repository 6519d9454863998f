import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Nothing for ferry-sync: the React plugin only. The proxy is the dev-server
// recipe (the app talks to its own origin; /v1 goes to ferry-server).
export default defineConfig({
  plugins: [react()],
  server: { proxy: { '/v1': process.env.FERRY_SERVER ?? 'http://localhost:8080' } },
});
