//! The snapshot's byte layout: a fixed header followed by a postcard body.
//!
//! The layout is documented in `docs/snapshot-format.md`; any change here
//! must bump [`FORMAT_VERSION`] and add a golden file.

use serde::{Deserialize, Serialize};

use crate::value::{FlagType, ValueRef};

/// First four bytes of every snapshot.
pub const MAGIC: [u8; 4] = *b"CSNP";
/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u16 = 2;
/// Size of the fixed header in bytes.
pub const HEADER_LEN: usize = 32;

/// The fixed header, all integers little-endian.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 4 | magic `CSNP` |
/// | 4 | 2 | format version |
/// | 6 | 2 | reserved, zero |
/// | 8 | 8 | revision |
/// | 16 | 8 | body length in bytes |
/// | 24 | 4 | CRC-32 (IEEE) of the body |
/// | 28 | 4 | reserved, zero |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub version: u16,
    pub revision: u64,
    pub body_len: u64,
    pub checksum: u32,
}

impl Header {
    pub fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..4].copy_from_slice(&MAGIC);
        out[4..6].copy_from_slice(&self.version.to_le_bytes());
        out[8..16].copy_from_slice(&self.revision.to_le_bytes());
        out[16..24].copy_from_slice(&self.body_len.to_le_bytes());
        out[24..28].copy_from_slice(&self.checksum.to_le_bytes());
        out
    }

    /// Reads the header fields without checking them. Returns the header,
    /// the magic bytes and both reserved fields.
    pub fn from_bytes(bytes: &[u8; HEADER_LEN]) -> (Self, [u8; 4], u16, u32) {
        fn array<const N: usize>(bytes: &[u8; HEADER_LEN], at: usize) -> [u8; N] {
            let mut out = [0u8; N];
            out.copy_from_slice(&bytes[at..at + N]);
            out
        }
        let header = Header {
            version: u16::from_le_bytes(array(bytes, 4)),
            revision: u64::from_le_bytes(array(bytes, 8)),
            body_len: u64::from_le_bytes(array(bytes, 16)),
            checksum: u32::from_le_bytes(array(bytes, 24)),
        };
        let reserved16 = u16::from_le_bytes(array(bytes, 6));
        let reserved32 = u32::from_le_bytes(array(bytes, 28));
        (header, array(bytes, 0), reserved16, reserved32)
    }
}

/// The postcard body. Field order is the wire order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Body {
    /// Interned texts of string and object values, each stored once.
    pub values: Vec<String>,
    /// Flags sorted by key.
    pub flags: Vec<WireFlag>,
    /// Integrators sorted by id.
    pub integrators: Vec<WireIntegrator>,
    /// Overrides of all integrators, grouped by integrator in id order.
    pub integrator_overrides: Vec<Override>,
    /// Tenants sorted by id.
    pub tenants: Vec<WireTenant>,
    /// Overrides of all tenants, grouped by tenant in id order.
    pub tenant_overrides: Vec<Override>,
    /// Users of all tenants, grouped by tenant in id order.
    pub users: WireUsers,
    /// Overrides of all users, grouped by user in the order of `users`.
    pub user_overrides: Vec<Override>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WireFlag {
    pub key: String,
    pub flag_type: FlagType,
    pub default: WireValue,
}

/// An integrator; its overrides are `integrator_overrides[prev.end..end]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WireIntegrator {
    pub id: String,
    pub overrides_end: u32,
}

/// A tenant; its overrides and users are ranges ending at the `*_end`
/// fields, starting where the previous tenant's ranges end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WireTenant {
    pub id: String,
    pub integrator: Option<u32>,
    pub overrides_end: u32,
    pub users_end: u32,
}

/// User ids as one concatenated string with end offsets, so that loading
/// makes one allocation for all ids instead of one per user.
///
/// Both offset lists travel as lengths, which fit in one or two bytes
/// where the offsets would need three or four, and become offsets again
/// while decoding.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct WireUsers {
    pub ids: String,
    /// End of each user id in `ids`. On the wire: each id's length in bytes.
    #[serde(with = "lengths")]
    pub id_ends: Vec<u32>,
    /// End of each user's overrides in `user_overrides`. On the wire: each
    /// user's number of overrides.
    #[serde(with = "lengths")]
    pub overrides_ends: Vec<u32>,
}

