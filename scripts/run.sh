#!/usr/bin/env bash
# Starts the whole system locally: the control plane on an embedded redb
# file under ./data/ and the edge worker under `wrangler dev`, both on
# 127.0.0.1. It loads the demo data on first run, then prints the URLs, the
# admin token and example requests. Ctrl-C or SIGTERM stops both.
#
# Environment:
#   CASCADE_CONTROL_PLANE_PORT  control plane port (default 8080)
#   CASCADE_EDGE_PORT           edge worker port (default 8787)
#   CASCADE_INSPECTOR_PORT      wrangler's DevTools inspector port (default 9229)
#   CASCADE_DATA_DIR            data directory (default ./data)
#   CASCADE_PROFILE             cargo profile of the control plane: release
#                               (default) or debug, which builds faster
#
# State kept between runs, all under the data directory: the redb file,
# the admin token (admin-token, mode 0600), the edge token (edge-token,
# mode 0600) and the logs. .dev.vars receives the edge token for wrangler.

set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

CASCADE_SKIP_CHROMIUM=1 . scripts/ensure-tools.sh

cp_port="${CASCADE_CONTROL_PLANE_PORT:-8080}"
edge_port="${CASCADE_EDGE_PORT:-8787}"
inspector_port="${CASCADE_INSPECTOR_PORT:-9229}"
data_dir="${CASCADE_DATA_DIR:-$root/data}"
profile="${CASCADE_PROFILE:-release}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
cp_url="http://127.0.0.1:$cp_port"
edge_url="http://127.0.0.1:$edge_port"
log_dir="$data_dir/logs"
admin_token_file="$data_dir/admin-token"
edge_token_file="$data_dir/edge-token"

say() { printf '[run] %s\n' "$*" >&2; }

# Prints the field at a dotted PATH of the JSON document on standard
# input; fails when it is missing or null.
json_get() {
    node -e '
        let text = "";
        process.stdin.on("data", (chunk) => (text += chunk));
        process.stdin.on("end", () => {
            const value = process.argv[1]
                .split(".")
                .reduce((object, key) => object?.[key], JSON.parse(text));
            if (value === undefined || value === null) process.exit(1);
            console.log(typeof value === "object" ? JSON.stringify(value) : value);
        });
    ' "$1"
}
fail() {
    say "error: $*"
    exit 1
}

# --- checks before anything starts ---

check_port() {
    local name="$1" variable="$2" port="$3"
    [[ "$port" =~ ^[0-9]+$ && "$port" -ge 1 && "$port" -le 65535 ]] ||
        fail "$variable=$port is not a port number; set it to a free port from 1 to 65535"
    if ! node -e '
        const server = require("node:net").createServer();
        server.once("error", () => process.exit(1));
        server.listen(Number(process.argv[1]), "127.0.0.1", () => server.close());
    ' "$port"; then
        fail "port $port for the $name on 127.0.0.1 is taken; stop what uses it or set $variable to a free port"
    fi
}

check_port "control plane" CASCADE_CONTROL_PLANE_PORT "$cp_port"
check_port "edge worker" CASCADE_EDGE_PORT "$edge_port"
check_port "wrangler inspector" CASCADE_INSPECTOR_PORT "$inspector_port"
[[ "$cp_port" != "$edge_port" && "$edge_port" != "$inspector_port" && "$cp_port" != "$inspector_port" ]] ||
    fail "the control plane, edge and inspector ports must differ (got $cp_port, $edge_port, $inspector_port)"

case "$profile" in
release) cargo_profile_flag=(--release) ;;
debug) cargo_profile_flag=() ;;
*) fail "CASCADE_PROFILE=$profile is invalid; set it to release or debug" ;;
esac

mkdir -p "$data_dir" "$log_dir"
if [[ -f "$data_dir/cascade.redb" && ! -s "$admin_token_file" ]]; then
    fail "$data_dir/cascade.redb exists but $admin_token_file does not, so there is no admin token for it; \
delete $data_dir to start with a new store"
fi

# --- build ---

say "building the control plane (cargo build, $profile profile)"
cargo build "${cargo_profile_flag[@]}" -p cascade-control-plane
say "building the edge worker (edge-worker/build.sh)"
bash edge-worker/build.sh

# --- start, and stop on exit ---

cp_pid=""
edge_pgid=""

