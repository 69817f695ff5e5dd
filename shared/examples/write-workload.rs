//! Writes the benchmark snapshots of sizes S and L, and a JSON sidecar of
//! sample lookups with their expected results, for the benchmarks of other
//! hosts (the JS package, the edge worker, the control plane).
//!
//! ```text
//! cargo run --release -p cascade-shared --features workload \
//!     --example write-workload -- OUT_DIR
//! ```
//!
//! Output: `OUT_DIR/s.snap`, `OUT_DIR/l.snap` and `OUT_DIR/workload.json`.

use std::error::Error;
use std::path::{Path, PathBuf};

use cascade_shared::workload::{DEFAULT_SEED, Workload, WorkloadSize};
use serde_json::{Value, json};

/// The revision written into both snapshots.
const REVISION: u64 = 1;
/// Lookups per snapshot in the sidecar.
const LOOKUPS: usize = 64;

fn main() -> Result<(), Box<dyn Error>> {
    let out_dir = match std::env::args_os().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => {
            return Err("missing OUT_DIR: usage: write-workload OUT_DIR \
                 (the directory receives s.snap, l.snap and workload.json)"
                .into());
        }
    };
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;

    let mut snapshots = Vec::new();
    for (name, size) in [("s", WorkloadSize::SMALL), ("l", WorkloadSize::LARGE)] {
        snapshots.push(write_snapshot(&out_dir, name, size)?);
    }
    let sidecar = json!({
        "seed": DEFAULT_SEED,
        "revision": REVISION,
        "snapshots": snapshots,
    });
    let path = out_dir.join("workload.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&sidecar)?)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

/// Writes `NAME.snap` and returns its sidecar entry.
fn write_snapshot(out_dir: &Path, name: &str, size: WorkloadSize) -> Result<Value, Box<dyn Error>> {
    let workload = Workload::generate(size, DEFAULT_SEED);
    let snapshot = workload.snapshot(REVISION)?;
    let bytes = snapshot.encode()?;
    let file = format!("{name}.snap");
    let path = out_dir.join(&file);
    std::fs::write(&path, &bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("wrote {} ({} bytes)", path.display(), bytes.len());

    let mut lookups = Vec::with_capacity(LOOKUPS);
    for lookup in workload.sample_lookups(LOOKUPS, DEFAULT_SEED) {
        let user = lookup.user.as_deref();
        let evaluation = snapshot.evaluate(&lookup.tenant, user, &lookup.flag)?;
        lookups.push(json!({
            "tenant": lookup.tenant,
            "user": lookup.user,
            "flag": lookup.flag,
            "value": evaluation.value.to_json(),
            "level": evaluation.level.as_str(),
            "reason": evaluation.reason.as_str(),
        }));
    }
    Ok(json!({
        "name": name,
        "file": file,
        "bytes": bytes.len(),
        "flags": workload.flags.len(),
        "integrators": workload.integrators.len(),
        "tenants": workload.tenants.len(),
        "users": workload.users.len(),
        "user_overrides": workload.user_overrides.len(),
        "lookups": lookups,
    }))
}
