// The worker's JavaScript entry, a template that worker-build fills in
// (CUSTOM_SHIM in build.sh): it instantiates the wasm module with its
// bindings and hands every request to the Rust `fetch` export.
//
// worker-build's default entry wraps each request in a WorkerEntrypoint
// class behind two proxies and guards every call into wasm, so that it can
// rebuild the instance after a trap. In a throughput run that wrapping cost
// as much as evaluating all flags. This entry is a plain module worker,
// which also reads POST bodies, so that the Rust side needs no promise for
// them. The Rust side does not panic on any input, and it keeps no borrow
// of shared state across code that allocates much, so an instance that
// trapped (out of memory, say) still serves the next request.

import * as bindings from "./index_bg.js";
import wasmModule from "./index.wasm";
$SNIPPET_JS_IMPORTS

// The OFREP endpoints accept at most this many body bytes, as
// MAX_BODY_BYTES in src/ofrep.rs.
const MAX_BODY_BYTES = 64 * 1024;

const instance = new WebAssembly.Instance(wasmModule, {
  "./index_bg.js": bindings,
  $SNIPPET_WASM_IMPORTS
});
bindings.__wbg_set_wasm(instance.exports);
instance.exports.__wbindgen_start?.();

/**
 * Reads a POST body for the Rust side: the bytes, null when the body is
 * longer than MAX_BODY_BYTES, or a string with the reason reading failed.
 * A longer body without Content-Length is read to its end but dropped chunk
 * by chunk, so it is never held whole and the client, still sending, gets
 * the 413 instead of a reset connection.
 */
async function readBody(request) {
  try {
    const declared = request.headers.get("content-length");
    if (declared !== null) {
      // The declared length frames the body. Reading request.body would
      // build a stream object first, which costs more than this read.
      return Number(declared) > MAX_BODY_BYTES ? null : new Uint8Array(await request.arrayBuffer());
    }
    if (request.body === null) {
      return new Uint8Array(0);
    }
    const reader = request.body.getReader();
    let chunks = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        break;
      }
      size += value.byteLength;
      if (size > MAX_BODY_BYTES) {
        chunks = null;
      } else {
        chunks.push(value);
      }
    }
    if (chunks === null) {
      return null;
    }
    const body = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      body.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return body;
  } catch (error) {
    return String(error);
  }
}

/** Calls the Rust handler, logging a trap of the wasm instance. */
function handle(request, env, ctx, body) {
  try {
    return bindings.fetch(request, env, ctx, body);
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
}

export default {
  fetch(request, env, ctx) {
    if (request.method === "POST") {
      return readBody(request).then((body) => handle(request, env, ctx, body));
    }
    return handle(request, env, ctx, undefined);
  },
};
