//! The cascade spec corpus: file format, loading and snapshot building.
//!
//! The format is documented in `cascade-spec/README.md`. [`load_corpus`]
//! parses every file and checks it; [`SpecSnapshot::build`] turns one
//! snapshot description into a [`Snapshot`] through [`SnapshotBuilder`];
//! [`run`] evaluates the cases natively; [`export`] writes what the other
//! hosts need.

mod export;
mod run;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use cascade_shared::{
    BuildError, FlagType, FlagValue, Level, Reason, Snapshot, SnapshotBuilder, ValueError,
};
use serde::Deserialize;
use serde_json::Value;

pub use export::{ExportError, export_corpus};
pub use run::{Mismatch, Outcome, check_snapshot, evaluate};

/// Returns the path of the corpus directory in this crate.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cascade-spec")
}

/// One case file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// What the file covers, for people reading it.
    pub description: String,
    /// Successive snapshots with strictly growing revisions, each with its
    /// own cases.
    pub snapshots: Vec<SpecSnapshot>,
}

/// A hierarchy at one revision, and the cases to evaluate on it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecSnapshot {
    pub revision: u64,
    #[serde(default)]
    pub flags: Vec<FlagSpec>,
    #[serde(default)]
    pub integrators: Vec<IntegratorSpec>,
    #[serde(default)]
    pub tenants: Vec<TenantSpec>,
    pub cases: Vec<Case>,
}

/// A flag with its type and platform default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagSpec {
    pub key: String,
    #[serde(rename = "type")]
    pub flag_type: FlagType,
    pub default: Value,
}

/// An integrator and its overrides, keyed by flag key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegratorSpec {
    pub id: String,
    #[serde(default)]
    pub overrides: BTreeMap<String, Value>,
}

/// A tenant, its integrator if any, its overrides and its users'
/// overrides (user id to flag key to value).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    pub id: String,
    #[serde(default)]
    pub integrator: Option<String>,
    #[serde(default)]
    pub overrides: BTreeMap<String, Value>,
    #[serde(default)]
    pub users: BTreeMap<String, BTreeMap<String, Value>>,
}

/// One evaluation and its expected result: either `value`, `level` and
/// `reason` together, or `error` alone.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub tenant: String,
    #[serde(default)]
    pub user: Option<String>,
    pub flag: String,
    #[serde(default)]
    pub value: Option<Value>,
    #[serde(default)]
    pub level: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}

/// A corpus file that cannot be read or does not describe a valid corpus.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    #[error("failed to read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid JSON in {path}: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}, snapshot {index}: {source}")]
    Invalid {
        path: PathBuf,
        index: usize,
        source: Box<InvalidSpec>,
    },
}

/// What is wrong inside one snapshot description.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidSpec {
    #[error("revision {revision} does not grow past the previous {previous}")]
    RevisionNotGrowing { previous: u64, revision: u64 },
    #[error("{scope} overrides flag {flag:?}, which is not declared in `flags`")]
    UnknownFlag { scope: String, flag: String },
    #[error("value for flag {flag:?} in {scope}: {source}")]
    Value {
        scope: String,
        flag: String,
        source: ValueError,
    },
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("case {name:?}: {problem}; give `value`, `level` and `reason`, or `error` alone")]
    Case { name: String, problem: &'static str },
    #[error("case {name:?} has level {level:?}; expected user, tenant, integrator or platform")]
    Level { name: String, level: String },
    #[error(
        "case {name:?} has reason {reason:?}; expected DEFAULT, TARGETING_MATCH or UNKNOWN_TENANT"
    )]
    Reason { name: String, reason: String },
}

