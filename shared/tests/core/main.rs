//! Correctness tests of the shared core: the evaluator against a reference
//! implementation, the encoding's round trip and rejection of bad bytes,
//! and the committed golden snapshots.

// The crate denies unwrap and expect so that library code cannot panic.
// Test code panics on purpose: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod builder;
mod codec_props;
mod eval_props;
mod golden;
mod reference;
mod rejection;
mod wire;
