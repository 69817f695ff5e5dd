#!/usr/bin/env bash
# Runs every check and test of the project: formatting, clippy, the Rust
# tests of every crate, the wasm32 build of shared, the fuzz target build,
# the JS package tests in Node and Chromium, the edge worker tests in
# workerd, and the end-to-end tests. Installs what it needs first.

set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-tools.sh

step() { printf '\n==> %s\n' "$*" >&2; }

# --- rust ---
step "cargo fmt --check"
cargo fmt --all --check
step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
step "cargo test"
cargo test --workspace
step "wasm32 build of shared"
cargo build -p cascade-shared --target wasm32-unknown-unknown
step "clippy and tests of the benchmark workload (shared, feature workload)"
cargo clippy -p cascade-shared --all-targets --features workload -- -D warnings
cargo test -p cascade-shared --features workload --lib workload

# --- fuzz ---
# Builds the decoder fuzz target on stable, so that it keeps compiling.
# Fuzzing itself needs nightly: `cargo +nightly fuzz run decode` in fuzz/.
step "fuzz target build"
cargo build --manifest-path fuzz/Cargo.toml --locked

# --- js-package ---
step "JS package build (wasm32, wasm-bindgen, wasm-opt)"
bash js-package/build.sh
step "JS package tests in Node and headless Chromium"
(cd js-package && node --test test/*.test.js)

# --- edge-worker ---
# Builds the worker to wasm (edge-worker/build/) and runs its node tests
# against workerd through Miniflare; the tests start and stop their own
# test control planes and workers.
step "edge worker build"
bash edge-worker/build.sh
step "edge worker tests in workerd"
node --test --test-concurrency=1 'edge-worker/test/*.test.mjs'

# --- end-to-end ---
# Real control planes, wrangler dev workers and headless Chromium, started
# and stopped by the tests (tests/e2e/lib). They need the control plane
# binary, the worker bundle and the JS package's web build; each build is
# quick when an earlier section already made it.
step "end-to-end: builds"
cargo build -p cascade-control-plane
bash edge-worker/build.sh
bash js-package/build.sh
step "end-to-end tests"
node --test --test-concurrency=1 'tests/e2e/*.test.mjs'
