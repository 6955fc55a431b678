//! Real-world corpus: atlas.sum files written by the real Atlas CLI must be
//! reproduced byte for byte. Skipped, with the reason printed, when
//! `../shared/corpus` is absent (a user's clone does not have it).

mod common;

use std::path::{Path, PathBuf};

use migguard::{DirFormat, DiskDir};
use migguard::{DirSum, SUM_FILE_NAME as FILE_NAME};

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if dir.is_dir() {
        Some(dir.canonicalize().unwrap())
    } else {
        common::say(&format!(
            "skipped: no real-world corpus at {} (it is not part of the repository)",
            dir.display()
        ));
        None
    }
}

/// Recomputes `dir`'s atlas.sum and returns (computed, committed).
fn recompute(dir: &Path, format: DirFormat) -> (String, Vec<u8>) {
    let disk = DiskDir::open(dir, dir, false).unwrap();
    let committed = disk.read(FILE_NAME).unwrap();
    let sum = DirSum::compute(format, true, &disk.names, Some(committed.clone()), |n| {
        disk.read(n)
    })
    .unwrap();
    assert!(
        sum.drifts().is_empty(),
        "{}: {:?}",
        dir.display(),
        sum.drifts()
    );
    (sum.expected.marshal(), committed)
}

#[test]
fn atlas_sum_vectors_reproduce_byte_for_byte() {
    let Some(corpus) = corpus() else { return };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus.join("atlas-sum-vectors"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert_eq!(
        dirs.len(),
        22,
        "the corpus README lists 22 vector directories"
    );
    for dir in dirs {
        let (computed, committed) = recompute(&dir, DirFormat::Atlas);
        assert_eq!(
            computed.as_bytes(),
            committed.as_slice(),
            "{}",
            dir.display()
        );
    }
}

#[test]
fn openmeter_golang_migrate_reproduces_byte_for_byte() {
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("openmeter/migrations");
    let (computed, committed) = recompute(&dir, DirFormat::GolangMigrate);
    assert_eq!(computed.as_bytes(), committed.as_slice());
    assert_eq!(
        computed.lines().count(),
        270,
        "header and 269 .up.sql entries"
    );
}

#[test]
fn openmeter_through_the_cli_with_its_atlas_hcl() {
    let Some(corpus) = corpus() else { return };
    // Lay the corpus out as the OpenMeter repository does, reading atlas.hcl
    // for the directory and format.
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir(repo.path().join(".git")).unwrap();
    std::fs::copy(
        corpus.join("openmeter/atlas.hcl"),
        repo.path().join("atlas.hcl"),
    )
    .unwrap();
    let dir = repo.path().join("tools/migrate/migrations");
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(corpus.join("openmeter/migrations")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    let run = |args: &[&str]| {
        assert_cmd::Command::cargo_bin("migguard")
            .unwrap()
            .current_dir(repo.path())
            .env_remove("GITHUB_ACTIONS")
            .args(args)
            .assert()
    };
    let out = run(&["validate"]).code(0);
    // 269 .up.sql files and atlas.sum; the .down.sql files are not hashed.
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("no findings (270 files checked)"), "{text}");
    run(&["fix-sum", "--check"]).code(0);
    // One edited migration is named, at its line.
    let victim = dir.join("20250818081817_subscription-period.up.sql");
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes.extend_from_slice(b"-- edited\n");
    std::fs::write(&victim, bytes).unwrap();
    let out = run(&["validate", "--format", "json"]).code(1);
    let doc: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1);
    assert!(doc["findings"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("20250818081817_subscription-period.up.sql was edited"));
    run(&["fix-sum"]).code(0);
    run(&["validate"]).code(0);
}
