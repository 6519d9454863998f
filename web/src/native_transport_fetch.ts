// The host transport of a native client (NativeOpenOptions.hostTransport):
// carries the engine's HTTP requests (NativeCallbacks.sendRequest) with the
// JavaScript runtime's own HTTP stack and answers through the NativeClient
// (completeRequest, requestData). React Native uses it, so the phone's build
// needs no libcurl and requests go through the platform's stack, proxies and
// certificates.
//
// What to send is the C++ side's: the URL, every header, and the body bytes,
// already gzipped (with Content-Encoding: gzip) where the options ask for it,
// since the native client compresses with zlib before handing a request over.
// This file only moves bytes.
//
// The live stream (stream: true) needs its body as it arrives. React
// Native's fetch has no streaming body (it answers once the whole body is
// there, which a live stream never is), but its XMLHttpRequest reports the
// text received so far on every progress event; runtimes without
// XMLHttpRequest (Node) read fetch's streaming body instead.
//
// Threading: the JS event loop.
import type { NativeClient, NativeHttpRequest } from './native_binding.js';
import { readBoundedBody, responseTooLarge } from './response_limit.js';

/** What the transport needs of its runtime; the globals by default. */
export interface HttpEnvironment {
  fetch: typeof fetch;
  /** Absent (Node): the live stream reads fetch's streaming body. */
  XMLHttpRequest?: typeof XMLHttpRequest;
}

const noBody = new Uint8Array(0);
/** Characters of a live stream XMLHttpRequest holds before the stream is opened anew. */
const xhrStreamTextLimit = 4 * 1024 * 1024;
const encoder = new TextEncoder();

export class FetchHostTransport {
  /** Requests in flight: how to abort each. A request's answer goes out only while it is here. */
  private readonly inflight = new Map<number, () => void>();
  private client: NativeClient | undefined;
  private closed = false;

  constructor(private readonly environment: HttpEnvironment = globalEnvironment()) {}

  /**
   * The client is open: answers go to it. NativeBackend calls this before
   * it hands over any request (those the engine sent while open was under
   * way wait for it there).
   */
  attach(client: NativeClient): void {
    this.client = client;
  }

  /** The client closed (or never opened): every request is aborted, and nothing more is answered. */
  close(): void {
    this.closed = true;
    for (const abort of this.inflight.values()) abort();
    this.inflight.clear();
  }

  /** NativeCallbacks.sendRequest: starts the request; its answer goes to the client. */
  readonly sendRequest = (request: NativeHttpRequest): void => {
    if (this.closed) return;
    if (request.stream && this.environment.XMLHttpRequest) this.startXhr(request, this.environment.XMLHttpRequest);
    else if (request.stream) void this.streamWithFetch(request);
    else void this.exchange(request);
  };

  /** NativeCallbacks.cancelRequest: the engine gave up on the request and expects no answer. */
  readonly cancelRequest = (id: number): void => {
    const abort = this.inflight.get(id);
    this.inflight.delete(id);
    abort?.();
  };

  // ---- requests with fetch

