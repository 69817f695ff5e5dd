// Measures the worker in workerd without wrangler dev's proxy: Miniflare
// serves the built worker and constant-response workers on 127.0.0.1, and
// wrk loads each endpoint in turn, for several rounds. The constant
// workers are the JavaScript worker of constants.mjs, which returns a
// trivial response and a copy of each endpoint's response, and a Rust
// worker built like the edge worker. Against the copy, the difference is
// what computing the response costs; against the trivial response, it also
// includes sending the headers and the body.
//
// The table gives each endpoint's median req/s over the rounds and its
// share of the trivial, the Rust and the same-response constant worker.
// A share is the median over the rounds of the ratio within one round, so
// that load which drifts between rounds cancels out.
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
import { captureAll, constantWorkerSource, endpointRequests } from "./constants.mjs";

const [workloadDir, seconds = "6", rounds = "5"] = process.argv.slice(2);
if (!workloadDir) {
  console.error("usage: node edge-worker/bench/direct.mjs WORKLOAD_DIR [SECONDS] [ROUNDS]");
  process.exit(2);
}
const sidecar = JSON.parse(readFileSync(join(workloadDir, "workload.json"), "utf8"));
const lookup = sidecar.snapshots.find((s) => s.file === "s.snap").lookups.find((l) => l.level === "user");
const work = mkdtempSync(join(tmpdir(), "cascade-edge-direct-"));

/** Serves a module of constants.mjs in Miniflare and returns its origin. */
async function constantWorker(responses) {
  const mf = new Miniflare({
    modules: true,
    script: constantWorkerSource(responses),
    compatibilityDate: "2026-07-01",
    host: "127.0.0.1",
    port: 0,
    cf: false,
  });
  return { mf, url: new URL(await mf.ready).origin };
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
  const requests = endpointRequests(base, { ...lookup, user: encodeURIComponent(lookup.user) });
  const lua = join(work, "ofrep.lua");
  const { body } = requests.ofrep.init;
  writeFileSync(lua, `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ${JSON.stringify(body)}\n`);
  const post = ["-s", lua];

  const constant = await constantWorker(await captureAll(requests));
  const rust = await rustConstantWorker();
  constants.push(constant, rust);

  // Label, URL, wrk arguments, and the row of the constant worker that gets
  // the same request and returns the same status, headers and body, run
  // right before it. Rows 0 and 1 are the trivial and the Rust constant
  // workers.
  const endpoints = [
    ["trivial constant worker (one header, 29-byte body)", `${constant.url}/trivial`, [], 0],
    ["constant-response Rust worker", rust.url, [], 1],
    ["constant worker, /healthz response", `${constant.url}/healthz`, [], 2],
    ["GET /healthz", requests.healthz.url, [], 2],
    ["constant worker, one-flag response", `${constant.url}/one`, [], 4],
    ["GET one flag", requests.one.url, [], 4],
    ["constant worker, all-flags response", `${constant.url}/all`, [], 6],
    ["GET all 200 flags", requests.all.url, [], 6],
    ["constant worker, POST, OFREP bulk response", `${constant.url}/ofrep`, post, 8],
    ["POST OFREP bulk (200 flags)", requests.ofrep.url, post, 8],
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
    "| Endpoint | req/s (median) | of trivial | of Rust constant | of same-response constant | p50 | p99 | non-2xx |\n" +
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
    const shares = [0, 1, matching].map(share).join(" | ");
    console.log(`| ${label} | ${rps.toFixed(0)} | ${shares} | ${p50} | ${p99} | ${errors} |`);
  }
  console.log(`\nreq/s of each round: ${results.map((runs) => runs.map((r) => r.rps.toFixed(0)).join("/")).join(", ")}`);
} finally {
  for (const constant of constants) await constant.mf.dispose();
  await worker.dispose();
  await cp.close();
  rmSync(work, { recursive: true, force: true });
}
