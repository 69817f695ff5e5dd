#!/usr/bin/env bash
# Measures the edge worker under wrangler dev with wrk: requests per second
# and p50/p99 latency for health, one flag, all 200 flags (GET and OFREP
# bulk), next to constant-response workers measured in the same run: a
# trivial one, and before each endpoint a copy of that endpoint's response
# (edge-worker/bench/constants.mjs), also under wrangler dev. Each row
# gives its share of the trivial worker and of the copy it follows.
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
CONSTANT_PORT="$(free_port)"
WORKER_INSPECTOR_PORT="$(free_port)"
CONSTANT_INSPECTOR_PORT="$(free_port)"
PIDS=()
GROUPS_TO_KILL=()

cleanup() {
    trap - EXIT INT TERM
    for group in "${GROUPS_TO_KILL[@]}"; do
        kill -- "-$group" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    # workerd processes may outlive the TERM by a moment.
    for group in "${GROUPS_TO_KILL[@]}"; do
        for _ in {1..50}; do
            kill -0 -- "-$group" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$group" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
# wrk exits 0 on Ctrl-C, so without these traps the script would go on
# with the next row after an interrupted run.
trap 'exit 130' INT
trap 'exit 143' TERM

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
# A script runs without job control, so its background child is no group
# leader and setsid does not fork: the child's PID is the new group's id.
start_wrangler() {
    local name="$1" port="$2" inspector="$3"
    shift 3
    setsid npx wrangler dev \
        --ip 127.0.0.1 --port "$port" --inspector-port "$inspector" \
        --show-interactive-dev-session=false --log-level warn \
        --persist-to "$WORK/state-$name" "$@" \
        </dev/null >"$WORK/$name.log" 2>&1 &
    GROUPS_TO_KILL+=("$!")
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
log "starting the worker and then its constant-response copy under wrangler dev"
start_wrangler worker "$WORKER_PORT" "$WORKER_INSPECTOR_PORT" --config "$WORK/wrangler.toml" --env-file "$WORK/edge.env" \
    --var "CONTROL_PLANE_URL:http://127.0.0.1:$SNAPSHOT_PORT"
wait_ready "http://127.0.0.1:$WORKER_PORT/healthz" worker
BASE="http://127.0.0.1:$WORKER_PORT"

# The constant worker copies the worker's responses, so it starts second.
node edge-worker/bench/constants.mjs "$WORK/constant.mjs" "$BASE" "$TENANT" "$USER" "$FLAG"
cat >"$WORK/constant.toml" <<EOF
name = "cascade-edge-bench-constant"
main = "$WORK/constant.mjs"
compatibility_date = "$(awk -F'"' '/^compatibility_date/ {print $2}' wrangler.toml)"
EOF
start_wrangler constant "$CONSTANT_PORT" "$CONSTANT_INSPECTOR_PORT" --config "$WORK/constant.toml"
CONSTANT="http://127.0.0.1:$CONSTANT_PORT"
wait_ready "$CONSTANT/trivial" constant

cat >"$WORK/ofrep.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"context":{"targetingKey":"$(node -e 'console.log(decodeURIComponent(process.argv[1]))' "$USER")","tenantId":"$TENANT"}}'
EOF

TRIVIAL_RPS=""
LAST_RPS=""
# Prints one table row. KIND is "copy" for a constant worker's row and
# "endpoint" for a row compared with the copy right before it.
run() {
    local label="$1" kind="$2"
    shift 2
    # Warm-up, then the measured run.
    wrk -t2 -c16 -d2s "$@" >/dev/null
    local out
    out="$(wrk -t2 -c16 -d"${DURATION}s" --latency "$@")"
    local rps p50 p99 errors
    rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
    p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    errors="$(awk '/Non-2xx/ {print $5}' <<<"$out")"
    TRIVIAL_RPS="${TRIVIAL_RPS:-$rps}"
    local of_copy="100%" of_trivial
    if [[ "$kind" == endpoint ]]; then
        of_copy="$(awk -v a="$rps" -v b="$LAST_RPS" 'BEGIN { printf "%.0f%%", 100 * a / b }')"
    fi
    of_trivial="$(awk -v a="$rps" -v b="$TRIVIAL_RPS" 'BEGIN { printf "%.0f%%", 100 * a / b }')"
    LAST_RPS="$rps"
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' \
        "$label" "$rps" "$of_trivial" "$of_copy" "$p50" "$p99" "${errors:-0}"
}

printf '| Endpoint | req/s | of trivial | of copy | p50 | p99 | non-2xx |\n'
printf '|---|---|---|---|---|---|---|\n'
run "trivial constant worker" copy "$CONSTANT/trivial"
run "copy of the /healthz response" copy "$CONSTANT/healthz"
run "GET /healthz" endpoint "$BASE/healthz"
run "copy of the one-flag response" copy "$CONSTANT/one"
run "GET one flag" endpoint "$BASE/v1/tenants/$TENANT/users/$USER/flags/$FLAG"
run "copy of the all-flags response" copy "$CONSTANT/all"
run "GET all 200 flags" endpoint "$BASE/v1/tenants/$TENANT/users/$USER/flags"
run "copy of the OFREP bulk response" copy -s "$WORK/ofrep.lua" "$CONSTANT/ofrep"
run "POST OFREP bulk (200 flags)" endpoint -s "$WORK/ofrep.lua" "$BASE/ofrep/v1/evaluate/flags"
run "trivial constant worker (again)" copy "$CONSTANT/trivial"
