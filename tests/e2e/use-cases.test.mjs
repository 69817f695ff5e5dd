// The product's use cases end to end: each scenario changes data through
// the control plane's admin API, waits until the edge worker serves the new
// revision, and checks the edge's results and the level that decided each one.
// One control plane and one worker serve the whole file; every test uses
// its own flags, integrators and tenants.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { AdminClient, segment } from '../../scripts/demo/admin-client.mjs';

import { edgeFlag, edgeFlags, syncEdge, valueAndLevel } from './lib/edge.mjs';
import { startSystem } from './lib/system.mjs';

let system;
let admin;

before(async () => {
  system = await startSystem();
  admin = system.admin;
});

after(async () => {
  await system?.stop();
});

async function createFlags(flags) {
  for (const flag of flags) {
    await admin.post('/v1/flags', flag);
  }
}

async function createIntegrator(id, extra = {}) {
  return admin.post('/v1/integrators', { id, display_name: `Integrator ${id}`, ...extra });
}

async function createTenant(id, integrator) {
  const body = { id, display_name: `Tenant ${id}` };
  if (integrator) {
    body.integrator = integrator;
  }
  return admin.post('/v1/tenants', body);
}

describe('partner onboarding', () => {
  test('initial feature set reaches partner tenants', async () => {
    await createFlags([
      { key: 'onb.guided-setup', type: 'boolean', default: false },
      { key: 'onb.theme', type: 'string', default: 'classic' },
      { key: 'onb.seats', type: 'integer', default: 5 },
      { key: 'onb.export', type: 'boolean', default: true },
    ]);
    const profile = {
      display_name: 'Harbor Partners',
      legal_name: 'Harbor Partners Ltd',
      website: 'https://harbor.example',
      region: 'eu-west',
      description: 'New partner for logistics organisations',
      status: 'onboarding',
      contacts: [
        { name: 'Ines Costa', email: 'ines@harbor.example', phone: '+351 21 555 0100', role: 'technical' },
        { name: 'Tom Reid', email: 'tom@harbor.example', role: 'commercial' },
      ],
    };
    const created = await createIntegrator('harbor', profile);
    assert.equal(created.status, 'onboarding');
    assert.equal(created.contacts.length, 2);
    await createTenant('harbor-one', 'harbor');
    await createTenant('harbor-two', 'harbor');
    await createIntegrator('onb-other', { status: 'active' });
    await createTenant('onb-other-t', 'onb-other');

    const result = await admin.patch('/v1/integrators/harbor/flags', {
      set: [
        { flag: 'onb.guided-setup', value: true },
        { flag: 'onb.theme', value: 'harbor' },
        { flag: 'onb.seats', value: 50 },
      ],
    });
    assert.equal(result.set, 3);
    await syncEdge(system);

    for (const tenant of ['harbor-one', 'harbor-two']) {
      const { byKey } = await edgeFlags(system, tenant, 'first-user');
      assert.deepEqual([byKey['onb.guided-setup'].value, byKey['onb.guided-setup'].level], [true, 'integrator']);
      assert.deepEqual([byKey['onb.theme'].value, byKey['onb.theme'].level], ['harbor', 'integrator']);
      assert.deepEqual([byKey['onb.seats'].value, byKey['onb.seats'].level], [50, 'integrator']);
      assert.deepEqual([byKey['onb.export'].value, byKey['onb.export'].level], [true, 'platform']);
    }
    const outside = await valueAndLevel(system, 'onb-other-t', 'first-user', 'onb.guided-setup');
    assert.deepEqual(outside, [false, 'platform']);
  });

  test('status lifecycle rejects invalid transitions', async () => {
    await createIntegrator('lifecycle', { status: 'onboarding' });
    await assert.rejects(
      admin.post('/v1/integrators/lifecycle/status', { status: 'suspended' }),
      { status: 409 },
    );
    const active = await admin.post('/v1/integrators/lifecycle/status', {
      status: 'active',
      reason: 'contract signed',
    });
    assert.equal(active.status, 'active');
    assert.deepEqual(
      active.status_history.map((change) => change.to),
      ['onboarding', 'active'],
    );
  });
});

