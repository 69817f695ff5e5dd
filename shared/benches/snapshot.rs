//! Encoding, decoding and size of the benchmark snapshots, sizes S and L.
//!
//! ```text
//! cargo bench -p cascade-shared --features workload --bench snapshot
//! ```
//!
//! Throughput is per user override, so equal element rates for S and L
//! mean that time grows linearly with the number of overrides.

// A benchmark whose setup fails has nothing to measure, so it panics.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use cascade_shared::Snapshot;
use cascade_shared::workload::Workload;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use flate2::Compression;
use flate2::write::GzEncoder;

struct Case {
    name: &'static str,
    user_overrides: u64,
    snapshot: Snapshot,
    bytes: Vec<u8>,
}

fn cases() -> Vec<Case> {
    [("s", Workload::small()), ("l", Workload::large())]
        .into_iter()
        .map(|(name, workload)| {
            let snapshot = workload.snapshot(1).expect("workload builds");
            let bytes = snapshot.encode().expect("workload encodes");
            print_size(name, &workload, &bytes);
            print_fastest(name, &snapshot, &bytes);
            Case {
                name,
                user_overrides: workload.user_overrides.len() as u64,
                snapshot,
                bytes,
            }
        })
        .collect()
}

fn print_size(name: &str, workload: &Workload, bytes: &[u8]) {
    let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
    gzip.write_all(bytes).expect("gzip into memory");
    let gzipped = gzip.finish().expect("gzip into memory").len();
    let overrides = workload.user_overrides.len();
    println!(
        "size {name}: {} users, {overrides} user overrides, raw {} bytes, gzip {gzipped} bytes, \
         {:.2} raw and {:.2} gzip bytes per user override",
        workload.users.len(),
        bytes.len(),
        bytes.len() as f64 / overrides as f64,
        gzipped as f64 / overrides as f64,
    );
}

/// Prints the fastest of several encodes and decodes. Background load on a
/// shared machine only adds time, so the fastest run is the figure that
/// best matches an idle machine; criterion's mean follows below.
fn print_fastest(name: &str, snapshot: &Snapshot, bytes: &[u8]) {
    let runs = if bytes.len() < 4 << 20 { 100 } else { 10 };
    let fastest = |run: &mut dyn FnMut()| {
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                run();
                start.elapsed()
            })
            .min()
            .unwrap_or_default()
    };
    let encode = fastest(&mut || {
        black_box(snapshot.encode().expect("encodes"));
    });
    let decode = fastest(&mut || {
        black_box(Snapshot::decode(bytes).expect("decodes"));
    });
    println!("fastest of {runs} runs, size {name}: encode {encode:.2?}, decode {decode:.2?}");
}

fn bench_snapshot(c: &mut Criterion) {
    let cases = cases();

    let mut group = c.benchmark_group("encode");
    for case in &cases {
        group.throughput(Throughput::Elements(case.user_overrides));
        group.bench_function(BenchmarkId::from_parameter(case.name), |b| {
            b.iter(|| black_box(&case.snapshot).encode().expect("encodes"))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("decode");
    for case in &cases {
        group.throughput(Throughput::Elements(case.user_overrides));
        group.bench_function(BenchmarkId::from_parameter(case.name), |b| {
            b.iter(|| Snapshot::decode(black_box(&case.bytes)).expect("decodes"))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = bench_snapshot
}
criterion_main!(benches);
