// Shared by the page and the service worker.
export const storeName = 'notes';
export const endpoint = location.origin;  // ferry-server serves the app and the API here
