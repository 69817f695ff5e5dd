//! Feeds arbitrary bytes to the snapshot decoder, twice: as a whole
//! snapshot, and as a body behind a correct header so that inputs get
//! past the checksum and reach postcard and the validation pass. A
//! snapshot that decodes is then evaluated for every tenant and flag, so
//! that an index the validation missed panics here.

#![no_main]

use cascade_shared::Snapshot;
use cascade_shared::snapshot::{FORMAT_VERSION, HEADER_LEN, MAGIC};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(snapshot) = Snapshot::decode(data) {
        exercise(&snapshot);
    }
    if let Ok(snapshot) = Snapshot::decode(&seal(data)) {
        exercise(&snapshot);
    }
});

/// Puts a correct version 1 header in front of `body`.
fn seal(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&7u64.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(body);
    out
}

/// Runs every evaluator entry point on a decoded snapshot.
fn exercise(snapshot: &Snapshot) {
    let keys: Vec<String> = snapshot.flags().map(|flag| flag.key.to_owned()).collect();
    for tenant in ["a", "t1", "tenant-a", "unknown"] {
        for user in [None, Some("alice"), Some("a")] {
            let _ = snapshot.evaluate_all(tenant, user);
            for key in &keys {
                let _ = snapshot.explain(tenant, user, key);
            }
        }
    }
    if let Ok(bytes) = snapshot.encode() {
        assert_eq!(Snapshot::decode(&bytes).as_ref(), Ok(snapshot));
    }
}
