// The cascade spec corpus: the wasm package must give the native
// evaluator's results for every case, through every API.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import { CascadeEvaluator } from '@cascade/evaluator';

import { exportSpecCorpus, outcome } from './fixtures.js';

const corpus = exportSpecCorpus();
after(() => corpus.remove());

const GETTERS = {
  boolean: 'getBoolean',
  string: 'getString',
  integer: 'getNumber',
  float: 'getNumber',
  object: 'getObject',
};
const FALLBACK = Symbol('fallback');

test('spec corpus is not empty', () => {
  assert.ok(corpus.results.length > 0);
});

for (const file of corpus.results) {
  describe(file.source, () => {
    test('evaluate matches native results', () => {
      for (const snapshot of file.snapshots) {
        const evaluator = new CascadeEvaluator(corpus.snapshot(snapshot.file));
        assert.equal(evaluator.revision, snapshot.revision);
        for (const c of snapshot.cases) {
          const actual = outcome(() => evaluator.evaluate(c.tenant, c.user, c.flag));
          assert.deepEqual(actual, c.result, `${snapshot.file}: ${c.name}`);
        }
        evaluator.free();
      }
    });

    test('successive loads match native results', () => {
      const [first, ...rest] = file.snapshots;
      const evaluator = new CascadeEvaluator(corpus.snapshot(first.file));
      for (const snapshot of [first, ...rest]) {
        const replaced = evaluator.load(corpus.snapshot(snapshot.file));
        assert.equal(replaced, snapshot !== first, `${snapshot.file}: load result`);
        for (const c of snapshot.cases) {
          const actual = outcome(() => evaluator.evaluate(c.tenant, c.user, c.flag));
          assert.deepEqual(actual, c.result, `${snapshot.file}: ${c.name}`);
        }
      }
      evaluator.free();
    });

    test('typed getters match native results', () => {
      for (const snapshot of file.snapshots) {
        const evaluator = new CascadeEvaluator(corpus.snapshot(snapshot.file));
        for (const c of snapshot.cases) {
          const { result } = c;
          const type = 'error' in result ? undefined : evaluator.evaluate(c.tenant, c.user, c.flag).type;
          for (const getter of new Set(Object.values(GETTERS))) {
            const got = evaluator[getter](c.tenant, c.user, c.flag, FALLBACK);
            const expected = GETTERS[type] === getter ? result.value : FALLBACK;
            assert.deepEqual(got, expected, `${snapshot.file}: ${c.name}: ${getter}`);
          }
        }
        evaluator.free();
      }
    });

    test('evaluateAll matches native results', () => {
      for (const snapshot of file.snapshots) {
        const evaluator = new CascadeEvaluator(corpus.snapshot(snapshot.file));
        for (const context of snapshot.all) {
          const label = `${snapshot.file}: ${JSON.stringify([context.tenant, context.user])}`;
          if (context.error) {
            assert.throws(() => evaluator.evaluateAll(context.tenant, context.user), { code: context.error }, label);
            continue;
          }
          const all = evaluator.evaluateAll(context.tenant, context.user);
          const actual = all.map(({ key, value, level, reason, revision }) => ({ key, value, level, reason, revision }));
          const expected = context.flags.map(({ key, value, level, reason, revision }) => ({ key, value, level, reason, revision }));
          assert.deepEqual(actual, expected, label);
        }
        evaluator.free();
      }
    });

    test('explain agrees with evaluate', () => {
      for (const snapshot of file.snapshots) {
        const evaluator = new CascadeEvaluator(corpus.snapshot(snapshot.file));
        for (const c of snapshot.cases) {
          const label = `${snapshot.file}: ${c.name}`;
          if ('error' in c.result) {
            assert.throws(() => evaluator.explain(c.tenant, c.user, c.flag), { code: c.result.error }, label);
            continue;
          }
          const explanation = evaluator.explain(c.tenant, c.user, c.flag);
          const { value, level, reason, revision } = explanation;
          assert.deepEqual({ value, level, reason, revision }, c.result, label);
          assert.deepEqual(explanation.steps.map((step) => step.level), ['user', 'tenant', 'integrator', 'platform']);
          const decided = explanation.steps.findIndex((step) => step.level === level);
          assert.equal(explanation.steps[decided].set, true, label);
          assert.deepEqual(explanation.steps[decided].value, value, label);
          for (const step of explanation.steps.slice(0, decided)) {
            assert.equal(step.set, false, `${label}: ${step.level} must be unset`);
          }
        }
        evaluator.free();
      }
    });
  });
}
