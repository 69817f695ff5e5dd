//! Cross-host tests for Cascade.
//!
//! [`spec`] reads the cascade spec corpus in `cascade-spec/`: JSON files
//! that each describe one or more snapshots of a hierarchy and the results
//! that every host must give for them. The native runner in
//! `tests/spec_native.rs` checks the shared evaluator against the corpus,
//! and the `spec-snapshots` binary writes the encoded snapshots and the
//! native results for the JavaScript hosts to compare against.

pub mod spec;
