// Nothing for ferry-sync. The proxy is the dev-server recipe (the app talks
// to its own origin; /v1 goes to ferry-server).
export default {
  server: { proxy: { '/v1': process.env.FERRY_SERVER ?? 'http://localhost:8080' } },
};
