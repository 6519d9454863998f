// Carries the engine's requests to ferry-server with fetch. What to send (the
// URL, every header, whether to gzip) comes from the C++ EngineHost, and the
// live stream's policy (reading its events, reconnecting) lives in the
// engine: this file only moves bytes.

import { isNode } from './module.js';
import { platform } from './platform.js';
import { readBoundedBody, responseTooLarge } from './response_limit.js';

/** A request as EngineHost builds it (bindings/js/web_client.cc RequestJson). */
export interface OutgoingRequest {
  id: number;
  method: string;
  url: string;
  headers: [string, string][];
  body: string;
  /** Compress the body with gzip: the headers already say Content-Encoding: gzip. */
  gzip: boolean;
  /** 0: no overall limit (the live stream). */
  timeoutMs: number;
  /** The live stream: its body goes to `data` chunk by chunk, then `done`. */
  stream: boolean;
}

/** Where a transfer's outcome goes (WebClient.handleStreamData / handleTransferDone). */
export interface TransferSink {
  data(requestId: number, chunk: string): void;
  /** `serverReached`: with status 0, the server answered but the browser refused the answer (CORS). */
  done(requestId: number, status: number, body: string, retryAfter: string, error: string, serverReached: boolean): void;
}

export class FetchTransport {
  private readonly inflight = new Map<number, AbortController>();

  constructor(private readonly sink: TransferSink) {}

  start(request: OutgoingRequest): void {
    const controller = new AbortController();
    this.inflight.set(request.id, controller);
    const timeout = request.timeoutMs > 0 ? setTimeout(() => controller.abort(), request.timeoutMs) : undefined;
    const live = () => this.inflight.get(request.id) === controller;
    const finish = (status: number, text: string, retryAfter: string, error: string, serverReached = false) => {
      clearTimeout(timeout);
      if (!live()) return; // aborted: no answer
      this.inflight.delete(request.id);
      this.sink.done(request.id, status, text, retryAfter, error, serverReached);
    };
    (async () => {
      const headers = Object.fromEntries(request.headers);
      let body: BodyInit | undefined = request.body || undefined;
      if (request.gzip) body = await gzip(request.body);
      const init = { method: request.method, headers, signal: controller.signal };
      // The live stream (a GET) may need the platform's fetch: see platform.ts.
      const response = request.stream ? await (platform().streamFetch ?? fetch)(request.url, init) : await fetch(request.url, { ...init, body });
      if (request.stream && response.ok && response.body) {
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done || !live()) break;
          this.sink.data(request.id, value);
        }
        finish(response.status, '', '', '');
        return;
      }
      const answer = await readBoundedBody(response);
      if (!answer) return finish(0, '', '', responseTooLarge);
      finish(response.status, new TextDecoder().decode(answer), response.headers.get('Retry-After') ?? '', '');
    })().catch(async (error: unknown) => {
      if (controller.signal.aborted) return finish(0, '', '', 'request timed out');
      const message = String((error as Error)?.message ?? error);
      if (await refusedCrossOrigin(request.url)) {
        finish(0, '', '', `ferry-server at ${new URL(request.url).origin} answered, but the browser refused this page the answer (CORS): ` +
          `start ferry-server with --cors-origin ${pageOrigin()}${corsAllowHeaderFlags(request.headers)}, or serve the page and /v1 from one origin (a dev-server proxy)`, true);
      } else {
        finish(0, '', '', message);
      }
    });
  }

  abort(requestId: number): void {
    const controller = this.inflight.get(requestId);
    this.inflight.delete(requestId);
    controller?.abort();
  }

  /** Aborts every request in flight; none of them is answered. */
  abortAll(): void {
    for (const controller of this.inflight.values()) controller.abort();
    this.inflight.clear();
  }
}

/**
 * After a fetch failed without an answer: whether the server is reachable
 * and only the browser's cross-origin check refused the answer. A fetch in
 * "no-cors" mode is not subject to that check: it answers (opaquely) if the
 * server does. Browsers only; same-origin requests never meet CORS.
 */
async function refusedCrossOrigin(url: string): Promise<boolean> {
  const page = pageOrigin();
  if (typeof page !== 'string' || isNode || new URL(url).origin === page) return false;
  try {
    await fetch(new URL('/v1/health', url), { mode: 'no-cors', cache: 'no-store', signal: AbortSignal.timeout(5000) });
    return true;
  } catch {
    return false;  // no answer at all: offline, or the server is down
  }
}

function pageOrigin(): string | undefined {
  return (globalThis as { location?: { origin?: string } }).location?.origin;
}

/** Whether this context can gzip request bodies (EngineHost asks before deciding). */
export const canGzip = typeof CompressionStream !== 'undefined';

async function gzip(text: string): Promise<ArrayBuffer> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Response(stream).arrayBuffer();
}

/** The headers the engine host always builds; ferry-server allows these in preflight by itself. */
const headersFerrySends = new Set(['accept', 'authorization', 'content-type', 'content-encoding', 'ferry-protocol']);

/** " --cors-allow-header NAME" for each of the app's custom headers (the `headers` option) a request carries. */
function corsAllowHeaderFlags(headers: [string, string][]): string {
  return headers
    .filter(([name]) => !headersFerrySends.has(name.toLowerCase()))
    .map(([name]) => ` --cors-allow-header ${name}`)
    .join('');
}
