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

// In the order of RequestParts in boundary.rs.
const READ_HEADERS = ["origin", "authorization", "x-api-key", "if-none-match"];

/**
 * Returns the method, the URL and the headers the worker reads, joined by
 * "\n". A header the request lacks is "\0". Content-Type is read only
 * from POST, the one method whose body the worker reads, and is "\0" for
 * the others.
 */
export function requestParts(request) {
  const headers = request.headers;
  const method = request.method;
  let joined = method + "\n" + request.url;
  for (const name of READ_HEADERS) {
    const value = headers.get(name);
    joined += "\n" + (value === null ? ABSENT : value);
  }
  const contentType = method === "POST" ? headers.get("content-type") : null;
  return joined + "\n" + (contentType === null ? ABSENT : contentType);
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
