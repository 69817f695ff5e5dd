#!/usr/bin/env bash
# Builds the @cascade/evaluator package: the cascade-js crate for wasm32,
# wasm-bindgen bindings for browsers (pkg/web, --target web) and for Node
# (pkg/node, --target experimental-nodejs-module, an ES module that loads
# the wasm file synchronously), then wasm-opt on both wasm files.
#
# Needs cargo with the wasm32-unknown-unknown target, wasm-bindgen-cli at
# the version of the wasm-bindgen crate in Cargo.lock, and the npm packages
# of the repository root (for wasm-opt). scripts/ensure-tools.sh installs
# all three.

set -euo pipefail

package_dir="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$package_dir")"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
wasm="$target_dir/wasm32-unknown-unknown/release/cascade_js.wasm"
wasm_opt="$root/node_modules/.bin/wasm-opt"

cd "$root"
cargo build --release --target wasm32-unknown-unknown -p cascade-js

rm -rf "$package_dir/pkg"
wasm-bindgen --target web --out-dir "$package_dir/pkg/web" "$wasm"
wasm-bindgen --target experimental-nodejs-module --out-dir "$package_dir/pkg/node" "$wasm"

# -O3 rather than -Oz: evaluation speed matters more here, and -Oz saves
# under 1 KB of gzip on this module.
for dir in web node; do
    file="$package_dir/pkg/$dir/cascade_js_bg.wasm"
    "$wasm_opt" -O3 "$file" -o "$file"
done

raw=$(wc -c <"$package_dir/pkg/web/cascade_js_bg.wasm")
gzipped=$(gzip -9c "$package_dir/pkg/web/cascade_js_bg.wasm" | wc -c)
echo "cascade_js_bg.wasm: $raw bytes, $gzipped bytes gzip -9" >&2
