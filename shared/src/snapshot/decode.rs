//! Decoding and validation of snapshot bytes.
//!
//! Every check that the evaluator relies on happens here, once, so that
//! lookups can index without further checks and never panic.

use crate::id::{self, IdError, IdKind};
use crate::value::{self, FlagType};

use super::wire::{self, Body, FORMAT_VERSION, HEADER_LEN, Header, MAGIC, Override, WireValue};

/// Why snapshot bytes were rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("snapshot truncated: {len} bytes is shorter than the {HEADER_LEN}-byte header")]
    HeaderTruncated { len: u64 },
    #[error("not a Cascade snapshot: magic bytes {found:02x?}, expected {MAGIC:02x?}")]
    BadMagic { found: [u8; 4] },
    #[error(
        "unsupported snapshot format version {found}; this reader supports version \
         {FORMAT_VERSION}, so upgrade the reader or publish a version {FORMAT_VERSION} snapshot"
    )]
    UnsupportedVersion { found: u16 },
    #[error("snapshot header has non-zero reserved bytes")]
    ReservedNotZero,
    #[error("snapshot body truncated: header declares {expected} bytes, {found} present")]
    BodyTruncated { expected: u64, found: u64 },
    #[error("snapshot has {extra} trailing bytes after the declared body")]
    TrailingBytes { extra: u64 },
    #[error(
        "snapshot checksum mismatch: header has {expected:#010x}, header and body hash to {computed:#010x}"
    )]
    ChecksumMismatch { expected: u32, computed: u32 },
    #[error("snapshot body is malformed: {0}")]
    Malformed(#[from] postcard::Error),
    #[error("snapshot {what} index {index} is out of range (length {len})")]
    IndexOutOfRange {
        what: &'static str,
        index: u64,
        len: u64,
    },
    #[error("tenant {tenant:?} points to integrator index {index}, which does not exist")]
    MissingIntegrator { tenant: String, index: u32 },
    #[error("{scope} override of flag {flag:?} has type {found}, but the flag is {expected}")]
    TypeMismatch {
        scope: String,
        flag: String,
        expected: FlagType,
        found: FlagType,
    },
    #[error("snapshot lists {what} {id:?} twice or out of order")]
    Duplicate { what: &'static str, id: String },
    #[error("snapshot contains an {0}")]
    InvalidId(#[from] IdError),
    #[error("snapshot value for flag {flag:?} is invalid: {reason}")]
    InvalidValue { flag: String, reason: &'static str },
}

impl DecodeError {
    /// A stable code for hosts that cannot carry the Rust type, such as
    /// JavaScript errors and problem documents.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::UnsupportedVersion { .. } => "SNAPSHOT_VERSION_UNSUPPORTED",
            DecodeError::HeaderTruncated { .. } | DecodeError::BodyTruncated { .. } => {
                "SNAPSHOT_TRUNCATED"
            }
            _ => "SNAPSHOT_CORRUPT",
        }
    }
}

/// Checks the header and returns it with the body bytes.
pub(crate) fn split(bytes: &[u8]) -> Result<(Header, &[u8]), DecodeError> {
    let Some((head, rest)) = bytes.split_first_chunk::<HEADER_LEN>() else {
        return Err(DecodeError::HeaderTruncated {
            len: bytes.len() as u64,
        });
    };
    let (header, magic, reserved16, reserved32) = Header::from_bytes(head);
    if magic != MAGIC {
        return Err(DecodeError::BadMagic { found: magic });
    }
    if header.version != FORMAT_VERSION {
        return Err(DecodeError::UnsupportedVersion {
            found: header.version,
        });
    }
    if reserved16 != 0 || reserved32 != 0 {
        return Err(DecodeError::ReservedNotZero);
    }
    let found = rest.len() as u64;
    if found < header.body_len {
        return Err(DecodeError::BodyTruncated {
            expected: header.body_len,
            found,
        });
    }
    if found > header.body_len {
        return Err(DecodeError::TrailingBytes {
            extra: found - header.body_len,
        });
    }
    let computed = wire::checksum(head, rest);
    if computed != header.checksum {
        return Err(DecodeError::ChecksumMismatch {
            expected: header.checksum,
            computed,
        });
    }
    Ok((header, rest))
}

/// Parses the postcard body, rejecting bytes left over after it.
pub(crate) fn parse_body(body: &[u8]) -> Result<Body, DecodeError> {
    let (parsed, rest) = postcard::take_from_bytes::<Body>(body)?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes {
            extra: rest.len() as u64,
        });
    }
    Ok(parsed)
}

