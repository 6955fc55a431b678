//! Right on every real repository: histories, directory layouts and formats.
//! Each test builds the repository it needs (git CLI) and runs the binary.

mod common;

use std::time::Duration;

use common::{atlas_sum, check_json, findings, say, staged_json, GitRepo, Repo, DIR};

/// The oracle's atlas.sum over the files of `dir` that `keep` accepts.
fn sum_over(repo: &Repo, dir: &str, keep: impl Fn(&str) -> bool) -> String {
    let mut names: Vec<String> = std::fs::read_dir(repo.join(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".sql") && keep(n))
        .collect();
    names.sort();
    let contents: Vec<Vec<u8>> = names
        .iter()
        .map(|n| repo.read(&format!("{dir}/{n}")))
        .collect();
    let files: Vec<(&str, &[u8])> = names
        .iter()
        .map(String::as_str)
        .zip(contents.iter().map(Vec::as_slice))
        .collect();
    atlas_sum(&files)
}

fn rehash_all_sql(g: &GitRepo, dir: &str) {
    let sum = sum_over(&g.repo, dir, |_| true);
    g.write(&format!("{dir}/atlas.sum"), sum);
}

/// The JSON document of a run.
fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn run_json(g: &GitRepo, args: &[&str]) -> (i32, serde_json::Value) {
    let out = g
        .migguard()
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    (out.status.code().unwrap(), json(&out))
}

