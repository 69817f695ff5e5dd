// Snapshot loading in workerd: first load, background refresh, and the
// last good snapshot kept through failures, corrupt and older bytes.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import {
  pollUntil,
  revisionOf,
  startTestControlPlane,
  startWorker,
  writeFixtures,
} from "./helpers.mjs";

const BETA = "/v1/tenants/acme/flags/beta";

let fixtures;
before(() => {
  fixtures = writeFixtures();
});
after(() => fixtures.remove());

/** Starts a test control plane and a worker fed by it; stops both after. */
function setup() {
  const env = {};
  before(async () => {
    env.cp = await startTestControlPlane();
    env.worker = await startWorker({ CONTROL_PLANE_URL: env.cp.url });
  });
  after(async () => {
    await env.worker?.dispose();
    await env.cp?.close();
  });
  return env;
}

/** Makes worker requests until the control plane has seen `count` more. */
async function waitForRefreshes(env, count) {
  const target = env.cp.state.requests + count;
  const response = await pollUntil(
    () => env.worker.fetch(BETA),
    () => env.cp.state.requests >= target,
  );
  assert.ok(env.cp.state.requests >= target, `control plane saw ${env.cp.state.requests} requests`);
  return response;
}

describe("no snapshot", () => {
  const env = setup();

  test("no snapshot answers 503 problem", async () => {
    env.cp.state.status = 500;
    const response = await env.worker.fetch(BETA);
    assert.equal(response.status, 503);
    assert.equal(response.headers.get("content-type"), "application/problem+json");
    assert.ok(Number(response.headers.get("retry-after")) >= 1);
    assert.equal(response.headers.get("x-cascade-revision"), null);
    const body = await response.json();
    assert.equal(body.type, "urn:cascade:problem:snapshot-unavailable");
    assert.equal(body.status, 503);
  });

  test("health is 503 without snapshot", async () => {
    const response = await env.worker.fetch("/healthz");
    assert.equal(response.status, 503);
    await response.arrayBuffer();
  });

  test("first snapshot is loaded once served", async () => {
    env.cp.serve(fixtures.read("r5.snap"), 5);
    const response = await pollUntil(
      () => env.worker.fetch(BETA),
      (r) => r.status === 200,
    );
    assert.equal(response.status, 200);
    assert.equal(revisionOf(response), 5);
    assert.equal((await response.json()).value, true);
  });
});

describe("refresh", () => {
  const env = setup();

  before(async () => {
    env.cp.serve(fixtures.read("r5.snap"), 5);
  });

  test("cold isolate waits for first load", async () => {
    const response = await env.worker.fetch(BETA);
    assert.equal(response.status, 200);
    assert.equal(revisionOf(response), 5);
    assert.ok(Number(response.headers.get("x-cascade-snapshot-age")) >= 0);
    await response.arrayBuffer();
  });

  test("refresh sends edge token and revision ETag", async () => {
    await waitForRefreshes(env, 1);
    assert.equal(env.cp.state.lastIfNoneMatch, '"r5"');
  });

  test("corrupt bytes keep the good snapshot", async () => {
    env.cp.serve(fixtures.read("r7-corrupt.snap"), 7);
    const response = await waitForRefreshes(env, 2);
    assert.equal(response.status, 200);
    assert.equal(revisionOf(response), 5);
    await response.arrayBuffer();
    const again = await env.worker.fetch(BETA);
    assert.equal(revisionOf(again), 5);
    assert.equal((await again.json()).value, true);
  });

  test("older revision keeps the good snapshot", async () => {
    env.cp.serve(fixtures.read("r4.snap"), 4);
    await waitForRefreshes(env, 2);
    const response = await env.worker.fetch(BETA);
    assert.equal(revisionOf(response), 5);
    assert.equal((await response.json()).value, true);
  });

  test("failing control plane keeps the good snapshot", async () => {
    env.cp.state.status = 500;
    await waitForRefreshes(env, 2);
    const response = await env.worker.fetch(BETA);
    assert.equal(response.status, 200);
    assert.equal(revisionOf(response), 5);
    await response.arrayBuffer();
  });

  test("newer revision replaces the snapshot", async () => {
    env.cp.serve(fixtures.read("r6.snap"), 6);
    const response = await pollUntil(
      () => env.worker.fetch(BETA),
      (r) => revisionOf(r) === 6,
    );
    assert.equal(revisionOf(response), 6);
    assert.equal((await response.json()).value, false);
  });

  test("health reports revision and age", async () => {
    const response = await env.worker.fetch("/healthz");
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.equal(body.status, "ok");
    assert.equal(body.revision, 6);
    assert.equal(typeof body.snapshotAgeSeconds, "number");
    assert.equal(body.flags, 5);
  });
});

describe("unreachable control plane", () => {
  const env = setup();

  test("stopped control plane keeps answering", async () => {
    env.cp.serve(fixtures.read("r5.snap"), 5);
    const first = await env.worker.fetch(BETA);
    assert.equal(revisionOf(first), 5);
    await first.arrayBuffer();

    await env.cp.close();
    // Let refreshes fail against the closed port for a while.
    for (let i = 0; i < 20; i += 1) {
      const response = await env.worker.fetch(BETA);
      assert.equal(response.status, 200);
      assert.equal(revisionOf(response), 5);
      await response.arrayBuffer();
      await new Promise((ok) => setTimeout(ok, 50));
    }
  });
});
