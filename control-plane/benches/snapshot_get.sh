#!/usr/bin/env bash
# Measures GET /v1/snapshot throughput of the release binary with wrk:
# full downloads (200) and conditional requests that the edge repeats
# (If-None-Match with the current ETag, which return 304).
#
# Usage: control-plane/benches/snapshot_get.sh [USER_OVERRIDES] [SECONDS]
# Defaults: 100000 user overrides, 10 seconds per run. Needs wrk, curl and
# python3. The server listens on 127.0.0.1 only and is stopped by PID on
# exit, also when a step fails.

set -euo pipefail
cd "$(dirname "$0")/../.."

overrides="${1:-100000}"
seconds="${2:-10}"
port="${CASCADE_BENCH_PORT:-18480}"
work="$(mktemp -d)"
server_pid=""

cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

cargo build --release -p cascade-control-plane --quiet
target/release/cascade-control-plane \
    --listen "127.0.0.1:$port" \
    --data "$work/bench.redb" \
    --bootstrap-token-file "$work/token" \
    2>"$work/server.log" &
server_pid=$!

for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.1
done
token="$(cat "$work/token")"
base="http://127.0.0.1:$port"
auth="Authorization: Bearer $token"
json="Content-Type: application/json"

curl -sf -X POST -H "$auth" -H "$json" "$base/v1/flags" \
    -d '{"key":"beta","type":"boolean","default":false}' >/dev/null
curl -sf -X POST -H "$auth" -H "$json" "$base/v1/tenants" \
    -d '{"id":"bench","display_name":"Bench"}' >/dev/null
python3 - "$overrides" >"$work/bulk.json" <<'EOF'
import json, sys
count = int(sys.argv[1])
items = [{"user": f"user-{i:08}", "flag": "beta", "value": i % 2 == 0} for i in range(count)]
print(json.dumps({"set": items}))
EOF
curl -sf -X PATCH -H "$auth" -H "$json" "$base/v1/tenants/bench/users" \
    --data-binary "@$work/bulk.json" >/dev/null

etag="$(curl -sf -H "$auth" -o "$work/snapshot.bin" -D - "$base/v1/snapshot" \
    | tr -d '\r' | awk -F': ' 'tolower($1)=="etag" {print $2}')"
size="$(stat -c %s "$work/snapshot.bin")"
echo "snapshot: $overrides user overrides, $size bytes, ETag $etag"

echo "--- full GET (200), 2 threads, 16 connections, ${seconds}s"
wrk -t2 -c16 -d"${seconds}s" -H "$auth" "$base/v1/snapshot"
echo "--- conditional GET (304), 2 threads, 16 connections, ${seconds}s"
wrk -t2 -c16 -d"${seconds}s" -H "$auth" -H "If-None-Match: $etag" "$base/v1/snapshot"
