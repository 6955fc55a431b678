//! Atlas's analyzers through `migguard check`: codes in every report,
//! `atlas:nolint` honoured, only objects that exist on the base side.

mod common;

use common::GitRepo;

const GM: &str = "migrations:\n  dir: tools/migrate/migrations\n  format: golang-migrate\n";

/// main: a `users` table with a foreign key; staged: `up` as a new migration.
fn repo(up: &str) -> GitRepo {
    let g = GitRepo::new();
    g.write(".migguard.yaml", GM);
    g.add_migration(
        "20240101000000_init",
        "CREATE TABLE \"orgs\" (\"id\" bigint NOT NULL, \"deleted_at\" timestamptz NULL, PRIMARY KEY (\"id\"));\nCREATE TABLE \"users\" (\"id\" bigint NOT NULL, \"email\" text NULL, \"org_id\" bigint NULL, \"deleted_at\" timestamptz NULL, PRIMARY KEY (\"id\"), CONSTRAINT \"users_orgs\" FOREIGN KEY (\"org_id\") REFERENCES \"orgs\" (\"id\"));\n",
    );
    g.commit_all("main");
    g.add_migration("20240201000000_change", up);
    g.stage_all();
    g
}

fn codes(g: &GitRepo, args: &[&str]) -> (i32, Vec<(String, String, usize)>) {
    let out = g
        .migguard()
        .args(["check", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("code").is_some())
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["code"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap() as usize,
            )
        })
        .collect();
    (out.status.code().unwrap(), found)
}

#[test]
fn each_analyzer_reports_its_code_on_the_statement() {
    let g = repo(
        "-- modify \"users\" table\nALTER TABLE \"users\" DROP COLUMN \"email\";\nALTER TABLE \"users\" ADD COLUMN \"name\" text NOT NULL;\nALTER TABLE \"users\" RENAME COLUMN \"org_id\" TO \"organization_id\";\nALTER TABLE \"users\" DROP CONSTRAINT \"users_orgs\";\nDROP TABLE \"orgs\";\n",
    );
    let (code, found) = codes(&g, &[]);
    assert_eq!(code, 1, "destructive-change is an error");
    let path_line = |c: &str| found.iter().find(|f| f.1 == c).map(|f| (f.0.as_str(), f.2));
    assert_eq!(path_line("DS103"), Some(("destructive-change", 2)));
    assert_eq!(path_line("MF103"), Some(("data-dependent-change", 3)));
    assert_eq!(
        path_line("BC102"),
        Some(("backward-incompatible-change", 4))
    );
    assert_eq!(path_line("CD101"), Some(("constraint-dropped", 5)));
    assert_eq!(path_line("DS102"), Some(("destructive-change", 6)));
    assert_eq!(found.len(), 5, "{found:?}");

    // The code in SARIF, GitHub annotations and markdown too.
    let out = g
        .migguard()
        .args(["check", "--format", "sarif"])
        .output()
        .unwrap();
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let result = &sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "destructive-change")
        .unwrap()
        .clone();
    assert_eq!(result["properties"]["code"], "DS103");
    assert!(result["message"]["text"]
        .as_str()
        .unwrap()
        .starts_with("DS103: Dropping non-virtual column \"email\""));
    let out = g
        .migguard()
        .args(["check", "--format", "github"])
        .output()
        .unwrap();
    let gh = String::from_utf8_lossy(&out.stdout);
    assert!(
        gh.contains("title=destructive-change (DS103)::Dropping non-virtual column \"email\""),
        "{gh}"
    );
    let out = g
        .migguard()
        .args(["check", "--format", "markdown"])
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        md.contains(
            "**error** `destructive-change` (DS103) line 2: Dropping non-virtual column \"email\""
        ),
        "{md}"
    );
}