stop_all() {
    trap - EXIT INT TERM
    if [[ -n "$edge_pgid" ]]; then
        say "stopping the edge worker (process group $edge_pgid)"
        kill -TERM -- "-$edge_pgid" 2>/dev/null || true
    fi
    if [[ -n "$cp_pid" ]]; then
        say "stopping the control plane (pid $cp_pid)"
        kill -TERM "$cp_pid" 2>/dev/null || true
        wait "$cp_pid" 2>/dev/null || true
    fi
    if [[ -n "$edge_pgid" ]]; then
        # wrangler's workerd children may outlive the TERM by a moment.
        for _ in {1..50}; do
            kill -0 -- "-$edge_pgid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$edge_pgid" 2>/dev/null || true
    fi
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Polls URL until it returns 200, or fails after SECONDS seconds naming the
# log to read. Stops early when the process PID has exited.
wait_for() {
    local name="$1" url="$2" seconds="$3" pid="$4" log="$5"
    local deadline=$((SECONDS + seconds))
    until curl -fsS -o /dev/null "$url" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$log" >&2 || true
            fail "the $name exited during start; see $log"
        fi
        if ((SECONDS >= deadline)); then
            tail -n 20 "$log" >&2 || true
            fail "the $name was not ready at $url after ${seconds}s; see $log"
        fi
        sleep 0.2
    done
}

say "starting the control plane on $cp_url (log: $log_dir/control-plane.log)"
NO_COLOR=1 "$target_dir/$profile/cascade-control-plane" \
    --listen "127.0.0.1:$cp_port" \
    --data "$data_dir/cascade.redb" \
    --bootstrap-token-file "$admin_token_file" \
    >>"$log_dir/control-plane.log" 2>&1 </dev/null &
cp_pid=$!
wait_for "control plane" "$cp_url/readyz" 60 "$cp_pid" "$log_dir/control-plane.log"

chmod 600 "$admin_token_file"
admin_token="$(tr -d '[:space:]' <"$admin_token_file")"

# The edge token belongs to this store, so it is kept next to it. Creating
# it needs the admin API, which is why the worker starts after the
# control plane.
if [[ ! -s "$edge_token_file" ]]; then
    say "creating an edge token for the worker"
    (umask 077 && curl -fsS -X POST "$cp_url/v1/tokens" \
        -H "authorization: Bearer $admin_token" \
        -H 'content-type: application/json' \
        -d '{"name": "local edge worker (scripts/run.sh)", "role": "edge"}' |
        json_get secret >"$edge_token_file") ||
        fail "creating the edge token through $cp_url/v1/tokens failed; see $log_dir/control-plane.log"
fi
chmod 600 "$edge_token_file"
edge_token="$(tr -d '[:space:]' <"$edge_token_file")"

# .dev.vars may hold other local secrets (CLIENT_KEYS): only the
# EDGE_TOKEN line is replaced.
(
    umask 077
    { grep -v '^EDGE_TOKEN=' .dev.vars 2>/dev/null || true; } >.dev.vars.new
    printf 'EDGE_TOKEN=%s\n' "$edge_token" >>.dev.vars.new
    mv .dev.vars.new .dev.vars
)

say "starting the edge worker on $edge_url (log: $log_dir/wrangler.log)"
# setsid puts wrangler and its esbuild and workerd children in their own
# process group, which stop_all kills as a whole. The inner bash records
# its own PID, the group id, before exec, so no fork can make it wrong.
setsid bash -c 'echo $$ >"$0"; exec "$@"' "$data_dir/wrangler.pid" \
    npx wrangler dev --ip 127.0.0.1 --port "$edge_port" \
    --inspector-port "$inspector_port" \
    --var "CONTROL_PLANE_URL:$cp_url" \
    >>"$log_dir/wrangler.log" 2>&1 </dev/null &
edge_starter=$!
# Without job control setsid does not fork, so this is already the group
# id; an interrupt before the pid file appears still stops the group.
edge_pgid="$edge_starter"
for _ in {1..50}; do
    [[ -s "$data_dir/wrangler.pid" ]] && break
    sleep 0.1
done
edge_pgid="$(cat "$data_dir/wrangler.pid" 2>/dev/null || echo "$edge_starter")"
rm -f "$data_dir/wrangler.pid"
# wrangler runs the [build] command of wrangler.toml again before it
# serves. That build is warm after the one above, but it waits while
# another cargo process holds the build directory lock.
wait_for "edge worker" "$edge_url/healthz" 600 "$edge_starter" "$log_dir/wrangler.log"

# --- demo data ---

seed_result="$(node scripts/demo/seed.mjs --url "$cp_url" --token-file "$admin_token_file")" ||
    fail "loading the demo data failed (messages above)"
revision="$(json_get revision <<<"$seed_result" || true)"
if [[ -n "$revision" ]]; then
    # The worker refreshes in the background; wait until it serves the
    # seeded revision so that the example requests show the demo data.
    deadline=$((SECONDS + 30))
    until [[ "$(curl -fsS "$edge_url/healthz" | json_get revision || echo 0)" -ge "$revision" ]]; do
        ((SECONDS < deadline)) || fail "the edge worker did not load revision $revision within 30s; see $log_dir/wrangler.log"
        sleep 0.2
    done
fi

# --- what to try ---

tenant="$(json_get examples.tenant <scripts/demo/demo.json)"
user="$(json_get examples.user <scripts/demo/demo.json)"
flag="$(json_get examples.flag <scripts/demo/demo.json)"
user_path="$(node -e 'console.log(encodeURIComponent(process.argv[1]))' "$user")"

cat <<EOF

Cascade is running (started in ${SECONDS}s).

  Control plane (admin API)  $cp_url      OpenAPI: $cp_url/openapi.json
  Edge worker                $edge_url
  Admin token                $admin_token
                             (platform-admin; kept in $admin_token_file)
  Data and logs              $data_dir

Try:

  # Admin API: every flag for a tester, with the level that decided each one
  curl -s -H "Authorization: Bearer $admin_token" \\
    $cp_url/v1/tenants/$tenant/users/$user_path/evaluation

  # Edge: all flags for the same user
  curl -s $edge_url/v1/tenants/$tenant/users/$user_path/flags

  # OFREP: one flag, as any OpenFeature client asks for it
  curl -s -X POST -H 'Content-Type: application/json' \\
    -d '{"context": {"targetingKey": "$user", "tenantId": "$tenant"}}' \\
    $edge_url/ofrep/v1/evaluate/flags/$flag

Press Ctrl-C to stop.
EOF

# Returns when either process exits on its own; Ctrl-C and SIGTERM end the
# wait through the traps above.
status=0
wait -n "$cp_pid" "$edge_starter" || status=$?
if ! kill -0 "$cp_pid" 2>/dev/null; then
    fail "the control plane exited (status $status); see $log_dir/control-plane.log"
fi
fail "the edge worker exited (status $status); see $log_dir/wrangler.log"
