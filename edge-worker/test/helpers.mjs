// Shared helpers for the worker tests: the built worker under Miniflare
// (which embeds workerd), a test control plane on 127.0.0.1, and the
// snapshot fixtures written by the Rust example `write-fixtures`.

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { Miniflare } from "miniflare";

export const WORKER_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const ROOT = resolve(WORKER_DIR, "..");
export const BUILD_DIR = join(WORKER_DIR, "build");
export const EDGE_TOKEN = "test-edge-token";
const COMPATIBILITY_DATE = "2026-07-01";

/** Fails early, with the fix, when the worker has not been built. */
export function requireBuild() {
  if (!existsSync(join(BUILD_DIR, "index.js"))) {
    throw new Error(
      `${BUILD_DIR}/index.js is missing: build the worker first with \`bash edge-worker/build.sh\``,
    );
  }
}

/** Runs a cargo command from the repository root and returns nothing. */
function cargo(args) {
  execFileSync("cargo", args, { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
}

/**
 * Writes the worker's fixtures (r4.snap, r5.snap, r6.snap, r7-corrupt.snap)
 * into a fresh temporary directory and returns a reader for them.
 */
export function writeFixtures() {
  const dir = mkdtempSync(join(tmpdir(), "cascade-edge-fixtures-"));
  cargo(["run", "-q", "-p", "cascade-edge-worker", "--example", "write-fixtures", "--", dir]);
  return {
    dir,
    read: (name) => readFileSync(join(dir, name)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Writes the fixtures and starts a test control plane that serves
 * r5.snap, the snapshot most suites evaluate against. Returns the
 * control plane as `cp`, the fixture reader as `fixtures`, and `close()`,
 * which stops the control plane and removes the fixtures.
 */
export async function serveFixtureSnapshot() {
  const fixtures = writeFixtures();
  let cp;
  try {
    cp = await startTestControlPlane();
  } catch (err) {
    fixtures.remove();
    throw err;
  }
  cp.serve(fixtures.read("r5.snap"), 5);
  return {
    cp,
    fixtures,
    close: async () => {
      await cp.close();
      fixtures.remove();
    },
  };
}

/**
 * Starts a test control plane on 127.0.0.1 that serves `state.snapshot`
 * (bytes) at GET /v1/snapshot the way the real one does: bearer token,
 * ETag "r<revision>", 304 on a matching If-None-Match. `state.status`
 * overrides the status (e.g. 500), and `state.revision` the ETag.
 */
export async function startTestControlPlane() {
  const state = { snapshot: null, revision: null, status: null, requests: 0, lastIfNoneMatch: null };
  const server = createServer((req, res) => {
    if (req.method !== "GET" || new URL(req.url, "http://x").pathname !== "/v1/snapshot") {
      res.writeHead(404).end();
      return;
    }
    state.requests += 1;
    state.lastIfNoneMatch = req.headers["if-none-match"] ?? null;
    if (req.headers.authorization !== `Bearer ${EDGE_TOKEN}`) {
      res.writeHead(401, { "content-type": "application/problem+json" }).end("{}");
      return;
    }
    if (state.status !== null) {
      res.writeHead(state.status).end();
      return;
    }
    if (state.snapshot === null) {
      res.writeHead(503).end();
      return;
    }
    const etag = `"r${state.revision}"`;
    if (req.headers["if-none-match"] === etag) {
      res.writeHead(304, { etag }).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream", etag }).end(state.snapshot);
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    state,
    serve(bytes, revision) {
      state.snapshot = bytes;
      state.revision = revision;
      state.status = null;
    },
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(ok);
      }),
  };
}

/**
 * Starts the built worker in workerd through Miniflare. `options` adds
 * Miniflare options, such as `port` to serve HTTP on 127.0.0.1.
 */
export async function startWorker(vars, options = {}) {
  requireBuild();
  const mf = new Miniflare({
    modules: true,
    modulesRoot: BUILD_DIR,
    scriptPath: join(BUILD_DIR, "index.js"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: {
      EDGE_TOKEN,
      REFRESH_INTERVAL_SECONDS: "0.2",
      SNAPSHOT_TIMEOUT_SECONDS: "2",
      ...vars,
    },
    host: "127.0.0.1",
    cf: false,
    ...options,
  });
  const url = await mf.ready;
  return {
    mf,
    url,
    fetch: (path, init) => mf.dispatchFetch(`http://edge.test${path}`, init),
    dispose: () => mf.dispose(),
  };
}

/** POSTs a JSON body to the worker. */
export function postJson(worker, path, body, headers = {}) {
  return worker.fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/**
 * Sends requests until `check(response)` returns true or `attempts` run
 * out; returns the last response. Bounds a wait on background work
 * without asserting anything about its duration.
 */
export async function pollUntil(send, check, attempts = 200) {
  let response;
  for (let i = 0; i < attempts; i += 1) {
    response = await send();
    if (await check(response)) {
      return response;
    }
    await response.arrayBuffer();
    await new Promise((ok) => setTimeout(ok, 50));
  }
  return response;
}

/** The revision header of a response, as a number. */
export function revisionOf(response) {
  return Number(response.headers.get("x-cascade-revision"));
}
