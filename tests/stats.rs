//! `migguard stats` against a real PostgreSQL (a throwaway cluster playing
//! production), and lock findings sized by the file it writes.

mod common;

use common::GitRepo;
use serde_json::Value;

const CONFIG: &str = "migrations:\n  dir: migrations\n  format: atlas\nsafety:\n  stats: .migguard/stats.json\n  small_table_rows: 100\n  large_table_rows: 10000\n";

const BASE: &str = "CREATE TABLE billing_invoices (id bigint PRIMARY KEY, note varchar(20));\nCREATE TABLE tiny (id bigint PRIMARY KEY, v int);\nCREATE TABLE unknown_here (id bigint PRIMARY KEY, v int);\n";

/// A cluster with database `prod` (two tables of known size) and a
/// read-only role, and the URL that role reaches `prod` with.
fn production() -> (migguard::Cluster, String) {
    let cluster = migguard::Cluster::start().unwrap();
    let mut admin = cluster.server().connect("postgres").unwrap();
    admin.batch_execute("CREATE DATABASE prod").unwrap();
    admin.batch_execute("CREATE ROLE reader LOGIN").unwrap();
    let mut prod = cluster.server().connect("prod").unwrap();
    prod.batch_execute(
        "CREATE TABLE billing_invoices (id bigint PRIMARY KEY, note varchar(20));\n\
         INSERT INTO billing_invoices SELECT g, 'n' FROM generate_series(1, 20000) g;\n\
         CREATE TABLE tiny (id bigint PRIMARY KEY, v int);\n\
         INSERT INTO tiny SELECT g, g FROM generate_series(1, 10) g;\n\
         ANALYZE;",
    )
    .unwrap();
    let url = format!(
        "postgres:///prod?user=reader&host={}",
        cluster.socket_dir().display()
    );
    (cluster, url)
}

fn repo() -> GitRepo {
    let g = GitRepo::new();
    g.write(".migguard.yaml", CONFIG);
    g.write("migrations/20240101000000_base.sql", BASE);
    g.commit_all("base");
    g
}

#[test]
fn stats_describes_the_tables_without_reading_rows() {
    if !common::have_postgres() {
        return;
    }
    let (_cluster, url) = production();
    let g = repo();
    // The role may only read the catalog: that is all stats needs.
    let out = g
        .migguard()
        .args(["stats", "--dev-url", &url])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(g.repo.join(".migguard/stats.json")).unwrap(),
    )
    .unwrap();
    assert!(
        doc["server_version"].as_str().unwrap().starts_with("15"),
        "{doc:#}"
    );
    assert!(doc["taken_at"].as_str().unwrap().ends_with('Z'), "{doc:#}");
    let tables = doc["tables"].as_array().unwrap();
    let table = |name: &str| tables.iter().find(|t| t["name"] == name).unwrap().clone();
    let big = table("billing_invoices");
    assert_eq!(big["rows"], 20000.0, "{doc:#}");
    assert!(big["bytes"].as_i64().unwrap() > 8192, "{doc:#}");
    assert_eq!(table("tiny")["rows"], 10.0);
    // Estimates and sizes only: no row data in the file.
    for t in tables {
        let keys: Vec<&str> = t.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["bytes", "name", "rows", "schema"], "{t:#}");
    }
}

fn check(g: &GitRepo) -> Value {
    let out = g
        .migguard()
        .args(["check", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn finding<'a>(doc: &'a Value, rule: &str, line: u64) -> &'a Value {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule && f["line"] == line)
        .unwrap_or_else(|| panic!("no {rule} at line {line}: {doc:#}"))
}

fn notes(doc: &Value) -> String {
    doc["summary"]["notes"].to_string()
}

#[test]
fn lock_findings_are_sized_by_the_statistics() {
    if !common::have_postgres() {
        return;
    }
    let (_cluster, url) = production();
    let g = repo();
    let out = g
        .migguard()
        .args([
            "stats",
            "--dev-url",
            &url,
            "-o",
            ".migguard/stats.json",
            "-q",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    g.write(
        "migrations/20240201000000_change.sql",
        "SET lock_timeout = '2s';\nALTER TABLE billing_invoices ALTER COLUMN note TYPE integer USING 0;\nCREATE INDEX tiny_v ON tiny (v);\nCREATE INDEX unknown_v ON unknown_here (v);\n",
    );
    g.stage_all();
    let doc = check(&g);
    // A rewrite of 20,000 rows (above large_table_rows): an error, sized.
    let big = finding(&doc, "table-rewrite", 2);
    assert_eq!(big["severity"], "error", "{big:#}");
    assert!(
        big["message"]
            .as_str()
            .unwrap()
            .contains("(billing_invoices: ~20k rows, "),
        "{big:#}"
    );
    // An index on 10 rows (below small_table_rows): info.
    let small = finding(&doc, "index-lock", 3);
    assert_eq!(small["severity"], "info", "{small:#}");
    assert!(
        small["message"]
            .as_str()
            .unwrap()
            .contains("(tiny: ~10 rows, "),
        "{small:#}"
    );
    // A table the file lacks keeps its severity, and the summary says so.
    let unknown = finding(&doc, "index-lock", 4);
    assert_eq!(unknown["severity"], "warn", "{unknown:#}");
    assert!(
        notes(&doc).contains("has no table the findings name (unknown_here)"),
        "{doc:#}"
    );
    // An old file is said to be old; nothing fails because of it.
    let path = g.repo.join(".migguard/stats.json");
    let old = std::fs::read_to_string(&path).unwrap().replacen(
        "\"taken_at\": \"20",
        "\"taken_at\": \"2020-01-01T00:00:00Z\", \"was\": \"20",
        1,
    );
    std::fs::write(&path, old).unwrap();
    let doc = check(&g);
    assert!(notes(&doc).contains("was taken on 2020-01-01"), "{doc:#}");
    // A missing file is a note, not an error.
    std::fs::remove_file(&path).unwrap();
    let doc = check(&g);
    assert!(
        notes(&doc).contains("safety.stats: cannot read .migguard/stats.json"),
        "{doc:#}"
    );
    assert_eq!(finding(&doc, "table-rewrite", 2)["severity"], "warn");
}