/// Checks every invariant that the evaluator relies on.
pub(crate) fn validate(body: &Body) -> Result<(), DecodeError> {
    let mut objects = vec![None; body.values.len()];
    let mut check = ValueChecker {
        body,
        objects: &mut objects,
    };

    for (i, flag) in body.flags.iter().enumerate() {
        id::validate_flag_key(&flag.key)?;
        if i > 0 && body.flags[i - 1].key >= flag.key {
            return Err(duplicate("flag", &flag.key));
        }
        check.value(Scope::Platform, i as u32, flag.default)?;
    }

    let mut start = 0u32;
    for (i, integrator) in body.integrators.iter().enumerate() {
        id::validate_slug(IdKind::Integrator, &integrator.id)?;
        if i > 0 && body.integrators[i - 1].id >= integrator.id {
            return Err(duplicate("integrator", &integrator.id));
        }
        let scope = Scope::Named("integrator", &integrator.id);
        let overrides = range(
            &body.integrator_overrides,
            start,
            integrator.overrides_end,
            "integrator override",
        )?;
        check.overrides(scope, overrides)?;
        start = integrator.overrides_end;
    }
    expect_end(
        start,
        body.integrator_overrides.len(),
        "integrator override",
    )?;

    validate_tenants(body, &mut check)?;
    objects_are_canonical(body, &objects)
}

fn validate_tenants(body: &Body, check: &mut ValueChecker<'_>) -> Result<(), DecodeError> {
    let users = &body.users;
    if users.id_ends.len() != users.overrides_ends.len() {
        return Err(DecodeError::IndexOutOfRange {
            what: "user override range",
            index: users.overrides_ends.len() as u64,
            len: users.id_ends.len() as u64,
        });
    }

    let (mut override_start, mut user_start, mut id_start, mut user_override_start) =
        (0u32, 0u32, 0u32, 0u32);
    for (i, tenant) in body.tenants.iter().enumerate() {
        id::validate_slug(IdKind::Tenant, &tenant.id)?;
        if i > 0 && body.tenants[i - 1].id >= tenant.id {
            return Err(duplicate("tenant", &tenant.id));
        }
        if let Some(index) = tenant.integrator
            && index as usize >= body.integrators.len()
        {
            return Err(DecodeError::MissingIntegrator {
                tenant: tenant.id.clone(),
                index,
            });
        }
        let scope = Scope::Named("tenant", &tenant.id);
        let overrides = range(
            &body.tenant_overrides,
            override_start,
            tenant.overrides_end,
            "tenant override",
        )?;
        check.overrides(scope, overrides)?;
        override_start = tenant.overrides_end;

        range(&users.id_ends, user_start, tenant.users_end, "user")?;
        let mut previous: Option<&str> = None;
        for user in user_start..tenant.users_end {
            let id_end = users.id_ends[user as usize];
            let id = text_range(&users.ids, id_start, id_end)?;
            id::validate_user_id(id)?;
            if previous.is_some_and(|p| p.as_bytes() >= id.as_bytes()) {
                return Err(duplicate("user", id));
            }
            previous = Some(id);
            id_start = id_end;

            let overrides_end = users.overrides_ends[user as usize];
            let overrides = range(
                &body.user_overrides,
                user_override_start,
                overrides_end,
                "user override",
            )?;
            check.overrides(Scope::User, overrides)?;
            user_override_start = overrides_end;
        }
        user_start = tenant.users_end;
    }
    expect_end(
        override_start,
        body.tenant_overrides.len(),
        "tenant override",
    )?;
    expect_end(user_start, users.id_ends.len(), "user")?;
    expect_end(id_start, users.ids.len(), "user id byte")?;
    expect_end(
        user_override_start,
        body.user_overrides.len(),
        "user override",
    )
}

struct ValueChecker<'a> {
    body: &'a Body,
    /// For each text in `values`, the first flag whose object value uses it.
    objects: &'a mut [Option<u32>],
}

