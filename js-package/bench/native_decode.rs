//! Prints the median time of the native `Snapshot::decode` of each file
//! given, in milliseconds, as JSON: the baseline for the package's load
//! time. Run by `bench/bench.js`.
//!
//! ```text
//! cargo run --release -p cascade-js --example bench-native-decode -- FILE... ROUNDS
//! ```

use std::error::Error;
use std::time::Instant;

use cascade_shared::Snapshot;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = match args.pop().map(|last| last.parse()) {
        Some(Ok(rounds)) if rounds > 0 => rounds,
        _ => return Err("usage: bench-native-decode FILE... ROUNDS (ROUNDS >= 1)".into()),
    };

    let mut medians = Vec::new();
    for path in &args {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        let mut times = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let start = Instant::now();
            let snapshot = Snapshot::decode(&bytes)?;
            times.push(start.elapsed().as_secs_f64() * 1e3);
            drop(std::hint::black_box(snapshot));
        }
        times.sort_by(f64::total_cmp);
        medians.push(times[times.len() / 2]);
    }
    println!("{}", serde_json::to_string(&medians)?);
    Ok(())
}
