// The /v1/tenants/... endpoints in workerd: answers, bad requests, caching,
// CORS and client keys.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { serveFixtureSnapshot, startWorker } from "./helpers.mjs";

let served;
before(async () => {
  served = await serveFixtureSnapshot();
});
after(async () => served?.close());

/** Starts a worker with extra vars for one suite; disposes it after. */
function workerWith(vars = {}) {
  const env = {};
  before(async () => {
    env.worker = await startWorker({ CONTROL_PLANE_URL: served.cp.url, ...vars });
  });
  after(async () => env.worker?.dispose());
  return env;
}

async function problem(response) {
  assert.equal(response.headers.get("content-type"), "application/problem+json");
  const body = await response.json();
  assert.equal(body.status, response.status);
  assert.ok(body.detail.length > 0);
  return body;
}

describe("evaluation", () => {
  const env = workerWith();

  test("user flags list every level", async () => {
    const response = await env.worker.fetch("/v1/tenants/acme/users/ann%40acme.test/flags");
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.equal(body.tenant, "acme");
    assert.equal(body.user, "ann@acme.test");
    assert.equal(body.revision, 5);
    const byKey = Object.fromEntries(body.flags.map((f) => [f.key, f]));
    assert.deepEqual(byKey.tier, {
      key: "tier", type: "string", value: "gold", level: "user", reason: "TARGETING_MATCH",
    });
    assert.equal(byKey["max-seats"].level, "tenant");
    assert.equal(byKey.ratio.level, "integrator");
    assert.deepEqual(byKey.limits.value, { burst: 99 });
  });

  test("percent-encoded unicode user id", async () => {
    const user = encodeURIComponent("üser/ß 1");
    const response = await env.worker.fetch(`/v1/tenants/acme/users/${user}/flags/beta`);
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.equal(body.value, false);
    assert.equal(body.level, "user");
  });

  test("no user stops at tenant level", async () => {
    const response = await env.worker.fetch("/v1/tenants/acme/flags/tier");
    const body = await response.json();
    assert.equal(body.value, "partner");
    assert.equal(body.level, "integrator");
    const beta = await (await env.worker.fetch("/v1/tenants/acme/flags/beta")).json();
    assert.equal(beta.level, "tenant");
  });

  test("responses carry revision age and caching", async () => {
    const response = await env.worker.fetch("/v1/tenants/acme/flags/beta");
    assert.equal(response.headers.get("x-cascade-revision"), "5");
    assert.match(response.headers.get("x-cascade-snapshot-age"), /^\d+$/);
    assert.equal(response.headers.get("cache-control"), "private, max-age=5, must-revalidate");
    assert.match(response.headers.get("etag"), /^"r5-[0-9a-f]{16}"$/);
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    await response.arrayBuffer();
  });

  test("matching If-None-Match gets 304", async () => {
    const path = "/v1/tenants/acme/users/ann%40acme.test/flags";
    const first = await env.worker.fetch(path);
    const etag = first.headers.get("etag");
    await first.arrayBuffer();
    const second = await env.worker.fetch(path, { headers: { "if-none-match": etag } });
    assert.equal(second.status, 304);
    const other = await env.worker.fetch("/v1/tenants/acme/users/bob/flags", {
      headers: { "if-none-match": etag },
    });
    assert.equal(other.status, 200);
    await other.arrayBuffer();
  });
});

