//! Writes the inputs of the JS package benchmark (`bench/bench.js`) into
//! OUT_DIR, from the shared deterministic workload:
//!
//! - `s.r1.snap`, `s.r2.snap`, `l.r1.snap`, `l.r2.snap`: snapshots of sizes
//!   S and L at revisions 1 and 2 (the same hierarchy), for load and
//!   replace timings;
//! - `s.json`: the raw hierarchy of size S, from which the benchmark builds
//!   its plain JS `Map` baseline, and sample lookups;
//! - `l.json`: sample lookups of size L.
//!
//! ```text
//! cargo run --release -p cascade-js --example bench-workload -- OUT_DIR
//! ```

use std::error::Error;
use std::path::{Path, PathBuf};

use cascade_shared::workload::{DEFAULT_SEED, Workload, WorkloadOverride, WorkloadSize};
use serde_json::{Value, json};

/// Lookups per size: enough that the benchmark does not replay a handful
/// of cache-hot requests.
const LOOKUPS: usize = 10_000;

fn main() -> Result<(), Box<dyn Error>> {
    let Some(out_dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        return Err("missing OUT_DIR: usage: bench-workload OUT_DIR".into());
    };
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;

    for (name, size) in [("s", WorkloadSize::SMALL), ("l", WorkloadSize::LARGE)] {
        let workload = Workload::generate(size, DEFAULT_SEED);
        for revision in [1, 2] {
            let bytes = workload.snapshot(revision)?.encode()?;
            write(&out_dir.join(format!("{name}.r{revision}.snap")), &bytes)?;
        }
        let mut data = json!({ "lookups": lookups(&workload) });
        if name == "s"
            && let Some(map) = data.as_object_mut()
        {
            map.insert("hierarchy".to_owned(), hierarchy(&workload));
        }
        write(
            &out_dir.join(format!("{name}.json")),
            &serde_json::to_vec(&data)?,
        )?;
    }
    Ok(())
}

fn lookups(workload: &Workload) -> Value {
    let lookups: Vec<Value> = workload
        .sample_lookups(LOOKUPS, DEFAULT_SEED)
        .into_iter()
        .map(|lookup| json!([lookup.tenant, lookup.user, lookup.flag]))
        .collect();
    Value::Array(lookups)
}

/// Lists the workload's raw rows as JSON. Scopes and flags are indexes
/// into the lists.
fn hierarchy(workload: &Workload) -> Value {
    let rows = |overrides: &[WorkloadOverride]| -> Vec<Value> {
        overrides
            .iter()
            .map(|row| json!([row.scope, row.flag, row.value.to_json()]))
            .collect()
    };
    json!({
        "flags": workload
            .flags
            .iter()
            .map(|flag| json!([flag.key, flag.default.to_json()]))
            .collect::<Vec<_>>(),
        "integrators": workload.integrators,
        "tenants": workload
            .tenants
            .iter()
            .map(|tenant| json!([tenant.id, tenant.integrator]))
            .collect::<Vec<_>>(),
        "users": workload
            .users
            .iter()
            .map(|user| json!([user.tenant, user.id]))
            .collect::<Vec<_>>(),
        "integratorOverrides": rows(&workload.integrator_overrides),
        "tenantOverrides": rows(&workload.tenant_overrides),
        "userOverrides": rows(&workload.user_overrides),
    })
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Box<dyn Error>> {
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("wrote {} ({} bytes)", path.display(), bytes.len());
    Ok(())
}
