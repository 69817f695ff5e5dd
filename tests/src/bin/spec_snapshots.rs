//! Writes the cascade spec corpus's encoded snapshots and the native
//! evaluator's results into a directory, for the JavaScript hosts' tests.
//!
//! Usage: `spec-snapshots OUT_DIR`. The output format is described in
//! `cascade-spec/README.md`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use cascade_e2e::spec;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let (Some(out), None) = (args.next(), args.next()) else {
        bail!("expected one argument: the output directory, e.g. `spec-snapshots build/spec`");
    };
    let out = PathBuf::from(out);
    let corpus = spec::corpus_dir();
    let written = spec::export_corpus(&corpus, &out)
        .with_context(|| format!("failed to export {} to {}", corpus.display(), out.display()))?;
    println!(
        "wrote snapshots and results for {} case files to {}",
        written.len(),
        out.display()
    );
    Ok(())
}
