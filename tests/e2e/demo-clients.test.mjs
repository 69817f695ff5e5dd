// The demo data seen through clients that this project did not write: the
// OpenFeature web SDK with the OFREP web provider in headless Chromium, and
// the OpenFeature server SDK with the OFREP provider in Node. The page also
// runs the @cascade/evaluator wasm package on the snapshot the edge serves,
// and must return the edge's results.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OpenFeature } from '@openfeature/server-sdk';

import { segment } from '../../scripts/demo/admin-client.mjs';
import { readDemo, seedDemo } from '../../scripts/demo/seed.mjs';

import { launchBrowser, startPageServer } from './lib/browser.mjs';
import { controlPlaneRevision, edgeFlags, syncEdge, valueAndLevel } from './lib/edge.mjs';
import { startSystem } from './lib/system.mjs';

const TESTER = 'dana@acme-retail.example';
const TESTER_FLAG = `/v1/tenants/acme-retail/users/${segment(TESTER)}/flags/ai.assistant`;
// How long the page may take to show a change; the OFREP provider polls
// every 250 ms and the worker refreshes every 200 ms.
const PAGE_CHANGE_TIMEOUT_MS = 30_000;

let system;
let demo;
let seedResult;
let pageServer;
let browser;

before(async () => {
  system = await startSystem();
  demo = await readDemo();
  seedResult = await seedDemo(system.admin, demo);
  await syncEdge(system);
  pageServer = await startPageServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await pageServer?.close();
  await OpenFeature.close();
  await system?.stop();
});

describe('demo data', () => {
  test('first seed loads everything', async () => {
    assert.equal(seedResult.seeded, true);
    const flags = await system.admin.get('/v1/flags?limit=1000');
    assert.equal(flags.items.length, demo.flags.length);
    const types = new Set(flags.items.map((flag) => flag.type));
    assert.deepEqual([...types].sort(), ['boolean', 'float', 'integer', 'object', 'string']);
    const integrators = await system.admin.get('/v1/integrators');
    const statuses = integrators.items.map((item) => [item.id, item.status]).sort();
    assert.deepEqual(statuses, [
      ['bluepeak', 'onboarding'],
      ['kestrel', 'suspended'],
      ['northwind', 'active'],
    ]);
    const tenants = await system.admin.get('/v1/tenants?limit=1000');
    assert.equal(tenants.items.length, 12);
    assert.ok(tenants.items.some((tenant) => tenant.integrator === null));
  });

  test('second seed changes nothing', async () => {
    const before = await controlPlaneRevision(system);
    const again = await seedDemo(system.admin, demo);
    assert.equal(again.seeded, false);
    assert.equal(await controlPlaneRevision(system), before);
  });

  test('edge tells the demo story', async () => {
    const cases = [
      // Phased rollout of the new checkout.
      ['globex-logistics', 'u', 'checkout.new-flow', true, 'integrator'],
      ['stark-manufacturing', 'u', 'checkout.new-flow', true, 'integrator'],
      ['oscorp-labs', 'u', 'checkout.new-flow', true, 'tenant'],
      ['umbrella-health', 'u', 'checkout.new-flow', false, 'tenant'],
      ['tyrell-bio', 'u', 'checkout.new-flow', false, 'platform'],
      ['wonka-confectionery', 'u', 'checkout.new-flow', false, 'platform'],
      // Bluepeak's onboarding feature set and Northwind's contract.
      ['hooli-media', 'u', 'onboarding.guided-setup', true, 'integrator'],
      ['acme-retail', 'u', 'sso.saml', true, 'integrator'],
      ['acme-retail', 'u', 'api.rate-limit-per-minute', 3000, 'integrator'],
      // Initech's own contract on top of Northwind's.
      ['initech-finance', 'u', 'pricing.discount-rate', 0.15, 'tenant'],
      ['initech-finance', 'u', 'support.tier', 'enterprise', 'integrator'],
      // Kestrel's suspension.
      ['soylent-foods', 'u', 'maintenance.read-only', true, 'integrator'],
      // The tester and her colleague.
      ['acme-retail', TESTER, 'ai.assistant', true, 'user'],
      ['acme-retail', TESTER, 'ui.theme', 'midnight', 'user'],
      ['acme-retail', 'colleague', 'ai.assistant', false, 'platform'],
    ];
    for (const [tenant, user, key, value, level] of cases) {
      const answer = await valueAndLevel(system, tenant, user, key);
      assert.deepEqual(answer, [value, level], `${tenant} ${user} ${key}`);
    }
  });
});