/// (path, format, format_from) of each directory in a JSON summary.
fn dirs_of(doc: &serde_json::Value) -> Vec<(String, String, String)> {
    doc["summary"]["directories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["path"].as_str().unwrap().to_string(),
                d["format"].as_str().unwrap().to_string(),
                d["format_from"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn notes_of(doc: &serde_json::Value) -> Vec<String> {
    doc["summary"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}

const GM: &str = "migrations:\n  dir: tools/migrate/migrations\n  format: golang-migrate\n";

// --- 1. legacy scope -------------------------------------------------------

#[test]
fn legacy_scope_appends_up_and_down_of_one_migration() {
    let g = GitRepo::new();
    g.write(".migguard.yaml", GM);
    for (stem, up) in [
        (
            "20240101000000_a",
            "CREATE TABLE a (id int, deleted_at timestamptz);\n",
        ),
        (
            "20240201000000_b",
            "CREATE TABLE b (id int, deleted_at timestamptz);\n",
        ),
    ] {
        g.write(&format!("{DIR}/{stem}.up.sql"), up);
        g.write(&format!("{DIR}/{stem}.down.sql"), "-- down\n");
    }
    rehash_all_sql(&g, DIR);
    g.commit_all("main");
    g.git(&["checkout", "-q", "-b", "feature"]);
    g.write(
        &format!("{DIR}/20240301000000_c.up.sql"),
        "CREATE TABLE c (id int, deleted_at timestamptz);\n",
    );
    g.write(
        &format!("{DIR}/20240301000000_c.down.sql"),
        "DROP TABLE c;\n",
    );
    rehash_all_sql(&g, DIR);
    g.commit_all("c");
    let (code, f) = check_json(&g, &["--base", "main"]);
    assert_eq!((code, f.len()), (0, 0), "{f:?}");

    // Two different migrations sharing a version are still caught.
    g.write(
        &format!("{DIR}/20240301000000_d.up.sql"),
        "CREATE TABLE d (id int, deleted_at timestamptz);\n",
    );
    g.write(
        &format!("{DIR}/20240301000000_d.down.sql"),
        "DROP TABLE d;\n",
    );
    rehash_all_sql(&g, DIR);
    g.commit_all("d");
    let (code, f) = check_json(&g, &["--base", "main"]);
    assert_eq!(code, 1, "{f:?}");
    let shared: Vec<_> = f
        .iter()
        .filter(|f| f.0 == "sum-history" && f.3.contains("share a version"))
        .collect();
    assert_eq!(shared.len(), 1, "{f:?}");
    assert!(
        shared[0].3.starts_with("20240301000000_d.down.sql"),
        "{f:?}"
    );
}

// --- 2. repairs ------------------------------------------------------------

#[test]
fn a_commit_that_repairs_drift_is_not_a_history_violation() {
    let g = GitRepo::new();
    g.write(".migguard.yaml", GM);
    g.add_migration(
        "20240101000000_init",
        "CREATE TABLE a (id int, deleted_at timestamptz);\n",
    );
    g.add_migration(
        "20240201000000_b",
        "CREATE TABLE b (id int, deleted_at timestamptz);\n",
    );
    g.add_migration("20240301000000_c", "ALTER TABLE a ADD COLUMN x int;\n");
    // The base's atlas.sum is drifted: the middle record's hash is wrong.
    let good = String::from_utf8(g.repo.read(&format!("{DIR}/atlas.sum"))).unwrap();
    let drifted: String = good
        .lines()
        .map(|l| {
            if l.starts_with("20240201000000_b.up.sql") {
                "20240201000000_b.up.sql h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
                    .to_string()
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect();
    g.write(&format!("{DIR}/atlas.sum"), &drifted);
    g.commit_all("main with drift");
    g.git(&["checkout", "-q", "-b", "repair"]);
    g.write(&format!("{DIR}/atlas.sum"), &good);
    g.commit_all("repair atlas.sum");
    let (code, doc) = run_json(&g, &["check", "--base", "main"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["findings"].as_array().unwrap().len(), 0, "{doc}");
    assert!(
        notes_of(&doc)
            .iter()
            .any(|n| n.contains("drift on the base repaired")),
        "{doc}"
    );

    // A real edit of a created migration: the message says the file changed.
    g.write(
        &format!("{DIR}/20240201000000_b.up.sql"),
        "CREATE TABLE b (id bigint);\n",
    );
    g.rehash();
    g.commit_all("edit b");
    let (code, f) = check_json(&g, &["--base", "main"]);
    assert_eq!(code, 1);
    let h: Vec<_> = f.iter().filter(|f| f.0 == "sum-history").collect();
    assert_eq!(h.len(), 1, "{f:?}");
    assert!(
        h[0].3
            .starts_with("20240201000000_b.up.sql differs from the file on main"),
        "{f:?}"
    );
}

// --- 3. new views ----------------------------------------------------------

#[test]
fn a_new_view_may_be_created_with_a_plain_create_view() {
    let g = common::view_repo(common::VIEW);
    g.commit_all("main");
    let new_view = "CREATE VIEW \"customer_ids\" AS SELECT \"id\" FROM \"customers\";\n";
    g.write(
        "tools/migrate/views.sql",
        format!("{}{new_view}", common::VIEW),
    );
    g.add_migration("20240201000000_ids", new_view);
    let (code, f) = staged_json(&g);
    assert_eq!((code, f.len()), (0, 0), "{f:?}");

    // A new view in views.sql that no migration creates: no "old view".
    g.git(&["reset", "-q", "--hard"]);
    g.git(&["clean", "-qfd"]);
    g.write(
        "tools/migrate/views.sql",
        format!("{}{new_view}", common::VIEW),
    );
    g.add_migration("20240201000000_other", "SELECT 1;\n");
    let (code, f) = staged_json(&g);
    assert_eq!(code, 1, "{f:?}");
    let v: Vec<_> = f.iter().filter(|f| f.0 == "view-missing-from-up").collect();
    assert_eq!(v.len(), 1, "{f:?}");
    assert!(v[0].3.contains("is new in"), "{f:?}");
    assert!(!v[0].3.contains("old view"), "{f:?}");
}

// --- 4. atlas.hcl as Atlas reads it ------------------------------------------

const PAIR_UP: &str = "CREATE TABLE t (id int, deleted_at timestamptz);\n";

#[test]
fn atlas_hcl_in_a_sub_folder_with_bare_formats_locals_and_several_envs() {
    let g = GitRepo::new();
    g.write(
        "db/atlas.hcl",
        r#"locals {
  sqlite = "file://sqlite?format=goose"
}
env "pg" {
  migration {
    dir = "file://migrations"
    format = golang-migrate
  }
}
env "lite" {
  migration {
    dir = "${local.sqlite}"
  }
}
"#,
    );
    g.write("db/migrations/20240101000000_a.up.sql", PAIR_UP);
    g.write("db/migrations/20240101000000_a.down.sql", "DROP TABLE t;\n");
    let sum = sum_over(&g.repo, "db/migrations", |n| n.ends_with(".up.sql"));
    g.write("db/migrations/atlas.sum", sum);
    g.write(
        "db/sqlite/20240101000000_a.sql",
        format!("-- +goose Up\n{PAIR_UP}-- +goose Down\nDROP TABLE t;\n"),
    );
    rehash_all_sql(&g, "db/sqlite");
    g.commit_all("main");
    let (code, doc) = run_json(&g, &["check", "--all"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(
        dirs_of(&doc),
        vec![
            (
                "db/migrations".into(),
                "golang-migrate".into(),
                "configured".into()
            ),
            ("db/sqlite".into(), "goose".into(), "configured".into()),
        ]
    );
    let out = g.migguard().arg("validate").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    // `--dir` picks one directory; its format still comes from atlas.hcl.
    let (code, doc) = run_json(&g, &["check", "--all", "--dir", "db/sqlite"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(
        dirs_of(&doc),
        vec![("db/sqlite".into(), "goose".into(), "configured".into())]
    );
}

// --- 5 and 6. zero-config discovery and formats from content -----------------

#[test]
fn zero_config_finds_every_directory_and_reads_goose_sections() {
    let g = GitRepo::new();
    // An atlas directory under a common name, and a goose one elsewhere.
    g.write("db/migrations/20240101000000.sql", PAIR_UP);
    rehash_all_sql(&g, "db/migrations");
    g.write(
        "internal/store/pg/20240101000000_init.sql",
        "-- +goose Up\nCREATE TABLE legacy (id int, deleted_at timestamptz);\n-- +goose Down\nDROP TABLE legacy;\n",
    );
    rehash_all_sql(&g, "internal/store/pg");
    // SQL files under a common name with no atlas.sum: not an Atlas dir.
    g.write(
        "sql/migrations/001_init.sql",
        "CREATE TABLE s (id int, deleted_at timestamptz);\n",
    );
    g.commit_all("main");
    // A new goose migration whose down section re-creates a table without
    // deleted_at: read as an up, it would be reported.
    g.write(
        "internal/store/pg/20240201000000_drop.sql",
        "-- +goose Up\nDROP TABLE legacy;\n-- +goose Down\nCREATE TABLE legacy (id int);\n",
    );
    rehash_all_sql(&g, "internal/store/pg");
    g.stage_all();
    let (code, doc) = run_json(&g, &["check"]);
    // Only the up section is judged: its DROP TABLE of an existing table
    // (taken with no lock_timeout set).
    assert_eq!(code, 1, "{doc}");
    let f = doc["findings"].as_array().unwrap();
    assert_eq!(f.len(), 2, "{doc}");
    assert_eq!(
        (f[0]["code"].as_str(), f[0]["line"].as_u64()),
        (Some("DS102"), Some(2)),
        "{doc}"
    );
    assert_eq!(
        (f[1]["rule"].as_str(), f[1]["line"].as_u64()),
        (Some("lock-timeout"), Some(2)),
        "{doc}"
    );
    assert_eq!(
        dirs_of(&doc),
        vec![
            ("db/migrations".into(), "atlas".into(), "detected".into()),
            (
                "internal/store/pg".into(),
                "goose".into(),
                "detected".into()
            ),
            ("sql/migrations".into(), "atlas".into(), "detected".into()),
        ]
    );
    // The human summary names each directory and its format.
    let out = g.migguard().arg("check").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("directory internal/store/pg (goose format, detected)"),
        "{text}"
    );

    // A finding carries its directory's path; --dir picks one.
    g.write(
        "internal/store/pg/20240301000000_x.sql",
        "-- +goose Up\nSELECT 1;\n",
    );
    g.stage_all();
    let (code, f) = check_json(&g, &[]);
    assert_eq!(code, 1);
    assert!(
        f.iter()
            .any(|f| f.0 == "sum-drift" && f.1 == "internal/store/pg/atlas.sum"),
        "{f:?}"
    );
    let (code, f) = check_json(&g, &["--dir", "db/migrations"]);
    assert_eq!((code, f.len()), (0, 0), "{f:?}");
}

#[test]
fn dbmate_and_flyway_directories_are_detected() {
    let g = GitRepo::new();
    g.write(
        "db/migrations/20240101000000_init.sql",
        "-- migrate:up\nCREATE TABLE a (id int, deleted_at timestamptz);\n\n-- migrate:down\nDROP TABLE a;\n",
    );
    g.write(
        "database/migrations/V1__init.sql",
        "CREATE TABLE f (id int, deleted_at timestamptz);\n",
    );
    g.write(
        "database/migrations/V2__more.sql",
        "CREATE TABLE g (id int, deleted_at timestamptz);\n",
    );
    g.commit_all("main");
    // dbmate: a down section that creates a table is not an up; flyway: a
    // new V1_5 is older than the created V2.
    g.write(
        "db/migrations/20240201000000_drop.sql",
        "-- migrate:up\nDROP TABLE a;\n\n-- migrate:down\nCREATE TABLE a (id int);\n",
    );
    g.write(
        "database/migrations/V1_5__late.sql",
        "CREATE TABLE h (id int, deleted_at timestamptz);\n",
    );
    g.stage_all();
    let (code, doc) = run_json(&g, &["check"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(
        dirs_of(&doc),
        vec![
            (
                "database/migrations".into(),
                "flyway".into(),
                "detected".into()
            ),
            ("db/migrations".into(), "dbmate".into(), "detected".into()),
        ]
    );
    let out = g
        .migguard()
        .args(["check", "--format", "json"])
        .output()
        .unwrap();
    let f = findings(&out);
    assert_eq!(f.len(), 3, "{f:?}");
    assert_eq!(
        (f[0].0.as_str(), f[0].1.as_str()),
        ("non-linear", "database/migrations/V1_5__late.sql")
    );
    // The dbmate up section is read: its DROP TABLE of an existing table.
    assert_eq!(
        (f[1].0.as_str(), f[1].1.as_str(), f[1].2),
        (
            "destructive-change",
            "db/migrations/20240201000000_drop.sql",
            Some(2)
        )
    );
    // ...taken with no lock_timeout set.
    assert_eq!((f[2].0.as_str(), f[2].2), ("lock-timeout", Some(2)));
}

#[test]
fn a_config_lists_several_directories() {
    let g = GitRepo::new();
    g.write(
        ".migguard.yaml",
        "migrations:\n  - dir: a\n    format: golang-migrate\n  - dir: b\n",
    );
    g.write("a/1_x.up.sql", PAIR_UP)
        .write("a/1_x.down.sql", "DROP TABLE t;\n");
    let sum = sum_over(&g.repo, "a", |n| n.ends_with(".up.sql"));
    g.write("a/atlas.sum", sum);
    g.write("b/1.sql", PAIR_UP);
    g.commit_all("main");
    let (code, doc) = run_json(&g, &["check", "--all"]);
    // b is configured, so its missing atlas.sum is reported.
    assert_eq!(code, 1, "{doc}");
    let f = doc["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "{doc}");
    assert_eq!(f[0]["path"], "b/atlas.sum");
    assert_eq!(
        dirs_of(&doc),
        vec![
            ("a".into(), "golang-migrate".into(), "configured".into()),
            ("b".into(), "atlas".into(), "detected".into()),
        ]
    );
}

#[test]
fn no_directory_at_all_is_exit_2_naming_what_was_looked_for() {
    let g = GitRepo::new();
    g.write("README.md", "nothing here\n");
    g.commit_all("main");
    let out = g.migguard().arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no migration directory found"), "{err}");
    assert!(err.contains("db/migrations"), "{err}");
}

// --- 7. atlas.sum scope ------------------------------------------------------

#[test]
fn fix_sum_without_config_hashes_every_sql_file_like_atlas() {
    let repo = Repo::new();
    repo.write("migrations/1_a.up.sql", "CREATE TABLE a (id int);\n");
    repo.write("migrations/1_a.down.sql", "DROP TABLE a;\n");
    let out = repo.migguard().args(["fix-sum"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let want = atlas_sum(&[
        ("1_a.down.sql", b"DROP TABLE a;\n"),
        ("1_a.up.sql", b"CREATE TABLE a (id int);\n"),
    ]);
    assert_eq!(
        String::from_utf8(repo.read("migrations/atlas.sum")).unwrap(),
        want
    );
    // The existing file keeps deciding: it lists a .down.sql, so the scope
    // stays every *.sql and validate agrees.
    let out = repo.migguard().args(["validate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // An existing atlas.sum over `*.up.sql` only keeps that scope.
    let ups = atlas_sum(&[("1_a.up.sql", b"CREATE TABLE a (id int);\n")]);
    repo.write("migrations/atlas.sum", &ups);
    let out = repo
        .migguard()
        .args(["fix-sum", "--check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// Every Atlas test directory of the corpus, with no config at all:
/// validate passes, fix-sum --check passes, and fix-sum from nothing
/// rewrites the committed file byte for byte.
#[test]
fn atlas_test_directories_reproduce_with_no_config() {
    let vectors =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/atlas-sum-vectors");
    if !vectors.is_dir() {
        say(&format!("skipped: no corpus at {}", vectors.display()));
        return;
    }
    let mut count = 0;
    for entry in std::fs::read_dir(&vectors).unwrap() {
        let src = entry.unwrap().path();
        let repo = Repo::bare_folder();
        for f in std::fs::read_dir(&src).unwrap() {
            let f = f.unwrap();
            repo.write(
                &format!("d/{}", f.file_name().to_str().unwrap()),
                std::fs::read(f.path()).unwrap(),
            );
        }
        let committed = repo.read("d/atlas.sum");
        for args in [
            &["validate", "--dir", "d"][..],
            &["fix-sum", "--check", "--dir", "d"],
        ] {
            let out = repo.migguard().args(args).output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "{args:?} {}: {out:?}",
                src.display()
            );
        }
        repo.remove("d/atlas.sum");
        let out = repo
            .migguard()
            .args(["fix-sum", "--dir", "d"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}: {out:?}", src.display());
        assert_eq!(repo.read("d/atlas.sum"), committed, "{}", src.display());
        count += 1;
    }
    assert_eq!(count, 22);
}

// --- 8. squashes ---------------------------------------------------------------

#[test]
fn a_squash_is_one_finding_and_can_be_accepted_in_review() {
    let g = GitRepo::new();
    g.write(".migguard.yaml", GM);
    for i in 0..50 {
        g.write(
            &format!("{DIR}/202401{:02}000000_m{i}.up.sql", i + 1),
            format!("CREATE TABLE t{i} (id int, deleted_at timestamptz);\n"),
        );
        g.write(
            &format!("{DIR}/202401{:02}000000_m{i}.down.sql", i + 1),
            format!("DROP TABLE t{i};\n"),
        );
    }
    g.rehash();
    g.commit_all("main");
    g.git(&["checkout", "-q", "-b", "squash"]);
    g.git(&["rm", "-q", "-r", DIR]);
    let squash = "20240301000000_squash";
    g.write(
        &format!("{DIR}/{squash}.up.sql"),
        "CREATE TABLE t0 (id int, deleted_at timestamptz);\n",
    );
    g.write(&format!("{DIR}/{squash}.down.sql"), "DROP TABLE t0;\n");
    g.rehash();
    g.commit_all("squash");
    let (code, doc) = run_json(&g, &["check", "--base", "main"]);
    assert_eq!(code, 1, "{doc}");
    let f = findings_of(&doc);
    assert_eq!(f.len(), 1, "{doc}");
    assert_eq!(f[0].0, "migration-edited");
    assert_eq!(f[0].1, format!("{DIR}/{squash}.up.sql"));
    assert!(
        f[0].3.starts_with("100 files of created migrations"),
        "{doc}"
    );
    // Accepted in review: a file-level ignore with the reason.
    g.write(
        &format!("{DIR}/{squash}.up.sql"),
        "-- migguard:ignore-file migration-edited squash reviewed in PR 42; every database is baselined\nCREATE TABLE t0 (id int, deleted_at timestamptz);\n",
    );
    g.rehash();
    g.commit_all("accept the squash");
    let (code, f) = check_json(&g, &["--base", "main"]);
    assert_eq!((code, f.len()), (0, 0), "{f:?}");
}

fn findings_of(doc: &serde_json::Value) -> Vec<(String, String, String, String)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["line"].to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

// --- 9. partial clones -----------------------------------------------------------

#[test]
fn a_blobless_partial_clone_gives_the_full_clone_verdict() {
    let origin = {
        let g = GitRepo::new();
        g.add_migration("20240101000000_a", "CREATE TABLE a (id int);\n");
        g.add_migration("20240201000000_b", "CREATE TABLE b (id int);\n");
        g.git(&["config", "uploadpack.allowFilter", "true"]);
        g.git(&["config", "uploadpack.allowAnySHA1InWant", "true"]);
        g.write(".migguard.yaml", GM);
        g.commit_all("main");
        g.git(&["checkout", "-q", "-b", "feature"]);
        g.write(
            &format!("{DIR}/20240201000000_b.up.sql"),
            "CREATE TABLE b (id bigint);\n",
        );
        g.rehash();
        g.commit_all("edit a created migration");
        g.git(&["checkout", "-q", "main"]);
        g
    };
    let verdict = |dir: &std::path::Path| {
        let out = assert_cmd::Command::cargo_bin("migguard")
            .unwrap()
            .current_dir(dir)
            .args(["check", "--base", "origin/main", "--format", "json"])
            .env("NO_COLOR", "1")
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        let mut f = if out.stdout.is_empty() {
            Vec::new()
        } else {
            findings(&out)
        };
        f.sort();
        (
            out.status.code(),
            f,
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let url = format!("file://{}", origin.repo.path().display());
    let clones = tempfile::tempdir().unwrap();
    let full = clones.path().join("full");
    let partial = clones.path().join("partial");
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
    };
    git(&["clone", "-q", "-b", "feature", &url, full.to_str().unwrap()]);
    git(&[
        "clone",
        "-q",
        "--filter=blob:none",
        "-b",
        "feature",
        &url,
        partial.to_str().unwrap(),
    ]);
    let (full_code, full_f, err) = verdict(&full);
    assert_eq!(full_code, Some(1), "{err}");
    assert!(
        full_f.iter().any(|f| f.0 == "migration-edited"),
        "{full_f:?}"
    );
    let (code, f, err) = verdict(&partial);
    assert_eq!((code, &f), (full_code, &full_f), "{err}");

    // A partial clone whose remote is gone: exit 2 naming the file.
    let broken = clones.path().join("broken");
    git(&[
        "clone",
        "-q",
        "--filter=blob:none",
        "-b",
        "feature",
        &url,
        broken.to_str().unwrap(),
    ]);
    git(&[
        "-C",
        broken.to_str().unwrap(),
        "remote",
        "set-url",
        "origin",
        "file:///nonexistent/repository",
    ]);
    let (code, _, err) = verdict(&broken);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("partial clone"), "{err}");
    assert!(err.contains("tools/migrate/migrations/"), "{err}");
}

// --- 11. readable output -------------------------------------------------------

#[test]
fn long_lines_are_cut_and_verbose_lists_unparsed_statements() {
    let g = GitRepo::new();
    g.write(".migguard.yaml", GM);
    g.add_migration(
        "20240101000000_init",
        "CREATE TABLE a (id int, deleted_at timestamptz);\n",
    );
    g.commit_all("main");
    // Atlas writes a CREATE TABLE on one line; this one lacks deleted_at.
    let cols: Vec<String> = (0..60)
        .map(|i| format!("\"column_{i}\" text NULL"))
        .collect();
    let up = format!(
        "DO $$ BEGIN PERFORM 1; END $$;\nCREATE TABLE \"wide\" ({}, PRIMARY KEY (\"column_0\"));\n",
        cols.join(", ")
    );
    assert!(up.lines().nth(1).unwrap().len() > 800);
    g.add_migration("20240201000000_wide", &up);
    g.stage_all();
    let out = g.migguard().args(["check", "--verbose"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("missing-soft-delete"), "{text}");
    for line in text.lines() {
        assert!(
            line.chars().count() <= 160,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    assert!(
        text.contains("tools/migrate/migrations/20240201000000_wide.up.sql:1: DO $$ BEGIN"),
        "{text}"
    );
}
