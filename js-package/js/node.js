// Entry point for Node: the wasm module is read and instantiated
// synchronously on import, so evaluators can be created at once. init()
// and initSync() exist so that code written for the browser entry runs
// unchanged.

import { Engine, wasm_memory } from '../pkg/node/cascade_js.js';
import { CascadeError, defineEvaluator } from './evaluator.js';

export async function init() {}

export function initSync() {}

export const CascadeEvaluator = defineEvaluator({
  Engine,
  wasmMemory: wasm_memory,
  assertReady() {},
});

export { CascadeError };
