use cascade_shared::{FlagValue, Level, Reason, Snapshot, SnapshotBuilder, ValueRef};

#[test]
fn smoke_round_trip_and_cascade() {
    let mut b = SnapshotBuilder::new(7);
    b.flag("beta", FlagValue::Boolean(false)).unwrap();
    b.flag("Beta", FlagValue::String("x".into())).unwrap();
    b.integrator("acme").unwrap();
    b.tenant("t1", Some("acme")).unwrap();
    b.tenant("t0", None).unwrap();
    b.integrator_override("acme", "beta", FlagValue::Boolean(true))
        .unwrap();
    b.user_override("t1", "zoë", "Beta", FlagValue::String("y".into()))
        .unwrap();
    b.user_override("t1", "al", "beta", FlagValue::Boolean(false))
        .unwrap();
    let snap = b.build().unwrap();
    let bytes = snap.encode().unwrap();
    let back = Snapshot::decode(&bytes).unwrap();
    assert_eq!(back, snap);
    let e = back.evaluate("t1", Some("zoë"), "beta").unwrap();
    assert_eq!(
        (e.value, e.level),
        (ValueRef::Boolean(true), Level::Integrator)
    );
    let e = back.evaluate("t1", Some("al"), "beta").unwrap();
    assert_eq!((e.value, e.level), (ValueRef::Boolean(false), Level::User));
    let e = back.evaluate("t1", Some("zoë"), "Beta").unwrap();
    assert_eq!((e.value, e.level), (ValueRef::String("y"), Level::User));
    let e = back.evaluate("nope", None, "beta").unwrap();
    assert_eq!(e.reason, Reason::UnknownTenant);
    let all = back.evaluate_all("t0", None).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].key, "Beta");
    println!("{} bytes", bytes.len());
}
