//! Every `DecodeError` variant, produced from crafted bytes.

use cascade_shared::snapshot::{FORMAT_VERSION, HEADER_LEN};
use cascade_shared::{DecodeError, FlagType, FlagValue, IdKind, Snapshot, SnapshotBuilder};

use crate::wire::{self, Body, Header, Value, join, open, seal, seal_bytes};

const REVISION: u64 = 42;

/// Encodes a small valid snapshot: four flags of different types, two
/// integrators, two tenants, and two users in the first tenant.
fn fixture() -> Vec<u8> {
    let mut b = SnapshotBuilder::new(REVISION);
    b.flag("beta", FlagValue::Boolean(false)).unwrap();
    b.flag("limits", FlagValue::Object("{}".into())).unwrap();
    b.flag("name", FlagValue::String("x".into())).unwrap();
    b.flag("ratio", FlagValue::Float(0.5)).unwrap();
    b.integrator("acme").unwrap();
    b.integrator("globex").unwrap();
    b.tenant("t1", Some("acme")).unwrap();
    b.tenant("t2", None).unwrap();
    b.integrator_override("acme", "beta", FlagValue::Boolean(true))
        .unwrap();
    b.tenant_override("t1", "name", FlagValue::String("y".into()))
        .unwrap();
    b.user_override("t1", "alice", "beta", FlagValue::Boolean(false))
        .unwrap();
    b.user_override("t1", "bob", "name", FlagValue::String("z".into()))
        .unwrap();
    b.build().unwrap().encode().unwrap()
}

fn fixture_body() -> Body {
    open(&fixture()).1
}

/// Decodes `body` sealed with a correct header and returns the error.
fn reject(body: &Body) -> DecodeError {
    match Snapshot::decode(&seal(REVISION, body)) {
        Ok(snapshot) => panic!("tampered body decoded: {snapshot:?}"),
        Err(error) => error,
    }
}

fn reject_bytes(bytes: &[u8]) -> DecodeError {
    match Snapshot::decode(bytes) {
        Ok(snapshot) => panic!("tampered bytes decoded: {snapshot:?}"),
        Err(error) => error,
    }
}

fn flag_index(body: &Body, key: &str) -> usize {
    body.flags.iter().position(|f| f.key == key).unwrap()
}

#[test]
fn fixture_decodes_unchanged() {
    let bytes = fixture();
    let (_, body) = open(&bytes);
    assert_eq!(seal(REVISION, &body), bytes);
    assert!(Snapshot::decode(&bytes).is_ok());
}

#[test]
fn short_header_is_truncated() {
    let bytes = fixture();
    for len in [0, 1, HEADER_LEN - 1] {
        let error = reject_bytes(&bytes[..len]);
        assert_eq!(error, DecodeError::HeaderTruncated { len: len as u64 });
        assert_eq!(error.code(), "SNAPSHOT_TRUNCATED");
        assert!(Snapshot::peek_revision(&bytes[..len]).is_err());
    }
}

#[test]
fn wrong_magic_is_rejected() {
    let mut bytes = fixture();
    bytes[..4].copy_from_slice(b"CSNQ");
    let error = reject_bytes(&bytes);
    assert_eq!(error, DecodeError::BadMagic { found: *b"CSNQ" });
    assert_eq!(error.code(), "SNAPSHOT_CORRUPT");
}

#[test]
fn other_format_version_is_unsupported() {
    let bytes = fixture();
    for version in [0u16, FORMAT_VERSION + 1, u16::MAX] {
        let mut header = Header::parse(&bytes);
        header.version = version;
        let tampered = join(header, &bytes[HEADER_LEN..]);
        let error = reject_bytes(&tampered);
        assert_eq!(error, DecodeError::UnsupportedVersion { found: version });
        assert_eq!(error.code(), "SNAPSHOT_VERSION_UNSUPPORTED");
        assert_eq!(Snapshot::peek_revision(&tampered), Err(error));
    }
}

#[test]
fn nonzero_reserved_bytes_are_rejected() {
    let bytes = fixture();
    let mut header = Header::parse(&bytes);
    header.reserved16 = 1;
    assert_eq!(
        reject_bytes(&join(header, &bytes[HEADER_LEN..])),
        DecodeError::ReservedNotZero
    );
    let mut header = Header::parse(&bytes);
    header.reserved32 = 1 << 31;
    assert_eq!(
        reject_bytes(&join(header, &bytes[HEADER_LEN..])),
        DecodeError::ReservedNotZero
    );
}

#[test]
fn short_body_is_truncated() {
    let bytes = fixture();
    let body_len = (bytes.len() - HEADER_LEN) as u64;
    for cut in [1, bytes.len() - HEADER_LEN] {
        let error = reject_bytes(&bytes[..bytes.len() - cut]);
        let expected = DecodeError::BodyTruncated {
            expected: body_len,
            found: body_len - cut as u64,
        };
        assert_eq!(error, expected);
        assert_eq!(error.code(), "SNAPSHOT_TRUNCATED");
    }
}

