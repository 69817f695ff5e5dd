//! Cascade's core: the domain model, the snapshot format and the cascade
//! evaluator, shared by the control plane, the edge worker and the JS
//! package.
//!
//! - [`id`] validates integrator and tenant slugs, flag keys and user ids.
//! - [`value`] defines flag types and values ([`FlagType`], [`FlagValue`]).
//! - [`snapshot`] holds the hierarchy at one revision. The control plane
//!   fills a [`SnapshotBuilder`] and publishes [`Snapshot::encode`]d bytes;
//!   the other hosts [`Snapshot::decode`] them.
//! - [`eval`] answers `evaluate`, `evaluate_all` and `explain` on a
//!   snapshot: user override, else tenant override, else the tenant's
//!   integrator override, else the platform default.
//! - `workload` (behind the `workload` feature, off by default) generates
//!   deterministic hierarchies for benchmarks, with a hash-map baseline.
//!
//! The crate does no I/O and no logging, compiles for
//! `wasm32-unknown-unknown`, and never panics on bad input: decoding checks
//! every index once, and errors come back as typed values.

pub mod eval;
pub mod id;
pub mod snapshot;
pub mod value;
#[cfg(feature = "workload")]
pub mod workload;

pub use eval::{EvalError, Evaluation, ExplainStep, Explanation, Level, Reason};
pub use id::{FlagKey, IdError, IdKind, IntegratorId, TenantId, UserId};
pub use snapshot::{BuildError, DecodeError, EncodeError, FlagInfo, Snapshot, SnapshotBuilder};
pub use value::{FlagType, FlagValue, ValueError, ValueRef};
