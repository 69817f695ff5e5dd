// The Node example runs against a spec snapshot and prints the native
// results. The browser example is checked in browser.test.js.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { exportSpecCorpus } from './fixtures.js';
import { packageDir } from './server.js';

const corpus = exportSpecCorpus();
after(() => corpus.remove());

function runExample(...args) {
  return spawnSync(process.execPath, [join(packageDir, 'examples/node.js'), ...args], {
    cwd: packageDir,
    encoding: 'utf8',
  });
}

test('node example explains a user override', () => {
  const snapshot = corpus.results.flatMap((file) => file.snapshots).find((s) => s.cases.some((c) => c.result.level === 'user'));
  const c = snapshot.cases.find((x) => x.result.level === 'user');
  const run = runExample(join(corpus.dir, snapshot.file), c.tenant, c.user, c.flag);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`snapshot revision ${snapshot.revision}`));
  assert.ok(
    run.stdout.includes(`${c.flag} = ${JSON.stringify(c.result.value)}, decided at user level`),
    run.stdout,
  );
});

test('node example reports error code', () => {
  const snapshot = corpus.results[0].snapshots[0];
  const run = runExample(join(corpus.dir, snapshot.file), 'Not A Slug');
  assert.equal(run.status, 1);
  assert.match(run.stderr, /error \[INVALID_CONTEXT\]: invalid tenant id "Not A Slug"/);
});

test('node example prints usage without arguments', () => {
  const run = runExample();
  assert.equal(run.status, 2);
  assert.match(run.stderr, /usage: node examples\/node.js SNAPSHOT TENANT/);
});

test('node example fetches snapshot URL with token', async () => {
  const snapshot = corpus.results[0].snapshots[0];
  const bytes = corpus.snapshot(snapshot.file);
  const authorizations = [];
  const server = createServer((request, response) => {
    authorizations.push(request.headers.authorization);
    if (request.url !== '/v1/snapshot' || request.headers.authorization !== 'Bearer test-token') {
      response.writeHead(401).end('missing or wrong token');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(bytes);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/v1/snapshot`;
  try {
    // The server runs in this process, so the example must run
    // asynchronously for the server to answer.
    const run = await runExampleAsync({ CASCADE_TOKEN: 'test-token' }, url, snapshot.cases[0].tenant);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`snapshot revision ${snapshot.revision}`));

    const denied = await runExampleAsync({ CASCADE_TOKEN: 'wrong' }, url, snapshot.cases[0].tenant);
    assert.equal(denied.status, 1);
    assert.match(denied.stderr, /failed with status 401/);
    assert.deepEqual(authorizations, ['Bearer test-token', 'Bearer wrong']);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

function runExampleAsync(env, ...args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(packageDir, 'examples/node.js'), ...args], {
      cwd: packageDir,
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
