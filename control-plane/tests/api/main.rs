//! Integration tests of the control plane. Most drive the router
//! in-process; `process` starts the real binary on port 0.

mod authz;
mod bad_inputs;
mod common;
mod concurrency;
mod openapi;
mod overrides;
mod process;
mod queries;
mod resources;
mod snapshot;
mod tokens;