#[test]
fn atlas_nolint_and_migguard_ignore_are_honoured() {
    let g = repo(
        "-- atlas:nolint DS103\nALTER TABLE \"users\" DROP COLUMN \"email\";\n-- atlas:nolint destructive\nDROP TABLE \"orgs\";\n-- migguard:ignore data-dependent-change every row gets a value from the app first\nALTER TABLE \"users\" ADD COLUMN \"name\" text NOT NULL;\n-- atlas:nolint MF103\nALTER TABLE \"users\" RENAME COLUMN \"org_id\" TO \"organization_id\";\n",
    );
    let (code, found) = codes(&g, &[]);
    assert_eq!(
        found,
        vec![(
            "backward-incompatible-change".to_string(),
            "BC102".to_string(),
            8
        )]
    );
    assert_eq!(code, 0, "a warning only");
    let out = g.migguard().args(["check"]).output().unwrap();
    let human = String::from_utf8_lossy(&out.stdout);
    assert!(
        human.contains("2 finding(s) skipped by -- atlas:nolint directives"),
        "{human}"
    );

    // A bare file directive (top of the file, then a blank line): the
    // whole file is skipped.
    let g = repo(
        "-- atlas:nolint\n\nALTER TABLE \"users\" DROP COLUMN \"email\";\nDROP TABLE \"orgs\";\n",
    );
    assert_eq!(codes(&g, &[]), (0, vec![]));
}

#[test]
fn only_objects_of_the_base_side_count() {
    // A table created by an earlier new migration of the same change is new:
    // dropping its column, renaming it, indexing it uniquely is fine.
    let g = GitRepo::new();
    g.write(".migguard.yaml", GM);
    g.add_migration("20240101000000_init", "CREATE TABLE \"users\" (\"id\" bigint NOT NULL, \"deleted_at\" timestamptz NULL, PRIMARY KEY (\"id\"));\n");
    g.commit_all("main");
    g.git(&["branch", "-M", "main"]);
    g.git(&["checkout", "-q", "-b", "feature"]);
    g.add_migration("20240201000000_a", "CREATE TABLE \"t\" (\"id\" bigint NOT NULL, \"a\" text, \"deleted_at\" timestamptz NULL, PRIMARY KEY (\"id\"));\nALTER TABLE \"users\" ADD COLUMN \"nick\" text NULL;\n");
    g.commit_all("a");
    g.add_migration("20240202000000_b", "ALTER TABLE \"t\" DROP COLUMN \"a\";\nALTER TABLE \"t\" ADD COLUMN \"b\" text NOT NULL;\nALTER TABLE \"users\" DROP COLUMN \"nick\";\nCREATE UNIQUE INDEX \"t_b\" ON \"t\" (\"b\", \"deleted_at\");\n");
    g.commit_all("b");
    assert_eq!(codes(&g, &["--base", "main"]), (0, vec![]));
    // The same statements against a base that has the table are reported
    // (the unique index built without CONCURRENTLY on an existing table,
    // and while the file's one implicit transaction holds line 3's lock on
    // "users"; not MF101: line 2 only succeeds on an empty table).
    let (_, found) = codes(&g, &["--base", "HEAD~1"]);
    let got: Vec<&str> = found.iter().map(|f| f.1.as_str()).collect();
    assert_eq!(
        got,
        ["DS103", "MF103", "DS103", "PG101", "PG801"],
        "{found:?}"
    );
    // `--all` (an audit) judges each migration against all earlier ones:
    // here, what `--base HEAD~1` reports for the last one.
    assert_eq!(codes(&g, &["--all"]).1, found);
}

/// A `format` directory `db/migrations` whose base creates table `t`;
/// staged: `new_file` with `new`. Returns the lock and transaction codes.
fn tx_codes(
    format: &str,
    base_file: &str,
    base: &str,
    new_file: &str,
    new: &str,
) -> Vec<(String, usize)> {
    let g = GitRepo::new();
    g.write(
        ".migguard.yaml",
        format!("migrations:\n  dir: db/migrations\n  format: {format}\n"),
    );
    g.write(&format!("db/migrations/{base_file}"), base);
    g.commit_all("main");
    g.write(&format!("db/migrations/{new_file}"), new);
    g.stage_all();
    let out = g
        .migguard()
        .args([
            "check",
            "--format",
            "json",
            "--rule",
            "concurrently-in-transaction",
            "--rule",
            "transaction-control",
            "--rule",
            "index-lock",
        ])
        .output()
        .unwrap();
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{out:?}"));
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap() as usize,
            )
        })
        .collect()
}

