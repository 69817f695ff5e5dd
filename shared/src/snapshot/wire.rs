//! The snapshot's byte layout: a fixed header followed by a postcard body.
//!
//! The layout is documented in `docs/snapshot-format.md`; any change here
//! must bump [`FORMAT_VERSION`] and add a golden file.

use serde::{Deserialize, Serialize};

use crate::value::{FlagType, ValueRef};

/// First four bytes of every snapshot.
pub const MAGIC: [u8; 4] = *b"CSNP";
/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u16 = 3;
/// Size of the fixed header in bytes.
pub const HEADER_LEN: usize = 32;
/// Header bytes covered by the checksum: everything before it.
const CHECKED_HEADER_LEN: usize = 24;

/// The fixed header, all integers little-endian.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 4 | magic `CSNP` |
/// | 4 | 2 | format version |
/// | 6 | 2 | reserved, zero |
/// | 8 | 8 | revision |
/// | 16 | 8 | body length in bytes |
/// | 24 | 4 | CRC-32 (IEEE) of header bytes 0..24, then the body |
/// | 28 | 4 | reserved, zero |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub version: u16,
    pub revision: u64,
    pub body_len: u64,
    pub checksum: u32,
}

impl Header {
    /// Builds the header for `body`, with its checksum.
    pub fn for_body(revision: u64, body: &[u8]) -> Self {
        let mut header = Header {
            version: FORMAT_VERSION,
            revision,
            body_len: body.len() as u64,
            checksum: 0,
        };
        header.checksum = checksum(&header.to_bytes(), body);
        header
    }

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

/// The CRC-32 of the header's first 24 bytes followed by the body, so
/// that a damaged revision or length is caught as well as a damaged body.
pub(crate) fn checksum(header: &[u8; HEADER_LEN], body: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&header[..CHECKED_HEADER_LEN]);
    hasher.update(body);
    hasher.finalize()
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
    #[serde(with = "override_list")]
    pub integrator_overrides: Vec<Override>,
    /// Tenants sorted by id.
    pub tenants: Vec<WireTenant>,
    /// Overrides of all tenants, grouped by tenant in id order.
    #[serde(with = "override_list")]
    pub tenant_overrides: Vec<Override>,
    /// Users of all tenants, grouped by tenant in id order.
    pub users: WireUsers,
    /// Overrides of all users, grouped by user in the order of `users`.
    #[serde(with = "override_list")]
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
///
/// Deserializing is written by hand in `override_list`. It reads the same
/// bytes as the derived form, and cut one decode of the benchmark size S
/// from 27.8 to 23.3 million instructions (callgrind).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
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
    Integer(Bits64),
    Float(Bits64),
    Object(u32),
}

/// The bits of an `i64` or `f64` as two 32-bit halves. With 4-byte
/// alignment a value takes 12 bytes and an [`Override`] 16 instead of 24,
/// which makes decoding and scanning the override lists faster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bits64([u32; 2]);

impl Bits64 {
    fn from_u64(bits: u64) -> Self {
        Bits64([bits as u32, (bits >> 32) as u32])
    }

    fn to_u64(self) -> u64 {
        u64::from(self.0[0]) | (u64::from(self.0[1]) << 32)
    }

    pub fn as_i64(self) -> i64 {
        self.to_u64() as i64
    }

    pub fn as_f64(self) -> f64 {
        f64::from_bits(self.to_u64())
    }
}

impl WireValue {
    pub fn integer(value: i64) -> Self {
        WireValue::Integer(Bits64::from_u64(value as u64))
    }

    pub fn float(value: f64) -> Self {
        WireValue::Float(Bits64::from_u64(value.to_bits()))
    }
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
            TaggedValue::Integer(i) => WireValue::integer(i),
            TaggedValue::Float(f) => WireValue::float(f),
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
            WireValue::Integer(i) => TaggedValue::Integer(i.as_i64()),
            WireValue::Float(f) => TaggedValue::Float(f.as_f64()),
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
            WireValue::Integer(i) => ValueRef::Integer(i.as_i64()),
            WireValue::Float(f) => ValueRef::Float(f.as_f64()),
            WireValue::Object(i) => ValueRef::Object(text(i)),
        }
    }
}

