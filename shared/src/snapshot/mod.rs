//! The snapshot: a validated, immutable copy of the whole hierarchy at one
//! revision, and its byte encoding.

mod build;
mod decode;
mod index;
pub(crate) mod wire;

use std::ops::Range;

pub use build::{BuildError, SnapshotBuilder};
pub use decode::DecodeError;
pub use wire::{FORMAT_VERSION, HEADER_LEN, MAGIC};

use crate::value::{FlagType, ValueRef};
use index::IdIndex;
use wire::{Body, Header, Override};

/// The hierarchy at one revision, ready for evaluation.
///
/// Tenants and flags are found through small hash indexes built at load;
/// users and overrides by binary search over sorted arrays. So loading is
/// one pass of postcard, one validation pass and one pass over the tenant
/// ids and flag keys, and builds nothing per user or override.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    revision: u64,
    body: Body,
    tenant_index: IdIndex,
    flag_index: IdIndex,
}

/// Why a snapshot could not be encoded.
#[derive(Debug, thiserror::Error)]
#[error("snapshot encoding failed: {0}")]
pub struct EncodeError(#[from] postcard::Error);

/// A flag as listed in a snapshot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlagInfo<'a> {
    pub key: &'a str,
    pub flag_type: FlagType,
    pub default: ValueRef<'a>,
}

impl Snapshot {
    /// Wraps a body that is valid, as decoding or building has checked.
    pub(crate) fn from_body(revision: u64, body: Body) -> Self {
        let tenant_index = IdIndex::build(body.tenants.iter().map(|t| t.id.as_str()));
        let flag_index = IdIndex::build(body.flags.iter().map(|f| f.key.as_str()));
        Snapshot {
            revision,
            body,
            tenant_index,
            flag_index,
        }
    }

    /// Decodes and validates snapshot bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (header, body) = decode::split(bytes)?;
        let body = decode::parse_body(body)?;
        decode::validate(&body)?;
        Ok(Snapshot::from_body(header.revision, body))
    }

    /// Reads the revision from the header after checking magic, version,
    /// length and checksum, without decoding the body. Hosts use it to skip
    /// a snapshot that is not newer than the one they hold.
    pub fn peek_revision(bytes: &[u8]) -> Result<u64, DecodeError> {
        decode::split(bytes).map(|(header, _)| header.revision)
    }

    /// Encodes this snapshot: the header, then the postcard body.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let body = postcard::to_allocvec(&self.body)?;
        let header = Header::for_body(self.revision, &body);
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.extend_from_slice(&header.to_bytes());
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// The store revision this snapshot was built from.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Every flag, in key order.
    pub fn flags(&self) -> impl ExactSizeIterator<Item = FlagInfo<'_>> + '_ {
        self.body.flags.iter().map(|flag| FlagInfo {
            key: &flag.key,
            flag_type: flag.flag_type,
            default: flag.default.resolve(&self.body.values),
        })
    }

    /// Number of integrators.
    pub fn integrator_count(&self) -> usize {
        self.body.integrators.len()
    }

    /// Number of tenants.
    pub fn tenant_count(&self) -> usize {
        self.body.tenants.len()
    }

    /// Number of user overrides across all tenants.
    pub fn user_override_count(&self) -> usize {
        self.body.user_overrides.len()
    }

    pub(crate) fn body(&self) -> &Body {
        &self.body
    }

    pub(crate) fn value(&self, value: wire::WireValue) -> ValueRef<'_> {
        value.resolve(&self.body.values)
    }

    pub(crate) fn find_flag(&self, key: &str) -> Option<u32> {
        let flags = &self.body.flags;
        self.flag_index.find(key, |i| {
            flags.get(i as usize).map_or("", |flag| flag.key.as_str())
        })
    }

    pub(crate) fn find_tenant(&self, id: &str) -> Option<u32> {
        self.tenant_index.find(id, |i| self.tenant_id(i))
    }

    pub(crate) fn integrator_id(&self, index: u32) -> &str {
        self.body
            .integrators
            .get(index as usize)
            .map_or("", |i| i.id.as_str())
    }

    pub(crate) fn tenant_id(&self, index: u32) -> &str {
        self.body
            .tenants
            .get(index as usize)
            .map_or("", |t| t.id.as_str())
    }

    pub(crate) fn tenant_integrator(&self, tenant: u32) -> Option<u32> {
        self.body.tenants.get(tenant as usize)?.integrator
    }

    pub(crate) fn integrator_overrides(&self, integrator: u32) -> &[Override] {
        let list = &self.body.integrators;
        let range = end_range(integrator, |i| list.get(i).map(|x| x.overrides_end));
        slice(&self.body.integrator_overrides, range)
    }

    pub(crate) fn tenant_overrides(&self, tenant: u32) -> &[Override] {
        let list = &self.body.tenants;
        let range = end_range(tenant, |i| list.get(i).map(|x| x.overrides_end));
        slice(&self.body.tenant_overrides, range)
    }

    /// Finds `user` among the users of `tenant`; returns the user's index.
    pub(crate) fn find_user(&self, tenant: u32, user: &str) -> Option<u32> {
        let tenants = &self.body.tenants;
        let users = end_range(tenant, |i| tenants.get(i).map(|x| x.users_end));
        let (mut low, mut high) = (users.start, users.end);
        while low < high {
            let mid = low + (high - low) / 2;
            let id = self.user_id(mid);
            match id.as_bytes().cmp(user.as_bytes()) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    pub(crate) fn user_id(&self, user: u32) -> &str {
        let ends = &self.body.users.id_ends;
        let range = end_range(user, |i| ends.get(i).copied());
        self.body
            .users
            .ids
            .get(range.start as usize..range.end as usize)
            .unwrap_or("")
    }

    pub(crate) fn user_overrides(&self, user: u32) -> &[Override] {
        let ends = &self.body.users.overrides_ends;
        let range = end_range(user, |i| ends.get(i).copied());
        slice(&self.body.user_overrides, range)
    }
}

/// The range of item `index` in a list of cumulative end offsets.
fn end_range(index: u32, end_of: impl Fn(usize) -> Option<u32>) -> Range<u32> {
    let index = index as usize;
    let start = match index.checked_sub(1) {
        Some(previous) => end_of(previous).unwrap_or(0),
        None => 0,
    };
    let end = end_of(index).unwrap_or(start);
    start..end.max(start)
}

fn slice<T>(items: &[T], range: Range<u32>) -> &[T] {
    items
        .get(range.start as usize..range.end as usize)
        .unwrap_or(&[])
}
