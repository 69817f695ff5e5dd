//! Native evaluation of spec cases, and comparison with their expected
//! results.

use std::fmt;

use cascade_shared::{EvalError, Evaluation, Snapshot};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Case, SpecSnapshot};

/// The outcome of one evaluation, in the JSON form that every host reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Outcome {
    Value {
        value: Value,
        level: String,
        reason: String,
        revision: u64,
    },
    Error {
        error: String,
    },
}

impl Outcome {
    fn from_result(result: Result<&Evaluation<'_>, &EvalError>) -> Self {
        match result {
            Ok(evaluation) => Outcome::Value {
                value: evaluation.value.to_json(),
                level: evaluation.level.as_str().to_owned(),
                reason: evaluation.reason.as_str().to_owned(),
                revision: evaluation.revision,
            },
            Err(error) => Outcome::Error {
                error: error.code().to_owned(),
            },
        }
    }

    /// Compares two results. Numbers compare by value, so `3` and `3.0`
    /// agree, as they do in JavaScript.
    pub fn agrees_with(&self, other: &Outcome) -> bool {
        match (self, other) {
            (
                Outcome::Value {
                    value,
                    level,
                    reason,
                    revision,
                },
                Outcome::Value {
                    value: other_value,
                    level: other_level,
                    reason: other_reason,
                    revision: other_revision,
                },
            ) => {
                json_agrees(value, other_value)
                    && level == other_level
                    && reason == other_reason
                    && revision == other_revision
            }
            (Outcome::Error { error }, Outcome::Error { error: other }) => error == other,
            _ => false,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match serde_json::to_string(self) {
            Ok(text) => f.write_str(&text),
            Err(_) => write!(f, "{self:?}"),
        }
    }
}

fn json_agrees(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}

impl Case {
    /// Returns the result this case expects from a snapshot at `revision`.
    pub fn expected(&self, revision: u64) -> Outcome {
        match (&self.error, &self.value, &self.level, &self.reason) {
            (Some(error), ..) => Outcome::Error {
                error: error.clone(),
            },
            (None, value, level, reason) => Outcome::Value {
                value: value.clone().unwrap_or(Value::Null),
                level: level.clone().unwrap_or_default(),
                reason: reason.clone().unwrap_or_default(),
                revision,
            },
        }
    }
}

/// Evaluates one flag natively and reports the result as JSON hosts do.
pub fn evaluate(snapshot: &Snapshot, tenant: &str, user: Option<&str>, flag: &str) -> Outcome {
    Outcome::from_result(snapshot.evaluate(tenant, user, flag).as_ref())
}

/// A case whose native result differs from what the corpus expects.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    pub case: String,
    /// The evaluator entry point that disagreed: evaluate, evaluate_all or
    /// explain.
    pub check: &'static str,
    pub expected: String,
    pub actual: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "case {:?} ({}): expected {}, got {}",
            self.case, self.check, self.expected, self.actual
        )
    }
}

/// Runs every case of `spec` on `snapshot` through `evaluate`,
/// `evaluate_all` and `explain`, and returns each disagreement.
pub fn check_snapshot(spec: &SpecSnapshot, snapshot: &Snapshot) -> Vec<Mismatch> {
    let mut mismatches = Vec::new();
    for case in &spec.cases {
        let expected = case.expected(spec.revision);
        let actual = evaluate(snapshot, &case.tenant, case.user.as_deref(), &case.flag);
        let mut report = |check, expected: String, actual: String| {
            mismatches.push(Mismatch {
                case: case.name.clone(),
                check,
                expected,
                actual,
            })
        };
        if !actual.agrees_with(&expected) {
            report("evaluate", expected.to_string(), actual.to_string());
        }
        if let Some((expected, actual)) = disagreement_in_all(snapshot, case, &actual) {
            report("evaluate_all", expected, actual);
        }
        if let Some((expected, actual)) = disagreement_in_explain(snapshot, case, &actual) {
            report("explain", expected, actual);
        }
    }
    mismatches
}

/// Checks that `evaluate_all` contains the same result for the case's flag,
/// lists flags in key order, and fails the same way `evaluate` does.
fn disagreement_in_all(
    snapshot: &Snapshot,
    case: &Case,
    single: &Outcome,
) -> Option<(String, String)> {
    let all = match snapshot.evaluate_all(&case.tenant, case.user.as_deref()) {
        Ok(all) => all,
        Err(error) => {
            let actual = Outcome::Error {
                error: error.code().to_owned(),
            };
            return match single {
                Outcome::Error { error } if error != "FLAG_NOT_FOUND" && actual == *single => None,
                _ => Some((single.to_string(), actual.to_string())),
            };
        }
    };

    let keys: Vec<&str> = all.iter().map(|e| e.key).collect();
    let expected_keys: Vec<&str> = snapshot.flags().map(|f| f.key).collect();
    if keys != expected_keys {
        return Some((format!("keys {expected_keys:?}"), format!("keys {keys:?}")));
    }
    let found = all.iter().find(|e| e.key == case.flag);
    match (single, found) {
        (Outcome::Error { error }, None) if error == "FLAG_NOT_FOUND" => None,
        (_, Some(evaluation)) => {
            let actual = Outcome::from_result(Ok(evaluation));
            (!actual.agrees_with(single)).then(|| (single.to_string(), actual.to_string()))
        }
        (_, None) => Some((single.to_string(), "no entry for the flag".to_owned())),
    }
}

/// Checks that `explain` carries the same evaluation, that the deciding
/// level contains the value, and that every more specific level is unset.
fn disagreement_in_explain(
    snapshot: &Snapshot,
    case: &Case,
    single: &Outcome,
) -> Option<(String, String)> {
    let explanation = match snapshot.explain(&case.tenant, case.user.as_deref(), &case.flag) {
        Ok(explanation) => explanation,
        Err(error) => {
            let actual = Outcome::Error {
                error: error.code().to_owned(),
            };
            return (actual != *single).then(|| (single.to_string(), actual.to_string()));
        }
    };

    let actual = Outcome::from_result(Ok(&explanation.evaluation));
    if !actual.agrees_with(single) {
        return Some((single.to_string(), actual.to_string()));
    }
    let decided = explanation.evaluation.level;
    for step in &explanation.steps {
        if step.level == decided {
            let stored = step.value.map(|v| v.to_json());
            let value = explanation.evaluation.value.to_json();
            return (stored.as_ref() != Some(&value)).then(|| {
                (
                    format!("{decided} step contains {value}"),
                    format!("{decided} step contains {stored:?}"),
                )
            });
        }
        if step.value.is_some() {
            return Some((
                format!("{} step unset above {decided}", step.level),
                format!("{} step set", step.level),
            ));
        }
    }
    Some((
        format!("a {decided} step"),
        "no step for the deciding level".to_owned(),
    ))
}
