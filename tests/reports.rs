//! One run, every report (`--report FORMAT=PATH`), the markdown report, and
//! the exit code the team chooses (`--fail-on`).

mod common;

use common::{GitRepo, DIR};

const GM: &str = "migrations:\n  dir: tools/migrate/migrations\n  format: golang-migrate\n";

/// main with one migration; staged: a new migration without its down (a
/// warning) and, with `error`, a created migration edited (an error).
fn repo(error: bool) -> GitRepo {
    let g = GitRepo::new();
    g.write(".migguard.yaml", GM);
    g.add_migration(
        "20240101000000_init",
        "CREATE TABLE a (id int, deleted_at timestamptz);\n",
    );
    g.commit_all("main");
    g.add_migration(
        "20240201000000_b",
        "CREATE TABLE b (id int, deleted_at timestamptz);\n",
    );
    g.repo.remove(&format!("{DIR}/20240201000000_b.down.sql"));
    if error {
        g.write(&format!("{DIR}/20240101000000_init.down.sql"), "edited\n");
    }
    g.stage_all();
    g
}

#[test]
fn one_run_writes_every_report() {
    let g = repo(true);
    let out = g
        .migguard()
        .args([
            "check",
            "--report",
            "sarif=out/migguard.sarif",
            "--report",
            "json=out/report.json",
            "--report",
            "markdown=summary.md",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    // The main report on stdout is the human one.
    let human = String::from_utf8_lossy(&out.stdout);
    assert!(
        human.contains("migration-edited") && human.contains("1 error, 1 warning"),
        "{human}"
    );
    let json: serde_json::Value = serde_json::from_slice(&g.repo.read("out/report.json")).unwrap();
    assert_eq!(json["summary"]["errors"], 1);
    assert_eq!(json["summary"]["warnings"], 1);
    let sarif: serde_json::Value =
        serde_json::from_slice(&g.repo.read("out/migguard.sarif")).unwrap();
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 2);
    let md = String::from_utf8(g.repo.read("summary.md")).unwrap();
    assert!(
        md.starts_with("## migguard\n\n**1 error, 1 warning**"),
        "{md}"
    );
    assert!(
        md.contains("| `migration-edited` | 1 |") && md.contains("| `missing-down` | 1 |"),
        "{md}"
    );
    assert!(
        md.contains(&format!("### `{DIR}/20240101000000_init.down.sql`")),
        "{md}"
    );
    assert!(md.contains("  ```sql\n  edited\n  ```"), "{md}");
}

#[test]
fn fail_on_chooses_the_exit_code() {
    let warn_only = repo(false);
    let code = |g: &GitRepo, args: &[&str]| {
        g.migguard()
            .arg("check")
            .args(args)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(code(&warn_only, &[]), Some(0));
    assert_eq!(code(&warn_only, &["--fail-on", "warn"]), Some(1));
    let with_error = repo(true);
    assert_eq!(code(&with_error, &[]), Some(1));
    assert_eq!(code(&with_error, &["--fail-on", "never"]), Some(0));
    assert_eq!(code(&with_error, &["--fail-on", "sometimes"]), Some(2));
}

#[test]
fn an_unwritable_report_is_exit_2_after_the_findings_are_printed() {
    let g = repo(true);
    g.write("taken", "a file, not a folder\n");
    let out = g
        .migguard()
        .args(["check", "--report", "json=taken/report.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("migration-edited"));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("taken"),
        "{out:?}"
    );
}

#[test]
fn a_bad_report_spec_is_exit_2_naming_it() {
    let g = repo(false);
    for (spec, says) in [
        ("sarif", "expected FORMAT=PATH"),
        ("pdf=out.pdf", "unknown format `pdf`"),
        ("json=", "the PATH after `=` is empty"),
    ] {
        let out = g
            .migguard()
            .args(["check", "--report", spec])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{spec}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{spec}: {err}");
    }
}
