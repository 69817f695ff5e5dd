//! Flag value types and values.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The type of a flag's values, as OpenFeature defines them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlagType {
    Boolean,
    String,
    /// A signed 64-bit integer. JavaScript hosts lose precision beyond 2^53.
    Integer,
    /// A finite 64-bit float.
    Float,
    /// A JSON object.
    Object,
}

impl FlagType {
    /// The lowercase name used in JSON and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            FlagType::Boolean => "boolean",
            FlagType::String => "string",
            FlagType::Integer => "integer",
            FlagType::Float => "float",
            FlagType::Object => "object",
        }
    }
}

impl fmt::Display for FlagType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Maximum length of a string value or of an object value's canonical JSON
/// text, in bytes. Every value travels in every snapshot to every edge
/// isolate, so a few large values would slow every load.
pub const MAX_VALUE_TEXT_LEN: usize = 64 * 1024;

/// A JSON value that does not fit a flag type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {expected} value {value}: {hint}")]
pub struct ValueError {
    /// The flag type the value had to have.
    pub expected: FlagType,
    /// The rejected value as JSON text, cut to 200 bytes.
    pub value: String,
    /// What a valid value looks like.
    pub hint: &'static str,
}

/// An owned flag value. Object values hold canonical JSON text (keys sorted,
/// no whitespace), so that equal objects compare equal.
#[derive(Debug, Clone, PartialEq)]
pub enum FlagValue {
    Boolean(bool),
    String(String),
    Integer(i64),
    Float(f64),
    Object(String),
}

impl FlagValue {
    /// The type of this value.
    pub fn flag_type(&self) -> FlagType {
        match self {
            FlagValue::Boolean(_) => FlagType::Boolean,
            FlagValue::String(_) => FlagType::String,
            FlagValue::Integer(_) => FlagType::Integer,
            FlagValue::Float(_) => FlagType::Float,
            FlagValue::Object(_) => FlagType::Object,
        }
    }

    /// Converts a JSON value into a value of type `expected`.
    ///
    /// An integer JSON number is accepted for a float flag; a float with a
    /// fractional part is not accepted for an integer flag. Floats must be
    /// finite. String values and object texts are at most
    /// [`MAX_VALUE_TEXT_LEN`] bytes.
    pub fn from_json(expected: FlagType, json: &serde_json::Value) -> Result<Self, ValueError> {
        use serde_json::Value as J;
        let value = match (expected, json) {
            (FlagType::Boolean, J::Bool(b)) => Some(FlagValue::Boolean(*b)),
            (FlagType::String, J::String(s)) => Some(FlagValue::String(s.clone())),
            (FlagType::Integer, J::Number(n)) => n.as_i64().map(FlagValue::Integer),
            (FlagType::Float, J::Number(n)) => {
                n.as_f64().filter(|f| f.is_finite()).map(FlagValue::Float)
            }
            (FlagType::Object, J::Object(map)) => {
                serde_json::to_string(map).ok().map(FlagValue::Object)
            }
            _ => None,
        };
        let too_long = match &value {
            Some(FlagValue::String(text) | FlagValue::Object(text)) => {
                text.len() > MAX_VALUE_TEXT_LEN
            }
            _ => false,
        };
        if too_long {
            return Err(ValueError {
                expected,
                value: truncate_json(json),
                hint: "keep string and object values at most 65536 bytes long",
            });
        }
        value.ok_or_else(|| ValueError {
            expected,
            value: truncate_json(json),
            hint: hint(expected),
        })
    }

    /// Borrows this value.
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            FlagValue::Boolean(b) => ValueRef::Boolean(*b),
            FlagValue::String(s) => ValueRef::String(s),
            FlagValue::Integer(i) => ValueRef::Integer(*i),
            FlagValue::Float(f) => ValueRef::Float(*f),
            FlagValue::Object(s) => ValueRef::Object(s),
        }
    }

    /// Converts this value to JSON.
    pub fn to_json(&self) -> serde_json::Value {
        self.as_ref().to_json()
    }
}