  /** A request whose whole answer is wanted: fetch, with its timeout through an AbortController. */
  private async exchange(request: NativeHttpRequest): Promise<void> {
    const controller = this.track(request.id);
    const timer = request.timeoutMs > 0 ? setTimeout(() => controller.abort(), request.timeoutMs) : undefined;
    try {
      const response = await this.environment.fetch(request.url, this.init(request, controller.signal));
      this.completeBounded(request.id, response, await readBoundedBody(response));
    } catch (error) {
      this.fail(request.id, controller.signal.aborted ? `no answer within ${request.timeoutMs} ms` : error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The live stream where fetch's body streams (Node): each chunk as it comes, then the end. */
  private async streamWithFetch(request: NativeHttpRequest): Promise<void> {
    const controller = this.track(request.id);
    try {
      const response = await this.environment.fetch(request.url, this.init(request, controller.signal));
      if (!response.ok || !response.body) {
        this.completeBounded(request.id, response, await readBoundedBody(response));
        return;
      }
      const reader = response.body.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        this.data(request.id, value);
      }
      this.complete(request.id, response.status, noBody, '');
    } catch (error) {
      this.fail(request.id, error);
    }
  }

  private init(request: NativeHttpRequest, signal: AbortSignal): RequestInit {
    // A GET has no body; fetch refuses one, even empty. The binding's bytes
    // are its own copy in an ArrayBuffer (never shared memory).
    const body = request.body.byteLength > 0 ? (request.body as Uint8Array<ArrayBuffer>) : undefined;
    return { method: request.method, headers: request.headers, body, signal };
  }

  // ---- the live stream with XMLHttpRequest (React Native)

  private startXhr(request: NativeHttpRequest, Xhr: typeof XMLHttpRequest): void {
    try {
      this.streamWithXhr(request, Xhr);
    } catch (error) {
      this.fail(request.id, error);  // open() or send() refused the request (a URL it cannot take)
    }
  }

  /**
   * responseText grows with every progress event; the part not yet passed
   * on is the next chunk. Only a 2xx answer is the stream: any other is an
   * error whose body goes with completeRequest.
   */
  private streamWithXhr(request: NativeHttpRequest, Xhr: typeof XMLHttpRequest): void {
    const xhr = new Xhr();
    let passedOn = 0;
    const streaming = () => xhr.status >= 200 && xhr.status < 300;
    const forward = () => {
      const text = xhr.responseText;
      if (!streaming() || text.length <= passedOn) return;
      const chunk = text.slice(passedOn);
      passedOn = text.length;
      this.data(request.id, encoder.encode(chunk));
      if (passedOn > xhrStreamTextLimit) this.endXhrStream(request.id, xhr);
    };
    this.inflight.set(request.id, () => xhr.abort());
    xhr.open(request.method, request.url);
    for (const [name, value] of request.headers) xhr.setRequestHeader(name, value);
    // Set before send: React Native asks its native side for incremental
    // text only when a progress listener is there at send().
    xhr.onprogress = forward;
    xhr.onload = () => {
      forward();
      const body = streaming() ? noBody : encoder.encode(xhr.responseText);
      this.complete(request.id, xhr.status, body, xhr.getResponseHeader('Retry-After') ?? '');
    };
    xhr.onerror = () => this.fail(request.id, 'the live stream failed (network error)');
    xhr.send();
  }

  /**
   * XMLHttpRequest keeps the whole body in responseText, so a stream is not
   * kept open forever: past the limit it ends as if the server had ended it,
   * and the engine opens a new one (the server's keep-alives alone take
   * weeks to get there; a busy stream of pokes, days).
   */
  private endXhrStream(id: number, xhr: XMLHttpRequest): void {
    xhr.onload = xhr.onerror = xhr.onprogress = null;
    xhr.abort();
    this.complete(id, xhr.status, noBody, '');
  }

  // ---- answers

  private track(id: number): AbortController {
    const controller = new AbortController();
    this.inflight.set(id, () => controller.abort());
    return controller;
  }

  private data(id: number, chunk: Uint8Array): void {
    if (this.inflight.has(id)) this.answer((client) => client.requestData(id, chunk));
  }

  private complete(id: number, status: number, body: Uint8Array, retryAfter: string): void {
    if (!this.inflight.delete(id)) return;  // cancelled: the engine wants no answer
    this.answer((client) => client.completeRequest(id, status, body, retryAfter, ''));
  }

  /** A whole answer, or (`body` undefined: past the limit) a transport error, as natively. */
  private completeBounded(id: number, response: Response, body: Uint8Array | undefined): void {
    if (body) this.complete(id, response.status, body, response.headers.get('Retry-After') ?? '');
    else this.fail(id, responseTooLarge);
  }

  /** No HTTP answer: status 0 with the reason, which the client reports as offline. */
  private fail(id: number, error: unknown): void {
    if (!this.inflight.delete(id)) return;
    const reason = typeof error === 'string' ? error : describeError(error);
    this.answer((client) => client.completeRequest(id, 0, noBody, '', reason || 'network error'));
  }

  private answer(answer: (client: NativeClient) => void): void {
    if (this.closed || !this.client) return;
    try {
      answer(this.client);
    } catch {
      // The client is closing: it has cancelled this request and wants no answer.
    }
  }
}

/** fetch's error, with its cause where it has one (Node: "fetch failed" alone says nothing). */
function describeError(error: unknown): string {
  const message = String((error as Error)?.message ?? error);
  const cause = (error as { cause?: { message?: unknown } } | null)?.cause?.message;
  return typeof cause === 'string' && cause !== '' ? `${message} (${cause})` : message;
}

function globalEnvironment(): HttpEnvironment {
  const scope = globalThis as { XMLHttpRequest?: typeof XMLHttpRequest };
  return { fetch: (input, init) => fetch(input, init), XMLHttpRequest: scope.XMLHttpRequest };
}
