//! Control-plane benchmarks on a real redb file, driven through the router
//! in-process: durable single writes, a bulk write of 100,000 user
//! overrides, and snapshot build time and size at 100,000 and 1,000,000
//! user overrides.
//!
//! Run with `cargo bench -p cascade-control-plane --bench store`. Each
//! figure is the median of 3 runs. This is a plain timing binary rather
//! than criterion because criterion takes at least 10 samples per
//! figure, and one bulk write of 100,000 overrides takes seconds.
//!
//! Snapshot GET throughput needs the real server and wrk; see
//! `benches/snapshot_get.sh`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::{Value, json};
use tower::ServiceExt;

use cascade_control_plane::{AppState, app, snapshot};

const SINGLE_WRITES: usize = 300;
const BULK_SIZE: usize = 100_000;
const BULK_RUNS: usize = 3;
const BUILD_RUNS: usize = 3;

struct Bench {
    state: Arc<AppState>,
    router: Router,
    token: String,
    _dir: tempfile::TempDir,
}

impl Bench {
    fn new() -> Bench {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = AppState::open(&dir.path().join("bench.redb")).expect("open store");
        let token = state.bootstrap_token().expect("bootstrap").expect("token");
        Bench {
            router: app(state.clone()),
            state,
            token,
            _dir: dir,
        }
    }

    async fn send(&self, method: Method, path: &str, body: Value) -> u16 {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/json")
            .body(Body::from(serde_json::to_vec(&body).expect("json")))
            .expect("request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status().as_u16();
        assert!(response.status().is_success(), "{path}: {status}");
        status
    }

    /// Sets `count` user overrides on tenant `tenant`, spread over 10 flags.
    async fn bulk(&self, tenant: &str, offset: usize, count: usize) -> Duration {
        let set: Vec<Value> = (offset..offset + count)
            .map(|i| json!({"user": format!("user-{i:08}"), "flag": format!("flag-{}", i % 10), "value": i % 2 == 0}))
            .collect();
        let body = json!({ "set": set });
        let path = format!("/v1/tenants/{tenant}/users");
        let start = Instant::now();
        self.send(Method::PATCH, &path, body).await;
        start.elapsed()
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

async fn setup(bench: &Bench, tenants: usize) {
    for flag in 0..10 {
        let body = json!({"key": format!("flag-{flag}"), "type": "boolean", "default": false});
        bench.send(Method::POST, "/v1/flags", body).await;
    }
    for tenant in 0..tenants {
        let body = json!({"id": format!("tenant-{tenant}"), "display_name": "Bench"});
        bench.send(Method::POST, "/v1/tenants", body).await;
    }
}

async fn single_writes() {
    let bench = Bench::new();
    setup(&bench, 1).await;
    let start = Instant::now();
    for i in 0..SINGLE_WRITES {
        let path = format!("/v1/tenants/tenant-0/users/user-{i}/flags/flag-0");
        bench.send(Method::PUT, &path, json!({"value": true})).await;
    }
    let elapsed = start.elapsed();
    println!(
        "durable single writes: {SINGLE_WRITES} PUTs in {:.2?} = {:.0} writes/s",
        elapsed,
        SINGLE_WRITES as f64 / elapsed.as_secs_f64()
    );
}

async fn bulk_writes() {
    let bench = Bench::new();
    setup(&bench, BULK_RUNS).await;
    let mut times = Vec::new();
    for run in 0..BULK_RUNS {
        times.push(bench.bulk(&format!("tenant-{run}"), 0, BULK_SIZE).await);
    }
    println!(
        "bulk PATCH of {BULK_SIZE} user overrides: median {:.2?} of {times:.2?}",
        median(times.clone())
    );
}

async fn snapshot_builds() {
    let bench = Bench::new();
    setup(&bench, 10).await;
    let mut total = 0;
    let mut previous: Option<(usize, Duration)> = None;
    for target in [BULK_SIZE, 1_000_000] {
        while total < target {
            let tenant = format!("tenant-{}", total / BULK_SIZE);
            bench.bulk(&tenant, total, BULK_SIZE).await;
            total += BULK_SIZE;
        }
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..BUILD_RUNS {
            let store = bench.state.store.clone();
            let start = Instant::now();
            let published = tokio::task::spawn_blocking(move || snapshot::build(&store))
                .await
                .expect("join")
                .expect("build");
            times.push(start.elapsed());
            size = published.bytes.len();
            assert_eq!(published.snapshot.user_override_count(), total);
        }
        let time = median(times.clone());
        let store = bench.state.store.clone();
        let (read_and_index, encode) = tokio::task::spawn_blocking(move || {
            store.read_blocking(|txn| {
                let start = Instant::now();
                let built = snapshot::build_snapshot(txn)?;
                let read_and_index = start.elapsed();
                let start = Instant::now();
                let _bytes = built.encode();
                Ok((read_and_index, start.elapsed()))
            })
        })
        .await
        .expect("join")
        .expect("build");
        print!(
            "snapshot build at {total} user overrides: median {time:.2?} of {times:.2?}, {size} bytes ({:.1} bytes/override)",
            size as f64 / total as f64
        );
        print!(" [one more run: read and index {read_and_index:.2?}, encode {encode:.2?}]");
        if let Some((count, earlier)) = previous {
            let ratio = time.as_secs_f64() / earlier.as_secs_f64();
            print!(
                ", {ratio:.1}x the time for {:.0}x the overrides",
                total as f64 / count as f64
            );
        }
        println!();
        previous = Some((total, time));
    }
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument selects parts.
    let parts: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wants = |name: &str| parts.is_empty() || parts.iter().any(|p| p == name);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        if wants("single") {
            single_writes().await;
        }
        if wants("bulk") {
            bulk_writes().await;
        }
        if wants("build") {
            snapshot_builds().await;
        }
    });
}
