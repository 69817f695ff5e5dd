// The worker's JavaScript entry, a template that worker-build fills in
// (CUSTOM_SHIM in build.sh): it instantiates the wasm module with its
// bindings and hands every request to the Rust `fetch` export.
//
// worker-build's default entry wraps each request in a WorkerEntrypoint
// class behind two proxies and guards every call into wasm, so that it can
// rebuild the instance after a trap. In a throughput run that wrapping cost
// as much as evaluating all flags. This entry is a plain module worker. The Rust
// side never panics on any input, and it keeps no borrow of shared state
// across code that allocates much, so an instance that trapped (out of
// memory, say) still answers the next request.

import * as bindings from "./index_bg.js";
import wasmModule from "./index.wasm";
$SNIPPET_JS_IMPORTS

const instance = new WebAssembly.Instance(wasmModule, {
  "./index_bg.js": bindings,
  $SNIPPET_WASM_IMPORTS
});
bindings.__wbg_set_wasm(instance.exports);
instance.exports.__wbindgen_start?.();

export default {
  fetch(request, env, ctx) {
    try {
      return bindings.fetch(request, env, ctx);
    } catch (error) {
      if (error instanceof WebAssembly.RuntimeError) {
        console.error(JSON.stringify({
          level: "ERROR",
          fields: { message: "the worker's wasm trapped", cause: String(error) },
          target: "cascade_edge_worker::shim",
        }));
      }
      throw error;
    }
  },
};
