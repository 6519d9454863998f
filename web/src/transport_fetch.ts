// Carries the engine's requests to ferry-server with fetch, and keeps the
// live stream (/v1/live, Server-Sent Events read with fetch) open.
//
// Request headers, SSE parsing and the live stream's reconnect backoff are
// moving into the C++ core and its shared host (issue 12); this file will
// then only carry bytes.
import type { ResolvedOptions } from './options.js';

/** How the answer to a request goes back to the engine (WebClient.handleResponse). */
export type AnswerRequest = (requestId: number, status: number, body: string, retryAfter: string, error: string) => void;

export class FetchTransport {
  private readonly inflight = new Map<number, AbortController>();

  constructor(
    private readonly options: Pick<ResolvedOptions, 'endpoint' | 'getToken' | 'gzipAboveBytes'>,
    private readonly answer: AnswerRequest,
  ) {}

  /** The headers every request to ferry-server carries; the token is asked for each request (never kept). */
  async requestHeaders(accept: string, refresh: boolean): Promise<Record<string, string>> {
    const headers: Record<string, string> = { Accept: accept, 'Ferry-Protocol': '1' };
    const token = this.options.getToken ? await this.options.getToken({ refresh }) : '';
    if (token) headers.Authorization = `Bearer ${token}`;
    return headers;
  }

  url(path: string): string {
    return this.options.endpoint.replace(/\/+$/, '') + path;
  }

  start(requestId: number, method: string, target: string, body: string, timeoutMs: number, refresh: boolean): void {
    const controller = new AbortController();
    this.inflight.set(requestId, controller);
    const timeout = setTimeout(() => controller.abort(), timeoutMs);
    const finish = (status: number, text: string, retryAfter: string, error: string) => {
      clearTimeout(timeout);
      if (!this.inflight.delete(requestId)) return; // aborted: no answer
      this.answer(requestId, status, text, retryAfter, error);
    };
    (async () => {
      const headers = await this.requestHeaders('application/json', refresh);
      let payload: BodyInit | undefined;
      if (body) {
        headers['Content-Type'] = 'application/json';
        payload = body;
        if (body.length > this.options.gzipAboveBytes && typeof CompressionStream !== 'undefined') {
          payload = await gzip(body);
          headers['Content-Encoding'] = 'gzip';
        }
      }
      const response = await fetch(this.url(target), {
        method,
        headers,
        body: payload,
        signal: controller.signal,
      });
      const text = await response.text();
      finish(response.status, text, response.headers.get('Retry-After') ?? '', '');
    })().catch((error: unknown) => {
      finish(0, '', '', controller.signal.aborted ? 'request timed out' : String((error as Error)?.message ?? error));
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

async function gzip(text: string): Promise<ArrayBuffer> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Response(stream).arrayBuffer();
}

/**
 * Keeps the live stream open until the returned function is called: "hello"
 * on connect (catch up on what was missed) and "poke" on changes call
 * `onPoke`. Reconnects with jittered backoff, at most every 30 s.
 */
export function startLiveStream(transport: FetchTransport, onPoke: () => void): () => void {
  const controller = new AbortController();
  const stopped = () => controller.signal.aborted;
  void (async () => {
    let failures = 0;
    while (!stopped()) {
      const online = (globalThis as { navigator?: { onLine?: boolean } }).navigator?.onLine !== false;
      if (online) {
        try {
          const headers = await transport.requestHeaders('text/event-stream', failures > 0);
          const response = await fetch(transport.url('/v1/live'), { headers, signal: controller.signal });
          if (response.ok && response.body) {
            const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
            let buffered = '';
            for (;;) {
              const { value, done } = await reader.read();
              if (done || stopped()) break;
              buffered += value;
              let newline: number;
              while ((newline = buffered.indexOf('\n')) >= 0) {
                const line = buffered.slice(0, newline).replace(/\r$/, '');
                buffered = buffered.slice(newline + 1);
                if (line === 'event: hello') failures = 0;
                if ((line === 'event: hello' || line === 'event: poke') && !stopped()) onPoke();
              }
              if (buffered.length > 65536) buffered = '';  // not an event stream
            }
          } else {
            await response.body?.cancel();
          }
        } catch {
          // aborted (stopped) or unreachable: retried below
        }
      }
      if (stopped()) return;
      ++failures;
      const cap = Math.min(30_000, 500 * 2 ** Math.min(failures, 16));
      await new Promise((resolve) => setTimeout(resolve, cap / 2 + Math.random() * (cap / 2)));
    }
  })();
  return () => controller.abort();
}