#[test]
fn bytes_after_declared_body_are_trailing() {
    let mut bytes = fixture();
    bytes.extend_from_slice(&[0, 0]);
    assert_eq!(
        reject_bytes(&bytes),
        DecodeError::TrailingBytes { extra: 2 }
    );
}

#[test]
fn bytes_after_postcard_body_are_trailing() {
    let bytes = fixture();
    let mut body = bytes[HEADER_LEN..].to_vec();
    body.push(0);
    let error = reject_bytes(&seal_bytes(REVISION, &body));
    assert_eq!(error, DecodeError::TrailingBytes { extra: 1 });
    assert_eq!(error.code(), "SNAPSHOT_CORRUPT");
}

#[test]
fn changed_body_fails_checksum() {
    let mut bytes = fixture();
    let header = Header::parse(&bytes);
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    let error = reject_bytes(&bytes);
    let computed = wire::checksum(&bytes[..HEADER_LEN], &bytes[HEADER_LEN..]);
    assert_eq!(
        error,
        DecodeError::ChecksumMismatch {
            expected: header.checksum,
            computed
        }
    );
    assert_eq!(error.code(), "SNAPSHOT_CORRUPT");
}

#[test]
fn changed_revision_fails_checksum() {
    let mut bytes = fixture();
    let header = Header::parse(&bytes);
    bytes[8] ^= 0x01;
    let error = reject_bytes(&bytes);
    let computed = wire::checksum(&bytes[..HEADER_LEN], &bytes[HEADER_LEN..]);
    assert_eq!(
        error,
        DecodeError::ChecksumMismatch {
            expected: header.checksum,
            computed
        }
    );
}

#[test]
fn garbage_body_is_malformed() {
    for body in [&[][..], &[0xff; 4][..], &[1, 200][..]] {
        let error = reject_bytes(&seal_bytes(REVISION, body));
        assert!(
            matches!(error, DecodeError::Malformed(_)),
            "{body:?}: {error:?}"
        );
        assert_eq!(error.code(), "SNAPSHOT_CORRUPT");
    }
}

fn assert_out_of_range(error: DecodeError, expected_what: &str) {
    match error {
        DecodeError::IndexOutOfRange { what, .. } => assert_eq!(what, expected_what),
        other => panic!("expected IndexOutOfRange for {expected_what}, got {other:?}"),
    }
}

#[test]
fn override_flag_index_out_of_range() {
    let mut body = fixture_body();
    body.integrator_overrides[0].flag = body.flags.len() as u32;
    assert_out_of_range(reject(&body), "flag");
}

#[test]
fn text_value_index_out_of_range() {
    let mut body = fixture_body();
    let name = flag_index(&body, "name");
    body.flags[name].default = Value::String(body.values.len() as u32);
    assert_out_of_range(reject(&body), "value");
}

#[test]
fn override_range_past_end_out_of_range() {
    let mut body = fixture_body();
    body.integrators[1].overrides_end = body.integrator_overrides.len() as u32 + 1;
    assert_out_of_range(reject(&body), "integrator override");

    let mut body = fixture_body();
    body.tenants[0].overrides_end = body.tenant_overrides.len() as u32 + 5;
    assert_out_of_range(reject(&body), "tenant override");
}

#[test]
fn inverted_override_range_out_of_range() {
    let mut body = fixture_body();
    body.integrators[0].overrides_end = 1;
    body.integrators[1].overrides_end = 0;
    assert_out_of_range(reject(&body), "integrator override");
}

#[test]
fn uncovered_overrides_out_of_range() {
    let mut body = fixture_body();
    let extra = body.integrator_overrides[0];
    body.integrator_overrides.push(extra);
    assert_out_of_range(reject(&body), "integrator override");
}

#[test]
fn user_ranges_out_of_range() {
    let mut body = fixture_body();
    body.tenants[0].users_end = 3;
    assert_out_of_range(reject(&body), "user");

    let mut body = fixture_body();
    body.users.id_ends[1] = body.users.ids.len() as u32 + 1;
    assert_out_of_range(reject(&body), "user id byte");

    let mut body = fixture_body();
    body.users.overrides_ends.pop();
    assert_out_of_range(reject(&body), "user override range");

    let mut body = fixture_body();
    body.users.overrides_ends[1] = body.users.overrides_ends[0];
    assert_out_of_range(reject(&body), "user override");
}

#[test]
fn user_id_end_inside_character_out_of_range() {
    let mut b = SnapshotBuilder::new(REVISION);
    b.flag("beta", FlagValue::Boolean(false)).unwrap();
    b.tenant("t1", None).unwrap();
    b.user_override("t1", "ä", "beta", FlagValue::Boolean(true))
        .unwrap();
    b.user_override("t1", "ö", "beta", FlagValue::Boolean(true))
        .unwrap();
    let (_, mut body) = open(&b.build().unwrap().encode().unwrap());
    body.users.id_ends[0] = 1;
    assert_out_of_range(reject(&body), "user id byte");
}

