// The worker's request and response glue (glue.js, boundary.rs, entry.rs,
// json.rs and shim.js) through real HTTP to workerd: methods, URL forms,
// header values, OFREP bodies and escaped JSON values. Every response that
// carries a body must parse as JSON and never be a 500.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { admin, buildControlPlane, createEdgeToken, startControlPlane } from "./control-plane.mjs";
import { serveFixtureSnapshot, startWorker } from "./helpers.mjs";

const ORIGIN = "https://app.test";
const OFREP = "/ofrep/v1/evaluate/flags";
const ANN = { targetingKey: "ann@acme.test", tenantId: "acme" };
const MAX_BODY_BYTES = 64 * 1024;

let served;
before(async () => {
  served = await serveFixtureSnapshot();
});
after(async () => served?.close());

/**
 * Starts a worker that serves HTTP on a free port of 127.0.0.1 for one
 * suite and disposes it after; `env.http(path, init)` sends a request.
 */
function workerWith(vars = {}) {
  const env = {};
  before(async () => {
    env.worker = await startWorker(
      { CONTROL_PLANE_URL: served.cp.url, ALLOWED_ORIGINS: ORIGIN, ...vars },
      { port: 0 },
    );
    const base = env.worker.url.toString().replace(/\/$/, "");
    env.http = (path, init) => fetch(`${base}${path}`, init);
  });
  after(async () => env.worker?.dispose());
  return env;
}

