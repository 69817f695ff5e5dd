// The Node example runs against a spec snapshot and prints the native
// results. The browser example is checked in browser.test.js.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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
