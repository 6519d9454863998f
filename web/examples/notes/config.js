// Shared by the page (app.js) and the service worker (sw.js).
export const STORE = 'notes';

// The demo's ferry-server accepts this token (see scripts/demo-web.sh). A real
// app gets its token from its own sign-in; Ferry asks for it before every
// request and never stores it, so the service worker needs its own way to
// obtain one (e.g. a refresh token the app keeps in IndexedDB, or cookies).
export const getToken = () => 'demo-token';
