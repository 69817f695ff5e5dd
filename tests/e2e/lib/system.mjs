// Starts a real control plane and a real edge worker (wrangler dev, which
// runs workerd) on 127.0.0.1 for one test file, each with its own temporary
// data directory, and stops them by PID or process group.
//
// The worker runs from the bundle in edge-worker/build (scripts/test.sh
// builds it first) through a temporary wrangler config that copies
// wrangler.toml's entry point, compatibility date and [vars], minus the
// [build] step, with test values for the control plane URL and timings.

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { AdminClient } from '../../../scripts/demo/admin-client.mjs';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const CONTROL_PLANE_BIN =
  process.env.CASCADE_CONTROL_PLANE_BIN ?? path.join(ROOT, 'target/debug/cascade-control-plane');
const WRANGLER_BIN = path.join(ROOT, 'node_modules/.bin/wrangler');
const START_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 5_000;

// Every child still running when the test process exits is killed, so that
// a crash between start and the after() hook leaves nothing behind.
const running = new Set();
function killRunning() {
  for (const child of running) {
    signal(child, 'SIGKILL');
  }
}
process.on('exit', killRunning);
for (const name of ['SIGINT', 'SIGTERM']) {
  process.once(name, () => {
    killRunning();
    process.exit(128 + (name === 'SIGINT' ? 2 : 15));
  });
}

/** Returns a TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts the control plane and the edge worker. Returns the URLs, an
 * admin client with the bootstrap platform-admin token, and `stop()`.
 * Call `stop()` from an after() hook; it is safe to call twice.
 */
export async function startSystem({ refreshSeconds = 0.2 } = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'cascade-e2e-'));
  const system = { dir, children: [] };
  system.stop = () => stopSystem(system);
  try {
    await startControlPlane(system);
    await startEdge(system, refreshSeconds);
  } catch (error) {
    await system.stop();
    throw error;
  }
  return system;
}

async function startControlPlane(system) {
  const tokenFile = path.join(system.dir, 'admin-token');
  const child = track(
    system,
    'control plane',
    spawn(
      CONTROL_PLANE_BIN,
      [
        '--listen',
        '127.0.0.1:0',
        '--data',
        path.join(system.dir, 'cascade.redb'),
        '--bootstrap-token-file',
        tokenFile,
        '--log-format',
        'json',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'info' } },
    ),
  );

  // The control plane logs the address it bound, so port 0 needs no guess.
  const address = await waitForOutput(child, (line) => {
    const entry = parseJson(line);
    return entry?.fields?.message === 'listening' ? entry.fields.addr : undefined;
  });
  system.cpUrl = `http://${address}`;
  const token = (await readFile(tokenFile, 'utf8')).trim();
  system.adminToken = token;
  system.admin = new AdminClient(system.cpUrl, token);
}

async function startEdge(system, refreshSeconds) {
  const created = await system.admin.post('/v1/tokens', { name: 'e2e edge worker', role: 'edge' });
  const port = await freePort();
  const inspectorPort = await freePort();
  const config = await testWranglerConfig({
    CONTROL_PLANE_URL: system.cpUrl,
    REFRESH_INTERVAL_SECONDS: String(refreshSeconds),
    CACHE_MAX_AGE_SECONDS: '0',
  });
  await writeFile(path.join(system.dir, 'wrangler.toml'), config);
  await writeFile(path.join(system.dir, '.dev.vars'), `EDGE_TOKEN=${created.secret}\n`, {
    mode: 0o600,
  });

  // detached: wrangler leads a new process group with its esbuild and
  // workerd children, so that stopping the group stops all of them.
  const child = track(
    system,
    'edge worker',
    spawn(
      WRANGLER_BIN,
      [
        'dev',
        '--config',
        path.join(system.dir, 'wrangler.toml'),
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        '--inspector-port',
        String(inspectorPort),
        '--persist-to',
        path.join(system.dir, 'wrangler-state'),
        '--show-interactive-dev-session=false',
      ],
      {
        cwd: system.dir,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          CI: 'true',
          WRANGLER_SEND_METRICS: 'false',
          CLOUDFLARE_CF_FETCH_ENABLED: 'false',
          XDG_CONFIG_HOME: path.join(system.dir, 'config'),
        },
      },
    ),
  );
  child.group = true;
  system.edgeUrl = `http://127.0.0.1:${port}`;
  await waitForHealthy(system, child, `${system.edgeUrl}/healthz`);
}