describe('phased rollout', () => {
  test('feature reaches integrators, tenant, then platform', async () => {
    await createFlags([{ key: 'roll.checkout', type: 'boolean', default: false }]);
    for (const id of ['roll-a', 'roll-b', 'roll-c']) {
      await createIntegrator(id, { status: 'active' });
      await createTenant(`${id}-t`, id);
    }
    await createTenant('roll-direct');
    const checkout = async (tenant) => valueAndLevel(system, tenant, 'u1', 'roll.checkout');

    // Step 1: two integrators.
    await admin.put('/v1/integrators/roll-a/flags/roll.checkout', { value: true });
    await admin.put('/v1/integrators/roll-b/flags/roll.checkout', { value: true });
    await syncEdge(system);
    assert.deepEqual(await checkout('roll-a-t'), [true, 'integrator']);
    assert.deepEqual(await checkout('roll-b-t'), [true, 'integrator']);
    assert.deepEqual(await checkout('roll-c-t'), [false, 'platform']);
    assert.deepEqual(await checkout('roll-direct'), [false, 'platform']);

    // Step 2: one tenant with no integrator.
    await admin.put('/v1/tenants/roll-direct/flags/roll.checkout', { value: true });
    await syncEdge(system);
    assert.deepEqual(await checkout('roll-direct'), [true, 'tenant']);
    assert.deepEqual(await checkout('roll-c-t'), [false, 'platform']);

    // Step 3: the platform default.
    await admin.patch('/v1/flags/roll.checkout', { default: true });
    await syncEdge(system);
    assert.deepEqual(await checkout('roll-c-t'), [true, 'platform']);
    assert.deepEqual(await checkout('roll-a-t'), [true, 'integrator']);

    // Retiring the rollout overrides leaves every tenant on the default.
    await admin.patch('/v1/integrators/roll-a/flags', { remove: ['roll.checkout'] });
    await admin.patch('/v1/integrators/roll-b/flags', { remove: ['roll.checkout'] });
    await admin.patch('/v1/tenants/roll-direct/flags', { remove: ['roll.checkout'] });
    await syncEdge(system);
    for (const tenant of ['roll-a-t', 'roll-b-t', 'roll-c-t', 'roll-direct']) {
      assert.deepEqual(await checkout(tenant), [true, 'platform'], tenant);
    }
  });
});

describe('partnership feature set', () => {
  test('contract values of every type apply', async () => {
    await createFlags([
      { key: 'deal.sso', type: 'boolean', default: false },
      { key: 'deal.tier', type: 'string', default: 'standard' },
      { key: 'deal.rate-limit', type: 'integer', default: 600 },
      { key: 'deal.discount', type: 'float', default: 0 },
      { key: 'deal.storage', type: 'object', default: { quotaGb: 50 } },
    ]);
    await createIntegrator('deal-partner', { status: 'active' });
    await createIntegrator('deal-other', { status: 'active' });
    await createTenant('deal-t1', 'deal-partner');
    await createTenant('deal-t2', 'deal-partner');
    await createTenant('deal-other-t', 'deal-other');

    await admin.patch('/v1/integrators/deal-partner/flags', {
      set: [
        { flag: 'deal.sso', value: true },
        { flag: 'deal.tier', value: 'enterprise' },
        { flag: 'deal.rate-limit', value: 3000 },
        { flag: 'deal.discount', value: 0.1 },
        { flag: 'deal.storage', value: { quotaGb: 500, retentionDays: 365 } },
      ],
    });
    // One tenant of the partnership negotiated a larger discount.
    await admin.patch('/v1/tenants/deal-t2/flags', { set: [{ flag: 'deal.discount', value: 0.25 }] });
    await syncEdge(system);

    const t1 = (await edgeFlags(system, 'deal-t1', 'buyer')).byKey;
    assert.deepEqual([t1['deal.sso'].value, t1['deal.sso'].level], [true, 'integrator']);
    assert.deepEqual([t1['deal.tier'].value, t1['deal.tier'].type], ['enterprise', 'string']);
    assert.deepEqual([t1['deal.rate-limit'].value, t1['deal.rate-limit'].type], [3000, 'integer']);
    assert.deepEqual([t1['deal.discount'].value, t1['deal.discount'].type], [0.1, 'float']);
    assert.deepEqual(t1['deal.storage'].value, { quotaGb: 500, retentionDays: 365 });
    assert.equal(t1['deal.storage'].level, 'integrator');

    const t2 = await valueAndLevel(system, 'deal-t2', 'buyer', 'deal.discount');
    assert.deepEqual(t2, [0.25, 'tenant']);
    const t2Sso = await valueAndLevel(system, 'deal-t2', 'buyer', 'deal.sso');
    assert.deepEqual(t2Sso, [true, 'integrator']);

    const other = (await edgeFlags(system, 'deal-other-t', 'buyer')).byKey;
    for (const key of ['deal.sso', 'deal.tier', 'deal.rate-limit', 'deal.discount', 'deal.storage']) {
      assert.equal(other[key].level, 'platform', key);
    }
    assert.deepEqual(other['deal.storage'].value, { quotaGb: 50 });
  });

  test('override of the wrong type is rejected', async () => {
    await assert.rejects(
      admin.put('/v1/integrators/deal-partner/flags/deal.rate-limit', { value: 'lots' }),
      { status: 422 },
    );
    await syncEdge(system);
    const limit = await valueAndLevel(system, 'deal-t1', 'buyer', 'deal.rate-limit');
    assert.deepEqual(limit, [3000, 'integrator']);
  });
});

