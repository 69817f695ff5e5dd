//! Writes the snapshot files that the worker's node tests serve from their
//! test control plane.
//!
//! Usage: `cargo run -p cascade-edge-worker --example write-fixtures -- OUT_DIR`
//!
//! Files: `r4.snap`, `r5.snap` and `r6.snap` hold the same hierarchy at
//! revisions 4 to 6, with flag `beta` for tenant `acme` set to false, true
//! and false again, so a test can tell which revision served a response;
//! `r7-corrupt.snap` is revision 7 with a broken checksum.

use std::path::PathBuf;

use anyhow::{Context, Result};
use cascade_shared::{FlagValue, Snapshot, SnapshotBuilder};

fn main() -> Result<()> {
    let out: PathBuf = std::env::args_os()
        .nth(1)
        .context("missing OUT_DIR argument: write-fixtures OUT_DIR")?
        .into();
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;

    for (revision, beta) in [(4, false), (5, true), (6, false)] {
        let bytes = hierarchy(revision, beta)?.encode()?;
        let path = out.join(format!("r{revision}.snap"));
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }

    let mut corrupt = hierarchy(7, true)?.encode()?;
    if let Some(last) = corrupt.last_mut() {
        *last ^= 0xff;
    }
    let path = out.join("r7-corrupt.snap");
    std::fs::write(&path, corrupt).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Builds one flag of each type, an integrator with two tenants, and
/// overrides at every level.
fn hierarchy(revision: u64, acme_beta: bool) -> Result<Snapshot> {
    let mut builder = SnapshotBuilder::new(revision);
    builder
        .flag("beta", FlagValue::Boolean(false))?
        .flag("tier", FlagValue::String("free".into()))?
        .flag("max-seats", FlagValue::Integer(5))?
        .flag("ratio", FlagValue::Float(0.25))?
        .flag(
            "limits",
            FlagValue::Object(r#"{"burst":10,"rate":2}"#.into()),
        )?
        .integrator("partner")?
        .tenant("acme", Some("partner"))?
        .tenant("globex", None)?
        .integrator_override("partner", "tier", FlagValue::String("partner".into()))?
        .integrator_override("partner", "ratio", FlagValue::Float(0.5))?
        .tenant_override("acme", "beta", FlagValue::Boolean(acme_beta))?
        .tenant_override("acme", "max-seats", FlagValue::Integer(50))?
        .user_override(
            "acme",
            "ann@acme.test",
            "tier",
            FlagValue::String("gold".into()),
        )?
        .user_override(
            "acme",
            "ann@acme.test",
            "limits",
            FlagValue::Object(r#"{"burst":99}"#.into()),
        )?
        .user_override("acme", "üser/ß 1", "beta", FlagValue::Boolean(!acme_beta))?;
    Ok(builder.build()?)
}