impl ValueChecker<'_> {
    fn overrides(&mut self, scope: Scope<'_>, overrides: &[Override]) -> Result<(), DecodeError> {
        let mut previous: Option<u32> = None;
        for item in overrides {
            let Some(flag) = self.body.flags.get(item.flag as usize) else {
                return Err(DecodeError::IndexOutOfRange {
                    what: "flag",
                    index: u64::from(item.flag),
                    len: self.body.flags.len() as u64,
                });
            };
            if previous.is_some_and(|p| p >= item.flag) {
                return Err(DecodeError::Duplicate {
                    what: "override of flag",
                    id: flag.key.clone(),
                });
            }
            previous = Some(item.flag);
            // A boolean or integer of the flag's type needs no further
            // check, so most overrides skip the full one.
            let plain = matches!(
                (item.value, flag.flag_type),
                (WireValue::Boolean(_), FlagType::Boolean)
                    | (WireValue::Integer(_), FlagType::Integer)
            );
            if !plain {
                self.value(scope, item.flag, item.value)?;
            }
        }
        Ok(())
    }

    fn value(
        &mut self,
        scope: Scope<'_>,
        flag_index: u32,
        value: WireValue,
    ) -> Result<(), DecodeError> {
        let flag = &self.body.flags[flag_index as usize];
        if value.flag_type() != flag.flag_type {
            return Err(DecodeError::TypeMismatch {
                scope: scope.describe(),
                flag: flag.key.clone(),
                expected: flag.flag_type,
                found: value.flag_type(),
            });
        }
        let text_index = match value {
            WireValue::Float(f) if !f.as_f64().is_finite() => {
                return Err(DecodeError::InvalidValue {
                    flag: flag.key.clone(),
                    reason: "float is not finite",
                });
            }
            WireValue::String(i) => Some(i),
            WireValue::Object(i) => {
                if let Some(seen) = self.objects.get_mut(i as usize) {
                    seen.get_or_insert(flag_index);
                }
                Some(i)
            }
            _ => None,
        };
        match text_index {
            Some(i) if i as usize >= self.body.values.len() => Err(DecodeError::IndexOutOfRange {
                what: "value",
                index: u64::from(i),
                len: self.body.values.len() as u64,
            }),
            _ => Ok(()),
        }
    }
}

fn objects_are_canonical(body: &Body, objects: &[Option<u32>]) -> Result<(), DecodeError> {
    for (text, used_by) in body.values.iter().zip(objects) {
        let Some(flag) = used_by else { continue };
        if !value::is_canonical_object(text) {
            let key = body.flags.get(*flag as usize).map(|f| f.key.clone());
            return Err(DecodeError::InvalidValue {
                flag: key.unwrap_or_default(),
                reason: "object value is not a canonical JSON object",
            });
        }
    }
    Ok(())
}

/// The scope of the values being checked, turned into text only for an
/// error, so that validating thousands of tenants allocates nothing.
#[derive(Clone, Copy)]
enum Scope<'a> {
    Platform,
    /// A kind ("integrator" or "tenant") and an id.
    Named(&'static str, &'a str),
    User,
}

impl Scope<'_> {
    fn describe(self) -> String {
        match self {
            Scope::Platform => "platform".to_owned(),
            Scope::Named(kind, id) => format!("{kind} {id}"),
            Scope::User => "user".to_owned(),
        }
    }
}

fn duplicate(what: &'static str, id: &str) -> DecodeError {
    DecodeError::Duplicate {
        what,
        id: id.to_owned(),
    }
}

/// Returns `items[start..end]`, or an error when the range is inverted or
/// runs past the end.
fn range<'a, T>(
    items: &'a [T],
    start: u32,
    end: u32,
    what: &'static str,
) -> Result<&'a [T], DecodeError> {
    items
        .get(start as usize..end as usize)
        .ok_or_else(|| DecodeError::IndexOutOfRange {
            what,
            index: u64::from(end),
            len: items.len() as u64,
        })
}

fn text_range(text: &str, start: u32, end: u32) -> Result<&str, DecodeError> {
    text.get(start as usize..end as usize)
        .ok_or_else(|| DecodeError::IndexOutOfRange {
            what: "user id byte",
            index: u64::from(end),
            len: text.len() as u64,
        })
}

fn expect_end(end: u32, len: usize, what: &'static str) -> Result<(), DecodeError> {
    if end as usize == len {
        Ok(())
    } else {
        Err(DecodeError::IndexOutOfRange {
            what,
            index: u64::from(end),
            len: len as u64,
        })
    }
}
