//! The Cascade evaluator for JavaScript: the Rust half of the
//! `@cascade/evaluator` npm package, compiled to WebAssembly with
//! wasm-bindgen.
//!
//! The cascade itself lives in `cascade-shared`; this crate only carries
//! it across the JS/wasm boundary cheaply. [`Engine`] keeps one decoded
//! snapshot. The JS wrapper (`js/evaluator.js`) writes ids as UTF-8 into
//! the engine's input buffer and passes only their lengths; results come
//! back as packed status words and value slots in output buffers, which
//! JS reads through typed-array views of wasm memory (layout in
//! [`output`]). Strings cross the boundary only at load, on errors and for
//! `explain`.
//!
//! - [`engine`]: the engine and its call protocol.
//! - [`output`]: the layout of output records.
//! - [`error`]: [`EngineError`] and its stable codes.

pub mod engine;
pub mod error;
pub mod output;

#[cfg(test)]
mod tests;

use wasm_bindgen::prelude::*;

pub use engine::Engine;
pub use error::EngineError;

/// Returns the module's `WebAssembly.Memory`, for the wrapper's typed-array
/// views.
#[wasm_bindgen]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}
