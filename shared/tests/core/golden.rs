//! Golden snapshots: committed bytes of a fixed hierarchy.
//!
//! `tests/golden/vN.snap` contains the encoding of [`golden_hierarchy`] in
//! format version N. The file of the current version must equal today's
//! encoding byte for byte, so an accidental change to the encoding fails
//! the build. Files of older versions stay committed: today's decoder must
//! read them, or reject them with `UnsupportedVersion` once it no longer
//! supports their version. After an intended format change, bump
//! `FORMAT_VERSION` and write the new file with
//! `CASCADE_BLESS_GOLDEN=1 cargo test -p cascade-shared --test core golden`.

use std::fs;
use std::path::{Path, PathBuf};

use cascade_shared::snapshot::{FORMAT_VERSION, HEADER_LEN};
use cascade_shared::{DecodeError, FlagValue, Level, Reason, Snapshot, SnapshotBuilder, ValueRef};

use crate::wire::{Header, open, seal};

const REVISION: u64 = 1_000_003;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Builds a hierarchy with every value type at every level, tenants with and
/// without an integrator, and user ids that differ by case and bytes.
fn golden_hierarchy() -> Snapshot {
    let mut b = SnapshotBuilder::new(REVISION);
    b.flag("beta", FlagValue::Boolean(false)).unwrap();
    b.flag("Beta", FlagValue::Boolean(true)).unwrap();
    b.flag("checkout.flow", FlagValue::String("classic".into()))
        .unwrap();
    b.flag("max-seats", FlagValue::Integer(10)).unwrap();
    b.flag("ratio", FlagValue::Float(0.25)).unwrap();
    let limits = r#"{"api":{"burst":20,"rate":5},"tags":["a","b"]}"#;
    b.flag("limits", FlagValue::Object(limits.into())).unwrap();

    b.integrator("globex").unwrap();
    b.integrator("acme").unwrap();
    b.tenant("tenant-b", Some("globex")).unwrap();
    b.tenant("tenant-a", Some("acme")).unwrap();
    b.tenant("solo", None).unwrap();

    b.integrator_override("acme", "beta", FlagValue::Boolean(true))
        .unwrap();
    b.integrator_override("acme", "limits", FlagValue::Object("{}".into()))
        .unwrap();
    b.integrator_override("globex", "max-seats", FlagValue::Integer(i64::MAX))
        .unwrap();
    b.tenant_override("tenant-a", "checkout.flow", FlagValue::String("new".into()))
        .unwrap();
    b.tenant_override("solo", "ratio", FlagValue::Float(-1.5))
        .unwrap();
    b.user_override("tenant-a", "alice", "max-seats", FlagValue::Integer(-3))
        .unwrap();
    b.user_override("tenant-a", "Alice", "beta", FlagValue::Boolean(false))
        .unwrap();
    b.user_override(
        "tenant-a",
        "zoë",
        "checkout.flow",
        FlagValue::String("ünï".into()),
    )
    .unwrap();
    b.user_override("tenant-b", "alice", "ratio", FlagValue::Float(1e-9))
        .unwrap();
    b.user_override("solo", &"x".repeat(256), "Beta", FlagValue::Boolean(false))
        .unwrap();
    b.build().unwrap()
}

fn golden_path(version: u16) -> PathBuf {
    golden_dir().join(format!("v{version}.snap"))
}

#[test]
fn golden_encoding_is_unchanged() {
    let encoded = golden_hierarchy().encode().unwrap();
    let path = golden_path(FORMAT_VERSION);
    if std::env::var_os("CASCADE_BLESS_GOLDEN").is_some() {
        fs::write(&path, &encoded).unwrap();
    }
    let committed = fs::read(&path).unwrap_or_else(|error| {
        panic!(
            "failed to read {}: {error}; write it with CASCADE_BLESS_GOLDEN=1",
            path.display()
        )
    });
    assert!(
        committed == encoded,
        "the encoding of the golden hierarchy changed ({} bytes committed, {} now); \
         if intended, bump FORMAT_VERSION and add a golden file",
        committed.len(),
        encoded.len()
    );
}

#[test]
fn golden_files_decode_or_are_unsupported() {
    let mut found = 0;
    for entry in fs::read_dir(golden_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "snap") {
            continue;
        }
        found += 1;
        let bytes = fs::read(&path).unwrap();
        let version = Header::parse(&bytes).version;
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            name,
            format!("v{version}.snap"),
            "file name and header disagree"
        );

        let result = Snapshot::decode(&bytes);
        if version == FORMAT_VERSION {
            assert_eq!(result, Ok(golden_hierarchy()), "{name}");
        } else {
            let error = result.unwrap_err();
            assert_eq!(error, DecodeError::UnsupportedVersion { found: version });
            assert_eq!(error.code(), "SNAPSHOT_VERSION_UNSUPPORTED");
        }
    }
    assert!(found > 0, "no golden files in {}", golden_dir().display());
}

#[test]
fn golden_snapshot_evaluates_cascade() {
    let bytes = fs::read(golden_path(FORMAT_VERSION)).unwrap();
    let snapshot = Snapshot::decode(&bytes).unwrap();
    assert_eq!(Snapshot::peek_revision(&bytes), Ok(REVISION));

    let alice = snapshot
        .evaluate("tenant-a", Some("alice"), "max-seats")
        .unwrap();
    assert_eq!(
        (alice.value, alice.level),
        (ValueRef::Integer(-3), Level::User)
    );
    let upper = snapshot
        .evaluate("tenant-a", Some("Alice"), "beta")
        .unwrap();
    assert_eq!(
        (upper.value, upper.level),
        (ValueRef::Boolean(false), Level::User)
    );
    let lower = snapshot
        .evaluate("tenant-a", Some("alice"), "beta")
        .unwrap();
    assert_eq!(
        (lower.value, lower.level),
        (ValueRef::Boolean(true), Level::Integrator)
    );
    let seats = snapshot.evaluate("tenant-b", None, "max-seats").unwrap();
    assert_eq!(seats.value, ValueRef::Integer(i64::MAX));
    let limits = snapshot.evaluate("solo", None, "limits").unwrap();
    assert_eq!(limits.reason, Reason::Default);
    let unknown = snapshot.evaluate("nobody", None, "ratio").unwrap();
    assert_eq!(
        (unknown.value, unknown.reason),
        (ValueRef::Float(0.25), Reason::UnknownTenant)
    );
}

/// The test-side copy of the layout re-encodes the golden file exactly, so
/// it, and the documentation it follows, match the real format.
#[test]
fn golden_file_matches_documented_layout() {
    let bytes = fs::read(golden_path(FORMAT_VERSION)).unwrap();
    let (header, body) = open(&bytes);
    assert_eq!(&header.magic, b"CSNP");
    assert_eq!(header.version, FORMAT_VERSION);
    assert_eq!(header.revision, REVISION);
    assert_eq!(header.body_len, (bytes.len() - HEADER_LEN) as u64);
    assert_eq!(seal(REVISION, &body), bytes);

    let keys: Vec<&str> = body.flags.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "Beta",
            "beta",
            "checkout.flow",
            "limits",
            "max-seats",
            "ratio"
        ]
    );
    let tenants: Vec<&str> = body.tenants.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(tenants, ["solo", "tenant-a", "tenant-b"]);
    assert_eq!(body.users.id_ends.len(), 5);
}
