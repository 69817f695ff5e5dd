//! Writing the corpus's snapshots and native results for other hosts.

use std::fs;
use std::path::{Path, PathBuf};

use cascade_shared::{EncodeError, Snapshot};
use serde::Serialize;

use super::run::{Outcome, evaluate};
use super::{InvalidSpec, SpecError, load_corpus};

/// Why the corpus could not be exported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("{path}, snapshot {index}: {source}")]
    Build {
        path: PathBuf,
        index: usize,
        source: Box<InvalidSpec>,
    },
    #[error("failed to encode the snapshot at revision {revision}: {source}")]
    Encode { revision: u64, source: EncodeError },
    #[error("failed to write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to serialize results for {path}: {source}")]
    Serialize {
        path: PathBuf,
        source: serde_json::Error,
    },
}

#[derive(Debug, Serialize)]
struct ResultFile<'a> {
    source: String,
    description: &'a str,
    snapshots: Vec<SnapshotResults<'a>>,
}

#[derive(Debug, Serialize)]
struct SnapshotResults<'a> {
    file: String,
    revision: u64,
    cases: Vec<CaseResult<'a>>,
    all: Vec<ContextResults<'a>>,
}

#[derive(Debug, Serialize)]
struct CaseResult<'a> {
    name: &'a str,
    tenant: &'a str,
    user: Option<&'a str>,
    flag: &'a str,
    result: Outcome,
}

#[derive(Debug, Serialize)]
struct ContextResults<'a> {
    tenant: &'a str,
    user: Option<&'a str>,
    #[serde(flatten)]
    result: AllOutcome,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum AllOutcome {
    Flags { flags: Vec<FlagResult> },
    Error { error: String },
}

#[derive(Debug, Serialize)]
struct FlagResult {
    key: String,
    #[serde(flatten)]
    result: Outcome,
}

/// Writes, for each file `NAME.json` of the corpus in `corpus`, the encoded
/// snapshots as `NAME.rREVISION.snap` and the native results as
/// `NAME.json` into `out`. Returns the result files written.
pub fn export_corpus(corpus: &Path, out: &Path) -> Result<Vec<PathBuf>, ExportError> {
    fs::create_dir_all(out).map_err(|source| ExportError::Write {
        path: out.to_owned(),
        source,
    })?;
    let mut written = Vec::new();
    for (path, file) in load_corpus(corpus)? {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut snapshots = Vec::new();
        for (index, spec) in file.snapshots.iter().enumerate() {
            let snapshot = spec.build().map_err(|source| ExportError::Build {
                path: path.clone(),
                index,
                source: Box::new(source),
            })?;
            let name = format!("{stem}.r{}.snap", spec.revision);
            write_snapshot(&snapshot, &out.join(&name))?;
            snapshots.push(SnapshotResults {
                file: name,
                revision: spec.revision,
                cases: case_results(spec, &snapshot),
                all: all_results(spec, &snapshot),
            });
        }

        let results = ResultFile {
            source: format!("{stem}.json"),
            description: &file.description,
            snapshots,
        };
        let target = out.join(format!("{stem}.json"));
        let text =
            serde_json::to_string_pretty(&results).map_err(|source| ExportError::Serialize {
                path: target.clone(),
                source,
            })?;
        write(&target, text.as_bytes())?;
        written.push(target);
    }
    Ok(written)
}

fn write_snapshot(snapshot: &Snapshot, path: &Path) -> Result<(), ExportError> {
    let bytes = snapshot.encode().map_err(|source| ExportError::Encode {
        revision: snapshot.revision(),
        source,
    })?;
    write(path, &bytes)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    fs::write(path, bytes).map_err(|source| ExportError::Write {
        path: path.to_owned(),
        source,
    })
}

fn case_results<'a>(spec: &'a super::SpecSnapshot, snapshot: &Snapshot) -> Vec<CaseResult<'a>> {
    spec.cases
        .iter()
        .map(|case| CaseResult {
            name: &case.name,
            tenant: &case.tenant,
            user: case.user.as_deref(),
            flag: &case.flag,
            result: evaluate(snapshot, &case.tenant, case.user.as_deref(), &case.flag),
        })
        .collect()
}

/// Evaluates all flags once for each distinct (tenant, user) of the cases,
/// in the order they first appear.
fn all_results<'a>(spec: &'a super::SpecSnapshot, snapshot: &Snapshot) -> Vec<ContextResults<'a>> {
    let mut contexts: Vec<(&str, Option<&str>)> = Vec::new();
    for case in &spec.cases {
        let context = (case.tenant.as_str(), case.user.as_deref());
        if !contexts.contains(&context) {
            contexts.push(context);
        }
    }
    contexts
        .into_iter()
        .map(|(tenant, user)| {
            let result = match snapshot.evaluate_all(tenant, user) {
                Ok(all) => AllOutcome::Flags {
                    flags: all
                        .iter()
                        .map(|e| FlagResult {
                            key: e.key.to_owned(),
                            result: evaluate(snapshot, tenant, user, e.key),
                        })
                        .collect(),
                },
                Err(error) => AllOutcome::Error {
                    error: error.code().to_owned(),
                },
            };
            ContextResults {
                tenant,
                user,
                result,
            }
        })
        .collect()
}
