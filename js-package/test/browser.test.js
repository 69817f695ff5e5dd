// The package in a real browser: headless Chromium loads a page served on
// 127.0.0.1 that imports the package through an import map, fetches each
// spec snapshot and evaluates every case; the results must equal the
// native evaluator's. The browser example page is checked the same way.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { exportSpecCorpus } from './fixtures.js';
import { startServer } from './server.js';

const CHROMIUM = process.env.CASCADE_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Runs in the page: evaluates every case of every snapshot and returns
// the outcomes in the exporter's shape.
const PAGE_SCRIPT = `
import { init, CascadeEvaluator } from '@cascade/evaluator';

function outcome(call) {
  try {
    const { value, level, reason, revision } = call();
    return { value, level, reason, revision };
  } catch (error) {
    if (typeof error.code !== 'string') throw error;
    return { error: error.code };
  }
}

try {
  let beforeInit;
  try {
    new CascadeEvaluator(new Uint8Array(0));
  } catch (error) {
    beforeInit = error.code;
  }
  await init();
  window.cascadeBeforeInit = beforeInit;
  const files = await (await fetch('/corpus.json')).json();
  const results = [];
  for (const file of files) {
    for (const snapshot of file.snapshots) {
      const response = await fetch('/snapshots/' + snapshot.file);
      const evaluator = new CascadeEvaluator(await response.arrayBuffer());
      results.push({
        file: snapshot.file,
        revision: evaluator.revision,
        cases: snapshot.cases.map((c) => outcome(() => evaluator.evaluate(c.tenant, c.user, c.flag))),
        all: snapshot.all.map((c) => {
          try {
            return evaluator.evaluateAll(c.tenant, c.user).map(({ key, value, level, reason, revision }) => ({ key, value, level, reason, revision }));
          } catch (error) {
            return { error: error.code };
          }
        }),
        loneSurrogate: outcome(() => evaluator.evaluate('tenant-a', 'a\\uD800', snapshot.cases[0].flag)),
      });
      evaluator.free();
    }
  }
  window.cascadeResults = results;
} catch (error) {
  window.cascadeError = String(error && error.stack || error);
}
`;

const PAGE = `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>cascade browser test</title>
<script type="importmap">{"imports": {"@cascade/evaluator": "/js/web.js"}}</script>
<script type="module" src="/page.js"></script>
</head>
<body></body>
</html>`;

let corpus;
let server;

/** Returns the first spec snapshot and (tenant, user) with a user-level result. */
function exampleContext() {
  for (const file of corpus.results) {
    for (const snapshot of file.snapshots) {
      const context = snapshot.all.find((c) => c.user && c.flags?.some((flag) => flag.level === 'user'));
      if (context) {
        return { snapshot, context };
      }
    }
  }
  throw new Error('no spec snapshot has a user-level result');
}

let browserContext;
let userDataDir;

before(async () => {
  corpus = exportSpecCorpus();
  const routes = {
    '/': { type: 'text/html; charset=utf-8', body: PAGE },
    '/page.js': { type: 'text/javascript', body: PAGE_SCRIPT },
    '/corpus.json': { type: 'application/json', body: JSON.stringify(corpus.results) },
  };
  for (const file of corpus.results) {
    for (const snapshot of file.snapshots) {
      routes[`/snapshots/${snapshot.file}`] = {
        type: 'application/octet-stream',
        body: corpus.snapshot(snapshot.file),
      };
    }
  }
  const example = exampleContext();
  routes['/examples/browser/demo.snap'] = {
    type: 'application/octet-stream',
    body: corpus.snapshot(example.snapshot.file),
  };
  server = await startServer(routes);
  userDataDir = mkdtempSync(join(tmpdir(), 'cascade-chromium-'));
  browserContext = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
});

after(async () => {
  await browserContext?.close();
  await server?.close();
  if (userDataDir) {
    rmSync(userDataDir, { recursive: true, force: true });
  }
  corpus?.remove();
});

test('browser evaluates spec corpus like native', async () => {
  const page = await browserContext.newPage();
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => window.cascadeResults || window.cascadeError);
  const failure = await page.evaluate(() => window.cascadeError);
  assert.equal(failure, undefined);
  assert.deepEqual(pageErrors, []);

  assert.equal(await page.evaluate(() => window.cascadeBeforeInit), 'NOT_INITIALIZED');
  const results = await page.evaluate(() => window.cascadeResults);
  const expected = corpus.results.flatMap((file) => file.snapshots);
  assert.equal(results.length, expected.length);
  for (const [index, snapshot] of expected.entries()) {
    const actual = results[index];
    assert.equal(actual.file, snapshot.file);
    assert.equal(actual.revision, snapshot.revision);
    for (const [caseIndex, c] of snapshot.cases.entries()) {
      assert.deepEqual(actual.cases[caseIndex], c.result, `${snapshot.file}: ${c.name}`);
    }
    for (const [allIndex, context] of snapshot.all.entries()) {
      const label = `${snapshot.file}: all for ${JSON.stringify([context.tenant, context.user])}`;
      if (context.error) {
        assert.deepEqual(actual.all[allIndex], { error: context.error }, label);
      } else {
        assert.deepEqual(actual.all[allIndex], context.flags, label);
      }
    }
    assert.deepEqual(actual.loneSurrogate, { error: 'INVALID_CONTEXT' }, snapshot.file);
  }
  await page.close();
});

test('browser example lists native results', async () => {
  const { context } = exampleContext();
  const page = await browserContext.newPage();
  const query = new URLSearchParams({ tenant: context.tenant, user: context.user });
  await page.goto(`${server.url}/examples/browser/index.html?${query}`);
  await page.waitForSelector('body[data-state="done"]');
  assert.equal(await page.textContent('#error'), '');
  const rows = await page.$$eval('#results tbody tr', (trs) =>
    trs.map((tr) => Array.from(tr.children, (td) => td.textContent)),
  );
  // The native results carry no type, so the type column is only checked
  // for a known name.
  const expected = context.flags.map((flag) => [flag.key, JSON.stringify(flag.value), flag.level, flag.reason]);
  assert.deepEqual(rows.map(([key, , value, level, reason]) => [key, value, level, reason]), expected);
  for (const [key, type] of rows) {
    assert.ok(['boolean', 'string', 'integer', 'float', 'object'].includes(type), `${key}: ${type}`);
  }
  await page.close();
});