/// Renders `json` for an error message, cut to 200 bytes.
fn truncate_json(json: &serde_json::Value) -> String {
    let mut text = json.to_string();
    if text.len() > 200 {
        let mut end = 200;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

fn hint(expected: FlagType) -> &'static str {
    match expected {
        FlagType::Boolean => "use true or false",
        FlagType::String => "use a JSON string",
        FlagType::Integer => "use a whole number between -2^63 and 2^63-1",
        FlagType::Float => "use a finite JSON number",
        FlagType::Object => "use a JSON object such as {\"limit\": 3}",
    }
}

/// A borrowed flag value, as the evaluator returns it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Boolean(bool),
    String(&'a str),
    Integer(i64),
    Float(f64),
    /// Canonical JSON text of an object.
    Object(&'a str),
}

impl<'a> ValueRef<'a> {
    /// The type of this value.
    pub fn flag_type(&self) -> FlagType {
        match self {
            ValueRef::Boolean(_) => FlagType::Boolean,
            ValueRef::String(_) => FlagType::String,
            ValueRef::Integer(_) => FlagType::Integer,
            ValueRef::Float(_) => FlagType::Float,
            ValueRef::Object(_) => FlagType::Object,
        }
    }

    /// Copies this value into an owned one.
    pub fn to_owned_value(&self) -> FlagValue {
        match *self {
            ValueRef::Boolean(b) => FlagValue::Boolean(b),
            ValueRef::String(s) => FlagValue::String(s.to_owned()),
            ValueRef::Integer(i) => FlagValue::Integer(i),
            ValueRef::Float(f) => FlagValue::Float(f),
            ValueRef::Object(s) => FlagValue::Object(s.to_owned()),
        }
    }

    /// Converts this value to JSON. Object text that fails to parse, which
    /// decoding rules out, becomes JSON null.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match *self {
            ValueRef::Boolean(b) => J::Bool(b),
            ValueRef::String(s) => J::String(s.to_owned()),
            ValueRef::Integer(i) => J::from(i),
            ValueRef::Float(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
            ValueRef::Object(s) => serde_json::from_str(s).unwrap_or(J::Null),
        }
    }
}

/// Returns true when `text` is a JSON object in canonical form.
pub(crate) fn is_canonical_object(text: &str) -> bool {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => serde_json::to_string(&map).is_ok_and(|c| c == text),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn from_json_accepts_matching_types() {
        assert_eq!(
            FlagValue::from_json(FlagType::Boolean, &json!(true)).unwrap(),
            FlagValue::Boolean(true)
        );
        assert_eq!(
            FlagValue::from_json(FlagType::Integer, &json!(-7)).unwrap(),
            FlagValue::Integer(-7)
        );
        assert_eq!(
            FlagValue::from_json(FlagType::Float, &json!(3)).unwrap(),
            FlagValue::Float(3.0)
        );
    }

    #[test]
    fn from_json_canonicalizes_objects() {
        let value = FlagValue::from_json(FlagType::Object, &json!({"b": 1, "a": [true]})).unwrap();
        assert_eq!(value, FlagValue::Object(r#"{"a":[true],"b":1}"#.into()));
        let FlagValue::Object(text) = value else {
            unreachable!()
        };
        assert!(is_canonical_object(&text));
        assert!(!is_canonical_object(r#"{"b":1,"a":2}"#));
        assert!(!is_canonical_object("[1]"));
    }

    #[test]
    fn from_json_rejects_oversized_texts() {
        let long = "x".repeat(MAX_VALUE_TEXT_LEN + 1);
        let err = FlagValue::from_json(FlagType::String, &json!(long)).unwrap_err();
        assert!(err.hint.contains("65536"), "{err}");
        assert!(err.value.len() <= 200);
        let err = FlagValue::from_json(FlagType::Object, &json!({ "k": long })).unwrap_err();
        assert_eq!(err.expected, FlagType::Object);
        let fits = "x".repeat(MAX_VALUE_TEXT_LEN);
        assert!(FlagValue::from_json(FlagType::String, &json!(fits)).is_ok());
    }

    #[test]
    fn from_json_rejects_wrong_types_with_hint() {
        let cases = [
            (FlagType::Boolean, json!("true")),
            (FlagType::String, json!(1)),
            (FlagType::Integer, json!(1.5)),
            (FlagType::Integer, json!(u64::MAX)),
            (FlagType::Float, json!(null)),
            (FlagType::Object, json!([1, 2])),
        ];
        for (expected, json) in cases {
            let err = FlagValue::from_json(expected, &json).unwrap_err();
            assert_eq!(err.expected, expected);
            assert!(err.to_string().contains(&json.to_string()), "{err}");
        }
    }
}
