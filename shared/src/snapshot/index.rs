//! Hash indexes over tenant ids and flag keys, built when a snapshot loads.
//!
//! A binary search over two thousand tenant ids compares a dozen strings,
//! each behind its own pointer and usually a cache miss. The index finds an
//! id with one hash, one slot and one comparison. It costs 8 bytes per slot
//! and one pass over the ids at load. Only tenants and flags get an index.
//! Users are still found by binary search, so that loading builds nothing
//! per user.

/// An open-addressing hash table (linear probing, at most half full) from an
/// id to its position in the list it was built from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IdIndex {
    /// Each slot contains the high 32 bits of the id's hash and the id's
    /// position plus one. A position of 0 marks an empty slot.
    slots: Vec<(u32, u32)>,
}

impl IdIndex {
    /// Indexes `ids`, which must be distinct. Ids past position
    /// `u32::MAX - 1` are left out, since no snapshot has that many.
    pub(crate) fn build<'a>(ids: impl ExactSizeIterator<Item = &'a str>) -> Self {
        let capacity = ids.len().saturating_mul(2).max(8).next_power_of_two();
        let mask = capacity - 1;
        let mut slots = vec![(0u32, 0u32); capacity];
        for (position, id) in ids.enumerate() {
            let Some(entry) = u32::try_from(position).ok().and_then(|p| p.checked_add(1)) else {
                break;
            };
            let hash = hash_id(id);
            let mut slot = hash as usize & mask;
            while slots[slot].1 != 0 {
                slot = (slot + 1) & mask;
            }
            slots[slot] = ((hash >> 32) as u32, entry);
        }
        IdIndex { slots }
    }

    /// Finds the position of `id`. `id_at` returns the id at a position of
    /// the indexed list.
    pub(crate) fn find<'a>(&self, id: &str, id_at: impl Fn(u32) -> &'a str) -> Option<u32> {
        let mask = self.slots.len().checked_sub(1)?;
        let hash = hash_id(id);
        let tag = (hash >> 32) as u32;
        let mut slot = hash as usize & mask;
        // The table is at most half full, so probing reaches an empty slot.
        loop {
            let (slot_tag, entry) = *self.slots.get(slot)?;
            if entry == 0 {
                return None;
            }
            if slot_tag == tag && id_at(entry - 1) == id {
                return Some(entry - 1);
            }
            slot = (slot + 1) & mask;
        }
    }
}

/// Hashes an id eight bytes at a time, then mixes with the MurmurHash3
/// 64-bit finalizer so that both the low bits (the slot) and the high bits
/// (the tag) depend on every byte.
///
/// NOTE: the hash has no secret key. Ids come from the snapshot's
/// publisher, so colliding ids can only slow lookups of their own snapshot,
/// down to a scan of the colliding run.
fn hash_id(id: &str) -> u64 {
    const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut hash = id.len() as u64;
    let mut chunks = id.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        hash = (hash.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(MULTIPLIER);
    }
    let rest = chunks.remainder();
    let mut word = [0u8; 8];
    word[..rest.len()].copy_from_slice(rest);
    hash = (hash.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(MULTIPLIER);

    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_returns_each_position() {
        let ids: Vec<String> = (0..1_000).map(|i| format!("tenant-{i}")).collect();
        let index = IdIndex::build(ids.iter().map(String::as_str));
        let id_at = |position: u32| ids[position as usize].as_str();
        for (position, id) in ids.iter().enumerate() {
            assert_eq!(index.find(id, id_at), Some(position as u32), "{id}");
        }
    }

    #[test]
    fn find_misses_absent_ids() {
        let ids = ["acme", "globex", "a-much-longer-tenant-id-than-eight"];
        let index = IdIndex::build(ids.iter().copied());
        let id_at = |position: u32| ids[position as usize];
        for absent in [
            "",
            "Acme",
            "acm",
            "acme ",
            "a-much-longer-tenant-id-than-eigh",
        ] {
            assert_eq!(index.find(absent, id_at), None, "{absent:?}");
        }
    }

    #[test]
    fn find_in_empty_index_misses() {
        let index = IdIndex::build(std::iter::empty());
        assert_eq!(index.find("acme", |_| ""), None);
        assert_eq!(IdIndex::default().find("acme", |_| ""), None);
    }

    #[test]
    fn hash_depends_on_every_byte() {
        let base = "0123456789abcdefghij";
        for i in 0..base.len() {
            let mut changed = base.as_bytes().to_vec();
            changed[i] ^= 1;
            let changed = String::from_utf8_lossy(&changed);
            assert_ne!(hash_id(base), hash_id(&changed), "byte {i}");
        }
        assert_ne!(hash_id("ab"), hash_id("ab\0"));
    }
}
