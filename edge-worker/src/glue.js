// Moves a request's fields into the worker's wasm and a reply out of it,
// each in one call. Every string that crosses the boundary costs a UTF-8
// conversion, and every call a transition. Reading eight request fields
// and setting eight response headers one call at a time cost more than
// evaluating a flag.
//
// Fields and header lines are separated by "\n", which the Fetch API's
// Headers reject in names and values and which URL serialization
// percent-encodes, so no field contains one.

const ABSENT = "\u0000";

// In the order of RequestParts in boundary.rs. The body headers matter
// only to POST, the one method with a body that the worker reads.
const READ_HEADERS = ["origin", "authorization", "x-api-key", "content-type", "if-none-match", "content-length"];
const BODY_HEADERS = new Set(["content-type", "content-length"]);

/**
 * Returns the method, the URL and the headers the worker reads, joined by
 * "\n". A header the request lacks is "\0", and so are the body headers of
 * a request other than POST.
 */
export function requestParts(request) {
  const headers = request.headers;
  const method = request.method;
  const post = method === "POST";
  let joined = method + "\n" + request.url;
  for (const name of READ_HEADERS) {
    const value = post || !BODY_HEADERS.has(name) ? headers.get(name) : null;
    joined += "\n" + (value === null ? ABSENT : value);
  }
  return joined;
}

/**
 * Reads a request body of at most `limit` bytes. Resolves to the bytes, or
 * to null when the body is longer. The rest of a longer body is read and
 * dropped chunk by chunk: it is never held whole, and the client, still
 * sending, gets the 413 instead of a reset connection.
 */
export async function readBody(request, limit) {
  if (request.body === null) {
    return new Uint8Array(0);
  }
  const reader = request.body.getReader();
  let chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      break;
    }
    size += value.byteLength;
    if (size > limit) {
      chunks = null;
    } else {
      chunks.push(value);
    }
  }
  if (chunks === null) {
    return null;
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/**
 * Builds a Response from a status, header lines ("name\nvalue\n..." with
 * no trailing separator, or "" for none) and a body, which the Response
 * copies out of wasm memory.
 */
export function buildResponse(status, head, body) {
  const headers = new Headers();
  if (head.length > 0) {
    const parts = head.split("\n");
    for (let i = 0; i + 1 < parts.length; i += 2) {
      headers.append(parts[i], parts[i + 1]);
    }
  }
  return new Response(body.length === 0 ? null : body, { status, headers });
}
