// An unmodified OpenFeature client (server SDK with the OFREP provider)
// evaluates flags through the worker served by workerd on 127.0.0.1.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { OFREPProvider } from "@openfeature/ofrep-provider";
import { OpenFeature } from "@openfeature/server-sdk";

import { serveFixtureSnapshot, startWorker } from "./helpers.mjs";

let served;
let worker;
let client;
before(async () => {
  served = await serveFixtureSnapshot();
  worker = await startWorker(
    { CONTROL_PLANE_URL: served.cp.url, CLIENT_KEYS: "sdk-key" },
    { port: 0 },
  );
  const provider = new OFREPProvider({
    baseUrl: new URL(worker.url).origin,
    headers: [["Authorization", "Bearer sdk-key"]],
  });
  await OpenFeature.setProviderAndWait(provider);
  client = OpenFeature.getClient();
});
after(async () => {
  await OpenFeature.close();
  await worker?.dispose();
  await served?.close();
});

const ANN = { targetingKey: "ann@acme.test", tenantId: "acme" };

test("SDK reads every value type", async () => {
  assert.equal(await client.getBooleanValue("beta", false, ANN), true);
  assert.equal(await client.getStringValue("tier", "none", ANN), "gold");
  assert.equal(await client.getNumberValue("max-seats", 0, ANN), 50);
  assert.equal(await client.getNumberValue("ratio", 0, ANN), 0.5);
  assert.deepEqual(await client.getObjectValue("limits", {}, ANN), { burst: 99 });
});

test("SDK details carry level metadata", async () => {
  const details = await client.getStringDetails("tier", "none", ANN);
  assert.equal(details.value, "gold");
  assert.equal(details.reason, "TARGETING_MATCH");
  assert.equal(details.flagMetadata.level, "user");
  assert.equal(details.flagMetadata.revision, 5);
});

test("SDK falls back on unknown flag", async () => {
  const details = await client.getBooleanDetails("missing", true, ANN);
  assert.equal(details.value, true);
  assert.equal(details.errorCode, "FLAG_NOT_FOUND");
});

test("SDK falls back without targeting key", async () => {
  const details = await client.getBooleanDetails("beta", false, { tenantId: "acme" });
  assert.equal(details.value, false);
  assert.equal(details.errorCode, "TARGETING_KEY_MISSING");
});
