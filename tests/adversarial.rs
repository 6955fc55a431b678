//! Hostile input: each case gives findings or exit 2 with a clear message,
//! never a panic (exit 101), and finishes within 5 seconds.

mod common;

use std::time::{Duration, Instant};

use common::{atlas_sum, golang_migrate_repo, sum_of_ups, GitRepo, Repo, DIR};

/// Runs migguard in `dir` with `args`; asserts no panic and the time bound;
/// returns (exit code, stdout + stderr).
fn run(repo: &Repo, sub: &str, args: &[&str]) -> (i32, String) {
    let start = Instant::now();
    let out = repo
        .migguard_in(sub)
        .args(args)
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let took = start.elapsed();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let code = out.status.code().unwrap_or(-1);
    assert_ne!(code, 101, "migguard panicked on {args:?}:\n{text}");
    assert!(
        code == 0 || code == 1 || code == 2,
        "exit {code} on {args:?}:\n{text}"
    );
    assert!(took < Duration::from_secs(5), "{args:?} took {took:?}");
    assert!(!text.contains("panicked"), "{text}");
    (code, text)
}

fn sum_path() -> String {
    format!("{DIR}/atlas.sum")
}

#[test]
fn atlas_sum_shapes() {
    let repo = golang_migrate_repo();
    let good = sum_of_ups(&repo);
    let lines: Vec<&str> = good.lines().collect();
    for (what, text, reason) in [
        (
            "conflict markers",
            format!(
                "{}\n<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> b\n",
                lines[0], lines[1], lines[2]
            ),
            "merge-conflict markers",
        ),
        ("CRLF", good.replace('\n', "\r\n"), "CRLF"),
        (
            "no trailing newline",
            good.trim_end().to_string(),
            "newline",
        ),
        (
            "duplicate entries",
            format!("{good}{}\n", lines[2]),
            "more than once",
        ),
        (
            "entry for a missing file",
            format!("{good}20990101000000_ghost.up.sql h1:AAAA=\n"),
            "not in the migration directory",
        ),
        (
            "binary garbage",
            "\u{0}\u{1}\u{2}h1:\u{7f}".to_string(),
            "sum-drift",
        ),
        ("only a header", "h1:abc=\n".to_string(), "not listed"),
    ] {
        repo.write(&sum_path(), &text);
        let (code, out) = run(&repo, ".", &["validate"]);
        assert_eq!(code, 1, "{what}: {out}");
        assert!(out.contains(reason), "{what}: {out}");
        let (code, _) = run(&repo, ".", &["fix-sum"]);
        assert_eq!(code, 0, "{what}");
        assert_eq!(
            run(&repo, ".", &["validate"]).0,
            0,
            "{what}: fix-sum repairs it"
        );
    }
}

