// The cascade spec corpus (tests/cascade-spec) through the worker's HTTP
// endpoints: every case must give the native evaluator's answer.
//
// `spec-snapshots` (crate cascade-e2e) writes each case file's snapshots
// and the native results; each snapshot is served by a test control plane
// to a fresh worker, because a worker never goes back to an older revision.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";

import { ROOT, postJson, revisionOf, startTestControlPlane, startWorker } from "./helpers.mjs";

const outDir = mkdtempSync(join(tmpdir(), "cascade-edge-spec-"));
execFileSync("cargo", ["run", "-q", "-p", "cascade-e2e", "--bin", "spec-snapshots", "--", outDir], {
  cwd: ROOT,
  stdio: ["ignore", "ignore", "inherit"],
});
after(() => rmSync(outDir, { recursive: true, force: true }));

const resultFiles = readdirSync(outDir).filter((name) => name.endsWith(".json")).sort();

/** The /v1 path for a tenant, an optional user and an optional flag key. */
function path(tenant, user, key) {
  const base = `/v1/tenants/${encodeURIComponent(tenant)}`;
  const withUser = user === null ? base : `${base}/users/${encodeURIComponent(user)}`;
  return key === undefined ? `${withUser}/flags` : `${withUser}/flags/${encodeURIComponent(key)}`;
}

/** The HTTP status the worker gives for an evaluator error code. */
const STATUS_FOR_ERROR = { FLAG_NOT_FOUND: 404, INVALID_CONTEXT: 400 };

function assertAnswer(actual, expected, label) {
  assert.deepEqual(actual.value, expected.value, `${label}: value`);
  assert.equal(actual.level, expected.level, `${label}: level`);
  assert.equal(actual.reason, expected.reason, `${label}: reason`);
}

test("spec corpus is present", () => {
  assert.ok(resultFiles.length > 0, `spec-snapshots wrote no results into ${outDir}`);
});

for (const file of resultFiles) {
  const results = JSON.parse(readFileSync(join(outDir, file), "utf8"));
  for (const snapshot of results.snapshots) {
    describe(`${file} revision ${snapshot.revision}`, () => {
      let cp;
      let worker;
      test("worker loads the snapshot", async () => {
        cp = await startTestControlPlane();
        cp.serve(readFileSync(join(outDir, snapshot.file)), snapshot.revision);
        worker = await startWorker({ CONTROL_PLANE_URL: cp.url });
        const response = await worker.fetch("/healthz");
        assert.equal(response.status, 200);
        assert.equal(revisionOf(response), snapshot.revision);
        await response.arrayBuffer();
      });
      after(async () => {
        await worker?.dispose();
        await cp?.close();
      });

      for (const c of snapshot.cases) {
        test(`case ${c.name}`, async () => {
          const response = await worker.fetch(path(c.tenant, c.user, c.flag));
          const body = await response.json();
          if (c.result.error !== undefined) {
            assert.equal(response.status, STATUS_FOR_ERROR[c.result.error], JSON.stringify(body));
            return;
          }
          assert.equal(response.status, 200, JSON.stringify(body));
          assertAnswer(body, c.result, "GET");
          assert.equal(body.revision, c.result.revision);

          if (c.user === null) {
            return;
          }
          const context = { targetingKey: c.user, tenantId: c.tenant };
          const ofrep = await postJson(worker, `/ofrep/v1/evaluate/flags/${encodeURIComponent(c.flag)}`, {
            context,
          });
          assert.equal(ofrep.status, 200);
          const answer = await ofrep.json();
          assert.deepEqual(answer.value, c.result.value, "OFREP value");
          assert.equal(answer.metadata.level, c.result.level, "OFREP level");
          assert.equal(answer.metadata.cascadeReason, c.result.reason, "OFREP reason");
        });
      }

      for (const all of snapshot.all) {
        test(`all flags for ${all.tenant}/${all.user}`, async () => {
          const response = await worker.fetch(path(all.tenant, all.user));
          const body = await response.json();
          if (all.error !== undefined) {
            assert.equal(response.status, STATUS_FOR_ERROR[all.error], JSON.stringify(body));
            return;
          }
          assert.equal(response.status, 200, JSON.stringify(body));
          assert.deepEqual(
            body.flags.map((f) => f.key),
            all.flags.map((f) => f.key),
          );
          all.flags.forEach((expected, i) => assertAnswer(body.flags[i], expected, expected.key));
        });
      }
    });
  }
}