describe("bad requests", () => {
  const env = workerWith();
  const long = "x".repeat(257);
  const cases = [
    ["empty tenant", "/v1/tenants//flags", 400, "invalid-tenant"],
    ["empty tenant with user", "/v1/tenants//users/ann/flags/beta", 400, "invalid-tenant"],
    ["missing tenant", "/v1/tenants/flags", 404, "not-found"],
    ["uppercase tenant", "/v1/tenants/Acme/flags", 400, "invalid-tenant"],
    ["empty user", "/v1/tenants/acme/users//flags", 400, "invalid-user"],
    ["257-byte user", `/v1/tenants/acme/users/${long}/flags`, 400, "invalid-user"],
    ["unknown flag", "/v1/tenants/acme/users/ann/flags/Beta", 404, "flag-not-found"],
    ["invalid encoding", "/v1/tenants/acme/users/%FF/flags", 400, "invalid-path"],
    ["unknown path", "/v2/tenants/acme/flags", 404, "not-found"],
  ];
  for (const [name, path, status, kind] of cases) {
    test(`${name} is ${status} ${kind}`, async () => {
      const response = await env.worker.fetch(path);
      assert.equal(response.status, status);
      const body = await problem(response);
      assert.equal(body.type, `urn:cascade:problem:${kind}`);
    });
  }

  test("256-byte unicode user is accepted", async () => {
    const user = encodeURIComponent("ü".repeat(128));
    const response = await env.worker.fetch(`/v1/tenants/acme/users/${user}/flags/beta`);
    assert.equal(response.status, 200);
    await response.arrayBuffer();
  });

  test("error names the offending value", async () => {
    const response = await env.worker.fetch("/v1/tenants/Acme/flags");
    const body = await problem(response);
    assert.match(body.detail, /"Acme"/);
  });

  test("routing errors carry the revision", async () => {
    const response = await env.worker.fetch("/v2/nothing");
    assert.equal(response.status, 404);
    assert.equal(response.headers.get("x-cascade-revision"), "5");
    assert.match(response.headers.get("x-cascade-snapshot-age"), /^\d+$/);
    await response.arrayBuffer();
  });

  test("POST on /v1 is 405 with Allow", async () => {
    const response = await env.worker.fetch("/v1/tenants/acme/flags", { method: "POST" });
    assert.equal(response.status, 405);
    assert.equal(response.headers.get("allow"), "GET, HEAD, OPTIONS");
    await problem(response);
  });
});

describe("CORS and client keys", () => {
  const env = workerWith({
    ALLOWED_ORIGINS: "https://app.example.test",
    CLIENT_KEYS: "browser-key,acme=acme-key",
  });
  const allowed = "https://app.example.test";

  test("preflight needs no key", async () => {
    const response = await env.worker.fetch("/ofrep/v1/evaluate/flags", {
      method: "OPTIONS",
      headers: {
        origin: allowed,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });
    assert.equal(response.status, 204);
    assert.equal(response.headers.get("access-control-allow-origin"), allowed);
    assert.match(response.headers.get("access-control-allow-headers"), /Authorization/);
    assert.match(response.headers.get("access-control-allow-methods"), /POST/);
  });

  test("unlisted origin gets no CORS grant", async () => {
    const response = await env.worker.fetch("/v1/tenants/acme/flags", {
      headers: { origin: "https://other.test", authorization: "Bearer browser-key" },
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("access-control-allow-origin"), null);
    assert.equal(response.headers.get("vary"), "Origin");
    await response.arrayBuffer();
  });

  test("missing key is 401", async () => {
    const response = await env.worker.fetch("/v1/tenants/acme/flags", { headers: { origin: allowed } });
    assert.equal(response.status, 401);
    assert.equal(response.headers.get("www-authenticate"), "Bearer");
    assert.equal(response.headers.get("access-control-allow-origin"), allowed);
    const body = await problem(response);
    assert.equal(body.type, "urn:cascade:problem:unauthorized");
  });

  test("unknown key is 401", async () => {
    const response = await env.worker.fetch("/v1/tenants/acme/flags", {
      headers: { "x-api-key": "guess" },
    });
    assert.equal(response.status, 401);
    await response.arrayBuffer();
  });

  test("tenant key elsewhere is 403", async () => {
    const response = await env.worker.fetch("/v1/tenants/globex/flags", {
      headers: { "x-api-key": "acme-key" },
    });
    assert.equal(response.status, 403);
    const body = await problem(response);
    assert.equal(body.type, "urn:cascade:problem:forbidden");
  });

  test("tenant key on its tenant is 200", async () => {
    const response = await env.worker.fetch("/ofrep/v1/evaluate/flags/beta", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer acme-key", origin: allowed },
      body: JSON.stringify({ context: { targetingKey: "ann", tenantId: "acme" } }),
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("access-control-allow-origin"), allowed);
    assert.match(response.headers.get("access-control-expose-headers"), /ETag/);
    await response.arrayBuffer();
  });

  test("health needs no key", async () => {
    const response = await env.worker.fetch("/healthz");
    assert.equal(response.status, 200);
    await response.arrayBuffer();
  });
});

describe("misconfiguration", () => {
  const env = workerWith({ CONTROL_PLANE_URL: "", REFRESH_INTERVAL_SECONDS: "soon" });

  test("missing URL is 500 naming the setting", async () => {
    const response = await env.worker.fetch("/healthz");
    assert.equal(response.status, 500);
    const body = await problem(response);
    assert.equal(body.type, "urn:cascade:problem:misconfigured");
    assert.match(body.detail, /CONTROL_PLANE_URL/);
    assert.match(body.detail, /wrangler\.toml/);
  });
});