/// Deserializes an override list into a vector reserved at once for up to
/// `MAX_RESERVED_OVERRIDES` overrides. serde's own `Vec` (serde 1.0.229)
/// reserves at most 1 MiB, 65,536 overrides, so longer lists would regrow
/// and copy. Serializing is the default one for sequences.
mod override_list {
    use std::fmt;

    use serde::de::{Error as _, SeqAccess, Unexpected, Visitor};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{Override, WireValue};

    /// Caps the capacity reserved from a length prefix, which a corrupt
    /// snapshot controls, at 8 MiB. Longer lists still decode, growing as
    /// they go.
    const MAX_RESERVED_OVERRIDES: usize = (8 << 20) / size_of::<Override>();

    pub fn serialize<S: Serializer>(items: &[Override], serializer: S) -> Result<S::Ok, S::Error> {
        items.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Override>, D::Error> {
        deserializer.deserialize_seq(OverridesVisitor)
    }

    struct OverridesVisitor;

    impl<'de> Visitor<'de> for OverridesVisitor {
        type Value = Vec<Override>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a sequence of overrides")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Override>, A::Error> {
            let reserve = seq.size_hint().unwrap_or(0).min(MAX_RESERVED_OVERRIDES);
            let mut items = Vec::with_capacity(reserve);
            while let Some(item) = seq.next_element()? {
                items.push(item);
            }
            Ok(items)
        }
    }

    /// Reads an override as the derived `Serialize` of [`Override`] and
    /// `TaggedValue` writes it: the flag index, the value's variant tag,
    /// then the payload, if the variant has one. Postcard encodes a struct
    /// as a tuple of its fields and an enum variant as its index followed
    /// by its payload, so reading a tuple of up to three elements sees the
    /// same bytes without serde's enum machinery.
    impl<'de> Deserialize<'de> for Override {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_tuple(3, OverrideVisitor)
        }
    }

    struct OverrideVisitor;

    impl<'de> Visitor<'de> for OverrideVisitor {
        type Value = Override;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an override: flag index, value tag and payload")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Override, A::Error> {
            let flag: u32 = element(&mut seq, 0)?;
            let tag: u32 = element(&mut seq, 1)?;
            let value = match tag {
                0 => WireValue::Boolean(false),
                1 => WireValue::Boolean(true),
                2 => WireValue::String(element(&mut seq, 2)?),
                3 => WireValue::integer(element(&mut seq, 2)?),
                4 => WireValue::float(element(&mut seq, 2)?),
                5 => WireValue::Object(element(&mut seq, 2)?),
                _ => {
                    let found = Unexpected::Unsigned(u64::from(tag));
                    return Err(A::Error::invalid_value(found, &"a value tag from 0 to 5"));
                }
            };
            Ok(Override { flag, value })
        }
    }

    fn element<'de, A: SeqAccess<'de>, T: Deserialize<'de>>(
        seq: &mut A,
        index: usize,
    ) -> Result<T, A::Error> {
        seq.next_element()?
            .ok_or_else(|| A::Error::invalid_length(index, &"an override of 2 or 3 elements"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_takes_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<Override>(), 16);
    }

    #[test]
    fn bits64_round_trips_extremes() {
        for value in [0, 1, -1, i64::MIN, i64::MAX] {
            assert_eq!(
                WireValue::integer(value).resolve(&[]),
                ValueRef::Integer(value)
            );
        }
        for value in [0.0, -0.0, 1e-9, f64::MAX, f64::MIN_POSITIVE] {
            let resolved = WireValue::float(value).resolve(&[]);
            assert_eq!(resolved, ValueRef::Float(value));
        }
    }
}
