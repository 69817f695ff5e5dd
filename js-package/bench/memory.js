// Loads each snapshot file given on the command line into one evaluator,
// in a fresh process, and prints as JSON the wasm memory size and the time
// of each load. Used by bench.js: wasm memory never shrinks, so its size
// after the loads is the peak they needed, and the first load shows the
// cost before V8 has optimized the wasm code.

import { readFileSync } from 'node:fs';

import { CascadeEvaluator } from '@cascade/evaluator';
import { wasm_memory as wasmMemory } from '../pkg/node/cascade_js.js';

const sizes = { start: wasmMemory().buffer.byteLength, after: [], ms: [] };
let evaluator;
for (const file of process.argv.slice(2)) {
  const bytes = readFileSync(file);
  const start = process.hrtime.bigint();
  if (evaluator) {
    evaluator.load(bytes);
  } else {
    evaluator = new CascadeEvaluator(bytes);
  }
  sizes.ms.push(Number(process.hrtime.bigint() - start) / 1e6);
  sizes.after.push(wasmMemory().buffer.byteLength);
}
console.log(JSON.stringify(sizes));
