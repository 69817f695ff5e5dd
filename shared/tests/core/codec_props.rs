//! Encoding round trips, and the decoder fed arbitrary or mutated bytes.

use cascade_shared::Snapshot;
use cascade_shared::snapshot::HEADER_LEN;
use proptest::prelude::*;

use crate::reference::{TENANTS, USERS, plan};
use crate::wire::seal_bytes;

/// A byte-level edit of a valid body.
#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Set { at: usize, byte: u8 },
    Insert { at: usize, byte: u8 },
    Remove { at: usize },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0..8u8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set { at, byte }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        any::<usize>().prop_map(|at| Mutation::Remove { at }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn mutate(body: &mut Vec<u8>, mutation: &Mutation) {
    if body.is_empty() {
        return;
    }
    let len = body.len();
    match *mutation {
        Mutation::Flip { at, bit } => body[at % len] ^= 1 << bit,
        Mutation::Set { at, byte } => body[at % len] = byte,
        Mutation::Insert { at, byte } => body.insert(at % (len + 1), byte),
        Mutation::Remove { at } => {
            body.remove(at % len);
        }
        Mutation::Truncate { at } => body.truncate(at % len),
    }
}

/// Uses a snapshot that decoded from untrusted bytes in every way a host
/// would, so that an unchecked index would panic here.
fn exercise(snapshot: &Snapshot) {
    let flags: Vec<String> = snapshot.flags().map(|f| f.key.to_owned()).collect();
    for tenant in TENANTS.iter().chain(&["other"]) {
        for user in USERS.iter().map(|u| Some(*u)).chain([None]) {
            let all = snapshot.evaluate_all(tenant, user).unwrap();
            assert_eq!(all.len(), flags.len());
            for key in &flags {
                snapshot.explain(tenant, user, key).unwrap();
            }
        }
    }
    let again = Snapshot::decode(&snapshot.encode().unwrap()).unwrap();
    assert_eq!(&again, snapshot);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip_keeps_snapshot(plan in plan()) {
        let (snapshot, _) = plan.realize();
        let bytes = snapshot.encode().unwrap();
        let decoded = Snapshot::decode(&bytes).unwrap();
        prop_assert_eq!(&decoded, &snapshot);
        prop_assert_eq!(decoded.encode().unwrap(), bytes.clone());
        prop_assert_eq!(Snapshot::peek_revision(&bytes).unwrap(), plan.revision);
        prop_assert_eq!(decoded.revision(), plan.revision);
    }

    #[test]
    fn decode_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(snapshot) = Snapshot::decode(&bytes) {
            exercise(&snapshot);
        }
        let _ = Snapshot::peek_revision(&bytes);
    }

    #[test]
    fn decode_sealed_arbitrary_body_never_panics(
        body in proptest::collection::vec(any::<u8>(), 0..512),
        revision in any::<u64>(),
    ) {
        let bytes = seal_bytes(revision, &body);
        if let Ok(snapshot) = Snapshot::decode(&bytes) {
            exercise(&snapshot);
        }
    }

    #[test]
    fn decode_mutated_snapshot_never_panics(
        plan in plan(),
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let (snapshot, _) = plan.realize();
        let bytes = snapshot.encode().unwrap();
        let mut body = bytes[HEADER_LEN..].to_vec();
        for mutation in &mutations {
            mutate(&mut body, mutation);
        }
        let sealed = seal_bytes(plan.revision, &body);
        if let Ok(decoded) = Snapshot::decode(&sealed) {
            exercise(&decoded);
        }
    }

    #[test]
    fn decode_mutated_header_never_panics(
        plan in plan(),
        at in 0..HEADER_LEN,
        byte in any::<u8>(),
    ) {
        let (snapshot, _) = plan.realize();
        let mut bytes = snapshot.encode().unwrap();
        let unchanged = bytes[at] == byte;
        bytes[at] = byte;
        let result = Snapshot::decode(&bytes);
        prop_assert_eq!(result.is_ok(), unchanged);
    }
}