/** Sends an OFREP POST over HTTP with a JSON content type by default. */
function postOfrep(env, path, body, headers = {}) {
  return env.http(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
}

/** Returns fetch options whose body undici sends chunked, without Content-Length. */
function chunked(text) {
  const bytes = new TextEncoder().encode(text);
  const stream = new ReadableStream({
    start(controller) {
      for (let at = 0; at < bytes.length; at += 16 * 1024) {
        controller.enqueue(bytes.subarray(at, at + 16 * 1024));
      }
      controller.close();
    },
  });
  return { body: stream, duplex: "half" };
}

/** Parses a response body as JSON, failing with the text when it is not. */
async function jsonOf(response) {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch (err) {
    assert.fail(`status ${response.status} body is not JSON (${err.message}): ${JSON.stringify(text)}`);
  }
}

function assertSnapshotHeaders(response, label) {
  assert.equal(response.headers.get("x-cascade-revision"), "5", `${label}: revision`);
  assert.match(response.headers.get("x-cascade-snapshot-age") ?? "", /^\d+$/, `${label}: age`);
}

describe("loaded snapshot over HTTP", () => {
  const env = workerWith();

  before(async () => {
    const warm = await env.http("/healthz");
    assert.equal(warm.status, 200);
    await warm.arrayBuffer();
  });

  test("HEAD flags has headers, no body", async () => {
    const response = await env.http("/v1/tenants/acme/flags", { method: "HEAD" });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.match(response.headers.get("etag") ?? "", /^"r5-[0-9a-f]{16}"$/);
    assertSnapshotHeaders(response, "HEAD");
    assert.equal(await response.text(), "");
  });

  test("HEAD with matching ETag is 304", async () => {
    const first = await env.http("/v1/tenants/acme/flags/beta", { method: "HEAD" });
    const etag = first.headers.get("etag");
    await first.arrayBuffer();
    const response = await env.http("/v1/tenants/acme/flags/beta", {
      method: "HEAD",
      headers: { "if-none-match": etag },
    });
    assert.equal(response.status, 304);
    assert.equal(response.headers.get("etag"), etag);
    assertSnapshotHeaders(response, "304");
    await response.arrayBuffer();
  });

  test("HEAD on OFREP is 405", async () => {
    const response = await env.http(OFREP, { method: "HEAD" });
    assert.equal(response.status, 405);
    assert.equal(response.headers.get("allow"), "POST, OPTIONS");
    assertSnapshotHeaders(response, "405");
    assert.equal(await response.text(), "");
  });

  for (const path of ["/v1/tenants/acme/users/ann/flags/beta", OFREP, `${OFREP}/beta`, "/healthz"]) {
    test(`OPTIONS preflight on ${path} carries revision`, async () => {
      const response = await env.http(path, {
        method: "OPTIONS",
        headers: {
          origin: ORIGIN,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type, x-api-key",
        },
      });
      assert.equal(response.status, 204);
      assert.equal(response.headers.get("access-control-allow-origin"), ORIGIN);
      assert.equal(response.headers.get("access-control-allow-methods"), "GET, HEAD, POST, OPTIONS");
      assert.equal(response.headers.get("vary"), "Origin");
      assertSnapshotHeaders(response, "preflight");
      assert.equal(await response.text(), "");
    });
  }

  const routingErrors = [
    ["unknown path", "GET", "/nowhere", 404, "not-found"],
    ["OPTIONS on unknown path", "OPTIONS", "/nowhere", 404, "not-found"],
    ["root path", "GET", "/", 404, "not-found"],
    ["DELETE on flags", "DELETE", "/v1/tenants/acme/flags", 405, "method-not-allowed"],
    ["PATCH on OFREP", "PATCH", OFREP, 405, "method-not-allowed"],
    ["invalid UTF-8 segment", "GET", "/v1/tenants/acme/users/%FF/flags", 400, "invalid-path"],
    ["truncated UTF-8 segment", "GET", "/v1/tenants/acme/users/%C3/flags/beta", 400, "invalid-path"],
  ];
  for (const [name, method, path, status, kind] of routingErrors) {
    test(`routing error: ${name} is ${status}`, async () => {
      const response = await env.http(path, { method, headers: { origin: ORIGIN } });
      assert.equal(response.status, status);
      assert.equal(response.headers.get("content-type"), "application/problem+json");
      assert.equal(response.headers.get("vary"), "Origin");
      assert.equal(response.headers.get("access-control-allow-origin"), ORIGIN);
      assertSnapshotHeaders(response, name);
      const body = await jsonOf(response);
      assert.equal(body.type, `urn:cascade:problem:${kind}`);
      assert.equal(body.status, status);
    });
  }

  const endpoints = [
    ["GET", "/healthz", undefined],
    ["GET", "/v1/tenants/acme/flags", undefined],
    ["GET", "/v1/tenants/acme/flags/beta", undefined],
    ["GET", "/v1/tenants/acme/users/ann%40acme.test/flags", undefined],
    ["GET", "/v1/tenants/acme/users/ann%40acme.test/flags/tier", undefined],
    ["POST", OFREP, JSON.stringify({ context: ANN })],
    ["POST", `${OFREP}/tier`, JSON.stringify({ context: ANN })],
  ];
  for (const [method, path, body] of endpoints) {
    test(`query and fragment ignored on ${path}`, async () => {
      const init = () => ({ method, body, headers: { "content-type": "application/json" } });
      const plain = await env.http(path, init());
      const expected = await jsonOf(plain);
      const suffixes = ["?a=1&b=%2F/x", "?", "#frag/x", "?flags=/v1/#/healthz", "?%00=%0A"];
      for (const suffix of suffixes) {
        const response = await env.http(`${path}${suffix}`, init());
        assert.equal(response.status, plain.status, `${path}${suffix}: status`);
        const actual = await jsonOf(response);
        // Health reports a snapshot age that may tick between requests.
        delete actual.snapshotAgeSeconds;
        delete expected.snapshotAgeSeconds;
        assert.deepEqual(actual, expected, `${path}${suffix}: body`);
      }
    });
  }

  const userIds = [
    ["encoded slash", "a%2Fb", "a/b"],
    ["NUL byte", "a%00b", "a\u0000b"],
    ["line feed", "a%0Ab", "a\nb"],
    ["quote backslash control", "a%22%5C%01%1F%7F", "a\"\\\u0001\u001f\u007f"],
    ["unicode", encodeURIComponent("üser ✓ 🚀"), "üser ✓ 🚀"],
    ["line separator", "%E2%80%A8", "\u2028"],
    ["256 bytes", encodeURIComponent("é".repeat(128)), "é".repeat(128)],
    ["raw unicode in URL", "ü", "ü"],
  ];
  for (const [name, segment, user] of userIds) {
    test(`user id with ${name} round-trips`, async () => {
      const all = await env.http(`/v1/tenants/acme/users/${segment}/flags`);
      assert.equal(all.status, 200);
      const body = await jsonOf(all);
      assert.equal(body.user, user);
      assert.equal(body.flags.length, 5);

      const one = await env.http(`/v1/tenants/acme/users/${segment}/flags/beta`);
      assert.equal(one.status, 200);
      assert.equal((await jsonOf(one)).key, "beta");

      const ofrep = await postOfrep(env, OFREP, JSON.stringify({ context: { targetingKey: user, tenantId: "acme" } }));
      assert.equal(ofrep.status, 200);
      assert.equal((await jsonOf(ofrep)).flags.length, 5);
    });
  }

  test("user id of 257 bytes is 400", async () => {
    const response = await env.http(`/v1/tenants/acme/users/${"x".repeat(257)}/flags/beta`);
    assert.equal(response.status, 400);
    const body = await jsonOf(response);
    assert.equal(body.type, "urn:cascade:problem:invalid-user");
    assertSnapshotHeaders(response, "400");
  });

  test("tenant id with quote is 400 problem", async () => {
    const response = await env.http("/v1/tenants/a%22%5Cb%0A/flags");
    assert.equal(response.status, 400);
    const body = await jsonOf(response);
    assert.equal(body.type, "urn:cascade:problem:invalid-tenant");
    assert.match(body.detail, /a\\"\\\\b\\n/);
  });

  test("flag key with escapes is 404 problem", async () => {
    const response = await env.http("/v1/tenants/acme/flags/a%22%5C%0A%C3%BC");
    assert.equal(response.status, 404);
    assert.equal((await jsonOf(response)).type, "urn:cascade:problem:flag-not-found");

    const ofrep = await postOfrep(env, `${OFREP}/a%22%5C%0A%C3%BC`, JSON.stringify({ context: ANN }));
    assert.equal(ofrep.status, 404);
    const body = await jsonOf(ofrep);
    assert.equal(body.key, "a\"\\\nü");
    assert.equal(body.errorCode, "FLAG_NOT_FOUND");
  });

  const origins = [
    ["listed origin", ORIGIN, ORIGIN],
    ["origin with trailing tab", `${ORIGIN}\t`, ORIGIN],
    ["empty origin", "", null],
    ["Latin-1 byte origin", `${ORIGIN}\u00e9`, null],
    ["origin with suffix", `${ORIGIN}.evil`, null],
  ];
  for (const [name, origin, granted] of origins) {
    test(`CORS for ${name}`, async () => {
      const response = await env.http("/v1/tenants/acme/flags/beta", { headers: { origin } });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("access-control-allow-origin"), granted);
      assert.equal(response.headers.get("vary"), "Origin");
      assert.equal((await jsonOf(response)).key, "beta");
    });
  }

  test("long and odd header values answer 200", async () => {
    const headers = [
      { authorization: `Bearer ${"k".repeat(60_000)}` },
      { "x-api-key": "\u00ff\u00e9\tkey" },
      { authorization: "" },
      { "if-none-match": "\u00ff" },
      { "content-type": "x".repeat(8_000) },
    ];
    for (const header of headers) {
      const response = await env.http("/v1/tenants/acme/flags/beta", { headers: header });
      assert.equal(response.status, 200, Object.keys(header)[0]);
      assert.equal((await jsonOf(response)).value, true);
    }
  });

  test("If-None-Match forms match weakly", async () => {
    const path = "/v1/tenants/acme/users/ann%40acme.test/flags";
    const first = await env.http(path);
    const etag = first.headers.get("etag");
    await first.arrayBuffer();
    const cases = [
      [etag, 304],
      [`W/${etag}`, 304],
      [`"other", ${etag}`, 304],
      [`"other",W/${etag} , "more"`, 304],
      ["*", 304],
      ["", 200],
      ["\"other\"", 200],
      [etag.slice(1, -1), 200],
      [`${etag.slice(0, -2)}"`, 200],
    ];
    for (const [ifNoneMatch, status] of cases) {
      const response = await env.http(path, { headers: { "if-none-match": ifNoneMatch } });
      assert.equal(response.status, status, `If-None-Match ${JSON.stringify(ifNoneMatch)}`);
      if (status === 304) {
        assert.equal(response.headers.get("etag"), etag);
        assert.equal(await response.text(), "");
      } else {
        assert.equal((await jsonOf(response)).user, "ann@acme.test");
      }
    }
  });

  test("OFREP bulk If-None-Match list gets 304", async () => {
    const body = JSON.stringify({ context: ANN });
    const first = await postOfrep(env, OFREP, body);
    const etag = first.headers.get("etag");
    await first.arrayBuffer();
    const response = await postOfrep(env, OFREP, body, { "if-none-match": `"x", W/${etag}` });
    assert.equal(response.status, 304);
    assert.equal(response.headers.get("access-control-allow-origin"), null);
    assertSnapshotHeaders(response, "304");
    await response.arrayBuffer();
  });

  test("OFREP without body is 400 PARSE_ERROR", async () => {
    for (const path of [OFREP, `${OFREP}/beta`]) {
      const response = await env.http(path, { method: "POST", headers: { "content-type": "application/json" } });
      assert.equal(response.status, 400, path);
      const body = await jsonOf(response);
      assert.equal(body.errorCode, "PARSE_ERROR");
      assertSnapshotHeaders(response, path);
    }
  });

  test("OFREP chunked body is evaluated", async () => {
    const response = await env.http(`${OFREP}/tier`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      ...chunked(JSON.stringify({ context: ANN })),
    });
    assert.equal(response.status, 200);
    const body = await jsonOf(response);
    assert.equal(body.value, "gold");
    assert.equal(body.metadata.level, "user");
  });

  test("OFREP body of exactly 64 KiB is evaluated", async () => {
    const json = JSON.stringify({ context: ANN });
    const padded = json + " ".repeat(MAX_BODY_BYTES - json.length);
    assert.equal(Buffer.byteLength(padded), MAX_BODY_BYTES);
    for (const init of [{ body: padded }, chunked(padded)]) {
      const response = await env.http(`${OFREP}/tier`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        ...init,
      });
      assert.equal(response.status, 200);
      assert.equal((await jsonOf(response)).value, "gold");
    }
  });

  test("OFREP chunked body over 64 KiB is 413", async () => {
    const json = JSON.stringify({ context: ANN });
    const padded = json + " ".repeat(MAX_BODY_BYTES + 1 - json.length);
    for (const path of [OFREP, `${OFREP}/tier`]) {
      const response = await env.http(path, {
        method: "POST",
        headers: { "content-type": "application/json", origin: ORIGIN },
        ...chunked(padded),
      });
      assert.equal(response.status, 413, path);
      assert.equal(response.headers.get("access-control-allow-origin"), ORIGIN);
      const body = await jsonOf(response);
      assert.equal(body.errorCode, "GENERAL");
    }
  });

  test("OFREP chunked body of 4 MiB is 413", async () => {
    const response = await env.http(OFREP, {
      method: "POST",
      headers: { "content-type": "application/json" },
      ...chunked(`{"context":${JSON.stringify(ANN)},"pad":"${"x".repeat(4 * 1024 * 1024)}"}`),
    });
    assert.equal(response.status, 413);
    assert.equal((await jsonOf(response)).errorCode, "GENERAL");
  });

  test("OFREP Content-Length over 64 KiB is 413", async () => {
    const body = JSON.stringify({ context: { ...ANN, pad: "x".repeat(MAX_BODY_BYTES) } });
    const response = await postOfrep(env, OFREP, body);
    assert.equal(response.status, 413);
    assert.equal((await jsonOf(response)).errorCode, "GENERAL");
    assertSnapshotHeaders(response, "413");
  });

  test(
    "OFREP Content-Length 413 carries CORS",
    async () => {
      const body = JSON.stringify({ context: { ...ANN, pad: "x".repeat(MAX_BODY_BYTES) } });
      const response = await postOfrep(env, OFREP, body, { origin: ORIGIN });
      assert.equal(response.status, 413);
      await response.arrayBuffer();
      assert.equal(response.headers.get("vary"), "Origin");
      assert.equal(response.headers.get("access-control-allow-origin"), ORIGIN);
    },
  );

  test(
    "OFREP single Content-Length 413 names key",
    async () => {
      const body = JSON.stringify({ context: { ...ANN, pad: "x".repeat(MAX_BODY_BYTES) } });
      const response = await postOfrep(env, `${OFREP}/tier`, body);
      assert.equal(response.status, 413);
      const reply = await jsonOf(response);
      assert.equal(reply.errorCode, "GENERAL");
      assert.equal(reply.key, "tier");
    },
  );

  const contentTypes = [
    ["missing", undefined, 415],
    ["empty", "", 415],
    ["text/plain", "text/plain", 415],
    ["JSON suffix type", "application/merge-patch+json", 415],
    ["two types joined", "application/json, text/plain", 415],
    ["charset parameter", "application/json; charset=utf-8", 200],
    ["upper case with space", "Application/JSON ;charset=UTF-8", 200],
    ["bare semicolon", "application/json;", 200],
  ];
  for (const [name, contentType, status] of contentTypes) {
    test(`OFREP content type ${name} is ${status}`, async () => {
      const headers = contentType === undefined ? {} : { "content-type": contentType };
      const response = await env.http(`${OFREP}/beta`, {
        method: "POST",
        headers,
        // A Blob without a type makes undici send no Content-Type at all.
        body: new Blob([JSON.stringify({ context: ANN })]),
      });
      assert.equal(response.status, status);
      const body = await jsonOf(response);
      assert.equal(body.key, "beta");
      if (status === 415) {
        assert.equal(body.errorCode, "PARSE_ERROR");
        assert.ok(body.errorDetails.includes(JSON.stringify(contentType ?? "")), body.errorDetails);
      }
    });
  }

  test("OFREP body not UTF-8 is 400", async () => {
    const bodies = [
      new Uint8Array([0x7b, 0xff, 0x7d]),
      Buffer.concat([Buffer.from('{"context":{"targetingKey":"a'), Buffer.from([0xc3]), Buffer.from('","tenantId":"acme"}}')]),
      Buffer.from(JSON.stringify({ context: ANN }), "utf16le"),
    ];
    for (const body of bodies) {
      const response = await postOfrep(env, OFREP, body);
      assert.equal(response.status, 400);
      assert.equal((await jsonOf(response)).errorCode, "PARSE_ERROR");
    }
  });

  test("OFREP body with byte order mark is 400", async () => {
    const body = `\ufeff${JSON.stringify({ context: ANN })}`;
    const response = await postOfrep(env, OFREP, body);
    assert.equal(response.status, 400);
    assert.equal((await jsonOf(response)).errorCode, "PARSE_ERROR");
  });

  test("concurrent answers keep their own bodies", async () => {
    const users = Array.from({ length: 150 }, (_, i) => `user-${i}-${"é".repeat(i % 100)}`);
    const answers = await Promise.all(
      users.map(async (user) => {
        const response = await env.http(`/v1/tenants/acme/users/${encodeURIComponent(user)}/flags`);
        return { status: response.status, body: await jsonOf(response) };
      }),
    );
    answers.forEach(({ status, body }, i) => {
      assert.equal(status, 200, users[i]);
      assert.equal(body.user, users[i]);
      assert.equal(body.flags.length, 5);
    });
  });
});

