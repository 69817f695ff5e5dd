#!/usr/bin/env bash
# Measures the edge worker under wrangler dev with wrk: requests per second
# and p50/p99 latency for health, one flag, all 200 flags (GET and OFREP
# bulk), next to a constant-response worker measured in the same run.
#
# Usage: [WORKLOAD_DIR=DIR] bash edge-worker/bench/run.sh [SECONDS]
# (default 10 seconds per endpoint)
#
# The snapshot is size S of the shared workload generator (200 flags,
# 2,000 tenants, 100,000 user overrides), served by a static snapshot
# server on 127.0.0.1. Every process started here is stopped on exit.

set -euo pipefail
cd "$(dirname "$0")/../.."
CASCADE_SKIP_CHROMIUM=1 . scripts/ensure-tools.sh

DURATION="${1:-10}"
WORK="$(mktemp -d)"
# Free ports picked now, because other programs on the machine may hold
# fixed ones.
free_port() {
    node -e 'const s = require("net").createServer();
      s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}
SNAPSHOT_PORT="$(free_port)"
WORKER_PORT="$(free_port)"
TRIVIAL_PORT="$(free_port)"
WORKER_INSPECTOR_PORT="$(free_port)"
TRIVIAL_INSPECTOR_PORT="$(free_port)"
PIDS=()
GROUPS_TO_KILL=()

cleanup() {
    for group in "${GROUPS_TO_KILL[@]}"; do
        kill -- "-$group" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

log() { printf '[bench] %s\n' "$*" >&2; }

# WORKLOAD_DIR may name the output of an earlier write-workload run.
WORKLOAD_DIR="${WORKLOAD_DIR:-$WORK/workload}"
if [[ ! -f "$WORKLOAD_DIR/s.snap" ]]; then
    log "writing the workload snapshots"
    cargo run -q --release -p cascade-shared --features workload --example write-workload \
        -- "$WORKLOAD_DIR" >&2
fi

# A lookup of the sidecar whose user has overrides, for realistic paths.
read -r TENANT USER FLAG < <(node -e '
  const w = require(process.argv[1]);
  const s = w.snapshots.find((x) => x.file === "s.snap");
  const l = s.lookups.find((x) => x.level === "user");
  console.log(l.tenant, encodeURIComponent(l.user), l.flag);
' "$WORKLOAD_DIR/workload.json")

node edge-worker/bench/serve-snapshot.mjs "$WORKLOAD_DIR/s.snap" 1 "$SNAPSHOT_PORT" &
PIDS+=("$!")

# Starts `wrangler dev` in its own process group, recording the group id.
start_wrangler() {
    local name="$1" port="$2" inspector="$3"
    shift 3
    setsid bash -c 'echo $$ >"$0"; exec npx wrangler dev "$@"' "$WORK/$name.pid" \
        --ip 127.0.0.1 --port "$port" --inspector-port "$inspector" \
        --show-interactive-dev-session=false --log-level warn \
        --persist-to "$WORK/state-$name" "$@" \
        </dev/null >"$WORK/$name.log" 2>&1 &
    sleep 1
    GROUPS_TO_KILL+=("$(cat "$WORK/$name.pid")")
}

wait_ready() {
    local url="$1" name="$2"
    for _ in $(seq 1 600); do
        if curl -fsS -o /dev/null "$url" 2>/dev/null; then
            return
        fi
        sleep 0.5
    done
    log "$name did not become ready; its log:"
    cat "$WORK/$name.log" >&2
    exit 1
}

# Build first, so that the build step of `wrangler dev` finds it up to date.
log "building the worker"
bash edge-worker/build.sh >&2

# The root wrangler.toml without its [build] section, so that wrangler dev
# serves the build above instead of waiting for cargo again. Vars not
# given here take the worker's defaults, which match wrangler.toml.
cat >"$WORK/wrangler.toml" <<EOF
name = "cascade-edge-bench"
main = "$PWD/edge-worker/build/index.js"
compatibility_date = "$(awk -F'"' '/^compatibility_date/ {print $2}' wrangler.toml)"
EOF
printf 'EDGE_TOKEN=bench-token\n' >"$WORK/edge.env"
log "starting the worker and the constant-response worker under wrangler dev"
start_wrangler worker "$WORKER_PORT" "$WORKER_INSPECTOR_PORT" --config "$WORK/wrangler.toml" --env-file "$WORK/edge.env" \
    --var "CONTROL_PLANE_URL:http://127.0.0.1:$SNAPSHOT_PORT"
start_wrangler trivial "$TRIVIAL_PORT" "$TRIVIAL_INSPECTOR_PORT" --config edge-worker/bench/trivial/wrangler.toml
wait_ready "http://127.0.0.1:$WORKER_PORT/healthz" worker
wait_ready "http://127.0.0.1:$TRIVIAL_PORT/" trivial

cat >"$WORK/ofrep.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"context":{"targetingKey":"$(node -e 'console.log(decodeURIComponent(process.argv[1]))' "$USER")","tenantId":"$TENANT"}}'
EOF

BASE="http://127.0.0.1:$WORKER_PORT"
run() {
    local label="$1"
    shift
    # Warm-up, then the measured run.
    wrk -t2 -c16 -d2s "$@" >/dev/null
    local out
    out="$(wrk -t2 -c16 -d"${DURATION}s" --latency "$@")"
    local rps p50 p99 errors
    rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
    p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    errors="$(awk '/Non-2xx/ {print $5}' <<<"$out")"
    printf '| %s | %s | %s | %s | %s |\n' "$label" "$rps" "$p50" "$p99" "${errors:-0}"
}

printf '| Endpoint | req/s | p50 | p99 | non-2xx |\n|---|---|---|---|---|\n'
run "constant-response worker" "http://127.0.0.1:$TRIVIAL_PORT/"
run "GET /healthz" "$BASE/healthz"
run "GET one flag" "$BASE/v1/tenants/$TENANT/users/$USER/flags/$FLAG"
run "GET all 200 flags" "$BASE/v1/tenants/$TENANT/users/$USER/flags"
run "POST OFREP bulk (200 flags)" -s "$WORK/ofrep.lua" "$BASE/ofrep/v1/evaluate/flags"
run "constant-response worker (again)" "http://127.0.0.1:$TRIVIAL_PORT/"
