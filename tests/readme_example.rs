//! The report the README shows is a real run: this test builds its fixture,
//! runs `migguard check`, keeps the output as an insta snapshot (so a change
//! to it is reviewed) and checks that the README shows exactly that output.
//! The JSON report of the same run is a snapshot too.

mod common;

use common::{GitRepo, DIR};

fn fixture() -> GitRepo {
    let g = GitRepo::new();
    g.write(
        ".migguard.yaml",
        format!("migrations:\n  dir: {DIR}\n  format: golang-migrate\n"),
    );
    g.write(
        &format!("{DIR}/20240826120919_init.up.sql"),
        "CREATE TABLE \"customers\" (\"id\" bigint NOT NULL, PRIMARY KEY (\"id\"));\n",
    );
    g.write(
        &format!("{DIR}/20240826120919_init.down.sql"),
        "DROP TABLE \"customers\";\n",
    );
    g.add_migration(
        "20240903155435_customer_name",
        "ALTER TABLE \"customers\" ADD COLUMN \"name\" text;\n",
    );
    g.commit_all("init");
    // The branch: edits a created down file and adds a migration older
    // than the newest, without its down and without rehashing.
    g.write(
        &format!("{DIR}/20240826120919_init.down.sql"),
        "DROP TABLE IF EXISTS \"customers\";\n",
    );
    g.write(
        &format!("{DIR}/20240901000000_customer_email.up.sql"),
        "ALTER TABLE \"customers\" ADD COLUMN \"email\" text;\n",
    );
    g.stage_all();
    g
}

#[test]
fn the_readme_report_is_a_real_run() {
    let g = fixture();
    let out = g
        .migguard()
        .args(["check", "--color", "never"])
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    insta::assert_snapshot!("readme_report", text);
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    assert!(
        readme.contains(&format!("```text\n{text}```")),
        "README.md's \"What a report looks like\" is not this run's output:\n{text}"
    );

    let out = g
        .migguard()
        .args(["check", "--format", "json"])
        .output()
        .unwrap();
    let mut json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The commit id changes with the clock; the rest is fixed.
    json["base"] = serde_json::Value::String("<the HEAD commit>".into());
    insta::assert_snapshot!(
        "readme_report_json",
        serde_json::to_string_pretty(&json).unwrap()
    );
}
