//! Decodes one snapshot file repeatedly and prints the fastest and mean
//! wall time per decode. Run it under `/usr/bin/time` to also get the CPU
//! time, which on a machine shared with other work excludes the time spent
//! waiting for a core:
//!
//! ```text
//! cargo build --release -p cascade-shared --features workload --example time-decode
//! /usr/bin/time -f '%U s user, %S s system, %e s wall' \
//!     target/release/examples/time-decode FILE RUNS
//! ```

use std::error::Error;
use std::hint::black_box;
use std::time::{Duration, Instant};

use cascade_shared::Snapshot;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(runs)) = (args.next(), args.next()) else {
        return Err(
            "usage: time-decode FILE RUNS (a snapshot file and a number of decodes)".into(),
        );
    };
    let runs: u32 = runs
        .parse()
        .map_err(|e| format!("invalid RUNS {runs:?}: {e}; expected a whole number"))?;
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {path}: {e}"))?;

    let mut fastest = Duration::MAX;
    let mut total = Duration::ZERO;
    for _ in 0..runs {
        let start = Instant::now();
        black_box(Snapshot::decode(&bytes)?);
        let elapsed = start.elapsed();
        fastest = fastest.min(elapsed);
        total += elapsed;
    }
    let mean = total / runs.max(1);
    println!(
        "{path}: {} bytes, {runs} decodes, fastest {fastest:.2?}, mean {mean:.2?}",
        bytes.len()
    );
    Ok(())
}
