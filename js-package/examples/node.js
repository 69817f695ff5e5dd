// Evaluates every flag for one tenant and user with @cascade/evaluator in
// Node, and explains one flag level by level.
//
//   node examples/node.js SNAPSHOT TENANT [USER] [FLAG]
//
// SNAPSHOT is a snapshot file, or the control plane's snapshot URL such as
// http://127.0.0.1:8080/v1/snapshot. For a URL, set CASCADE_TOKEN to a
// token that may read snapshots. USER may be "-" for no user.

import { readFile } from 'node:fs/promises';

import { CascadeError, CascadeEvaluator } from '@cascade/evaluator';

async function readSnapshot(source) {
  if (!/^https?:\/\//.test(source)) {
    return readFile(source);
  }
  const headers = process.env.CASCADE_TOKEN ? { authorization: `Bearer ${process.env.CASCADE_TOKEN}` } : {};
  const response = await fetch(source, { headers });
  if (!response.ok) {
    throw new Error(`GET ${source} failed with status ${response.status}: ${await response.text()}`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

async function main() {
  const [source, tenant, userArgument, flag] = process.argv.slice(2);
  if (!source || !tenant) {
    console.error('usage: node examples/node.js SNAPSHOT TENANT [USER] [FLAG]');
    process.exitCode = 2;
    return;
  }
  const user = userArgument === undefined || userArgument === '-' ? null : userArgument;

  const evaluator = new CascadeEvaluator(await readSnapshot(source));
  console.log(`snapshot revision ${evaluator.revision}, ${evaluator.flagKeys.length} flags`);

  const rows = evaluator.evaluateAll(tenant, user).map(({ key, type, value, level, reason }) => ({
    key,
    type,
    value: JSON.stringify(value),
    level,
    reason,
  }));
  console.table(rows);

  if (flag) {
    const explanation = evaluator.explain(tenant, user, flag);
    console.log(`${flag} = ${JSON.stringify(explanation.value)}, decided at ${explanation.level} level`);
    for (const step of explanation.steps) {
      const value = step.set ? JSON.stringify(step.value) : '(not set)';
      console.log(`  ${step.level.padEnd(10)} ${String(step.scope ?? '-').padEnd(24)} ${value}`);
    }
  }
  evaluator.free();
}

main().catch((error) => {
  const code = error instanceof CascadeError ? ` [${error.code}]` : '';
  console.error(`error${code}: ${error.message}`);
  process.exitCode = 1;
});