describe('feature testing', () => {
  test('user override reaches only that tester', async () => {
    await createFlags([{ key: 'qa.assistant', type: 'boolean', default: false }]);
    await createIntegrator('qa-partner', { status: 'active' });
    await createTenant('qa-tenant', 'qa-partner');
    // A user id with characters that need percent-encoding in paths.
    const tester = 'qa/dana+test@example.com';

    await admin.put(`/v1/tenants/qa-tenant/users/${segment(tester)}/flags/qa.assistant`, {
      value: true,
    });
    await syncEdge(system);
    assert.deepEqual(await valueAndLevel(system, 'qa-tenant', tester, 'qa.assistant'), [true, 'user']);
    assert.deepEqual(await valueAndLevel(system, 'qa-tenant', 'colleague', 'qa.assistant'), [
      false,
      'platform',
    ]);
    const tenantOnly = await edgeFlag(system, 'qa-tenant', undefined, 'qa.assistant');
    assert.deepEqual([tenantOnly.value, tenantOnly.level], [false, 'platform']);

    await admin.delete(`/v1/tenants/qa-tenant/users/${segment(tester)}/flags/qa.assistant`);
    await syncEdge(system);
    assert.deepEqual(await valueAndLevel(system, 'qa-tenant', tester, 'qa.assistant'), [
      false,
      'platform',
    ]);
  });
});

describe('tenant association', () => {
  test('move and detach change edge results', async () => {
    await createFlags([{ key: 'move.theme', type: 'string', default: 'plain' }]);
    await createIntegrator('move-one', { status: 'active' });
    await createIntegrator('move-two', { status: 'active' });
    await admin.put('/v1/integrators/move-one/flags/move.theme', { value: 'one' });
    await admin.put('/v1/integrators/move-two/flags/move.theme', { value: 'two' });
    await createTenant('move-t', 'move-one');
    await syncEdge(system);
    assert.deepEqual(await valueAndLevel(system, 'move-t', 'u', 'move.theme'), ['one', 'integrator']);

    const moved = await admin.put('/v1/tenants/move-t/integrator', { integrator: 'move-two' });
    assert.equal(moved.integrator, 'move-two');
    await syncEdge(system);
    assert.deepEqual(await valueAndLevel(system, 'move-t', 'u', 'move.theme'), ['two', 'integrator']);

    await admin.delete('/v1/tenants/move-t/integrator');
    await syncEdge(system);
    assert.deepEqual(await valueAndLevel(system, 'move-t', 'u', 'move.theme'), ['plain', 'platform']);
  });
});

