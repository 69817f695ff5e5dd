// The README's run command, scripts/run.sh, run twice on one data
// directory: the first run seeds the demo data and stops on SIGTERM, the
// second reuses the data and stops on SIGINT (what Ctrl-C sends). Both
// must leave no process listening on their ports.
//
// The control plane is built with the debug profile (CASCADE_PROFILE),
// which scripts/test.sh has built already. run.sh rewrites the EDGE_TOKEN
// line of the repository's .dev.vars, so the test restores that file.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { AdminClient, segment } from '../../scripts/demo/admin-client.mjs';

import { ROOT, freePort, sleep } from './lib/system.mjs';

// Leaves room for the worker build that wrangler dev runs again before it
// serves, which waits while another cargo process holds the build lock.
const READY_TIMEOUT_MS = 600_000;
const STOP_TIMEOUT_MS = 30_000;
const DEV_VARS = path.join(ROOT, '.dev.vars');
const TESTER = 'dana@acme-retail.example';

let dataDir;
let ports;
let savedDevVars;
let current;

before(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'cascade-e2e-run-'));
  ports = { controlPlane: await freePort(), edge: await freePort(), inspector: await freePort() };
  savedDevVars = await readFile(DEV_VARS, 'utf8').catch(() => null);
});

after(async () => {
  if (current) {
    await stopRun(current, 'SIGTERM').catch(() => {});
  }
  if (savedDevVars === null) {
    await rm(DEV_VARS, { force: true });
  } else if (savedDevVars !== undefined) {
    await writeFile(DEV_VARS, savedDevVars, { mode: 0o600 });
  }
  if (dataDir) {
    await rm(dataDir, { recursive: true, force: true });
  }
});

/** Starts scripts/run.sh and resolves once it prints the URLs. */
async function startRun() {
  // detached: run.sh and the control plane it starts get their own process
  // group, which the test kills if run.sh does not stop them itself.
  const child = spawn('bash', ['scripts/run.sh'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      CASCADE_CONTROL_PLANE_PORT: String(ports.controlPlane),
      CASCADE_EDGE_PORT: String(ports.edge),
      CASCADE_INSPECTOR_PORT: String(ports.inspector),
      CASCADE_DATA_DIR: dataDir,
      CASCADE_PROFILE: 'debug',
    },
  });
  current = child;
  child.stdoutText = '';
  child.stderrText = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (child.stdoutText += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (child.stderrText += chunk));
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!child.stdoutText.includes('Press Ctrl-C to stop.')) {
    if (child.exitCode !== null) {
      throw new Error(`run.sh exited with ${child.exitCode} before it was ready:\n${child.stderrText.slice(-3000)}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`run.sh not ready within ${READY_TIMEOUT_MS} ms:\n${child.stderrText.slice(-3000)}`);
    }
    await sleep(250);
  }
  return child;
}

/** Sends `signal` to run.sh and resolves with its exit code. */
async function stopRun(child, signal) {
  process.kill(child.pid, signal);
  const stopped = await Promise.race([child.exited, sleep(STOP_TIMEOUT_MS).then(() => null)]);
  if (stopped === null) {
    process.kill(-child.pid, 'SIGKILL');
    throw new Error(`run.sh did not stop within ${STOP_TIMEOUT_MS} ms after ${signal}`);
  }
  current = null;
  return stopped.code;
}

function printedToken(child) {
  return child.stdoutText.match(/Admin token\s+(\S+)/)?.[1];
}

async function isListening(port) {
  try {
    await fetch(`http://127.0.0.1:${port}/healthz`);
    return true;
  } catch {
    return false;
  }
}

async function fileMode(file) {
  return (await stat(file)).mode & 0o777;
}

describe('scripts/run.sh', () => {
  let firstToken;
  let firstRevision;

  test('first run seeds and serves', async () => {
    const run = await startRun();
    firstToken = printedToken(run);
    assert.ok(firstToken, 'admin token printed');
    assert.match(run.stderrText, /demo data loaded at revision \d+/);
    assert.equal(await fileMode(path.join(dataDir, 'admin-token')), 0o600);
    assert.equal(await fileMode(path.join(dataDir, 'edge-token')), 0o600);

    const cpUrl = `http://127.0.0.1:${ports.controlPlane}`;
    const edgeUrl = `http://127.0.0.1:${ports.edge}`;
    const admin = new AdminClient(cpUrl, firstToken);
    const integrators = await admin.get('/v1/integrators');
    assert.equal(integrators.items.length, 3);
    firstRevision = (await (await fetch(`${cpUrl}/healthz`)).json()).revision;

    const edge = await fetch(`${edgeUrl}/v1/tenants/acme-retail/users/${segment(TESTER)}/flags/ai.assistant`);
    const flag = await edge.json();
    assert.deepEqual([flag.value, flag.level, flag.revision], [true, 'user', firstRevision]);
    const ofrep = await fetch(`${edgeUrl}/ofrep/v1/evaluate/flags/ai.assistant`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ context: { targetingKey: TESTER, tenantId: 'acme-retail' } }),
    });
    assert.equal((await ofrep.json()).value, true);

    assert.equal(await stopRun(run, 'SIGTERM'), 143);
    assert.equal(await isListening(ports.controlPlane), false);
    assert.equal(await isListening(ports.edge), false);
  });

  test('second run reuses the data', async () => {
    assert.ok(firstToken, 'first run succeeded');
    const run = await startRun();
    assert.equal(printedToken(run), firstToken);
    assert.match(run.stderrText, /not loaded again/);
    const health = await (await fetch(`http://127.0.0.1:${ports.controlPlane}/healthz`)).json();
    assert.equal(health.revision, firstRevision);

    assert.equal(await stopRun(run, 'SIGINT'), 130);
    assert.equal(await isListening(ports.controlPlane), false);
    assert.equal(await isListening(ports.edge), false);
  });
});
