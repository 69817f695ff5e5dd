//! A worker that returns one constant JSON response, built the way the
//! edge worker is built (workers-rs bindings, worker-build, the edge
//! worker's `shim.js`). `edge-worker/bench/direct.mjs` measures the edge
//! worker against it: the difference is the cost of routing, evaluating
//! and writing responses, apart from the cost of any Rust worker in workerd.

use worker::wasm_bindgen::{self, JsValue, prelude::wasm_bindgen};
use worker::{Env, web_sys, worker_sys};

/// The body, the same as the JavaScript constant worker's.
const BODY: &str = r#"{"key":"beta","value":true}"#;

/// Returns the constant response to every request.
#[wasm_bindgen(js_name = fetch)]
pub fn fetch(
    _request: web_sys::Request,
    _env: Env,
    _ctx: worker_sys::Context,
) -> Result<web_sys::Response, JsValue> {
    let headers = web_sys::Headers::new()?;
    headers.append("content-type", "application/json")?;
    let init = web_sys::ResponseInit::new();
    init.set_headers(&headers);
    web_sys::Response::new_with_opt_str_and_init(Some(BODY), &init)
}
