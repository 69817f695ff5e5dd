// Measures the time from an admin change to the worker's first answer with
// the new value: a real control-plane process, the worker in workerd
// (Miniflare) with the default refresh interval, and a client that polls
// the worker back to back, as steady traffic would.
//
// Usage: node edge-worker/bench/change-to-edge.mjs [CHANGES]   (default 20)
//
// Each change flips a tenant override with PUT; the clock starts before the
// PUT is sent, so the figure includes the control plane's commit.

import { setTimeout as sleep } from "node:timers/promises";

import { admin, buildControlPlane, createEdgeToken, startControlPlane } from "../test/control-plane.mjs";
import { startWorker } from "../test/helpers.mjs";

const changes = Number(process.argv[2] ?? 20);
const PATH = "/v1/tenants/acme/flags/beta";

buildControlPlane();
const cp = await startControlPlane();
let worker;
try {
  await admin(cp, "POST", "/v1/flags", { key: "beta", type: "boolean", default: false });
  await admin(cp, "POST", "/v1/tenants", { id: "acme", display_name: "Acme" });
  worker = await startWorker({
    CONTROL_PLANE_URL: cp.url,
    EDGE_TOKEN: await createEdgeToken(cp),
    REFRESH_INTERVAL_SECONDS: "0.5",
  });

  const valueNow = async () => (await (await worker.fetch(PATH)).json()).value;
  let value = await valueNow();
  const samples = [];
  for (let i = 0; i < changes; i += 1) {
    // A random pause puts each change at a different point of the refresh cycle.
    await sleep(Math.random() * 500);
    const wanted = !value;
    const start = performance.now();
    await admin(cp, "PUT", "/v1/tenants/acme/flags/beta", { value: wanted });
    while ((await valueNow()) !== wanted) {
      // Back-to-back requests, as steady traffic would send.
    }
    samples.push(performance.now() - start);
    value = wanted;
  }

  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  const ms = (x) => `${x.toFixed(0)} ms`;
  console.log(`changes: ${samples.length}, refresh interval 0.5 s`);
  console.log(`p50 ${ms(at(0.5))}, p90 ${ms(at(0.9))}, max ${ms(samples[samples.length - 1])}`);
} finally {
  await worker?.dispose();
  await cp.stop();
  cp.removeData();
}
