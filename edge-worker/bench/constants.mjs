// Constant-response workers for the benchmarks: one JavaScript module
// worker that returns, for each path, a response fixed in advance. Besides
// a trivial response (one header, a small body), it returns copies of the
// edge worker's own responses, fetched once: status, headers and body. A
// run against such a copy costs what receiving the request and sending
// that response costs, so the edge worker's difference to it is what
// computing the response costs.
//
// As a command, writes the module for a running edge worker:
//
//   node edge-worker/bench/constants.mjs OUT_FILE BASE_URL TENANT USER FLAG
//
// with USER percent-encoded as in a path. The module serves /trivial,
// /healthz, /one, /all and (POST) /ofrep.

import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

// Headers that describe the connection or the framing rather than the
// response; workerd sets them itself. A constant worker that declared
// Content-Encoding would have workerd compress its body.
const FRAMING_HEADERS = new Set([
  "content-length",
  "content-encoding",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "date",
]);

/** The trivial constant response: one header and a 29-byte body. */
export const TRIVIAL = {
  status: 200,
  headers: [["content-type", "application/json"]],
  body: JSON.stringify({ key: "beta", value: true }),
};

/**
 * Fetches one response as a constant, uncompressed like the responses
 * that wrk gets.
 */
export async function capture(url, init = {}) {
  const requestHeaders = { ...init.headers, "accept-encoding": "identity" };
  const response = await fetch(url, { ...init, headers: requestHeaders });
  const headers = [...response.headers].filter(([name]) => !FRAMING_HEADERS.has(name));
  return { status: response.status, headers, body: await response.text() };
}

/**
 * Returns the requests that the benchmarks send to the edge worker, keyed
 * by the name of the constant copy of each response. `user` is
 * percent-encoded.
 */
export function endpointRequests(base, { tenant, user, flag }) {
  const all = `${base}/v1/tenants/${tenant}/users/${user}/flags`;
  const context = { targetingKey: decodeURIComponent(user), tenantId: tenant };
  return {
    healthz: { url: `${base}/healthz` },
    one: { url: `${all}/${flag}` },
    all: { url: all },
    ofrep: {
      url: `${base}/ofrep/v1/evaluate/flags`,
      init: {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ context }),
      },
    },
  };
}

/** Copies the edge worker's response to each of `requests`, by name. */
export async function captureAll(requests) {
  const responses = { trivial: TRIVIAL };
  for (const [name, { url, init }] of Object.entries(requests)) {
    responses[name] = await capture(url, init);
  }
  return responses;
}

/**
 * Returns the source of a module worker that responds to a URL whose last
 * segment is a name of `responses` with that response. It reads a POST
 * body first, as the edge worker does. It looks the name up with string
 * operations only, so that routing costs next to nothing.
 */
export function constantWorkerSource(responses) {
  return `const RESPONSES = ${JSON.stringify(responses)};
export default {
  async fetch(request) {
    const url = request.url;
    const constant = RESPONSES[url.slice(url.lastIndexOf("/") + 1)];
    if (constant === undefined) {
      return new Response("no constant response at this path", { status: 404 });
    }
    if (request.method === "POST") {
      await request.arrayBuffer();
    }
    return new Response(constant.body, { status: constant.status, headers: constant.headers });
  },
};
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [out, base, tenant, user, flag] = process.argv.slice(2);
  if (!flag) {
    console.error("usage: node edge-worker/bench/constants.mjs OUT_FILE BASE_URL TENANT USER FLAG");
    process.exit(2);
  }
  const responses = await captureAll(endpointRequests(base, { tenant, user, flag }));
  writeFileSync(out, constantWorkerSource(responses));
}
