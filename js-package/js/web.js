// Entry point for browsers and bundlers: the wasm module must be
// initialized with init() or initSync() before the first evaluator.

import initWasm, { initSync as initWasmSync, Engine, wasm_memory } from '../pkg/web/cascade_js.js';
import { CascadeError, defineEvaluator } from './evaluator.js';

let ready = false;

export async function init(source) {
  await initWasm(source === undefined ? undefined : { module_or_path: source });
  ready = true;
}

export function initSync(module) {
  if (module === undefined) {
    throw new TypeError('initSync() needs the wasm bytes or a compiled WebAssembly.Module');
  }
  initWasmSync({ module });
  ready = true;
}

export const CascadeEvaluator = defineEvaluator({
  Engine,
  wasmMemory: wasm_memory,
  assertReady() {
    if (!ready) {
      throw new CascadeError(
        'NOT_INITIALIZED',
        'the wasm module is not initialized; await init() or call initSync() first',
      );
    }
  },
});

export { CascadeError };