describe('override removal', () => {
  test('each deleted level inherits again', async () => {
    await createFlags([{ key: 'inherit.limit', type: 'integer', default: 100 }]);
    await createIntegrator('inherit-i', { status: 'active' });
    await createTenant('inherit-t', 'inherit-i');
    await admin.put('/v1/integrators/inherit-i/flags/inherit.limit', { value: 200 });
    await admin.put('/v1/tenants/inherit-t/flags/inherit.limit', { value: 300 });
    await admin.put('/v1/tenants/inherit-t/users/ann/flags/inherit.limit', { value: 400 });
    const limit = () => valueAndLevel(system, 'inherit-t', 'ann', 'inherit.limit');

    await syncEdge(system);
    assert.deepEqual(await limit(), [400, 'user']);

    await admin.delete('/v1/tenants/inherit-t/users/ann/flags/inherit.limit');
    await syncEdge(system);
    assert.deepEqual(await limit(), [300, 'tenant']);

    await admin.delete('/v1/tenants/inherit-t/flags/inherit.limit');
    await syncEdge(system);
    assert.deepEqual(await limit(), [200, 'integrator']);

    await admin.delete('/v1/integrators/inherit-i/flags/inherit.limit');
    await syncEdge(system);
    assert.deepEqual(await limit(), [100, 'platform']);
  });
});

describe('integrator-admin token', () => {
  test('changes own tenants and nothing else', async () => {
    await createFlags([{ key: 'scope.feature', type: 'boolean', default: false }]);
    await createIntegrator('scope-own', { status: 'active' });
    await createIntegrator('scope-other', { status: 'active' });
    await createTenant('scope-own-t', 'scope-own');
    await createTenant('scope-other-t', 'scope-other');
    const created = await admin.post('/v1/tokens', {
      name: 'scope-own admin',
      role: 'integrator-admin',
      integrator: 'scope-own',
    });
    const partner = new AdminClient(system.cpUrl, created.secret);

    // Allowed: overrides and profile of its own tenants.
    await partner.put('/v1/tenants/scope-own-t/flags/scope.feature', { value: true });
    await partner.put('/v1/tenants/scope-own-t/users/lead/flags/scope.feature', { value: false });
    const renamed = await partner.patch('/v1/tenants/scope-own-t', { display_name: 'Own tenant' });
    assert.equal(renamed.display_name, 'Own tenant');

    // Rejected: everything outside its tenants, and platform-level changes.
    const forbidden = { status: 403 };
    const attempts = [
      () => partner.put('/v1/tenants/scope-other-t/flags/scope.feature', { value: true }),
      () => partner.put('/v1/tenants/scope-other-t/users/x/flags/scope.feature', { value: true }),
      () => partner.patch('/v1/tenants/scope-other-t/flags', { set: [{ flag: 'scope.feature', value: true }] }),
      () => partner.put('/v1/integrators/scope-other/flags/scope.feature', { value: true }),
      () => partner.put('/v1/integrators/scope-own/flags/scope.feature', { value: true }),
      () => partner.patch('/v1/flags/scope.feature', { default: true }),
      () => partner.post('/v1/flags', { key: 'scope.new', type: 'boolean', default: true }),
      () => partner.put('/v1/tenants/scope-own-t/integrator', { integrator: 'scope-other' }),
      () => partner.post('/v1/tenants', { id: 'scope-sneak', display_name: 'x', integrator: 'scope-other' }),
      () => partner.post('/v1/tokens', { name: 'more', role: 'platform-admin' }),
    ];
    for (const attempt of attempts) {
      await assert.rejects(attempt(), forbidden, attempt.toString());
    }

    await syncEdge(system);
    assert.deepEqual(await valueAndLevel(system, 'scope-own-t', 'member', 'scope.feature'), [
      true,
      'tenant',
    ]);
    assert.deepEqual(await valueAndLevel(system, 'scope-own-t', 'lead', 'scope.feature'), [false, 'user']);
    assert.deepEqual(await valueAndLevel(system, 'scope-other-t', 'member', 'scope.feature'), [
      false,
      'platform',
    ]);
    const other = await admin.get('/v1/tenants/scope-other-t');
    assert.equal(other.integrator, 'scope-other');
    const flag = await admin.get('/v1/flags/scope.feature');
    assert.equal(flag.default, false);
  });
});
