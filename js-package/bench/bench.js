// Benchmarks the JS package in Node against a plain JS Map baseline built
// from the same data, in the same process:
//
// - snapshot load time at sizes S and L (new evaluator, and replacing a
//   loaded snapshot with the next revision), next to the native decode;
// - wasm memory after loading, and after replacing (the peak);
// - one evaluation, and all flags for one user, at S (and L for the
//   evaluator alone).
//
// Usage: node bench/bench.js [--quick]. The inputs are written by the
// bench-workload example of the cascade-js crate into
// target/js-package-bench (generated when missing). Build the package with
// build.sh first. Prints a Markdown table.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { CascadeEvaluator } from '@cascade/evaluator';

import { MapBaseline } from './baseline.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dataDir = join(root, 'target', 'js-package-bench');
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 7;

function prepareInputs() {
  if (existsSync(join(dataDir, 'l.json'))) {
    return;
  }
  execFileSync(
    'cargo',
    ['run', '--release', '--quiet', '-p', 'cascade-js', '--example', 'bench-workload', '--', dataDir],
    { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

let sink = 0;

/** Runs `fn(i)` for i in 0..iterations, `ROUNDS` times; returns the median ns per call. */
function timePerCall(iterations, fn) {
  const rounds = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) {
      sink ^= fn(i) === undefined ? 1 : 0;
    }
    rounds.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  return median(rounds);
}

/**
 * Times `fn()` once per round after `setup()`. Returns the median and the
 * minimum in ms; on a busy machine the minimum is the steadier figure.
 */
function timeOnce(rounds, setup, fn, teardown) {
  const times = [];
  for (let round = 0; round < rounds; round++) {
    const input = setup();
    const start = process.hrtime.bigint();
    const output = fn(input);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    teardown(output, input);
  }
  return { median: median(times), min: Math.min(...times) };
}

function nativeDecodeMs(files, rounds) {
  const output = execFileSync(
    'cargo',
    ['run', '--release', '--quiet', '-p', 'cascade-js', '--example', 'bench-native-decode', '--', ...files, String(rounds)],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return JSON.parse(output);
}

function memoryAfter(files) {
  const output = execFileSync(process.execPath, [join(root, 'js-package/bench/memory.js'), ...files], {
    encoding: 'utf8',
  });
  return JSON.parse(output);
}

function checkAgreement(evaluator, baseline, lookups) {
  for (const [tenant, user, key] of lookups) {
    const { value, level, reason, revision } = evaluator.evaluate(tenant, user, key);
    assert.deepEqual({ key, value, level, reason, revision }, baseline.evaluate(tenant, user, key));
  }
  for (const [tenant, user] of lookups.slice(0, 200)) {
    const all = evaluator.evaluateAll(tenant, user).map(({ key, value, level, reason, revision }) => ({ key, value, level, reason, revision }));
    assert.deepEqual(all, baseline.evaluateAll(tenant, user));
  }
}

const MiB = 1024 * 1024;
const rows = [];
const row = (measure, value, note = '') => rows.push(`| ${measure} | ${value} | ${note} |`);

prepareInputs();
const files = {
  s1: join(dataDir, 's.r1.snap'),
  s2: join(dataDir, 's.r2.snap'),
  l1: join(dataDir, 'l.r1.snap'),
  l2: join(dataDir, 'l.r2.snap'),
};
const bytes = Object.fromEntries(Object.entries(files).map(([name, file]) => [name, readFileSync(file)]));
const small = JSON.parse(readFileSync(join(dataDir, 's.json'), 'utf8'));
const large = JSON.parse(readFileSync(join(dataDir, 'l.json'), 'utf8'));

// Loading.
const [nativeS, nativeL] = nativeDecodeMs([files.s1, files.l1], quick ? 5 : 21);
const native = { S: nativeS, L: nativeL };
for (const [size, first, next, rounds] of [['S', 's1', 's2', quick ? 5 : 21], ['L', 'l1', 'l2', quick ? 3 : 7]]) {
  const load = timeOnce(rounds, () => bytes[first], (data) => new CascadeEvaluator(data), (evaluator) => evaluator.free());
  const replace = timeOnce(
    rounds,
    () => new CascadeEvaluator(bytes[first]),
    (evaluator) => evaluator.load(bytes[next]),
    (_, evaluator) => evaluator.free(),
  );
  const memory = memoryAfter([files[first], files[next]]);
  const snapshotMiB = (bytes[first].length / MiB).toFixed(1);
  row(
    `load ${size} (${snapshotMiB} MiB snapshot), new evaluator`,
    `${load.median.toFixed(1)} ms`,
    `min ${load.min.toFixed(1)} ms; native \`Snapshot::decode\` ${native[size].toFixed(1)} ms`,
  );
  row(
    `load ${size}, replacing revision 1 with 2`,
    `${replace.median.toFixed(1)} ms`,
    `min ${replace.min.toFixed(1)} ms`,
  );
  row(
    `load ${size}, first load in a fresh process`,
    `${memory.ms[0].toFixed(1)} ms`,
    'before V8 has optimized the wasm code',
  );
  row(
    `wasm memory after loading ${size}`,
    `${(memory.after[0] / MiB).toFixed(1)} MiB`,
    `${(memory.start / MiB).toFixed(1)} MiB at start`,
  );
  row(`wasm memory after replacing ${size}`, `${(memory.after[1] / MiB).toFixed(1)} MiB`, 'peak of a replace');
}

// Map baseline construction, for comparison with loading S.
const buildStart = process.hrtime.bigint();
const baseline = new MapBaseline(small.hierarchy, 1);
const buildMs = Number(process.hrtime.bigint() - buildStart) / 1e6;
row('build the JS Map baseline of S from parsed JSON', `${buildMs.toFixed(1)} ms`, 'once, JSON parse not included');

const evaluator = new CascadeEvaluator(bytes.s1);
checkAgreement(evaluator, baseline, small.lookups);

const lookups = small.lookups;
const count = lookups.length;
const iterations = quick ? 200_000 : 1_000_000;
const evaluateOne = (i) => {
  const lookup = lookups[i % count];
  return evaluator.evaluate(lookup[0], lookup[1], lookup[2]);
};
const evaluateOneBaseline = (i) => {
  const lookup = lookups[i % count];
  return baseline.evaluate(lookup[0], lookup[1], lookup[2]);
};
const booleans = lookups.filter(([, , key]) => typeof baseline.defaults.get(key) === 'boolean');
const getter = (i) => {
  const lookup = booleans[i % booleans.length];
  return evaluator.getBoolean(lookup[0], lookup[1], lookup[2], false);
};
const getterBaseline = (i) => {
  const lookup = booleans[i % booleans.length];
  return baseline.evaluate(lookup[0], lookup[1], lookup[2]).value;
};
const allIterations = quick ? 2_000 : 10_000;
const evaluateAllFlags = (i) => {
  const lookup = lookups[i % count];
  return evaluator.evaluateAll(lookup[0], lookup[1]);
};
const evaluateAllFlagsBaseline = (i) => {
  const lookup = lookups[i % count];
  return baseline.evaluateAll(lookup[0], lookup[1]);
};

// Warm up both sides, then time them alternately so that drift hits both.
for (const fn of [evaluateOne, evaluateOneBaseline, getter, getterBaseline]) {
  for (let i = 0; i < 100_000; i++) fn(i);
}
const pairs = [
  ['one evaluation, S: `evaluate()`', evaluateOne, evaluateOneBaseline, iterations, 'ns'],
  ['one boolean flag, S: `getBoolean()`', getter, getterBaseline, iterations, 'ns'],
  ['all 200 flags for one user, S: `evaluateAll()`', evaluateAllFlags, evaluateAllFlagsBaseline, allIterations, 'µs'],
];
for (const [measure, wasmFn, mapFn, n, unit] of pairs) {
  const wasmTimes = [];
  const mapTimes = [];
  for (let repeat = 0; repeat < 3; repeat++) {
    wasmTimes.push(timePerCall(n, wasmFn));
    mapTimes.push(timePerCall(n, mapFn));
  }
  const scale = unit === 'µs' ? 1000 : 1;
  const wasmTime = median(wasmTimes) / scale;
  const mapTime = median(mapTimes) / scale;
  const digits = unit === 'µs' ? 1 : 0;
  row(measure, `${wasmTime.toFixed(digits)} ${unit}`, `JS Map baseline ${mapTime.toFixed(digits)} ${unit}, ratio ${(wasmTime / mapTime).toFixed(2)}x`);
}
evaluator.free();

const largeEvaluator = new CascadeEvaluator(bytes.l1);
const largeLookups = large.lookups;
const evaluateOneLarge = (i) => {
  const lookup = largeLookups[i % largeLookups.length];
  return largeEvaluator.evaluate(lookup[0], lookup[1], lookup[2]);
};
for (let i = 0; i < 100_000; i++) evaluateOneLarge(i);
row('one evaluation, L: `evaluate()`', `${timePerCall(iterations, evaluateOneLarge).toFixed(0)} ns`, 'no baseline at L');
largeEvaluator.free();

console.log(`Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores)`);
console.log(
  `${quick ? 'quick run: ' : ''}load times are medians of ${quick ? '5 (S) and 3 (L)' : '21 (S) and 7 (L)'} loads; ` +
    `per-call times are medians of ${ROUNDS} rounds, ${count} sampled lookups cycled`,
);
console.log('');
console.log('| Measure | JS package | Notes |');
console.log('|---|---|---|');
for (const line of rows) {
  console.log(line);
}
if (sink === 0.5) {
  console.log(sink);
}