/// One override: a flag (index into `flags`) and its value. Within a scope,
/// overrides are sorted by flag index.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Override {
    pub flag: u32,
    pub value: WireValue,
}

/// A value in memory; texts are indexes into `values`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "TaggedValue", into = "TaggedValue")]
pub(crate) enum WireValue {
    Boolean(bool),
    String(u32),
    Integer(i64),
    Float(f64),
    Object(u32),
}

/// The wire form of [`WireValue`]: a variant tag, then its payload. Each
/// boolean has its own tag, so a boolean value takes one byte.
#[derive(Clone, Copy, Serialize, Deserialize)]
enum TaggedValue {
    False,
    True,
    String(u32),
    Integer(i64),
    Float(f64),
    Object(u32),
}

impl From<TaggedValue> for WireValue {
    fn from(value: TaggedValue) -> Self {
        match value {
            TaggedValue::False => WireValue::Boolean(false),
            TaggedValue::True => WireValue::Boolean(true),
            TaggedValue::String(i) => WireValue::String(i),
            TaggedValue::Integer(i) => WireValue::Integer(i),
            TaggedValue::Float(f) => WireValue::Float(f),
            TaggedValue::Object(i) => WireValue::Object(i),
        }
    }
}

impl From<WireValue> for TaggedValue {
    fn from(value: WireValue) -> Self {
        match value {
            WireValue::Boolean(false) => TaggedValue::False,
            WireValue::Boolean(true) => TaggedValue::True,
            WireValue::String(i) => TaggedValue::String(i),
            WireValue::Integer(i) => TaggedValue::Integer(i),
            WireValue::Float(f) => TaggedValue::Float(f),
            WireValue::Object(i) => TaggedValue::Object(i),
        }
    }
}

impl WireValue {
    pub fn flag_type(self) -> FlagType {
        match self {
            WireValue::Boolean(_) => FlagType::Boolean,
            WireValue::String(_) => FlagType::String,
            WireValue::Integer(_) => FlagType::Integer,
            WireValue::Float(_) => FlagType::Float,
            WireValue::Object(_) => FlagType::Object,
        }
    }

    /// Resolves text indexes. Decoding has checked them, so a missing index
    /// cannot occur; it maps to an empty text rather than a panic.
    pub fn resolve(self, values: &[String]) -> ValueRef<'_> {
        let text = |i: u32| values.get(i as usize).map_or("", String::as_str);
        match self {
            WireValue::Boolean(b) => ValueRef::Boolean(b),
            WireValue::String(i) => ValueRef::String(text(i)),
            WireValue::Integer(i) => ValueRef::Integer(i),
            WireValue::Float(f) => ValueRef::Float(f),
            WireValue::Object(i) => ValueRef::Object(text(i)),
        }
    }
}

/// Serializes a list of ascending end offsets as the lengths between them,
/// and sums the lengths back into offsets when deserializing.
mod lengths {
    use std::fmt;

    use serde::de::{Error as _, SeqAccess, Visitor};
    use serde::ser::{Error as _, SerializeSeq};
    use serde::{Deserializer, Serializer};

    /// Caps the capacity reserved from a length prefix, which a corrupt
    /// snapshot controls. Longer lists still decode, growing as they go.
    const MAX_RESERVED: usize = 1 << 16;

    pub fn serialize<S: Serializer>(ends: &[u32], serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(ends.len()))?;
        let mut start = 0u32;
        for &end in ends {
            let Some(len) = end.checked_sub(start) else {
                return Err(S::Error::custom("end offsets are not ascending"));
            };
            seq.serialize_element(&len)?;
            start = end;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u32>, D::Error> {
        deserializer.deserialize_seq(EndsVisitor)
    }

    struct EndsVisitor;

    impl<'de> Visitor<'de> for EndsVisitor {
        type Value = Vec<u32>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a sequence of u32 lengths")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u32>, A::Error> {
            let reserve = seq.size_hint().unwrap_or(0).min(MAX_RESERVED);
            let mut ends = Vec::with_capacity(reserve);
            let mut end = 0u32;
            while let Some(len) = seq.next_element::<u32>()? {
                end = end
                    .checked_add(len)
                    .ok_or_else(|| A::Error::custom("lengths add up to more than u32::MAX"))?;
                ends.push(end);
            }
            Ok(ends)
        }
    }
}
