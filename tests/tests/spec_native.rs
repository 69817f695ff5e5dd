//! Runs the cascade spec corpus against the native evaluator, on built
//! snapshots and on snapshots that went through encode and decode, and
//! checks the `spec-snapshots` export that the JavaScript hosts read.

use std::fs;
use std::process::Command;

use cascade_e2e::spec::{self, Outcome, SpecFile};
use cascade_shared::Snapshot;
use serde_json::Value;

fn corpus() -> Vec<(std::path::PathBuf, SpecFile)> {
    match spec::load_corpus(&spec::corpus_dir()) {
        Ok(corpus) => corpus,
        Err(error) => panic!("invalid spec corpus: {error}"),
    }
}

#[test]
fn corpus_has_at_least_forty_cases() {
    let cases: usize = corpus()
        .iter()
        .flat_map(|(_, file)| &file.snapshots)
        .map(|snapshot| snapshot.cases.len())
        .sum();
    assert!(cases >= 40, "only {cases} cases found");
}

#[test]
fn corpus_passes_on_built_snapshots() {
    let mut failures = Vec::new();
    for (path, file) in corpus() {
        for spec in &file.snapshots {
            let snapshot = spec.build().unwrap();
            for mismatch in spec::check_snapshot(spec, &snapshot) {
                failures.push(format!("{}: {mismatch}", path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn corpus_passes_after_encode_and_decode() {
    let mut failures = Vec::new();
    for (path, file) in corpus() {
        for spec in &file.snapshots {
            let bytes = spec.build().unwrap().encode().unwrap();
            let snapshot = Snapshot::decode(&bytes).unwrap();
            for mismatch in spec::check_snapshot(spec, &snapshot) {
                failures.push(format!("{}: {mismatch}", path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn export_writes_decodable_snapshots_and_results() {
    let out = tempfile::tempdir().unwrap();
    let written = spec::export_corpus(&spec::corpus_dir(), out.path()).unwrap();
    let corpus = corpus();
    assert_eq!(written.len(), corpus.len());

    for (path, file) in &corpus {
        let name = path.file_name().unwrap();
        let text = fs::read_to_string(out.path().join(name)).unwrap();
        let results: Value = serde_json::from_str(&text).unwrap();
        let snapshots = results["snapshots"].as_array().unwrap();
        assert_eq!(snapshots.len(), file.snapshots.len(), "{name:?}");

        for (spec, exported) in file.snapshots.iter().zip(snapshots) {
            let snap_file = exported["file"].as_str().unwrap();
            let bytes = fs::read(out.path().join(snap_file)).unwrap();
            let snapshot = Snapshot::decode(&bytes).unwrap();
            assert_eq!(snapshot.revision(), spec.revision, "{snap_file}");

            let cases = exported["cases"].as_array().unwrap();
            assert_eq!(cases.len(), spec.cases.len(), "{snap_file}");
            for (case, exported_case) in spec.cases.iter().zip(cases) {
                let result: Outcome =
                    serde_json::from_value(exported_case["result"].clone()).unwrap();
                let expected = case.expected(spec.revision);
                assert!(
                    result.agrees_with(&expected),
                    "{snap_file} case {:?}: exported {result}, expected {expected}",
                    case.name
                );
            }
        }
    }
}

#[test]
fn export_lists_all_flags_per_context() {
    let out = tempfile::tempdir().unwrap();
    spec::export_corpus(&spec::corpus_dir(), out.path()).unwrap();
    let text = fs::read_to_string(out.path().join("value-types.json")).unwrap();
    let results: Value = serde_json::from_str(&text).unwrap();
    let all = &results["snapshots"][0]["all"];
    let alice = all
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["tenant"] == "tenant-a" && entry["user"] == "alice")
        .unwrap();
    let keys: Vec<&str> = alice["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|flag| flag["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "bool-flag",
            "float-flag",
            "int-flag",
            "object-flag",
            "string-flag"
        ]
    );
    assert_eq!(alice["flags"][2]["value"], 0);
    assert_eq!(alice["flags"][2]["level"], "user");
}

#[test]
fn spec_snapshots_binary_writes_directory() {
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("nested/spec");
    let output = Command::new(env!("CARGO_BIN_EXE_spec-snapshots"))
        .arg(&target)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");

    let mut names: Vec<String> = fs::read_dir(&target)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.contains(&"override-removed.json".to_owned()));
    assert!(names.contains(&"override-removed.r20.snap".to_owned()));
    assert_eq!(
        names.iter().filter(|n| n.ends_with(".json")).count(),
        corpus().len()
    );
}

#[test]
fn spec_snapshots_binary_requires_one_argument() {
    let output = Command::new(env!("CARGO_BIN_EXE_spec-snapshots"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("output directory"), "{stderr}");
}
