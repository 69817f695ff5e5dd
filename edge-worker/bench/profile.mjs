// Samples the worker's CPU use under load: Miniflare serves the built
// worker with an inspector, wrk loads one endpoint, and V8's sampling
// profiler reports the functions with the most self time.
//
// Usage: node edge-worker/bench/profile.mjs WORKLOAD_DIR [PATH] [SECONDS]
//
// PATH is `healthz`, `one`, `all` (the default) or `ofrep`, or `constant`
// for a constant-response JavaScript worker, the baseline of direct.mjs.

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Miniflare } from "miniflare";

import { startTestControlPlane, startWorker } from "../test/helpers.mjs";

const [workloadDir, which = "all", seconds = "5"] = process.argv.slice(2);
if (!workloadDir) {
  console.error("usage: node edge-worker/bench/profile.mjs WORKLOAD_DIR [healthz|one|all|ofrep] [SECONDS]");
  process.exit(2);
}
const sidecar = JSON.parse(readFileSync(join(workloadDir, "workload.json"), "utf8"));
const lookup = sidecar.snapshots.find((s) => s.file === "s.snap").lookups.find((l) => l.level === "user");
const work = mkdtempSync(join(tmpdir(), "cascade-edge-profile-"));
const run = promisify(execFile);

const cp = await startTestControlPlane();
cp.serve(readFileSync(join(workloadDir, "s.snap")), sidecar.revision);
const inspectorPort = 9300 + Math.floor(Math.random() * 500);
const worker = await startWorker(
  { CONTROL_PLANE_URL: cp.url, REFRESH_INTERVAL_SECONDS: "0.5" },
  { port: 0, inspectorPort: which === "constant" ? undefined : inspectorPort },
);
const constant = new Miniflare({
  modules: true,
  script:
    'const B = JSON.stringify({ key: "beta", value: true });\n' +
    'export default { fetch() { return new Response(B, { headers: { "content-type": "application/json" } }); } };',
  compatibilityDate: "2026-07-01",
  host: "127.0.0.1",
  port: 0,
  cf: false,
  inspectorPort: which === "constant" ? inspectorPort : undefined,
});
const constantUrl = await constant.ready;

try {
  const base = new URL(worker.url).origin;
  const user = encodeURIComponent(lookup.user);
  const lua = join(work, "ofrep.lua");
  const body = JSON.stringify({ context: { targetingKey: lookup.user, tenantId: lookup.tenant } });
  writeFileSync(lua, `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ${JSON.stringify(body)}\n`);
  const targets = {
    healthz: [`${base}/healthz`],
    one: [`${base}/v1/tenants/${lookup.tenant}/users/${user}/flags/${lookup.flag}`],
    all: [`${base}/v1/tenants/${lookup.tenant}/users/${user}/flags`],
    ofrep: [`${base}/ofrep/v1/evaluate/flags`, "-s", lua],
    constant: [new URL(constantUrl).origin + "/"],
  };
  const [url, ...extra] = targets[which];
  await run("wrk", ["-t2", "-c16", "-d2s", ...extra, url]);

  const list = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  const ws = new WebSocket(list[0].webSocketDebuggerUrl);
  await new Promise((resolve) => ws.addEventListener("open", resolve, { once: true }));
  let id = 0;
  const pending = new Map();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    pending.get(message.id)?.(message.result);
  });
  const call = (method, params = {}) =>
    new Promise((resolve) => {
      id += 1;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 100 });
  await call("Profiler.start");
  await run("wrk", ["-t2", "-c16", `-d${seconds}s`, ...extra, url]);
  const { profile } = await call("Profiler.stop");
  ws.close();

  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  for (const sample of profile.samples) {
    const frame = byId.get(sample).callFrame;
    // JavaScript frames name their script, since bundles minify names.
    const where = frame.url && !frame.url.startsWith("wasm") ? ` [${frame.url}:${frame.lineNumber}]` : "";
    const name = (frame.functionName || "(anonymous)") + where;
    self.set(name, (self.get(name) ?? 0) + 1);
  }
  const total = profile.samples.length;
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40);
  for (const [name, count] of rows) {
    console.log(`${((100 * count) / total).toFixed(1).padStart(5)}%  ${name.slice(0, 140)}`);
  }
} finally {
  await constant.dispose();
  await worker.dispose();
  await cp.close();
  rmSync(work, { recursive: true, force: true });
}