#[test]
fn each_format_runs_its_files_its_own_way() {
    let cic = "CREATE INDEX CONCURRENTLY \"t_a\" ON \"t\" (\"a\");\n";
    let pg103 = |line| vec![("PG103".to_string(), line)];
    // goose: in a transaction unless NO TRANSACTION.
    let goose_base = "-- +goose Up\nCREATE TABLE t (a int);\n-- +goose Down\nDROP TABLE t;\n";
    assert_eq!(
        tx_codes(
            "goose",
            "1_init.sql",
            goose_base,
            "2_ix.sql",
            &format!("-- +goose Up\n{cic}")
        ),
        pg103(2)
    );
    assert_eq!(
        tx_codes("goose", "1_init.sql", goose_base, "2_ix.sql", &format!("-- +goose NO TRANSACTION\n-- +goose Up\n{cic}-- +goose Down\nDROP INDEX CONCURRENTLY t_a;\n")),
        vec![]
    );
    // atlas: in a transaction unless the header says txmode none.
    let atlas_base = "CREATE TABLE t (a int);\n";
    assert_eq!(
        tx_codes("atlas", "1_init.sql", atlas_base, "2_ix.sql", cic),
        pg103(1)
    );
    assert_eq!(
        tx_codes(
            "atlas",
            "1_init.sql",
            atlas_base,
            "2_ix.sql",
            &format!("-- atlas:txmode none\n\n{cic}")
        ),
        vec![]
    );
    assert_eq!(
        tx_codes(
            "atlas",
            "1_init.sql",
            atlas_base,
            "2_ix.sql",
            "BEGIN;\nALTER TABLE t ADD COLUMN b int;\nCOMMIT;\n"
        ),
        vec![("TX201".to_string(), 1), ("TX201".to_string(), 3)]
    );
    // dbmate: unless transaction:false.
    let dbmate_base = "-- migrate:up\nCREATE TABLE t (a int);\n-- migrate:down\nDROP TABLE t;\n";
    assert_eq!(
        tx_codes(
            "dbmate",
            "1_init.sql",
            dbmate_base,
            "2_ix.sql",
            &format!("-- migrate:up\n{cic}")
        ),
        pg103(2)
    );
    assert_eq!(
        tx_codes(
            "dbmate",
            "1_init.sql",
            dbmate_base,
            "2_ix.sql",
            &format!("-- migrate:up transaction:false\n{cic}")
        ),
        vec![]
    );
    // golang-migrate: alone in its file it runs; with another statement the
    // file is one implicit transaction. Its own BEGIN/COMMIT are right.
    let gm = |up: &str| {
        tx_codes(
            "golang-migrate",
            "1_init.up.sql",
            atlas_base,
            "2_ix.up.sql",
            up,
        )
    };
    assert_eq!(gm(cic), vec![]);
    assert_eq!(gm(&format!("SET lock_timeout = '5s';\n{cic}")), pg103(2));
    assert_eq!(
        gm("BEGIN;\nALTER TABLE t ADD COLUMN b int;\nCOMMIT;\n"),
        vec![]
    );
    // Without CONCURRENTLY on the existing table: the lock rule instead.
    assert_eq!(
        gm("CREATE INDEX t_a ON t (a);\n"),
        vec![("PG101".to_string(), 1)]
    );
}

