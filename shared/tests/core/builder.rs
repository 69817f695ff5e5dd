//! `SnapshotBuilder` rejects hierarchies that would not decode.

use cascade_shared::{BuildError, FlagValue, Level, SnapshotBuilder, ValueRef};

#[test]
fn builder_rejects_non_canonical_object() {
    for text in ["{ \"b\": 1 }", r#"{"b":1,"a":2}"#, "[1]", "not json"] {
        let mut b = SnapshotBuilder::new(1);
        let error = b.flag("o", FlagValue::Object(text.into())).unwrap_err();
        assert_eq!(
            error,
            BuildError::NonCanonicalObject { flag: "o".into() },
            "{text}"
        );
    }
}

#[test]
fn builder_rejects_non_finite_float() {
    let mut b = SnapshotBuilder::new(1);
    b.flag("f", FlagValue::Float(1.0)).unwrap();
    b.tenant("t1", None).unwrap();
    let error = b
        .tenant_override("t1", "f", FlagValue::Float(f64::NAN))
        .unwrap_err();
    assert_eq!(error, BuildError::NonFiniteFloat { flag: "f".into() });
}

#[test]
fn builder_rejects_override_of_other_type() {
    let mut b = SnapshotBuilder::new(1);
    b.flag("beta", FlagValue::Boolean(false)).unwrap();
    b.integrator("acme").unwrap();
    let error = b
        .integrator_override("acme", "beta", FlagValue::Integer(1))
        .unwrap_err();
    assert!(
        matches!(error, BuildError::TypeMismatch { ref scope, .. } if scope == "integrator acme"),
        "{error:?}"
    );
}

#[test]
fn builder_rejects_undeclared_and_duplicate() {
    let mut b = SnapshotBuilder::new(1);
    b.flag("beta", FlagValue::Boolean(false)).unwrap();
    assert!(matches!(
        b.tenant("t1", Some("acme")),
        Err(BuildError::NotDeclared {
            what: "integrator",
            ..
        })
    ));
    b.tenant("t1", None).unwrap();
    assert!(matches!(
        b.tenant("t1", None),
        Err(BuildError::Duplicate { what: "tenant", .. })
    ));
    assert!(matches!(
        b.flag("beta", FlagValue::Boolean(true)),
        Err(BuildError::Duplicate { what: "flag", .. })
    ));
    assert!(matches!(
        b.user_override("t1", "alice", "gamma", FlagValue::Boolean(true)),
        Err(BuildError::NotDeclared { what: "flag", .. })
    ));
    assert!(matches!(
        b.user_override("t1", "", "beta", FlagValue::Boolean(true)),
        Err(BuildError::InvalidId(_))
    ));
}

#[test]
fn builder_keeps_last_override_set() {
    let mut b = SnapshotBuilder::new(1);
    b.flag("name", FlagValue::String("x".into())).unwrap();
    b.tenant("t1", None).unwrap();
    for value in ["first", "second", "last"] {
        b.user_override("t1", "alice", "name", FlagValue::String(value.into()))
            .unwrap();
    }
    let snapshot = b.build().unwrap();
    let evaluation = snapshot.evaluate("t1", Some("alice"), "name").unwrap();
    assert_eq!(evaluation.value, ValueRef::String("last"));
    assert_eq!(evaluation.level, Level::User);
    assert_eq!(snapshot.user_override_count(), 1);
}