describe('OpenFeature web SDK in Chromium', () => {
  let page;

  before(async () => {
    page = await browser.context.newPage();
    const query = new URLSearchParams({
      edge: system.edgeUrl,
      tenant: 'acme-retail',
      user: TESTER,
      flag: 'ai.assistant',
      poll: '250',
    });
    await page.goto(`${pageServer.url}/?${query}`);
    await page.waitForFunction(() => document.querySelector('#status').textContent !== 'starting');
  });

  after(async () => {
    await page?.close();
  });

  test('page reads flags from edge', async () => {
    assert.equal(await page.textContent('#status'), 'ready');
    assert.equal(await page.textContent('#flag-value'), 'true');
    assert.equal(await page.textContent('#flag-level'), 'user');

    const flags = demo.flags.map((flag) => [flag.key, flag.type]);
    const details = await page.evaluate((list) => window.cascadeTest.details(list), flags);
    const edge = (await edgeFlags(system, 'acme-retail', TESTER)).byKey;
    for (const detail of details) {
      assert.equal(detail.errorCode, undefined, detail.key);
      assert.deepEqual(detail.value, edge[detail.key].value, detail.key);
      assert.equal(detail.flagMetadata.level, edge[detail.key].level, detail.key);
    }
  });

  test('page shows change after admin change', async () => {
    const shows = (value, level) =>
      page.waitForFunction(
        ([expectedValue, expectedLevel]) =>
          document.querySelector('#flag-value').textContent === expectedValue &&
          document.querySelector('#flag-level').textContent === expectedLevel,
        [value, level],
        { timeout: PAGE_CHANGE_TIMEOUT_MS },
      );

    await system.admin.delete(TESTER_FLAG);
    await shows('false', 'platform');
    assert.equal(await page.textContent('#flag-reason'), 'STATIC');

    await system.admin.put(TESTER_FLAG, { value: true });
    await shows('true', 'user');
    assert.equal(await page.textContent('#flag-reason'), 'TARGETING_MATCH');
  });
});

describe('OpenFeature server SDK in Node', () => {
  test('provider reads flags and changes', async () => {
    await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl: system.edgeUrl }));
    const client = OpenFeature.getClient();
    const tester = { targetingKey: TESTER, tenantId: 'acme-retail' };
    const colleague = { targetingKey: 'colleague', tenantId: 'acme-retail' };

    const assistant = await client.getBooleanDetails('ai.assistant', false, tester);
    assert.equal(assistant.value, true);
    assert.equal(assistant.flagMetadata.level, 'user');
    const limit = await client.getNumberDetails('api.rate-limit-per-minute', 0, colleague);
    assert.equal(limit.value, 3000);
    assert.equal(limit.flagMetadata.level, 'integrator');
    const storage = await client.getObjectDetails('limits.storage', {}, colleague);
    assert.deepEqual(storage.value, { quotaGb: 500, retentionDays: 365 });
    const missing = await client.getBooleanDetails('no.such-flag', false, colleague);
    assert.equal(missing.errorCode, 'FLAG_NOT_FOUND');

    await system.admin.put('/v1/integrators/northwind/flags/search.backend', { value: 'v3' });
    await syncEdge(system);
    const search = await client.getStringDetails('search.backend', 'none', colleague);
    assert.equal(search.value, 'v3');
    assert.equal(search.flagMetadata.level, 'integrator');

    await system.admin.delete('/v1/integrators/northwind/flags/search.backend');
    await syncEdge(system);
    const restored = await client.getStringDetails('search.backend', 'none', colleague);
    assert.equal(restored.value, 'v1');
    assert.equal(restored.flagMetadata.level, 'platform');
  });
});

describe('@cascade/evaluator in Chromium', () => {
  test('package results equal edge results', async () => {
    const revision = await syncEdge(system);
    const response = await fetch(`${system.cpUrl}/v1/snapshot`, {
      headers: { authorization: `Bearer ${system.adminToken}` },
    });
    assert.equal(response.status, 200);
    pageServer.setSnapshot(new Uint8Array(await response.arrayBuffer()));

    const subjects = [
      ['acme-retail', TESTER],
      ['acme-retail', 'colleague'],
      ['acme-retail', null],
      ['initech-finance', 'u'],
      ['umbrella-health', 'u'],
      ['hooli-media', 'u'],
      ['tyrell-bio', 'u'],
      ['oscorp-labs', 'u'],
      ['wonka-confectionery', 'u'],
      ['not-a-tenant-yet', 'u'],
    ];
    const page = await browser.context.newPage();
    try {
      await page.goto(`${pageServer.url}/`);
      const result = await page.evaluate(
        ([snapshotUrl, wasmUrl, list]) => window.cascadeTest.evaluateWithPackage(snapshotUrl, wasmUrl, list),
        [`${pageServer.url}/snapshot.bin`, `${pageServer.url}/cascade_js_bg.wasm`, subjects],
      );
      assert.equal(result.revision, revision);

      for (const [index, [tenant, user]] of subjects.entries()) {
        const edge = await edgeFlags(system, tenant, user ?? undefined);
        assert.equal(edge.revision, revision);
        const fromPackage = result.results[index].map(({ revision: _, ...evaluation }) => evaluation);
        assert.deepEqual(fromPackage, edge.flags, `${tenant} ${user}`);
      }
    } finally {
      await page.close();
    }
  });
});
