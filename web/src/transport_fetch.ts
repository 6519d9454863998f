// Carries the engine's requests to ferry-server with fetch. What to send (the
// URL, every header, whether to gzip) comes from the C++ EngineHost, and the
// live stream's policy (reading its events, reconnecting) lives in the
// engine: this file only moves bytes.

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
  done(requestId: number, status: number, body: string, retryAfter: string, error: string): void;
}

export class FetchTransport {
  private readonly inflight = new Map<number, AbortController>();

  constructor(private readonly sink: TransferSink) {}

  start(request: OutgoingRequest): void {
    const controller = new AbortController();
    this.inflight.set(request.id, controller);
    const timeout = request.timeoutMs > 0 ? setTimeout(() => controller.abort(), request.timeoutMs) : undefined;
    const live = () => this.inflight.get(request.id) === controller;
    const finish = (status: number, text: string, retryAfter: string, error: string) => {
      clearTimeout(timeout);
      if (!live()) return; // aborted: no answer
      this.inflight.delete(request.id);
      this.sink.done(request.id, status, text, retryAfter, error);
    };
    (async () => {
      const headers = Object.fromEntries(request.headers);
      let body: BodyInit | undefined = request.body || undefined;
      if (request.gzip) body = await gzip(request.body);
      const response = await fetch(request.url, { method: request.method, headers, body, signal: controller.signal });
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

/** Whether this context can gzip request bodies (EngineHost asks before deciding). */
export const canGzip = typeof CompressionStream !== 'undefined';

async function gzip(text: string): Promise<ArrayBuffer> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Response(stream).arrayBuffer();
}
