#!/usr/bin/env bash
# Builds the constant worker into edge-worker/bench/constant-worker/build/
# with the edge worker's tools and entry (see edge-worker/build.sh).

set -euo pipefail
cd "$(dirname "$0")"
export WASM_BINDGEN_BIN=wasm-bindgen
export ESBUILD_BIN=../../../node_modules/.bin/esbuild
export WASM_OPT_BIN=../../../node_modules/.bin/wasm-opt
export CUSTOM_SHIM=../../shim.js
rm -rf build
exec worker-build --release
