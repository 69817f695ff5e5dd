//! A JSON writer for the evaluation bodies, the worker's hottest path.
//!
//! A body of 200 flags has about 1,800 strings. Most are field names and
//! enum words known at compile time, or flag keys and tenant ids, whose
//! rules exclude every character that JSON escapes. This writer copies
//! those as bytes. Texts that may need escaping (user ids, string values)
//! take a scan, and only a text with an escapable byte goes through
//! `serde_json`, so the output is byte for byte what `serde_json` writes
//! for the same document.

use cascade_shared::{FlagType, Level, Reason, ValueRef};

/// Appends the quoted name of a flag type.
pub fn push_flag_type(out: &mut Vec<u8>, flag_type: FlagType) {
    // Each arm copies a literal, which compiles to a few stores. A copy of
    // a length known only at run time is a call out of the wasm code.
    match flag_type {
        FlagType::Boolean => out.extend_from_slice(b"\"boolean\""),
        FlagType::String => out.extend_from_slice(b"\"string\""),
        FlagType::Integer => out.extend_from_slice(b"\"integer\""),
        FlagType::Float => out.extend_from_slice(b"\"float\""),
        FlagType::Object => out.extend_from_slice(b"\"object\""),
    }
}

/// Appends the quoted name of a cascade level.
pub fn push_level(out: &mut Vec<u8>, level: Level) {
    match level {
        Level::User => out.extend_from_slice(b"\"user\""),
        Level::Tenant => out.extend_from_slice(b"\"tenant\""),
        Level::Integrator => out.extend_from_slice(b"\"integrator\""),
        Level::Platform => out.extend_from_slice(b"\"platform\""),
    }
}

/// Appends the quoted name of an evaluator reason.
pub fn push_reason(out: &mut Vec<u8>, reason: Reason) {
    match reason {
        Reason::Default => out.extend_from_slice(b"\"DEFAULT\""),
        Reason::TargetingMatch => out.extend_from_slice(b"\"TARGETING_MATCH\""),
        Reason::UnknownTenant => out.extend_from_slice(b"\"UNKNOWN_TENANT\""),
    }
}

/// Appends `text` as a JSON string, escaped as `serde_json` escapes it.
pub fn push_str(out: &mut Vec<u8>, text: &str) {
    let clean = text
        .bytes()
        .all(|byte| byte >= 0x20 && byte != b'"' && byte != b'\\');
    if clean {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        // Writing into a Vec cannot fail, and a &str always serializes.
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

/// Appends a string that needs no escaping as it is, between quotes.
/// Flag keys and tenant ids qualify: their rules allow only ASCII
/// letters, digits, `-`, `_` and `.`.
#[inline]
pub fn push_plain(out: &mut Vec<u8>, text: &str) {
    debug_assert!(
        text.bytes()
            .all(|byte| byte >= 0x20 && byte != b'"' && byte != b'\\'),
        "{text:?} needs escaping"
    );
    out.reserve(text.len() + 2);
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
}

/// Appends an unsigned integer.
pub fn push_u64(out: &mut Vec<u8>, number: u64) {
    let mut digits = itoa::Buffer::new();
    out.extend_from_slice(digits.format(number).as_bytes());
}

/// Appends a flag value. Object values are the snapshot's canonical JSON
/// text, which decoding has checked, embedded as is.
pub fn push_value(out: &mut Vec<u8>, value: ValueRef<'_>) {
    match value {
        ValueRef::Boolean(true) => out.extend_from_slice(b"true"),
        ValueRef::Boolean(false) => out.extend_from_slice(b"false"),
        ValueRef::String(text) => push_str(out, text),
        ValueRef::Integer(number) => {
            let mut digits = itoa::Buffer::new();
            out.extend_from_slice(digits.format(number).as_bytes());
        }
        // Snapshot floats are finite; serde_json writes them with ryu.
        ValueRef::Float(number) => {
            let _ = serde_json::to_writer(&mut *out, &number);
        }
        ValueRef::Object(text) => out.extend_from_slice(text.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn written(write: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        write(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn push_str_escapes_like_serde_json() {
        let cases = [
            "",
            "plain",
            "quote \" and backslash \\",
            "tab\tnewline\ncarriage\rform\u{c}back\u{8}",
            "control \u{1} \u{1f} delete \u{7f}",
            "ünïcödé ✓ 🚀",
            "</script>",
        ];
        for text in cases {
            let expected = serde_json::to_string(text).unwrap();
            assert_eq!(written(|out| push_str(out, text)), expected, "{text:?}");
        }
    }

    #[test]
    fn push_value_writes_each_type_like_serde_json() {
        let object = r#"{"a":[1,2.5,"x"],"b":{"c":null}}"#;
        let cases: [(ValueRef<'_>, String); 8] = [
            (ValueRef::Boolean(true), "true".into()),
            (ValueRef::Boolean(false), "false".into()),
            (
                ValueRef::String("a\"b"),
                serde_json::to_string("a\"b").unwrap(),
            ),
            (ValueRef::Integer(i64::MIN), i64::MIN.to_string()),
            (ValueRef::Integer(i64::MAX), i64::MAX.to_string()),
            (ValueRef::Float(0.1), serde_json::to_string(&0.1).unwrap()),
            (
                ValueRef::Float(-1e300),
                serde_json::to_string(&-1e300).unwrap(),
            ),
            (ValueRef::Object(object), object.into()),
        ];
        for (value, expected) in cases {
            assert_eq!(written(|out| push_value(out, value)), expected, "{value:?}");
        }
    }

    #[test]
    fn enum_writers_quote_as_str() {
        let types = [
            FlagType::Boolean,
            FlagType::String,
            FlagType::Integer,
            FlagType::Float,
            FlagType::Object,
        ];
        for flag_type in types {
            let expected = format!("\"{}\"", flag_type.as_str());
            assert_eq!(written(|out| push_flag_type(out, flag_type)), expected);
        }
        for level in [
            Level::User,
            Level::Tenant,
            Level::Integrator,
            Level::Platform,
        ] {
            let expected = format!("\"{}\"", level.as_str());
            assert_eq!(written(|out| push_level(out, level)), expected);
        }
        for reason in [
            Reason::Default,
            Reason::TargetingMatch,
            Reason::UnknownTenant,
        ] {
            let expected = format!("\"{}\"", reason.as_str());
            assert_eq!(written(|out| push_reason(out, reason)), expected);
        }
    }

    #[test]
    fn push_u64_writes_extremes() {
        assert_eq!(written(|out| push_u64(out, 0)), "0");
        assert_eq!(written(|out| push_u64(out, u64::MAX)), u64::MAX.to_string());
    }

    proptest! {
        #[test]
        fn push_str_matches_serde_json_for_any_text(text in any::<String>()) {
            let expected = serde_json::to_string(&text).unwrap();
            prop_assert_eq!(written(|out| push_str(out, &text)), expected);
        }

        #[test]
        fn push_value_matches_serde_json_for_any_number(int in any::<i64>(), float in any::<f64>()) {
            prop_assume!(float.is_finite());
            prop_assert_eq!(
                written(|out| push_value(out, ValueRef::Integer(int))),
                serde_json::to_string(&int).unwrap()
            );
            prop_assert_eq!(
                written(|out| push_value(out, ValueRef::Float(float))),
                serde_json::to_string(&float).unwrap()
            );
        }
    }
}