/// `migguard check ARGS` in `g`: exit code, JSON summary and human output.
fn coverage_of(g: &GitRepo, args: &[&str]) -> (i32, serde_json::Value, String) {
    let out = g
        .migguard()
        .args(["check", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let human = g.migguard().args(["check"]).args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        doc["summary"].clone(),
        String::from_utf8_lossy(&human.stdout).into_owned()
            + &String::from_utf8_lossy(&human.stderr),
    )
}

#[test]
fn the_summary_counts_what_was_analysed_and_what_was_not() {
    let g = repo(
        "SET lock_timeout = '2s';\nALTER TABLE \"users\" ADD COLUMN \"nick\" text NULL;\nDO $$ BEGIN EXECUTE 'ALTER TABLE users ADD COLUMN x int'; END $$;\nCREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.nick := 'x'; RETURN NEW; END $$;\n",
    );
    let (code, summary, human) = coverage_of(&g, &[]);
    assert_eq!(code, 0, "{human}");
    assert_eq!(summary["analysed"], 2, "{summary:#}");
    assert_eq!(summary["not_analysed"], 2, "{summary:#}");
    let listed: Vec<(u64, &str)> = summary["not_analysed_statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["line"].as_u64().unwrap(), u["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(listed, [(3, "DO block"), (4, "function body")]);
    assert!(
        human.contains("2 statements of the new migrations analysed, 2 not (1 DO block, 1 function body; --verbose lists them)"),
        "{human}"
    );
    assert!(human.contains("migguard: no findings ("), "{human}");
    let (_, _, verbose) = coverage_of(&g, &["--verbose"]);
    assert!(
        verbose.contains(
            "tools/migrate/migrations/20240201000000_change.up.sql:3: DO block: DO $$ BEGIN EXECUTE 'ALTER TABLE"
        ),
        "{verbose}"
    );
}

#[test]
fn a_change_nothing_of_which_could_be_analysed_is_not_all_clear() {
    let g = repo(
        "DO $$ BEGIN EXECUTE 'ALTER TABLE users ALTER COLUMN email TYPE int USING 0'; END $$;\n",
    );
    let (code, summary, human) = coverage_of(&g, &[]);
    assert_eq!(code, 0, "{human}");
    assert_eq!(
        (
            summary["analysed"].as_u64(),
            summary["not_analysed"].as_u64()
        ),
        (Some(0), Some(1))
    );
    assert!(
        human.contains("migguard: no findings, but nothing in the new migrations could be analysed: review them by hand"),
        "{human}"
    );
    assert!(!human.contains("migguard: no findings ("), "{human}");
    // No new migration: nothing to count, nothing said.
    g.commit_all("change");
    let (code, summary, human) = coverage_of(&g, &[]);
    assert_eq!(code, 0, "{human}");
    assert_eq!(
        (
            summary["analysed"].as_u64(),
            summary["not_analysed"].as_u64()
        ),
        (Some(0), Some(0))
    );
    assert!(!human.contains("analysed"), "{human}");
}

#[test]
fn info_findings_are_shown_and_never_fail_a_run() {
    let g = repo("SET lock_timeout = '2s';\nALTER TABLE \"users\" ADD COLUMN \"doc\" json NULL;\n");
    let out = g
        .migguard()
        .args(["check", "--format", "json", "--fail-on", "warn"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &doc["findings"][0];
    assert_eq!(
        (
            f["rule"].as_str(),
            f["severity"].as_str(),
            f["code"].as_str()
        ),
        (Some("prefer-jsonb"), Some("info"), Some("PG701")),
        "{doc:#}"
    );
    assert_eq!(doc["summary"]["infos"], 1);
    let human = g.migguard().args(["check"]).output().unwrap();
    let text = String::from_utf8_lossy(&human.stdout).into_owned();
    assert!(
        text.contains("migguard: no errors or warnings, 1 info finding ("),
        "{text}"
    );
    let sarif = g
        .migguard()
        .args(["check", "--format", "sarif"])
        .output()
        .unwrap();
    let sarif: serde_json::Value = serde_json::from_slice(&sarif.stdout).unwrap();
    assert_eq!(sarif["runs"][0]["results"][0]["level"], "note", "{sarif:#}");
    let github = g
        .migguard()
        .args(["check", "--format", "github"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&github.stdout).starts_with("::notice "));
}
