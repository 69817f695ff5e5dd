// Measures the worker in workerd without wrangler dev's proxy: Miniflare
// serves the built worker and a constant-response worker on 127.0.0.1, and
// wrk loads each endpoint in turn.
//
// Usage: node edge-worker/bench/direct.mjs WORKLOAD_DIR [SECONDS]
//
// WORKLOAD_DIR holds s.snap and workload.json from the shared crate's
// write-workload example.

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Miniflare } from "miniflare";

import { startTestControlPlane, startWorker } from "../test/helpers.mjs";

const [workloadDir, seconds = "10"] = process.argv.slice(2);
if (!workloadDir) {
  console.error("usage: node edge-worker/bench/direct.mjs WORKLOAD_DIR [SECONDS]");
  process.exit(2);
}
const sidecar = JSON.parse(readFileSync(join(workloadDir, "workload.json"), "utf8"));
const lookup = sidecar.snapshots.find((s) => s.file === "s.snap").lookups.find((l) => l.level === "user");
const work = mkdtempSync(join(tmpdir(), "cascade-edge-direct-"));

const cp = await startTestControlPlane();
cp.serve(readFileSync(join(workloadDir, "s.snap")), sidecar.revision);
const worker = await startWorker({ CONTROL_PLANE_URL: cp.url, REFRESH_INTERVAL_SECONDS: "0.5" }, { port: 0 });
const trivial = new Miniflare({
  modules: true,
  script: 'const B = JSON.stringify({ key: "beta", value: true });\n' +
    'export default { fetch() { return new Response(B, { headers: { "content-type": "application/json" } }); } };',
  compatibilityDate: "2026-07-01",
  host: "127.0.0.1",
  port: 0,
  cf: false,
});
const trivialUrl = await trivial.ready;

// wrk runs as a child process without blocking this process, which also
// serves the test control plane.
const run = promisify(execFile);

async function wrk(label, url, extra = []) {
  await run("wrk", ["-t2", "-c16", "-d2s", ...extra, url]);
  const { stdout: out } = await run("wrk", ["-t2", "-c16", `-d${seconds}s`, "--latency", ...extra, url]);
  const pick = (re) => (out.match(re) ?? [])[1] ?? "?";
  const rps = pick(/Requests\/sec:\s+([\d.]+)/);
  const p50 = pick(/\n\s+50%\s+(\S+)/);
  const p99 = pick(/\n\s+99%\s+(\S+)/);
  const errors = pick(/Non-2xx or 3xx responses:\s+(\d+)/);
  console.log(`| ${label} | ${rps} | ${p50} | ${p99} | ${errors === "?" ? 0 : errors} |`);
}

try {
  const base = new URL(worker.url).origin;
  const user = encodeURIComponent(lookup.user);
  const lua = join(work, "ofrep.lua");
  const body = JSON.stringify({ context: { targetingKey: lookup.user, tenantId: lookup.tenant } });
  writeFileSync(lua, `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ${JSON.stringify(body)}\n`);

  console.log("| Endpoint | req/s | p50 | p99 | non-2xx |\n|---|---|---|---|---|");
  await wrk("constant-response worker", new URL(trivialUrl).origin + "/");
  await wrk("GET /healthz", `${base}/healthz`);
  await wrk("GET one flag", `${base}/v1/tenants/${lookup.tenant}/users/${user}/flags/${lookup.flag}`);
  await wrk("GET all 200 flags", `${base}/v1/tenants/${lookup.tenant}/users/${user}/flags`);
  await wrk("POST OFREP bulk (200 flags)", `${base}/ofrep/v1/evaluate/flags`, ["-s", lua]);
  await wrk("constant-response worker (again)", new URL(trivialUrl).origin + "/");
} finally {
  await trivial.dispose();
  await worker.dispose();
  await cp.close();
  rmSync(work, { recursive: true, force: true });
}
