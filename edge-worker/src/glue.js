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

/** Returns the header `name` of `headers`, or ABSENT. */
function header(headers, name) {
  const value = headers.get(name);
  return value === null ? ABSENT : value;
}

/**
 * Returns the method, the URL and the headers the worker reads, joined by
 * "\n" in the order of RequestParts in boundary.rs. A header the request
 * lacks is "\0". Each header read is a call into the runtime, so the
 * client-key headers are read only when `readsKeys` is true (the worker
 * has client keys). Content-Type is read only from POST, the one method
 * whose body the worker reads. Headers not read are "\0" too.
 */
export function requestParts(request, readsKeys) {
  const headers = request.headers;
  const method = request.method;
  const keys = readsKeys
    ? header(headers, "authorization") + "\n" + header(headers, "x-api-key")
    : ABSENT + "\n" + ABSENT;
  const contentType = method === "POST" ? header(headers, "content-type") : ABSENT;
  return (
    method + "\n" + request.url + "\n" + header(headers, "origin") + "\n" + keys + "\n" +
    header(headers, "if-none-match") + "\n" + contentType
  );
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
