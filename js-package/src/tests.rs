//! Unit tests of the engine's call protocol, run natively.

use cascade_shared::{FlagValue, SnapshotBuilder, ValueRef};

use crate::engine::{Engine, LOAD_FAILED, LOAD_REPLACED, LOAD_UNCHANGED};
use crate::output::{
    BOOLEAN_TRUE, LEVEL_SHIFT, REASON_SHIFT, TYPE_BOOLEAN, TYPE_INTEGER, TYPE_OBJECT, TYPE_STRING,
};

fn snapshot_bytes(revision: u64) -> Vec<u8> {
    let mut builder = SnapshotBuilder::new(revision);
    builder.flag("beta", FlagValue::Boolean(false)).unwrap();
    builder.flag("limit", FlagValue::Integer(3)).unwrap();
    builder
        .flag("theme", FlagValue::String("light".into()))
        .unwrap();
    builder
        .flag("ui", FlagValue::Object(r#"{"a":1}"#.into()))
        .unwrap();
    builder.integrator("acme").unwrap();
    builder.tenant("t1", Some("acme")).unwrap();
    builder
        .integrator_override("acme", "beta", FlagValue::Boolean(true))
        .unwrap();
    builder
        .user_override("t1", "zoë", "theme", FlagValue::String("dark".into()))
        .unwrap();
    builder.build().unwrap().encode().unwrap()
}

fn loaded_engine() -> Engine {
    let mut engine = Engine::new();
    assert_eq!(engine.load(&snapshot_bytes(5)), LOAD_REPLACED);
    engine
}

/// Writes the ids as the JS wrapper does and returns the lengths.
fn write_input(engine: &mut Engine, tenant: &[u8], user: Option<&[u8]>) -> (u32, i32) {
    let user_bytes = user.unwrap_or(&[]);
    engine.reserve_input((tenant.len() + user_bytes.len() + 200) as u32);
    let input = engine.input_mut();
    input[..tenant.len()].copy_from_slice(tenant);
    input[tenant.len()..tenant.len() + user_bytes.len()].copy_from_slice(user_bytes);
    let user_len = user.map_or(-1, |u| u.len() as i32);
    (tenant.len() as u32, user_len)
}

fn evaluate(engine: &mut Engine, tenant: &[u8], user: Option<&[u8]>, key: &str) -> u32 {
    let (tenant_len, user_len) = write_input(engine, tenant, user);
    let start = tenant.len() + user.map_or(0, <[u8]>::len);
    engine.input_mut()[start..start + key.len()].copy_from_slice(key.as_bytes());
    engine.evaluate(tenant_len, user_len, key.len() as u32)
}

/// Checks that record `index` points at the text that the native
/// evaluator returns for the same call: same address, same length.
fn assert_text_record(engine: &Engine, index: usize, user: Option<&str>, key: &str, text: &str) {
    let (_, address, length, _) = engine.output_record(index);
    let native = engine
        .snapshot_ref()
        .unwrap()
        .evaluate("t1", user, key)
        .unwrap();
    let (ValueRef::String(expected) | ValueRef::Object(expected)) = native.value else {
        panic!("{key} is not a text flag");
    };
    assert_eq!(expected, text);
    assert_eq!(address, expected.as_ptr() as usize as u32);
    assert_eq!(length as usize, expected.len());
}

#[test]
fn load_sets_revision_and_flag_keys() {
    let engine = loaded_engine();
    assert_eq!(engine.revision(), 5.0);
    assert_eq!(engine.flag_count(), 4);
    assert_eq!(engine.flag_keys(), "beta\nlimit\ntheme\nui");
}

#[test]
fn load_same_revision_is_unchanged() {
    let mut engine = loaded_engine();
    assert_eq!(engine.load(&snapshot_bytes(5)), LOAD_UNCHANGED);
    assert_eq!(engine.revision(), 5.0);
}

#[test]
fn load_newer_revision_replaces() {
    let mut engine = loaded_engine();
    assert_eq!(engine.load(&snapshot_bytes(9)), LOAD_REPLACED);
    assert_eq!(engine.revision(), 9.0);
}

#[test]
fn load_older_revision_is_stale() {
    let mut engine = loaded_engine();
    assert_eq!(engine.load(&snapshot_bytes(4)), LOAD_FAILED);
    assert_eq!(engine.error_code(), "SNAPSHOT_STALE");
    assert!(engine.error_message().contains("revision 4"));
    assert_eq!(engine.revision(), 5.0);
}

#[test]
fn load_bad_bytes_gives_decoder_codes() {
    let good = snapshot_bytes(5);
    let mut version = good.clone();
    version[4] = 9;
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0xff;
    let cases: [(&[u8], &str); 5] = [
        (&[], "SNAPSHOT_TRUNCATED"),
        (&good[..good.len() - 1], "SNAPSHOT_TRUNCATED"),
        (&version, "SNAPSHOT_VERSION_UNSUPPORTED"),
        (&flipped, "SNAPSHOT_CORRUPT"),
        (&[7u8; 64], "SNAPSHOT_CORRUPT"),
    ];
    for (bytes, code) in cases {
        let mut engine = Engine::new();
        assert_eq!(engine.load(bytes), LOAD_FAILED, "{code}");
        assert_eq!(engine.error_code(), code);
    }
}

#[test]
fn failed_load_keeps_loaded_snapshot() {
    let mut engine = loaded_engine();
    assert_eq!(engine.load(b"garbage"), LOAD_FAILED);
    assert_eq!(engine.revision(), 5.0);
    assert_ne!(evaluate(&mut engine, b"t1", None, "beta"), 0);
}

#[test]
fn evaluate_packs_boolean_level_reason() {
    let mut engine = loaded_engine();
    let status = evaluate(&mut engine, b"t1", None, "beta");
    assert_eq!(status & 0b111, TYPE_BOOLEAN);
    assert_eq!((status >> LEVEL_SHIFT) & 0b11, 2, "integrator level");
    assert_eq!((status >> REASON_SHIFT) & 0b11, 1, "TARGETING_MATCH");
    assert_ne!(status & BOOLEAN_TRUE, 0);
}

#[test]
fn evaluate_writes_string_address() {
    let mut engine = loaded_engine();
    let status = evaluate(&mut engine, b"t1", Some("zoë".as_bytes()), "theme");
    assert_eq!(status & 0b111, TYPE_STRING);
    assert_eq!((status >> LEVEL_SHIFT) & 0b11, 0, "user level");
    assert_text_record(&engine, 0, Some("zoë"), "theme", "dark");
}

#[test]
fn evaluate_writes_number_and_object() {
    let mut engine = loaded_engine();
    let status = evaluate(&mut engine, b"t1", None, "limit");
    assert_eq!(status & 0b111, TYPE_INTEGER);
    assert_eq!(engine.output_record(0).3, 3.0);

    let status = evaluate(&mut engine, b"t1", None, "ui");
    assert_eq!(status & 0b111, TYPE_OBJECT);
    assert_text_record(&engine, 0, None, "ui", r#"{"a":1}"#);
}

#[test]
fn evaluate_unknown_tenant_gives_platform() {
    let mut engine = loaded_engine();
    let status = evaluate(&mut engine, b"nobody", Some(b"u"), "beta");
    assert_eq!((status >> LEVEL_SHIFT) & 0b11, 3, "platform level");
    assert_eq!((status >> REASON_SHIFT) & 0b11, 2, "UNKNOWN_TENANT");
}

#[test]
fn evaluate_missing_flag_fails() {
    let mut engine = loaded_engine();
    assert_eq!(evaluate(&mut engine, b"t1", None, "nope"), 0);
    assert_eq!(engine.error_code(), "FLAG_NOT_FOUND");
}

#[test]
fn evaluate_invalid_utf8_is_invalid_context() {
    let mut engine = loaded_engine();
    assert_eq!(
        evaluate(&mut engine, b"t1", Some(&[0xed, 0xa0, 0x80]), "beta"),
        0
    );
    assert_eq!(engine.error_code(), "INVALID_CONTEXT");
    assert_eq!(evaluate(&mut engine, &[0xff], None, "beta"), 0);
    assert_eq!(engine.error_code(), "INVALID_CONTEXT");
}

#[test]
fn evaluate_user_id_length_limit() {
    let mut engine = loaded_engine();
    let longest = "é".repeat(128);
    assert_ne!(
        evaluate(&mut engine, b"t1", Some(longest.as_bytes()), "beta"),
        0
    );
    let too_long = format!("{longest}x");
    assert_eq!(
        evaluate(&mut engine, b"t1", Some(too_long.as_bytes()), "beta"),
        0
    );
    assert_eq!(engine.error_code(), "INVALID_CONTEXT");
}

#[test]
fn evaluate_lengths_past_buffer_fail() {
    let mut engine = loaded_engine();
    let capacity = engine.input_capacity();
    assert_eq!(engine.evaluate(capacity, 1, 1), 0);
    assert_eq!(engine.error_code(), "INVALID_CONTEXT");
    assert_eq!(engine.evaluate(u32::MAX, i32::MAX, u32::MAX), 0);
}

#[test]
fn evaluate_without_snapshot_fails() {
    let mut engine = Engine::new();
    assert_eq!(evaluate(&mut engine, b"t1", None, "beta"), 0);
    assert_eq!(engine.error_code(), "SNAPSHOT_MISSING");
}

#[test]
fn evaluate_all_writes_every_record() {
    let mut engine = loaded_engine();
    let (tenant_len, user_len) = write_input(&mut engine, b"t1", Some("zoë".as_bytes()));
    assert_eq!(engine.evaluate_all(tenant_len, user_len), 1);
    let types: Vec<u32> = (0..4).map(|i| engine.output_record(i).0 & 0b111).collect();
    assert_eq!(
        types,
        [TYPE_BOOLEAN, TYPE_INTEGER, TYPE_STRING, TYPE_OBJECT]
    );
    assert_text_record(&engine, 2, Some("zoë"), "theme", "dark");
}

#[test]
fn explain_lists_four_levels() {
    let mut engine = loaded_engine();
    let (tenant_len, user_len) = write_input(&mut engine, b"t1", Some(b"u"));
    let start = 3;
    engine.input_mut()[start..start + 4].copy_from_slice(b"beta");
    assert_eq!(engine.explain(tenant_len, user_len, 4), 1);
    let json: serde_json::Value = serde_json::from_str(&engine.take_text()).unwrap();
    assert_eq!(json["level"], "integrator");
    assert_eq!(json["value"], true);
    let steps = json["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 4);
    assert_eq!(steps[0]["scope"], serde_json::Value::Null);
    assert_eq!(steps[2]["scope"], "acme");
    assert_eq!(steps[2]["set"], true);
    assert_eq!(steps[3]["value"], false);
}

#[test]
fn reserve_input_grows_and_shrinks() {
    let mut engine = Engine::new();
    engine.reserve_input(100_000);
    assert_eq!(engine.input_capacity(), 100_000);
    engine.reserve_input(0);
    assert_eq!(engine.input_capacity(), 512);
}