/** Builds a wrangler config for tests from wrangler.toml and `vars`. */
async function testWranglerConfig(vars) {
  const text = await readFile(path.join(ROOT, 'wrangler.toml'), 'utf8');
  const main = text.match(/^main\s*=\s*"([^"]+)"/m)?.[1];
  const date = text.match(/^compatibility_date\s*=\s*"([^"]+)"/m)?.[1];
  if (!main || !date) {
    throw new Error('wrangler.toml has no main or compatibility_date line; update tests/e2e/lib/system.mjs');
  }
  const merged = { ...readVars(text), ...vars };
  const lines = [
    'name = "cascade-edge-e2e"',
    `main = ${JSON.stringify(path.join(ROOT, main))}`,
    `compatibility_date = "${date}"`,
    '',
    '[vars]',
    ...Object.entries(merged).map(([key, value]) => `${key} = ${JSON.stringify(value)}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Reads the `KEY = "value"` lines of the [vars] table. */
function readVars(text) {
  const vars = {};
  let inVars = false;
  for (const line of text.split('\n')) {
    const table = line.match(/^\s*\[([^\]]+)\]/);
    if (table) {
      inVars = table[1].trim() === 'vars';
      continue;
    }
    const entry = inVars && line.match(/^\s*([A-Z0-9_]+)\s*=\s*"([^"]*)"/);
    if (entry) {
      vars[entry[1]] = entry[2];
    }
  }
  return vars;
}

function track(system, name, child) {
  child.name = name;
  child.output = [];
  child.exited = new Promise((resolve) => child.once('exit', resolve));
  child.once('exit', () => running.delete(child));
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      child.output.push(...chunk.split('\n').filter(Boolean));
      if (child.output.length > 400) {
        child.output.splice(0, child.output.length - 400);
      }
    });
  }
  running.add(child);
  system.children.push(child);
  return child;
}

// The last lines of a child's output, without wrangler's one-line request
// log, which the readiness polling fills.
function lastOutput(child) {
  return child.output
    .filter((line) => !/^\[wrangler:info\] (GET|POST) /.test(line))
    .slice(-30)
    .join('\n');
}

/** Waits until `match` returns a value for a line of the child's output. */
function waitForOutput(child, match) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${child.name} did not start within ${START_TIMEOUT_MS} ms:\n${lastOutput(child)}`));
    }, START_TIMEOUT_MS);
    const check = () => {
      for (const line of child.output) {
        const found = match(line);
        if (found !== undefined) {
          clearTimeout(timer);
          resolve(found);
          return;
        }
      }
    };
    child.stderr.on('data', check);
    child.stdout.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${child.name} exited with ${code} during start:\n${lastOutput(child)}`));
    });
  });
}

async function waitForHealthy(system, child, url) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${child.name} exited during start:\n${lastOutput(child)}`);
    }
    let last = 'no response';
    try {
      const response = await fetch(url);
      if (response.status === 200) {
        return;
      }
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = error.message;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${child.name} not healthy at ${url} within ${START_TIMEOUT_MS} ms (last response: ${last}):\n${lastOutput(child)}`,
      );
    }
    await sleep(200);
  }
}

function signal(child, name) {
  try {
    if (child.group) {
      process.kill(-child.pid, name);
    } else {
      child.kill(name);
    }
  } catch {
    // Already gone.
  }
}

async function stopSystem(system) {
  // The edge worker first, so that it stops polling the control plane.
  for (const child of [...system.children].reverse()) {
    if (!running.has(child)) {
      continue;
    }
    signal(child, 'SIGTERM');
    const stopped = await Promise.race([child.exited.then(() => true), sleep(STOP_GRACE_MS)]);
    if (!stopped) {
      signal(child, 'SIGKILL');
      await child.exited;
    }
    if (child.group) {
      // workerd may still be closing after wrangler itself exited.
      signal(child, 'SIGKILL');
    }
  }
  await rm(system.dir, { recursive: true, force: true });
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function parseJson(line) {
  try {
    return JSON.parse(line);
  } catch {
    return null;
  }
}
