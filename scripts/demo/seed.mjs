#!/usr/bin/env node
// Loads the demo data of demo.json into a running control plane through
// its admin API. It seeds only a store that has no flags, integrators or
// tenants yet, so a second run leaves the data, and any change made to it,
// as they are.
//
// Usage: node scripts/demo/seed.mjs --url http://127.0.0.1:8080 \
//          --token-file data/admin-token [--data scripts/demo/demo.json]

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { AdminClient, segment } from './admin-client.mjs';

export const DEMO_FILE = fileURLToPath(new URL('./demo.json', import.meta.url));

/** Reads and parses a demo data file. */
export async function readDemo(path = DEMO_FILE) {
  return JSON.parse(await readFile(path, 'utf8'));
}

/**
 * Counts the flags, integrators and tenants on the first page of each list,
 * requested with limit=1, so each count is 0 or 1. All zero means an empty
 * store.
 */
export async function existingData(client) {
  const counts = {};
  for (const kind of ['flags', 'integrators', 'tenants']) {
    const page = await client.get(`/v1/${kind}?limit=1`);
    counts[kind] = page.items.length;
  }
  return counts;
}

/**
 * Seeds `demo` through `client` unless the store already contains data.
 * Returns `{ seeded, revision }`, where `revision` is the store revision
 * after the last change (null when nothing was seeded).
 */
export async function seedDemo(client, demo, log = () => {}) {
  const counts = await existingData(client);
  if (counts.flags + counts.integrators + counts.tenants > 0) {
    log('the store already contains data; the demo data is not loaded again');
    return { seeded: false, revision: null };
  }

  let revision = 0;
  const track = (record) => {
    revision = Math.max(revision, record?.version ?? record?.revision ?? 0);
  };

  for (const flag of demo.flags) {
    track(await client.post('/v1/flags', flag));
  }
  log(`created ${demo.flags.length} flags`);

  for (const { status_changes: changes = [], ...profile } of demo.integrators) {
    track(await client.post('/v1/integrators', profile));
    for (const change of changes) {
      track(await client.post(`/v1/integrators/${segment(profile.id)}/status`, change));
    }
  }
  log(`created ${demo.integrators.length} integrators`);

  for (const tenant of demo.tenants) {
    track(await client.post('/v1/tenants', tenant));
  }
  log(`created ${demo.tenants.length} tenants`);

  // Each integrator's feature set is one bulk request, so that a partner's
  // initial set of flags is applied atomically, as when onboarding it.
  for (const [integrator, set] of Object.entries(demo.integrator_flags)) {
    track(await client.patch(`/v1/integrators/${segment(integrator)}/flags`, { set }));
  }
  for (const [tenant, set] of Object.entries(demo.tenant_flags)) {
    track(await client.patch(`/v1/tenants/${segment(tenant)}/flags`, { set }));
  }
  for (const [tenant, set] of Object.entries(demo.user_flags)) {
    track(await client.patch(`/v1/tenants/${segment(tenant)}/users`, { set }));
  }
  log('set the integrator, tenant and user overrides');

  return { seeded: true, revision };
}

async function main() {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:8080' },
      'token-file': { type: 'string' },
      data: { type: 'string', default: DEMO_FILE },
    },
  });
  const token = values['token-file']
    ? (await readFile(values['token-file'], 'utf8')).trim()
    : process.env.CASCADE_ADMIN_TOKEN;
  if (!token) {
    throw new Error('missing admin token: pass --token-file FILE or set CASCADE_ADMIN_TOKEN');
  }

  const client = new AdminClient(values.url, token);
  const demo = await readDemo(values.data);
  const log = (message) => console.error(`[demo] ${message}`);
  try {
    const result = await seedDemo(client, demo, log);
    if (result.seeded) {
      log(`demo data loaded at revision ${result.revision}`);
    }
    console.log(JSON.stringify(result));
  } catch (error) {
    log(`loading the demo data failed: ${error.message}`);
    log('the store may now hold part of the demo data; stop, delete ./data and run again');
    process.exitCode = 1;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main();
}
