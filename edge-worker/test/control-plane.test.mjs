// The worker fed by a real control-plane process: an admin change reaches
// the worker, and the worker keeps answering once the control plane stops.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { admin, buildControlPlane, createEdgeToken, startControlPlane } from "./control-plane.mjs";
import { pollUntil, revisionOf, startWorker } from "./helpers.mjs";

const BETA = "/v1/tenants/acme/users/ann/flags/beta";

let cp;
let worker;
before(async () => {
  buildControlPlane();
  cp = await startControlPlane();
  await admin(cp, "POST", "/v1/flags", { key: "beta", type: "boolean", default: false });
  await admin(cp, "POST", "/v1/tenants", { id: "acme", display_name: "Acme" });
  const edgeToken = await createEdgeToken(cp);
  // The default refresh interval from wrangler.toml, so the test runs the
  // configuration that is deployed.
  worker = await startWorker({
    CONTROL_PLANE_URL: cp.url,
    EDGE_TOKEN: edgeToken,
    REFRESH_INTERVAL_SECONDS: "0.5",
  });
});
after(async () => {
  await worker?.dispose();
  await cp?.stop();
  cp?.removeData();
});

async function betaOf(response) {
  assert.equal(response.status, 200);
  return (await response.json()).value;
}

test("worker loads the control plane snapshot", async () => {
  const response = await worker.fetch(BETA);
  assert.equal(await betaOf(response), false);
});

test("admin change reaches the worker", async () => {
  const before = await worker.fetch(BETA);
  const oldRevision = revisionOf(before);
  await before.arrayBuffer();

  await admin(cp, "PUT", "/v1/tenants/acme/flags/beta", { value: true });
  const response = await pollUntil(
    () => worker.fetch(BETA),
    (r) => revisionOf(r) > oldRevision,
  );
  assert.ok(revisionOf(response) > oldRevision, "worker never saw the new revision");
  const body = await response.json();
  assert.equal(body.value, true);
  assert.equal(body.level, "tenant");
});

test("user override reaches OFREP", async () => {
  await admin(cp, "PUT", "/v1/tenants/acme/users/ann/flags/beta", { value: false });
  const read = () =>
    worker.fetch("/ofrep/v1/evaluate/flags/beta", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ context: { targetingKey: "ann", tenantId: "acme" } }),
    });
  const response = await pollUntil(read, async (r) => (await r.clone().json()).metadata?.level === "user");
  const body = await response.json();
  assert.equal(body.value, false);
  assert.equal(body.metadata.level, "user");
});

test("stopped control plane: worker keeps answering", async () => {
  const before = await worker.fetch(BETA);
  const revision = revisionOf(before);
  const value = await betaOf(before);

  await cp.stop();
  for (let i = 0; i < 20; i += 1) {
    const response = await worker.fetch(BETA);
    assert.equal(revisionOf(response), revision);
    assert.equal(await betaOf(response), value);
    await new Promise((ok) => setTimeout(ok, 100));
  }
});
