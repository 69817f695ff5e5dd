// Starts the real control-plane binary on 127.0.0.1 with a temporary redb
// file, and calls its admin API. Used by the worker's end-to-end test and
// its change-to-edge benchmark.

import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { ROOT } from "./helpers.mjs";

const BINARY = join(ROOT, "target", "debug", "cascade-control-plane");

/** Builds the control plane (debug profile); returns the binary path. */
export function buildControlPlane() {
  execFileSync("cargo", ["build", "-q", "-p", "cascade-control-plane"], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
  });
  return BINARY;
}

/**
 * Starts the control plane on a free port with a fresh data file. Resolves
 * once it logs its address; `stop()` sends SIGTERM to its PID and waits for
 * it to exit.
 */
export async function startControlPlane({ dataDir } = {}) {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), "cascade-edge-cp-"));
  const tokenFile = join(dir, "bootstrap-token");
  const child = spawn(
    BINARY,
    [
      "--listen", "127.0.0.1:0",
      "--data", join(dir, "cascade.redb"),
      "--bootstrap-token-file", tokenFile,
      "--log-format", "json",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const exited = new Promise((ok) => child.once("exit", ok));

  const url = await new Promise((ok, fail) => {
    let buffered = "";
    const timer = setTimeout(() => fail(new Error("control plane did not log its address within 30 s")), 30_000);
    child.stderr.on("data", (chunk) => {
      buffered += chunk;
      const match = buffered.match(/"addr":"(127\.0\.0\.1:\d+)"/);
      if (match) {
        clearTimeout(timer);
        ok(`http://${match[1]}`);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`control plane exited with ${code} before listening: ${buffered}`));
    });
  });

  const adminToken = readFileSync(tokenFile, "utf8").trim();
  return {
    url,
    adminToken,
    pid: child.pid,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid, "SIGTERM");
        await exited;
      }
    },
    removeData: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Calls the admin API; throws with the problem body on a non-2xx status. */
export async function admin(cp, method, path, body) {
  const response = await fetch(`${cp.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${cp.adminToken}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`${method} ${path} returned ${response.status}: ${text}`);
  }
  return text ? JSON.parse(text) : null;
}

/** Creates an edge token and returns its secret. */
export async function createEdgeToken(cp) {
  const created = await admin(cp, "POST", "/v1/tokens", { name: "edge-test", role: "edge" });
  return created.secret;
}