describe("first load", () => {
  const env = workerWith();

  test("preflight before load has no revision", async () => {
    const response = await env.http(OFREP, { method: "OPTIONS", headers: { origin: ORIGIN } });
    assert.equal(response.status, 204);
    assert.equal(response.headers.get("x-cascade-revision"), null);
    assert.equal(response.headers.get("access-control-allow-origin"), ORIGIN);
    await response.arrayBuffer();
  });

  test("first request as chunked OFREP loads", async () => {
    const requests = [
      env.http(`${OFREP}/tier`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        ...chunked(JSON.stringify({ context: ANN })),
      }),
      env.http("/v1/tenants/acme/users/ann%40acme.test/flags/tier", { method: "HEAD" }),
      postOfrep(env, OFREP, JSON.stringify({ context: ANN })),
    ];
    const [one, head, bulk] = await Promise.all(requests);
    assert.equal(one.status, 200);
    assertSnapshotHeaders(one, "one");
    assert.equal((await jsonOf(one)).value, "gold");
    assert.equal(head.status, 200);
    assertSnapshotHeaders(head, "HEAD");
    assert.equal(await head.text(), "");
    assert.equal(bulk.status, 200);
    assert.equal((await jsonOf(bulk)).flags.length, 5);
  });
});

describe("escaped values from the control plane", () => {
  // Every character class that JSON escapes or that a hand-written writer
  // could copy wrongly: quote, backslash, controls, DEL, non-ASCII, U+2028.
  const TEXT = "q\"b\\s/t\tn\nr\rc\u0001\u001f\u007f é ✓ 🚀 \u2028 </script>";
  const USER = "ü\"\\\n\u0000/x";
  const OBJECT = { "a\"b": ["\u0000", 1.5e300, "\\"], ü: null, "\u2028": { n: -1 } };
  let controlPlane;
  let worker;

  before(async () => {
    buildControlPlane();
    controlPlane = await startControlPlane();
    await admin(controlPlane, "POST", "/v1/flags", { key: "motto", type: "string", default: TEXT });
    await admin(controlPlane, "POST", "/v1/flags", { key: "cfg", type: "object", default: OBJECT });
    await admin(controlPlane, "POST", "/v1/tenants", { id: "acme", display_name: "Acme" });
    const userPath = `/v1/tenants/acme/users/${encodeURIComponent(USER)}/flags/motto`;
    await admin(controlPlane, "PUT", userPath, { value: `user ${TEXT}` });
    const edgeToken = await createEdgeToken(controlPlane);
    worker = await startWorker({ CONTROL_PLANE_URL: controlPlane.url, EDGE_TOKEN: edgeToken });
  });
  after(async () => {
    await worker?.dispose();
    await controlPlane?.stop();
    controlPlane?.removeData();
  });

  test("/v1 all flags escape values", async () => {
    const response = await worker.fetch(`/v1/tenants/acme/users/${encodeURIComponent(USER)}/flags`);
    assert.equal(response.status, 200);
    const body = await jsonOf(response);
    assert.equal(body.user, USER);
    const byKey = Object.fromEntries(body.flags.map((flag) => [flag.key, flag]));
    assert.equal(byKey.motto.value, `user ${TEXT}`);
    assert.equal(byKey.motto.level, "user");
    assert.deepEqual(byKey.cfg.value, OBJECT);
  });

  test("/v1 one flag escapes default", async () => {
    const response = await worker.fetch("/v1/tenants/acme/users/bob/flags/motto");
    assert.equal(response.status, 200);
    const body = await jsonOf(response);
    assert.equal(body.value, TEXT);
    assert.equal(body.level, "platform");
  });

  test("OFREP single and bulk escape values", async () => {
    const context = JSON.stringify({ context: { targetingKey: USER, tenantId: "acme" } });
    const init = { method: "POST", headers: { "content-type": "application/json" }, body: context };
    const one = await worker.fetch(`${OFREP}/motto`, init);
    assert.equal(one.status, 200);
    assert.equal((await jsonOf(one)).value, `user ${TEXT}`);

    const bulk = await worker.fetch(OFREP, init);
    assert.equal(bulk.status, 200);
    const byKey = Object.fromEntries((await jsonOf(bulk)).flags.map((flag) => [flag.key, flag]));
    assert.equal(byKey.motto.value, `user ${TEXT}`);
    assert.deepEqual(byKey.cfg.value, OBJECT);
  });
});
