// The live stream's fetch in Node: node:http(s) with its socket unref'd, so
// that an open stream alone never keeps the process running (Node's global
// fetch, undici, has no way to unref a connection). Answers a standard
// Response, so transport_fetch.ts reads it like any other.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';

import type { StreamFetch } from './platform.js';

export const unrefStreamFetch: StreamFetch = (url, init) =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;  // TLS verification stays on
    const request = send(target, { method: init.method, headers: init.headers, signal: init.signal }, (answer) => resolve(toResponse(answer)));
    request.on('socket', (socket) => socket.unref());
    request.on('error', reject);
    request.end();
  });

function toResponse(answer: IncomingMessage): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return new Response(Readable.toWeb(answer) as ReadableStream<Uint8Array>, { status: answer.statusCode ?? 500, headers });
}
