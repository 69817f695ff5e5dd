// OFREP single and bulk evaluation in workerd, every body validated
// against the protocol's response schemas.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import Ajv2020 from "ajv/dist/2020.js";

import {
  WORKER_DIR,
  pollUntil,
  postJson,
  revisionOf,
  serveFixtureSnapshot,
  startWorker,
} from "./helpers.mjs";

const schema = JSON.parse(readFileSync(join(WORKER_DIR, "test/schemas/ofrep.schema.json"), "utf8"));
const ajv = new Ajv2020({ allErrors: true, strict: false });
ajv.addSchema(schema);

/** Asserts that `body` matches the schema `name` of ofrep.schema.json. */
function assertSchema(name, body) {
  const validate = ajv.getSchema(`urn:cascade:test:ofrep#/$defs/${name}`);
  assert.ok(validate(body), `${name}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(body)}`);
}

const ONE = "/ofrep/v1/evaluate/flags";
const ANN = { targetingKey: "ann@acme.test", tenantId: "acme" };

let served;
let worker;
before(async () => {
  served = await serveFixtureSnapshot();
  worker = await startWorker({ CONTROL_PLANE_URL: served.cp.url });
});
after(async () => {
  await worker?.dispose();
  await served?.close();
});

describe("single flag", () => {
  const expected = [
    ["beta", true, "tenant", "TARGETING_MATCH"],
    ["tier", "gold", "user", "TARGETING_MATCH"],
    ["max-seats", 50, "tenant", "TARGETING_MATCH"],
    ["ratio", 0.5, "integrator", "TARGETING_MATCH"],
    ["limits", { burst: 99 }, "user", "TARGETING_MATCH"],
  ];
  for (const [key, value, level, reason] of expected) {
    test(`single ${key} value and metadata`, async () => {
      const response = await postJson(worker, `${ONE}/${key}`, { context: ANN });
      assert.equal(response.status, 200);
      assert.equal(revisionOf(response), 5);
      const body = await response.json();
      assertSchema("evaluationSuccess", body);
      assert.equal(body.key, key);
      assert.deepEqual(body.value, value);
      assert.equal(body.reason, reason);
      assert.equal(body.metadata.level, level);
      assert.equal(body.metadata.revision, 5);
      assert.equal(typeof body.metadata.snapshotAgeSeconds, "number");
    });
  }

  test("platform default is STATIC", async () => {
    const context = { targetingKey: "bob", tenantId: "globex" };
    const response = await postJson(worker, `${ONE}/tier`, { context });
    const body = await response.json();
    assertSchema("evaluationSuccess", body);
    assert.equal(body.value, "free");
    assert.equal(body.reason, "STATIC");
    assert.equal(body.metadata.level, "platform");
    assert.equal(body.metadata.cascadeReason, "DEFAULT");
  });

  test("unknown tenant gets platform default", async () => {
    const context = { targetingKey: "bob", tenantId: "newcomer" };
    const response = await postJson(worker, `${ONE}/max-seats`, { context });
    const body = await response.json();
    assertSchema("evaluationSuccess", body);
    assert.equal(body.value, 5);
    assert.equal(body.metadata.cascadeReason, "UNKNOWN_TENANT");
  });

  test("unknown flag is 404 FLAG_NOT_FOUND", async () => {
    const response = await postJson(worker, `${ONE}/Beta`, { context: ANN });
    assert.equal(response.status, 404);
    const body = await response.json();
    assertSchema("flagNotFound", body);
    assert.equal(body.key, "Beta");
    assert.equal(body.errorCode, "FLAG_NOT_FOUND");
  });
});

