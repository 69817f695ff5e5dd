use std::fs;

use super::{InvalidSpec, SpecError, load_file};

/// Writes `text` to a temporary file and loads it.
fn load(text: &str) -> Result<super::SpecFile, SpecError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("case.json");
    fs::write(&path, text).unwrap();
    load_file(&path)
}

fn invalid(text: &str) -> InvalidSpec {
    match load(text) {
        Err(SpecError::Invalid { source, .. }) => *source,
        other => panic!("expected an invalid spec, got {other:?}"),
    }
}

const FLAG: &str = r#"{"key": "beta", "type": "boolean", "default": false}"#;

fn file(snapshots: &str) -> String {
    format!(r#"{{"description": "test", "snapshots": [{snapshots}]}}"#)
}

fn snapshot(revision: u64, extra: &str, cases: &str) -> String {
    format!(r#"{{"revision": {revision}, "flags": [{FLAG}]{extra}, "cases": [{cases}]}}"#)
}

const GOOD_CASE: &str = r#"{"name": "c", "tenant": "t1", "user": null, "flag": "beta",
    "value": false, "level": "platform", "reason": "UNKNOWN_TENANT"}"#;

#[test]
fn loader_accepts_minimal_file() {
    let loaded = load(&file(&snapshot(1, "", GOOD_CASE))).unwrap();
    assert_eq!(loaded.snapshots.len(), 1);
    assert_eq!(loaded.snapshots[0].cases.len(), 1);
}

#[test]
fn loader_rejects_non_growing_revision() {
    let two = format!("{}, {}", snapshot(5, "", ""), snapshot(5, "", ""));
    let error = invalid(&file(&two));
    assert!(
        matches!(
            error,
            InvalidSpec::RevisionNotGrowing {
                previous: 5,
                revision: 5
            }
        ),
        "{error:?}"
    );
}

#[test]
fn loader_rejects_override_of_undeclared_flag() {
    let tenants = r#", "tenants": [{"id": "t1", "overrides": {"gamma": true}}]"#;
    let error = invalid(&file(&snapshot(1, tenants, "")));
    assert!(
        matches!(error, InvalidSpec::UnknownFlag { ref flag, .. } if flag == "gamma"),
        "{error:?}"
    );
}

#[test]
fn loader_rejects_value_of_wrong_type() {
    let tenants = r#", "tenants": [{"id": "t1", "overrides": {"beta": "yes"}}]"#;
    let error = invalid(&file(&snapshot(1, tenants, "")));
    assert!(matches!(error, InvalidSpec::Value { .. }), "{error:?}");
}

#[test]
fn loader_rejects_undeclared_integrator() {
    let tenants = r#", "tenants": [{"id": "t1", "integrator": "acme"}]"#;
    let error = invalid(&file(&snapshot(1, tenants, "")));
    assert!(matches!(error, InvalidSpec::Build(_)), "{error:?}");
}

#[test]
fn loader_rejects_malformed_cases() {
    let both = r#"{"name": "c", "tenant": "t1", "flag": "beta", "value": true,
        "level": "user", "reason": "TARGETING_MATCH", "error": "FLAG_NOT_FOUND"}"#;
    let partial = r#"{"name": "c", "tenant": "t1", "flag": "beta", "value": true}"#;
    for case in [both, partial] {
        let error = invalid(&file(&snapshot(1, "", case)));
        assert!(matches!(error, InvalidSpec::Case { .. }), "{error:?}");
    }

    let level = GOOD_CASE.replace("platform", "global");
    let error = invalid(&file(&snapshot(1, "", &level)));
    assert!(matches!(error, InvalidSpec::Level { .. }), "{error:?}");

    let reason = GOOD_CASE.replace("UNKNOWN_TENANT", "STATIC");
    let error = invalid(&file(&snapshot(1, "", &reason)));
    assert!(matches!(error, InvalidSpec::Reason { .. }), "{error:?}");
}

#[test]
fn loader_rejects_unknown_field() {
    let typo = GOOD_CASE.replace("\"flag\"", "\"flags\"");
    let error = load(&file(&snapshot(1, "", &typo))).unwrap_err();
    assert!(matches!(error, SpecError::Parse { .. }), "{error:?}");
    assert!(error.to_string().contains("flags"), "{error}");
}
