// Requests to the edge worker, and a wait for it to serve the control
// plane's newest revision, so that each check after an admin change reads
// a known snapshot instead of racing the worker's refresh.

import { segment } from '../../../scripts/demo/admin-client.mjs';

import { sleep } from './system.mjs';

const SYNC_TIMEOUT_MS = 30_000;

/** GETs a JSON document and returns `{ status, body, headers }`. */
export async function getJson(url, headers = {}) {
  const response = await fetch(url, { headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

/** Returns the store revision the control plane has committed. */
export async function controlPlaneRevision(system) {
  const { body } = await getJson(`${system.cpUrl}/healthz`);
  return body.revision;
}

/**
 * Waits until the edge worker serves the control plane's current revision
 * and returns that revision. Each health request lets the worker start a
 * background refresh once its snapshot is older than the refresh interval.
 */
export async function syncEdge(system) {
  const revision = await controlPlaneRevision(system);
  const deadline = Date.now() + SYNC_TIMEOUT_MS;
  let seen;
  for (;;) {
    const { status, body } = await getJson(`${system.edgeUrl}/healthz`);
    seen = status === 200 ? body.revision : `status ${status}`;
    if (status === 200 && body.revision >= revision) {
      return revision;
    }
    if (Date.now() > deadline) {
      throw new Error(`edge worker still at revision ${seen} after ${SYNC_TIMEOUT_MS} ms; control plane is at ${revision}`);
    }
    await sleep(100);
  }
}

function flagsPath(tenant, user) {
  const userPart = user === undefined ? '' : `/users/${segment(user)}`;
  return `/v1/tenants/${segment(tenant)}${userPart}/flags`;
}

/** Returns one flag's edge result for a tenant and an optional user. */
export async function edgeFlag(system, tenant, user, key) {
  const { status, body } = await getJson(`${system.edgeUrl}${flagsPath(tenant, user)}/${segment(key)}`);
  if (status !== 200) {
    throw new Error(`edge returned ${status} for ${tenant}/${user}/${key}: ${JSON.stringify(body)}`);
  }
  return body;
}

/** Returns every flag's edge result, also as `byKey`, an object keyed by flag key. */
export async function edgeFlags(system, tenant, user) {
  const { status, body } = await getJson(`${system.edgeUrl}${flagsPath(tenant, user)}`);
  if (status !== 200) {
    throw new Error(`edge returned ${status} for all flags of ${tenant}/${user}: ${JSON.stringify(body)}`);
  }
  return { ...body, byKey: Object.fromEntries(body.flags.map((flag) => [flag.key, flag])) };
}

/** Returns `[value, level]` of one flag at the edge, the pair most checks compare. */
export async function valueAndLevel(system, tenant, user, key) {
  const answer = await edgeFlag(system, tenant, user, key);
  return [answer.value, answer.level];
}
