//! One evaluation and all flags for one user on snapshot S, each next to
//! the same results from a chain of `std` hash map lookups (the baseline).
//!
//! ```text
//! cargo bench -p cascade-shared --features workload --bench evaluate
//! ```

// A benchmark whose setup fails has nothing to measure, so it panics.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use cascade_shared::Snapshot;
use cascade_shared::workload::{DEFAULT_SEED, HashMapBaseline, Lookup, Workload};
use criterion::{Criterion, criterion_group, criterion_main};

/// Requests cycled through by every benchmark, enough to defeat caching of
/// one path but few enough to stay in memory.
const LOOKUPS: usize = 4_096;

/// Checks that the baseline returns the evaluator's results, so that both
/// sides of the comparison do the same job.
fn check_agreement(snapshot: &Snapshot, baseline: &HashMapBaseline, lookups: &[Lookup]) {
    for lookup in lookups {
        let user = lookup.user.as_deref();
        let expected = snapshot
            .evaluate(&lookup.tenant, user, &lookup.flag)
            .expect("sample flag exists");
        let (value, level) = baseline
            .evaluate(&lookup.tenant, user, &lookup.flag)
            .expect("sample flag exists");
        assert_eq!(value.as_ref(), expected.value, "{lookup:?}");
        assert_eq!(level, expected.level, "{lookup:?}");
    }
}

/// Times `rounds` alternating passes of the evaluator and the baseline over
/// every lookup and prints the ratio of their fastest passes. Alternating
/// keeps both sides under the same background load, which on a shared
/// machine moves separate criterion runs by more than the difference.
fn print_interleaved_ratio(
    name: &str,
    rounds: usize,
    mut snapshot_pass: impl FnMut() -> usize,
    mut baseline_pass: impl FnMut() -> usize,
) {
    let (mut snapshot_best, mut baseline_best) = (Duration::MAX, Duration::MAX);
    for _ in 0..rounds {
        let start = Instant::now();
        black_box(snapshot_pass());
        snapshot_best = snapshot_best.min(start.elapsed());
        let start = Instant::now();
        black_box(baseline_pass());
        baseline_best = baseline_best.min(start.elapsed());
    }
    let per_lookup = |d: Duration| d.as_nanos() as f64 / LOOKUPS as f64;
    println!(
        "{name} interleaved over {rounds} rounds: snapshot {:.0} ns, baseline {:.0} ns, \
         ratio {:.2}",
        per_lookup(snapshot_best),
        per_lookup(baseline_best),
        snapshot_best.as_secs_f64() / baseline_best.as_secs_f64()
    );
}

fn bench_evaluate(c: &mut Criterion) {
    let workload = Workload::small();
    let bytes = workload
        .snapshot(1)
        .expect("builds")
        .encode()
        .expect("encodes");
    let snapshot = Snapshot::decode(&bytes).expect("decodes");
    let baseline = HashMapBaseline::new(&workload);
    let lookups = workload.sample_lookups(LOOKUPS, DEFAULT_SEED);
    check_agreement(&snapshot, &baseline, &lookups);

    print_interleaved_ratio(
        "evaluate_one",
        50,
        || {
            let found = lookups.iter().filter(|lookup| {
                let user = lookup.user.as_deref();
                snapshot
                    .evaluate(&lookup.tenant, user, &lookup.flag)
                    .is_ok()
            });
            found.count()
        },
        || {
            let found = lookups.iter().filter(|lookup| {
                let user = lookup.user.as_deref();
                baseline
                    .evaluate(&lookup.tenant, user, &lookup.flag)
                    .is_some()
            });
            found.count()
        },
    );
    print_interleaved_ratio(
        "evaluate_all",
        3,
        || {
            let all = lookups.iter().filter_map(|lookup| {
                let user = lookup.user.as_deref();
                snapshot.evaluate_all(&lookup.tenant, user).ok()
            });
            all.map(|all| all.len()).sum()
        },
        || {
            let all = lookups.iter().map(|lookup| {
                let user = lookup.user.as_deref();
                baseline.evaluate_all(&lookup.tenant, user).len()
            });
            all.sum()
        },
    );

    let mut group = c.benchmark_group("evaluate_one");
    group.bench_function("snapshot", |b| {
        let mut next = lookups.iter().cycle();
        b.iter(|| {
            let lookup = next.next().expect("cycle never ends");
            let user = lookup.user.as_deref();
            black_box(snapshot.evaluate(&lookup.tenant, user, &lookup.flag)).is_ok()
        })
    });
    group.bench_function("baseline", |b| {
        let mut next = lookups.iter().cycle();
        b.iter(|| {
            let lookup = next.next().expect("cycle never ends");
            let user = lookup.user.as_deref();
            black_box(baseline.evaluate(&lookup.tenant, user, &lookup.flag)).is_some()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("evaluate_all");
    group.bench_function("snapshot", |b| {
        let mut next = lookups.iter().cycle();
        b.iter(|| {
            let lookup = next.next().expect("cycle never ends");
            let user = lookup.user.as_deref();
            black_box(snapshot.evaluate_all(&lookup.tenant, user)).map(|all| all.len())
        })
    });
    group.bench_function("baseline", |b| {
        let mut next = lookups.iter().cycle();
        b.iter(|| {
            let lookup = next.next().expect("cycle never ends");
            let user = lookup.user.as_deref();
            black_box(baseline.evaluate_all(&lookup.tenant, user)).len()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_evaluate
}
criterion_main!(benches);