describe("bad requests", () => {
  const cases = [
    ["missing targetingKey", { context: { tenantId: "acme" } }, 400, "TARGETING_KEY_MISSING"],
    ["empty targetingKey", { context: { targetingKey: "", tenantId: "acme" } }, 400, "TARGETING_KEY_MISSING"],
    ["257-byte targetingKey", { context: { targetingKey: "u".repeat(257), tenantId: "acme" } }, 400, "INVALID_CONTEXT"],
    ["missing tenantId", { context: { targetingKey: "ann" } }, 400, "INVALID_CONTEXT"],
    ["empty tenantId", { context: { targetingKey: "ann", tenantId: "" } }, 400, "INVALID_CONTEXT"],
    ["numeric tenantId", { context: { targetingKey: "ann", tenantId: 7 } }, 400, "INVALID_CONTEXT"],
    ["missing context", {}, 400, "INVALID_CONTEXT"],
    ["malformed JSON", '{"context": {', 400, "PARSE_ERROR"],
  ];
  for (const [name, body, status, code] of cases) {
    test(`single ${name} is ${code}`, async () => {
      const response = await postJson(worker, `${ONE}/beta`, body);
      assert.equal(response.status, status);
      const reply = await response.json();
      assertSchema("evaluationFailure", reply);
      assert.equal(reply.key, "beta");
      assert.equal(reply.errorCode, code);
      assert.ok(reply.errorDetails.length > 0);
    });

    test(`bulk ${name} is ${code}`, async () => {
      const response = await postJson(worker, ONE, body);
      assert.equal(response.status, status);
      const reply = await response.json();
      assertSchema("bulkEvaluationFailure", reply);
      assert.equal(reply.errorCode, code);
    });
  }

  test("wrong content type is 415", async () => {
    const response = await worker.fetch(`${ONE}/beta`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ context: ANN }),
    });
    assert.equal(response.status, 415);
    const body = await response.json();
    assertSchema("evaluationFailure", body);
    assert.equal(body.errorCode, "PARSE_ERROR");
    assert.match(body.errorDetails, /text\/plain/);
  });

  test("oversized body is 413", async () => {
    const context = { ...ANN, padding: "x".repeat(70 * 1024) };
    const response = await postJson(worker, ONE, { context });
    assert.equal(response.status, 413);
    assertSchema("bulkEvaluationFailure", await response.json());
  });

  test("GET on OFREP is 405", async () => {
    const response = await worker.fetch(ONE);
    assert.equal(response.status, 405);
    assert.equal(response.headers.get("allow"), "POST, OPTIONS");
    await response.arrayBuffer();
  });
});

describe("bulk", () => {
  test("bulk returns every flag", async () => {
    const response = await postJson(worker, ONE, { context: ANN });
    assert.equal(response.status, 200);
    const body = await response.json();
    assertSchema("bulkEvaluationSuccess", body);
    assert.deepEqual(
      body.flags.map((f) => f.key),
      ["beta", "limits", "max-seats", "ratio", "tier"],
    );
    assert.equal(body.metadata.revision, 5);
    for (const flag of body.flags) {
      assertSchema("evaluationSuccess", flag);
    }
  });

  test("repeated bulk request gets 304", async () => {
    const first = await postJson(worker, ONE, { context: ANN });
    const etag = first.headers.get("etag");
    assert.match(etag, /^"r5-[0-9a-f]{16}"$/);
    await first.arrayBuffer();

    const second = await postJson(worker, ONE, { context: ANN }, { "if-none-match": etag });
    assert.equal(second.status, 304);
    assert.equal(second.headers.get("etag"), etag);
    assert.equal((await second.arrayBuffer()).byteLength, 0);
  });

  test("other context never gets the 304", async () => {
    const first = await postJson(worker, ONE, { context: ANN });
    const etag = first.headers.get("etag");
    await first.arrayBuffer();

    const others = [
      { targetingKey: "bob", tenantId: "acme" },
      { targetingKey: "ann@acme.test", tenantId: "globex" },
      { targetingKey: "Ann@acme.test", tenantId: "acme" },
    ];
    for (const context of others) {
      const response = await postJson(worker, ONE, { context }, { "if-none-match": etag });
      assert.equal(response.status, 200, JSON.stringify(context));
      assert.notEqual(response.headers.get("etag"), etag);
      assertSchema("bulkEvaluationSuccess", await response.json());
    }
  });

  test("new revision invalidates the ETag", async () => {
    const first = await postJson(worker, ONE, { context: ANN });
    const etag = first.headers.get("etag");
    await first.arrayBuffer();

    served.cp.serve(served.fixtures.read("r6.snap"), 6);
    await pollUntil(
      () => worker.fetch("/healthz"),
      (r) => revisionOf(r) === 6,
    );
    const response = await postJson(worker, ONE, { context: ANN }, { "if-none-match": etag });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("etag"), /^"r6-/);
    const body = await response.json();
    assert.equal(body.flags.find((f) => f.key === "beta").value, false);
  });
});
