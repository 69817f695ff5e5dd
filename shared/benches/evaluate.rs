//! One evaluation and all flags for one user on snapshot S, each next to
//! the same results from a chain of `std` hash map lookups (the baseline).
//!
//! ```text
//! cargo bench -p cascade-shared --features workload --bench evaluate
//! ```

// A benchmark whose setup fails has nothing to measure, so it panics.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

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