#[test]
fn hostile_sql_files() {
    let g = GitRepo::new();
    g.write(
        ".migguard.yaml",
        "migrations:\n  dir: tools/migrate/migrations\n  format: golang-migrate\n",
    );
    let many: String = (0..10_000)
        .map(|i| format!("INSERT INTO t VALUES ({i});\n"))
        .collect();
    let nested = "/*".repeat(50) + " deep " + &"*/".repeat(50) + "\nSELECT 1;\n";
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "20240101000000_binary",
            (0u8..=255).cycle().take(64 * 1024).collect(),
        ),
        ("20240102000000_latin1", b"SELECT '\xe9\xe8';\n".to_vec()),
        (
            "20240103000000_bom",
            b"\xef\xbb\xbfCREATE TABLE t (id int, deleted_at timestamptz);\n".to_vec(),
        ),
        ("20240104000000_many", many.into_bytes()),
        ("20240105000000_nested", nested.into_bytes()),
        (
            "20240106000000_dollar",
            b"DO $body$ BEGIN; never closed".to_vec(),
        ),
        (
            "20240107000000_string",
            b"SELECT 'never closed;\nSELECT 2;".to_vec(),
        ),
        ("20240108000000_empty", Vec::new()),
    ];
    for (stem, bytes) in &cases {
        g.write(&format!("{DIR}/{stem}.up.sql"), bytes);
        g.write(&format!("{DIR}/{stem}.down.sql"), "SELECT 1;\n");
    }
    g.rehash();
    g.stage_all();
    for args in [&["validate"][..], &["check"], &["check", "--all"]] {
        let (code, out) = run(&g.repo, ".", args);
        assert!(code == 0 || code == 1, "{args:?}: {out}");
    }
    let (_, out) = run(&g.repo, ".", &["check", "--all", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(
        out.lines()
            .take_while(|l| !l.starts_with("migguard:"))
            .collect::<Vec<_>>()
            .join("\n")
            .as_str(),
    )
    .unwrap();
    assert!(doc["summary"]["statements"].as_u64().unwrap() > 10_000);
}

#[test]
fn a_100_mb_migration() {
    let g = GitRepo::new();
    g.write(
        ".migguard.yaml",
        "migrations:\n  dir: tools/migrate/migrations\n  format: golang-migrate\n",
    );
    g.commit_all("init");
    let line = b"INSERT INTO t VALUES (1);\n";
    let big: Vec<u8> = line.iter().copied().cycle().take(100 << 20).collect();
    g.write(&format!("{DIR}/20240101000000_big.up.sql"), &big);
    g.write(&format!("{DIR}/20240101000000_big.down.sql"), "SELECT 1;\n");
    let (code, out) = run(&g.repo, ".", &["validate"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(run(&g.repo, ".", &["fix-sum"]).0, 0);
    assert_eq!(run(&g.repo, ".", &["validate"]).0, 0);
    let (code, out) = run(&g.repo, ".", &["check", "--all"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("not parsed"), "{out}");
}

#[test]
fn symlinks_out_of_the_repository_are_never_followed() {
    let outside = Repo::bare_folder();
    outside.write("secret.sql", "SELECT 'secret';\n");
    let g = GitRepo::new();
    g.write(
        ".migguard.yaml",
        "migrations:\n  dir: tools/migrate/migrations\n  format: atlas\n",
    );
    g.write(&format!("{DIR}/1_a.sql"), "SELECT 1;\n");
    std::os::unix::fs::symlink(
        outside.join("secret.sql"),
        g.repo.join(&format!("{DIR}/2_link.sql")),
    )
    .unwrap();
    for args in [&["validate"][..], &["fix-sum"], &["check", "--all"]] {
        let (code, out) = run(&g.repo, ".", args);
        assert_eq!(code, 2, "{args:?}: {out}");
        assert!(
            out.contains("refusing to follow a symlink"),
            "{args:?}: {out}"
        );
        assert!(!out.contains("secret'"), "{out}");
    }
    // Committed as a git symlink: the staged check refuses it too.
    g.stage_all();
    let (code, out) = run(&g.repo, ".", &["check"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("refusing to follow a symlink"), "{out}");
    assert!(
        !g.repo.join(&format!("{DIR}/atlas.sum")).exists(),
        "fix-sum wrote nothing"
    );
}

#[test]
fn config_paths_cannot_leave_the_repository() {
    let g = GitRepo::new();
    for yaml in [
        "views:\n  generated: ../../etc/passwd\n",
        "ent:\n  schema: /etc\n",
        "generated:\n  - paths: [\"../outside/**\"]\n",
        "migrations:\n  dir: ../x\n",
    ] {
        g.write(".migguard.yaml", yaml);
        for args in [&["validate"][..], &["check", "--all"]] {
            let (code, out) = run(&g.repo, ".", args);
            assert_eq!(code, 2, "{yaml} {args:?}: {out}");
            assert!(out.contains("repository"), "{out}");
        }
    }
}

#[test]
fn wrong_types_and_unknown_keys() {
    let g = GitRepo::new();
    g.write(&format!("{DIR}/1_a.up.sql"), "SELECT 1;\n");
    for (yaml, want) in [
        ("migrations: [1, 2]\n", ".migguard.yaml:1:"),
        ("generated:\n  - paths: yes\n", ".migguard.yaml:2:"),
        ("rules:\n  sum-drift: 3\n", ".migguard.yaml:2:"),
        ("base: origin/main\nbsae: x\n", "unknown field `bsae`"),
        (
            "conventions:\n  exempt_tables: {a: b}\n",
            ".migguard.yaml:2:",
        ),
        ("\u{0}\u{1}", ".migguard.yaml:"),
    ] {
        g.write(".migguard.yaml", yaml);
        for args in [&["validate"][..], &["check"]] {
            let (code, out) = run(&g.repo, ".", args);
            assert_eq!(code, 2, "{yaml:?}: {out}");
            assert!(out.contains(want), "{yaml:?}: {out}");
        }
    }
}

#[test]
fn odd_repositories() {
    // No commits yet, a migration dir that is a file, detached HEAD.
    let g = GitRepo::new();
    g.write(
        ".migguard.yaml",
        "migrations:\n  dir: tools/migrate/migrations\n  format: golang-migrate\n",
    );
    g.write("tools/migrate/migrations", "not a folder");
    let (code, out) = run(&g.repo, ".", &["check"]);
    assert!(code == 0 || code == 2, "{out}");
    let (code, out) = run(&g.repo, ".", &["validate"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("is a file"), "{out}");
    std::fs::remove_file(g.repo.join("tools/migrate/migrations")).unwrap();
    g.add_migration(
        "20240101000000_a",
        "CREATE TABLE a (id int, deleted_at timestamptz);\n",
    );
    g.commit_all("a");
    g.add_migration(
        "20240201000000_b",
        "CREATE TABLE b (id int, deleted_at timestamptz);\n",
    );
    g.commit_all("b");
    g.git(&["checkout", "-q", "--detach", "HEAD~1"]);
    assert_eq!(run(&g.repo, ".", &["check"]).0, 0);
    assert_eq!(run(&g.repo, ".", &["check", "--base", "main"]).0, 0);
}

#[test]
fn sparse_checkout_and_strange_paths() {
    let g = GitRepo::new();
    let dir = "db migrations/ünïcödé";
    g.write(
        ".migguard.yaml",
        format!("migrations:\n  dir: \"{dir}\"\n  format: golang-migrate\n"),
    );
    g.write(
        &format!("{dir}/20240101000000_a b.up.sql"),
        "CREATE TABLE a (id int, deleted_at timestamptz);\n",
    );
    g.write(
        &format!("{dir}/20240101000000_a b.down.sql"),
        "DROP TABLE a;\n",
    );
    g.write("other/big.txt", "x\n");
    g.migguard().arg("fix-sum").assert().code(0);
    g.commit_all("init");
    assert_eq!(run(&g.repo, ".", &["check", "--all"]).0, 0);
    // Only the migrations are checked out; the rest is sparse.
    g.git(&["sparse-checkout", "set", "db migrations"]);
    assert!(!g.repo.join("other/big.txt").exists());
    g.write(
        &format!("{dir}/20240101000000_a b.down.sql"),
        "DROP TABLE IF EXISTS a;\n",
    );
    g.stage_all();
    let (code, out) = run(&g.repo, ".", &["check", "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("migration-edited") && out.contains("ünïcödé/20240101000000_a b.down.sql"),
        "{out}"
    );
}

#[test]
fn bare_and_shallow_and_missing() {
    let g = GitRepo::new();
    g.add_migration(
        "20240101000000_a",
        "CREATE TABLE a (id int, deleted_at timestamptz);\n",
    );
    g.commit_all("a");
    let (code, out) = run(&g.repo, ".", &["check", "--base", "no-such-branch"]);
    assert_eq!(code, 2);
    assert!(out.contains("fetch-depth: 0"), "{out}");
    let bare = tempfile::tempdir().unwrap();
    std::process::Command::new("git")
        .args([
            "clone",
            "-q",
            "--bare",
            g.repo.path().to_str().unwrap(),
            "b.git",
        ])
        .current_dir(bare.path())
        .status()
        .unwrap();
    let r = Repo { dir: bare };
    let (code, out) = run(&r, "b.git", &["check"]);
    assert_eq!(code, 2);
    assert!(out.contains("bare repository"), "{out}");
}

#[test]
fn outside_any_repository() {
    let folder = Repo::bare_folder();
    folder.write("m/1.sql", "SELECT 1;\n");
    folder.write("m/atlas.sum", atlas_sum(&[("1.sql", b"SELECT 1;\n")]));
    assert_eq!(run(&folder, ".", &["validate", "--dir", "m"]).0, 0);
    let (code, out) = run(&folder, ".", &["check"]);
    assert_eq!(code, 2);
    assert!(out.contains("not a git repository"), "{out}");
}
