/// <reference lib="webworker" />
import { installFerrySync, tokenFromPages } from 'ferry-sync/sw';
import { endpoint, storeName } from './config';

declare const self: ServiceWorkerGlobalScope;

installFerrySync({ name: storeName, endpoint, getToken: tokenFromPages(storeName) });

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
