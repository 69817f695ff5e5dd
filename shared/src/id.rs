//! Validated identifiers: integrator and tenant slugs, flag keys and user ids.
//!
//! Every id is case-sensitive and compared byte for byte.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Maximum length of an integrator or tenant slug, in bytes.
pub const MAX_SLUG_LEN: usize = 64;
/// Maximum length of a flag key, in bytes.
pub const MAX_FLAG_KEY_LEN: usize = 128;
/// Maximum length of a user id, in bytes of UTF-8.
pub const MAX_USER_ID_LEN: usize = 256;

/// The kind of identifier that failed validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Integrator,
    Tenant,
    FlagKey,
    User,
}

impl IdKind {
    /// The rule that ids of this kind follow, phrased for error messages.
    pub fn rule(self) -> &'static str {
        match self {
            IdKind::Integrator | IdKind::Tenant => "1 to 64 characters of a-z, 0-9, '-' and '_'",
            IdKind::FlagKey => {
                "1 to 128 characters of A-Z, a-z, 0-9, '-', '_' and '.', starting with a letter"
            }
            IdKind::User => "1 to 256 bytes of UTF-8, other than \".\" and \"..\"",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            IdKind::Integrator => "integrator id",
            IdKind::Tenant => "tenant id",
            IdKind::FlagKey => "flag key",
            IdKind::User => "user id",
        }
    }
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.noun())
    }
}

/// An identifier that does not follow its kind's rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {value:?}: expected {}", kind.rule())]
pub struct IdError {
    /// Which kind of id was being validated.
    pub kind: IdKind,
    /// The rejected value, cut to 300 bytes so that errors stay small.
    pub value: String,
}

impl IdError {
    fn new(kind: IdKind, value: &str) -> Self {
        let mut end = value.len().min(300);
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        IdError {
            kind,
            value: value[..end].to_owned(),
        }
    }
}

/// Checks an integrator or tenant slug.
pub fn validate_slug(kind: IdKind, value: &str) -> Result<(), IdError> {
    let ok = !value.is_empty()
        && value.len() <= MAX_SLUG_LEN
        && value
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(IdError::new(kind, value))
    }
}

/// Checks a flag key.
pub fn validate_flag_key(value: &str) -> Result<(), IdError> {
    let bytes = value.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= MAX_FLAG_KEY_LEN
        && bytes[0].is_ascii_alphabetic()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(IdError::new(IdKind::FlagKey, value))
    }
}

/// Checks a user id: any UTF-8 of 1 to 256 bytes but `.` and `..`.
///
/// `.` and `..` are rejected because URL parsers remove them as dot
/// segments, even percent-encoded, so no path could address such a user.
pub fn validate_user_id(value: &str) -> Result<(), IdError> {
    let dot_segment = value == "." || value == "..";
    if !value.is_empty() && value.len() <= MAX_USER_ID_LEN && !dot_segment {
        Ok(())
    } else {
        Err(IdError::new(IdKind::User, value))
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `value` and wraps it.
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                let check: fn(&str) -> Result<(), IdError> = $check;
                check(&value)?;
                Ok($name(value))
            }

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                $name::new(value)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(value: &str) -> Result<Self, IdError> {
                $name::new(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// An integrator's slug, fixed for the integrator's lifetime.
    IntegratorId,
    |v| validate_slug(IdKind::Integrator, v)
);
id_type!(
    /// A tenant's slug.
    TenantId,
    |v| validate_slug(IdKind::Tenant, v)
);
id_type!(
    /// A flag key, such as `checkout.new-flow`.
    FlagKey,
    validate_flag_key
);
id_type!(
    /// A user id from the customer's own systems: opaque UTF-8.
    UserId,
    validate_user_id
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_accepts_lowercase_digits_dash_underscore() {
        assert!(TenantId::new("acme-01_eu").is_ok());
        assert!(TenantId::new("a".repeat(64)).is_ok());
    }

    #[test]
    fn slug_rejects_uppercase_empty_and_long() {
        for bad in ["", "Acme", "acme corp", "é", &"a".repeat(65)] {
            let err = TenantId::new(bad).unwrap_err();
            assert_eq!(err.kind, IdKind::Tenant, "{bad:?}");
        }
    }

    #[test]
    fn slug_error_names_value_and_rule() {
        let err = IntegratorId::new("Bad Id").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("\"Bad Id\""), "{message}");
        assert!(message.contains("a-z"), "{message}");
    }

    #[test]
    fn flag_key_is_case_sensitive() {
        let upper = FlagKey::new("Beta").unwrap();
        let lower = FlagKey::new("beta").unwrap();
        assert_ne!(upper, lower);
    }

    #[test]
    fn flag_key_rejects_leading_digit_and_spaces() {
        for bad in ["1beta", "", "be ta", "beta/x", &"b".repeat(129)] {
            assert!(FlagKey::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn user_id_accepts_any_utf8_up_to_256_bytes() {
        assert!(UserId::new("ü".repeat(128)).is_ok());
        assert!(UserId::new(" \u{0} / %").is_ok());
        assert!(UserId::new("x".repeat(256)).is_ok());
    }

    #[test]
    fn user_id_rejects_dot_segments() {
        for bad in [".", ".."] {
            let err = UserId::new(bad).unwrap_err();
            assert!(err.to_string().contains("other than"), "{err}");
        }
        assert!(UserId::new("...").is_ok());
        assert!(UserId::new(".a").is_ok());
    }

    #[test]
    fn user_id_rejects_empty_and_257_bytes() {
        assert!(UserId::new("").is_err());
        assert!(UserId::new("x".repeat(257)).is_err());
    }

    #[test]
    fn id_error_truncates_huge_value_on_char_boundary() {
        let err = UserId::new("é".repeat(400)).unwrap_err();
        assert!(err.value.len() <= 300);
    }
}
