#!/usr/bin/env bash
# Builds the edge worker into edge-worker/build/: worker-build compiles the
# crate to wasm, runs wasm-bindgen and wasm-opt, and bundles the bindings
# with shim.js, the worker's entry. The *_BIN variables point worker-build
# at installed tools (scripts/ensure-tools.sh installs them), so nothing is
# downloaded at build time. Runs from any directory.

set -euo pipefail
cd "$(dirname "$0")"
export WASM_BINDGEN_BIN=wasm-bindgen
export ESBUILD_BIN=../node_modules/.bin/esbuild
export WASM_OPT_BIN=../node_modules/.bin/wasm-opt
export CUSTOM_SHIM=shim.js
# Output of an earlier build may name other files; start clean.
rm -rf build
exec worker-build --release
