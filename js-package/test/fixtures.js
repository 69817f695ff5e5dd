// Test fixtures: the cascade spec corpus exported by the native evaluator
// (snapshot bytes plus the native results), written to a fresh temporary
// directory per test process.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs the corpus exporter (`spec-snapshots` of the cascade-e2e crate) and
 * returns the directory and the parsed result files. Call `remove()` when
 * done.
 */
export function exportSpecCorpus() {
  const dir = mkdtempSync(join(tmpdir(), 'cascade-js-spec-'));
  execFileSync('cargo', ['run', '--quiet', '-p', 'cascade-e2e', '--bin', 'spec-snapshots', '--', dir], {
    cwd: repositoryRoot,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const results = readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')));
  return {
    dir,
    results,
    snapshot: (file) => readFileSync(join(dir, file)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Runs `call` and returns its outcome in the exporter's result shape. */
export function outcome(call) {
  try {
    const { value, level, reason, revision } = call();
    return { value, level, reason, revision };
  } catch (error) {
    if (typeof error.code !== 'string') {
      throw error;
    }
    return { error: error.code };
  }
}
