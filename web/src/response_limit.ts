// Answers are read up to a limit, as natively (CurlTransport's
// max_response_bytes in platform/include/ferry/transport_curl.h): a server,
// proxy or captive portal answering without end must not take the page's
// memory. A larger answer is a transport failure (status 0): the engine
// keeps every write and retries later, as after any network fault.

/** The decoded body's bytes at most, as natively: 64 MiB. */
export const maxResponseBytes = 64 * 1024 * 1024;

/** The transport error of an answer past the limit, worded as natively. */
export const responseTooLarge = `response larger than ${maxResponseBytes} bytes`;

/** The body's bytes; undefined (and the download stopped) past `limit` bytes. */
export async function readBoundedBody(response: Response, limit = maxResponseBytes): Promise<Uint8Array | undefined> {
  if (!response.body) {
    // React Native's fetch has no streaming body: it hands over the whole
    // text at once (read natively; its arrayBuffer() goes through base64),
    // so the check can only come after it. ferry-server answers UTF-8 JSON.
    const bytes = new TextEncoder().encode(await response.text());
    return bytes.byteLength > limit ? undefined : bytes;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      reader.cancel().catch(() => {});  // the rest is never downloaded
      return undefined;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