/// Reads and checks every `*.json` file in `dir`, in file name order.
pub fn load_corpus(dir: &Path) -> Result<Vec<(PathBuf, SpecFile)>, SpecError> {
    let entries = fs::read_dir(dir).map_err(|source| SpecError::Read {
        path: dir.to_owned(),
        source,
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| SpecError::Read {
                path: dir.to_owned(),
                source,
            })?
            .path();
        if path.extension().is_some_and(|ext| ext == "json") {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| load_file(&path).map(|file| (path, file)))
        .collect()
}

/// Reads one case file and checks that every snapshot builds and every
/// case is well formed.
pub fn load_file(path: &Path) -> Result<SpecFile, SpecError> {
    let text = fs::read_to_string(path).map_err(|source| SpecError::Read {
        path: path.to_owned(),
        source,
    })?;
    let file: SpecFile = serde_json::from_str(&text).map_err(|source| SpecError::Parse {
        path: path.to_owned(),
        source,
    })?;

    let mut previous: Option<u64> = None;
    for (index, snapshot) in file.snapshots.iter().enumerate() {
        let invalid = |source| SpecError::Invalid {
            path: path.to_owned(),
            index,
            source: Box::new(source),
        };
        if let Some(previous) = previous
            && snapshot.revision <= previous
        {
            return Err(invalid(InvalidSpec::RevisionNotGrowing {
                previous,
                revision: snapshot.revision,
            }));
        }
        previous = Some(snapshot.revision);
        snapshot.build().map_err(invalid)?;
        for case in &snapshot.cases {
            case.check_shape().map_err(invalid)?;
        }
    }
    Ok(file)
}

impl SpecSnapshot {
    /// Builds the snapshot this description declares.
    pub fn build(&self) -> Result<Snapshot, InvalidSpec> {
        let mut builder = SnapshotBuilder::new(self.revision);
        let mut types = HashMap::new();
        for flag in &self.flags {
            let default = typed_value("platform", &flag.key, flag.flag_type, &flag.default)?;
            builder.flag(&flag.key, default)?;
            types.insert(flag.key.as_str(), flag.flag_type);
        }
        for integrator in &self.integrators {
            builder.integrator(&integrator.id)?;
        }
        for tenant in &self.tenants {
            builder.tenant(&tenant.id, tenant.integrator.as_deref())?;
        }

        for integrator in &self.integrators {
            let scope = format!("integrator {}", integrator.id);
            for (flag, json) in &integrator.overrides {
                let value = override_value(&types, &scope, flag, json)?;
                builder.integrator_override(&integrator.id, flag, value)?;
            }
        }
        for tenant in &self.tenants {
            let scope = format!("tenant {}", tenant.id);
            for (flag, json) in &tenant.overrides {
                let value = override_value(&types, &scope, flag, json)?;
                builder.tenant_override(&tenant.id, flag, value)?;
            }
            for (user, overrides) in &tenant.users {
                let scope = format!("user {user:?} of tenant {}", tenant.id);
                for (flag, json) in overrides {
                    let value = override_value(&types, &scope, flag, json)?;
                    builder.user_override(&tenant.id, user, flag, value)?;
                }
            }
        }
        Ok(builder.build()?)
    }
}

impl Case {
    /// Checks that the case gives either a full result or an error code.
    fn check_shape(&self) -> Result<(), InvalidSpec> {
        let problem = |problem| InvalidSpec::Case {
            name: self.name.clone(),
            problem,
        };
        match (&self.value, &self.level, &self.reason, &self.error) {
            (None, None, None, Some(_)) => Ok(()),
            (Some(_), Some(level), Some(reason), None) => {
                parse_level(level).ok_or_else(|| InvalidSpec::Level {
                    name: self.name.clone(),
                    level: level.clone(),
                })?;
                parse_reason(reason).ok_or_else(|| InvalidSpec::Reason {
                    name: self.name.clone(),
                    reason: reason.clone(),
                })?;
                Ok(())
            }
            (_, _, _, Some(_)) => Err(problem("`error` is given with other result fields")),
            _ => Err(problem("the expected result is incomplete")),
        }
    }
}

fn parse_level(text: &str) -> Option<Level> {
    [
        Level::User,
        Level::Tenant,
        Level::Integrator,
        Level::Platform,
    ]
    .into_iter()
    .find(|level| level.as_str() == text)
}

fn parse_reason(text: &str) -> Option<Reason> {
    [
        Reason::Default,
        Reason::TargetingMatch,
        Reason::UnknownTenant,
    ]
    .into_iter()
    .find(|reason| reason.as_str() == text)
}

fn override_value(
    types: &HashMap<&str, FlagType>,
    scope: &str,
    flag: &str,
    json: &Value,
) -> Result<FlagValue, InvalidSpec> {
    let flag_type = types
        .get(flag)
        .copied()
        .ok_or_else(|| InvalidSpec::UnknownFlag {
            scope: scope.to_owned(),
            flag: flag.to_owned(),
        })?;
    typed_value(scope, flag, flag_type, json)
}

fn typed_value(
    scope: &str,
    flag: &str,
    flag_type: FlagType,
    json: &Value,
) -> Result<FlagValue, InvalidSpec> {
    FlagValue::from_json(flag_type, json).map_err(|source| InvalidSpec::Value {
        scope: scope.to_owned(),
        flag: flag.to_owned(),
        source,
    })
}
