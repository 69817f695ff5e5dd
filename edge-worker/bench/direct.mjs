// Measures the worker in workerd without wrangler dev's proxy: Miniflare
// serves the built worker and four constant-response workers on 127.0.0.1
// (JavaScript with a small body; JavaScript with the all-flags body;
// JavaScript that reads the OFREP request body and returns the OFREP bulk
// body; and a Rust worker built like the edge worker), and wrk loads each
// endpoint in turn, for several rounds. The table gives each endpoint's
// median req/s over the rounds and its share of the small JavaScript
// constant worker, the Rust constant worker and the constant worker that
// receives the same request and returns as many bytes. A share is the
// median over the rounds of the ratio within one round, so that load which
// drifts between rounds cancels out.
//
// Usage: node edge-worker/bench/direct.mjs WORKLOAD_DIR [SECONDS] [ROUNDS]
//
// WORKLOAD_DIR holds s.snap and workload.json from the shared crate's
// write-workload example. SECONDS (default 6) is one wrk run; ROUNDS
// (default 5) is how often every endpoint runs.

import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Miniflare } from "miniflare";

import { ROOT, startTestControlPlane, startWorker } from "../test/helpers.mjs";

const [workloadDir, seconds = "6", rounds = "5"] = process.argv.slice(2);
if (!workloadDir) {
  console.error("usage: node edge-worker/bench/direct.mjs WORKLOAD_DIR [SECONDS] [ROUNDS]");
  process.exit(2);
}
const sidecar = JSON.parse(readFileSync(join(workloadDir, "workload.json"), "utf8"));
const lookup = sidecar.snapshots.find((s) => s.file === "s.snap").lookups.find((l) => l.level === "user");
const work = mkdtempSync(join(tmpdir(), "cascade-edge-direct-"));

/**
 * A Miniflare worker that returns `body` to every request, after reading
 * the request body when `readsBody` is set.
 */
async function constantWorker(body, readsBody = false) {
  const read = readsBody ? "await request.arrayBuffer(); " : "";
  const mf = new Miniflare({
    modules: true,
    script:
      `const B = ${JSON.stringify(body)};\n` +
      `export default { async fetch(request) { ${read}` +
      'return new Response(B, { headers: { "content-type": "application/json" } }); } };',
    compatibilityDate: "2026-07-01",
    host: "127.0.0.1",
    port: 0,
    cf: false,
  });
  return { mf, url: new URL(await mf.ready).origin + "/" };
}

