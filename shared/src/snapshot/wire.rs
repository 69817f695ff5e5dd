//! The snapshot's byte layout: a fixed header followed by a postcard body.
//!
//! The layout is documented in `docs/snapshot-format.md`; any change here
//! must bump [`FORMAT_VERSION`] and add a golden file.

use serde::{Deserialize, Serialize};

use crate::value::{FlagType, ValueRef};

/// First four bytes of every snapshot.
pub const MAGIC: [u8; 4] = *b"CSNP";
/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u16 = 1;
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct WireUsers {
    pub ids: String,
    pub id_ends: Vec<u32>,
    pub overrides_ends: Vec<u32>,
}

/// One override: a flag (index into `flags`) and its value. Within a scope,
/// overrides are sorted by flag index.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Override {
    pub flag: u32,
    pub value: WireValue,
}

/// A value on the wire; texts are indexes into `values`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) enum WireValue {
    Boolean(bool),
    String(u32),
    Integer(i64),
    Float(f64),
    Object(u32),
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
