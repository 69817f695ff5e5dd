//! A test-side copy of the snapshot layout in `docs/snapshot-format.md`.
//!
//! The crate keeps its wire types private, so tests that craft bodies the
//! builder never writes (out-of-range indexes, duplicates, wrong types)
//! decode a valid snapshot into these types, change them, and seal them
//! again with a correct header. The golden test checks that this copy
//! re-encodes real snapshots byte for byte, so it cannot drift from the
//! format unnoticed.

use cascade_shared::FlagType;
use cascade_shared::snapshot::{FORMAT_VERSION, HEADER_LEN, MAGIC};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Body {
    pub values: Vec<String>,
    pub flags: Vec<Flag>,
    pub integrators: Vec<Integrator>,
    pub integrator_overrides: Vec<Override>,
    pub tenants: Vec<Tenant>,
    pub tenant_overrides: Vec<Override>,
    pub users: Users,
    pub user_overrides: Vec<Override>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flag {
    pub key: String,
    pub flag_type: FlagType,
    pub default: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Integrator {
    pub id: String,
    pub overrides_end: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: String,
    pub integrator: Option<u32>,
    pub overrides_end: u32,
    pub users_end: u32,
}

/// User ids and ranges. The offset lists hold end offsets here, as in the
/// crate's memory, but travel as per-user lengths (id bytes, override
/// count), which is what a corrupt body can express.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Users {
    pub ids: String,
    #[serde(with = "lengths")]
    pub id_ends: Vec<u32>,
    #[serde(with = "lengths")]
    pub overrides_ends: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Override {
    pub flag: u32,
    pub value: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "TaggedValue", into = "TaggedValue")]
pub enum Value {
    Boolean(bool),
    String(u32),
    Integer(i64),
    Float(f64),
    Object(u32),
}

/// The wire form of [`Value`]: booleans have a tag each and no payload.
#[derive(Clone, Copy, Serialize, Deserialize)]
enum TaggedValue {
    False,
    True,
    String(u32),
    Integer(i64),
    Float(f64),
    Object(u32),
}

impl From<TaggedValue> for Value {
    fn from(value: TaggedValue) -> Self {
        match value {
            TaggedValue::False => Value::Boolean(false),
            TaggedValue::True => Value::Boolean(true),
            TaggedValue::String(i) => Value::String(i),
            TaggedValue::Integer(i) => Value::Integer(i),
            TaggedValue::Float(f) => Value::Float(f),
            TaggedValue::Object(i) => Value::Object(i),
        }
    }
}

impl From<Value> for TaggedValue {
    fn from(value: Value) -> Self {
        match value {
            Value::Boolean(false) => TaggedValue::False,
            Value::Boolean(true) => TaggedValue::True,
            Value::String(i) => TaggedValue::String(i),
            Value::Integer(i) => TaggedValue::Integer(i),
            Value::Float(f) => TaggedValue::Float(f),
            Value::Object(i) => TaggedValue::Object(i),
        }
    }
}

/// End offsets in memory, lengths on the wire. Tests may write offsets
/// that decrease: their lengths wrap, as a corrupt body's would.
mod lengths {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(ends: &[u32], serializer: S) -> Result<S::Ok, S::Error> {
        let mut start = 0u32;
        let lengths: Vec<u32> = ends
            .iter()
            .map(|&end| {
                let len = end.wrapping_sub(start);
                start = end;
                len
            })
            .collect();
        lengths.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u32>, D::Error> {
        let lengths = Vec::<u32>::deserialize(deserializer)?;
        let mut end = 0u32;
        Ok(lengths
            .into_iter()
            .map(|len| {
                end = end.wrapping_add(len);
                end
            })
            .collect())
    }
}

/// The fixed 32-byte header, field by field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Header {
    pub magic: [u8; 4],
    pub version: u16,
    pub reserved16: u16,
    pub revision: u64,
    pub body_len: u64,
    pub checksum: u32,
    pub reserved32: u32,
}

impl Header {
    /// Builds a correct header for `body`.
    pub fn for_body(revision: u64, body: &[u8]) -> Self {
        let mut header = Header {
            magic: MAGIC,
            version: FORMAT_VERSION,
            reserved16: 0,
            revision,
            body_len: body.len() as u64,
            checksum: 0,
            reserved32: 0,
        };
        header.checksum = checksum(&header.to_bytes(), body);
        header
    }

    pub fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..4].copy_from_slice(&self.magic);
        out[4..6].copy_from_slice(&self.version.to_le_bytes());
        out[6..8].copy_from_slice(&self.reserved16.to_le_bytes());
        out[8..16].copy_from_slice(&self.revision.to_le_bytes());
        out[16..24].copy_from_slice(&self.body_len.to_le_bytes());
        out[24..28].copy_from_slice(&self.checksum.to_le_bytes());
        out[28..32].copy_from_slice(&self.reserved32.to_le_bytes());
        out
    }

    pub fn parse(bytes: &[u8]) -> Self {
        let field = |at: usize, len: usize| {
            let mut out = [0u8; 8];
            out[..len].copy_from_slice(&bytes[at..at + len]);
            u64::from_le_bytes(out)
        };
        Header {
            magic: [bytes[0], bytes[1], bytes[2], bytes[3]],
            version: field(4, 2) as u16,
            reserved16: field(6, 2) as u16,
            revision: field(8, 8),
            body_len: field(16, 8),
            checksum: field(24, 4) as u32,
            reserved32: field(28, 4) as u32,
        }
    }
}

/// The CRC-32 of the header's first 24 bytes followed by the body.
pub fn checksum(header: &[u8], body: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&header[..24]);
    hasher.update(body);
    hasher.finalize()
}

/// Joins a header and body bytes.
pub fn join(header: Header, body: &[u8]) -> Vec<u8> {
    let mut out = header.to_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// Puts a correct header in front of raw body bytes.
pub fn seal_bytes(revision: u64, body: &[u8]) -> Vec<u8> {
    join(Header::for_body(revision, body), body)
}

/// Encodes `body` with postcard and seals it with a correct header.
pub fn seal(revision: u64, body: &Body) -> Vec<u8> {
    let bytes = postcard::to_allocvec(body).unwrap();
    seal_bytes(revision, &bytes)
}

/// Splits valid snapshot bytes into the header and the decoded body.
pub fn open(bytes: &[u8]) -> (Header, Body) {
    let header = Header::parse(bytes);
    let body = postcard::from_bytes(&bytes[HEADER_LEN..]).unwrap();
    (header, body)
}