/** Builds the Rust constant worker with its build script and serves it. */
async function rustConstantWorker() {
  const dir = join(ROOT, "edge-worker/bench/constant-worker");
  execFileSync("bash", [join(dir, "build.sh")], { stdio: ["ignore", "ignore", "inherit"] });
  const build = join(dir, "build");
  const mf = new Miniflare({
    modules: true,
    modulesRoot: build,
    scriptPath: join(build, "index.js"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: "2026-07-01",
    host: "127.0.0.1",
    port: 0,
    cf: false,
  });
  return { mf, url: new URL(await mf.ready).origin + "/" };
}

// wrk runs as a child process without blocking this process, which also
// serves the test control plane.
const run = promisify(execFile);

/** One wrk run after a 1-second warm-up; returns req/s, p50, p99, non-2xx. */
async function wrk(url, extra) {
  await run("wrk", ["-t2", "-c16", "-d1s", ...extra, url]);
  const { stdout: out } = await run("wrk", ["-t2", "-c16", `-d${seconds}s`, "--latency", ...extra, url]);
  const pick = (re) => (out.match(re) ?? [])[1];
  return {
    rps: Number(pick(/Requests\/sec:\s+([\d.]+)/)),
    p50: pick(/\n\s+50%\s+(\S+)/) ?? "?",
    p99: pick(/\n\s+99%\s+(\S+)/) ?? "?",
    errors: Number(pick(/Non-2xx or 3xx responses:\s+(\d+)/) ?? 0),
  };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
/** wrk latencies such as "812.00us", "7.2ms" or "1.1s", in milliseconds. */
const millis = (text) => {
  const [, number, unit] = text.match(/^([\d.]+)(us|ms|s)$/) ?? [, NaN, "ms"];
  return Number(number) * { us: 0.001, ms: 1, s: 1000 }[unit];
};
const formatMs = (ms) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(2)) + " ms";

const cp = await startTestControlPlane();
cp.serve(readFileSync(join(workloadDir, "s.snap")), sidecar.revision);
const worker = await startWorker({ CONTROL_PLANE_URL: cp.url, REFRESH_INTERVAL_SECONDS: "0.5" }, { port: 0 });
const constants = [];

try {
  const base = new URL(worker.url).origin;
  const user = encodeURIComponent(lookup.user);
  const allUrl = `${base}/v1/tenants/${lookup.tenant}/users/${user}/flags`;
  const allBody = await (await fetch(allUrl)).text();
  const lua = join(work, "ofrep.lua");
  const body = JSON.stringify({ context: { targetingKey: lookup.user, tenantId: lookup.tenant } });
  writeFileSync(lua, `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ${JSON.stringify(body)}\n`);
  const ofrepUrl = `${base}/ofrep/v1/evaluate/flags`;
  const ofrepBody = await (
    await fetch(ofrepUrl, { method: "POST", headers: { "content-type": "application/json" }, body })
  ).text();

  const small = await constantWorker(JSON.stringify({ key: "beta", value: true }));
  const large = await constantWorker(allBody);
  const post = await constantWorker(ofrepBody, true);
  const rust = await rustConstantWorker();
  constants.push(small, large, post, rust);

  const bytes = (text) => `${text.length.toLocaleString("en")}-byte body`;
  // Label, URL, wrk arguments, and the row of the constant worker that gets
  // the same request and returns as many bytes, run right before it. Rows
  // 0 and 3 are the small JavaScript and the Rust constant workers.
  const endpoints = [
    ["constant-response worker", small.url, [], 0],
    ["GET /healthz", `${base}/healthz`, [], 0],
    ["GET one flag", `${allUrl}/${lookup.flag}`, [], 0],
    ["constant-response Rust worker", rust.url, [], 3],
    [`constant-response worker, ${bytes(allBody)}`, large.url, [], 4],
    ["GET all 200 flags", allUrl, [], 4],
    [`constant-response worker, POST, ${bytes(ofrepBody)}`, post.url, ["-s", lua], 6],
    ["POST OFREP bulk (200 flags)", ofrepUrl, ["-s", lua], 6],
  ];
  const results = endpoints.map(() => []);
  for (let round = 0; round < Number(rounds); round += 1) {
    for (const [index, [, url, extra]] of endpoints.entries()) {
      results[index].push(await wrk(url, extra));
    }
    console.error(`round ${round + 1} of ${rounds} done`);
  }

  const medianRps = results.map((runs) => median(runs.map((r) => r.rps)));
  console.log(
    "| Endpoint | req/s (median) | of JS constant | of Rust constant | of same-size constant | p50 | p99 | non-2xx |\n" +
      "|---|---|---|---|---|---|---|---|",
  );
  for (const [index, [label, , , matching]] of endpoints.entries()) {
    const runs = results[index];
    const rps = medianRps[index];
    const p50 = formatMs(median(runs.map((r) => millis(r.p50))));
    const p99 = formatMs(median(runs.map((r) => millis(r.p99))));
    const errors = runs.reduce((sum, r) => sum + r.errors, 0);
    const share = (of) => {
      const ratios = runs.map((r, round) => r.rps / results[of][round].rps);
      return `${(100 * median(ratios)).toFixed(0)}%`;
    };
    const shares = [0, 3, matching].map(share).join(" | ");
    console.log(`| ${label} | ${rps.toFixed(0)} | ${shares} | ${p50} | ${p99} | ${errors} |`);
  }
  console.log(`\nreq/s of each round: ${results.map((runs) => runs.map((r) => r.rps.toFixed(0)).join("/")).join(", ")}`);
} finally {
  for (const constant of constants) await constant.mf.dispose();
  await worker.dispose();
  await cp.close();
  rmSync(work, { recursive: true, force: true });
}