#[test]
fn tenant_with_missing_integrator_is_rejected() {
    let mut body = fixture_body();
    let index = body.integrators.len() as u32;
    body.tenants[1].integrator = Some(index);
    let error = reject(&body);
    assert_eq!(
        error,
        DecodeError::MissingIntegrator {
            tenant: "t2".into(),
            index
        }
    );
    assert_eq!(error.code(), "SNAPSHOT_CORRUPT");
}

#[test]
fn override_with_wrong_type_is_rejected() {
    let mut body = fixture_body();
    body.integrator_overrides[0].value = Value::Integer(1);
    let error = reject(&body);
    let DecodeError::TypeMismatch {
        scope,
        flag,
        expected,
        found,
    } = error
    else {
        panic!("expected TypeMismatch, got {error:?}");
    };
    assert_eq!(scope, "integrator acme");
    assert_eq!(flag, "beta");
    assert_eq!(expected, FlagType::Boolean);
    assert_eq!(found, FlagType::Integer);
}

#[test]
fn default_with_wrong_type_is_rejected() {
    let mut body = fixture_body();
    let ratio = flag_index(&body, "ratio");
    body.flags[ratio].flag_type = FlagType::Integer;
    assert!(matches!(
        reject(&body),
        DecodeError::TypeMismatch { ref scope, .. } if scope == "platform"
    ));
}

fn assert_duplicate(error: DecodeError, expected_what: &str, expected_id: &str) {
    match error {
        DecodeError::Duplicate { what, id } => {
            assert_eq!(what, expected_what);
            assert_eq!(id, expected_id);
        }
        other => panic!("expected Duplicate {expected_what}, got {other:?}"),
    }
}

#[test]
fn duplicate_or_unsorted_entries_are_rejected() {
    let mut body = fixture_body();
    body.flags[1] = body.flags[0].clone();
    assert_duplicate(reject(&body), "flag", "beta");

    let mut body = fixture_body();
    body.flags.swap(0, 1);
    assert_duplicate(reject(&body), "flag", "beta");

    let mut body = fixture_body();
    body.integrators[1].id = "acme".into();
    assert_duplicate(reject(&body), "integrator", "acme");

    let mut body = fixture_body();
    body.tenants[1].id = "t1".into();
    assert_duplicate(reject(&body), "tenant", "t1");

    let mut body = fixture_body();
    body.users.ids = "bobbob".into();
    body.users.id_ends = vec![3, 6];
    assert_duplicate(reject(&body), "user", "bob");

    let mut body = fixture_body();
    let first = body.integrator_overrides[0];
    body.integrator_overrides.insert(0, first);
    body.integrators[0].overrides_end += 1;
    body.integrators[1].overrides_end += 1;
    assert_duplicate(reject(&body), "override of flag", "beta");
}

fn assert_invalid_id(error: DecodeError, expected_kind: IdKind, expected_value: &str) {
    match error {
        DecodeError::InvalidId(id) => {
            assert_eq!(id.kind, expected_kind);
            assert_eq!(id.value, expected_value);
        }
        other => panic!("expected InvalidId {expected_kind}, got {other:?}"),
    }
}

#[test]
fn invalid_ids_are_rejected() {
    let mut body = fixture_body();
    body.flags[0].key = "1beta".into();
    assert_invalid_id(reject(&body), IdKind::FlagKey, "1beta");

    let mut body = fixture_body();
    body.integrators[0].id = "Acme".into();
    assert_invalid_id(reject(&body), IdKind::Integrator, "Acme");

    let mut body = fixture_body();
    body.tenants[0].id = "t 1".into();
    assert_invalid_id(reject(&body), IdKind::Tenant, "t 1");

    let mut body = fixture_body();
    body.users.id_ends[0] = 0;
    assert_invalid_id(reject(&body), IdKind::User, "");
}

#[test]
fn non_finite_float_is_invalid() {
    for float in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut body = fixture_body();
        let ratio = flag_index(&body, "ratio");
        body.flags[ratio].default = Value::Float(float);
        assert!(
            matches!(reject(&body), DecodeError::InvalidValue { ref flag, .. } if flag == "ratio"),
            "{float}"
        );
    }
}

#[test]
fn non_canonical_object_is_invalid() {
    for text in ["{ }", r#"{"b":1,"a":2}"#, "[1]", "not json"] {
        let mut body = fixture_body();
        let limits = flag_index(&body, "limits");
        let Value::Object(index) = body.flags[limits].default else {
            panic!("limits default is not an object");
        };
        body.values[index as usize] = text.into();
        let error = reject(&body);
        assert!(
            matches!(error, DecodeError::InvalidValue { ref flag, .. } if flag == "limits"),
            "{text}: {error:?}"
        );
        assert_eq!(error.code(), "SNAPSHOT_CORRUPT");
    }
}

#[test]
fn truncation_errors_name_lengths() {
    let bytes = fixture();
    let errors = [
        reject_bytes(&bytes[..3]),
        reject_bytes(&bytes[..bytes.len() - 1]),
    ];
    assert!(errors[0].to_string().contains("3 bytes"), "{}", errors[0]);
    assert!(errors[1].to_string().contains("present"), "{}", errors[1]);
}
