// The browser entry (js/web.js) in Node: it must reject evaluators before
// the wasm module is initialized, and work after initSync().

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';

import { CascadeEvaluator, initSync } from '../js/web.js';
import { exportSpecCorpus } from './fixtures.js';

const corpus = exportSpecCorpus();
after(() => corpus.remove());

test('web entry needs initialization first', () => {
  assert.throws(() => new CascadeEvaluator(corpus.snapshot('user-ids.r3.snap')), { code: 'NOT_INITIALIZED' });
  assert.throws(() => initSync(), TypeError);
});

test('web entry works after initSync', () => {
  initSync(readFileSync(new URL('../pkg/web/cascade_js_bg.wasm', import.meta.url)));
  initSync(new Uint8Array(0)); // A second call keeps the first instance.
  const evaluator = new CascadeEvaluator(corpus.snapshot('user-ids.r3.snap'));
  assert.equal(evaluator.evaluate('tenant-a', 'alice', 'greeting').value, 'lower');
  evaluator.free();
});
