//! Peers' own cases: for each migguard rule with an equivalent in squawk,
//! the bad and good patterns squawk's rule documentation shows (written
//! here from those patterns, on tables that exist on the base side) get the
//! same verdict from migguard. Where PostgreSQL 15 disagrees with the peer,
//! the case says so and follows PostgreSQL (`tests/lock_claims.rs` checks
//! each claim on a real server).

mod common;

use common::GitRepo;

/// What exists before the change: the tables squawk's examples name.
const BASE: &str = "CREATE TABLE core_recipe (id bigint PRIMARY KEY, foo integer, edits varchar(100), amount integer);\n\
CREATE TABLE \"user\" (id bigint PRIMARY KEY);\n\
CREATE TABLE email (id bigint PRIMARY KEY, user_id bigint, address text);\n\
CREATE TABLE table_name (id bigint PRIMARY KEY, field_name text);\n\
CREATE INDEX field_name_idx ON table_name (field_name);\n\
CREATE TABLE items (id bigint NOT NULL, name text);\n";

/// The rules (and codes) migguard reports on `sql`, a new atlas migration
/// after `BASE`.
fn verdict(sql: &str) -> Vec<(String, String)> {
    let g = GitRepo::new();
    g.write(
        ".migguard.yaml",
        "migrations:\n  dir: migrations\n  format: atlas\n",
    );
    g.write("migrations/20240101000000_base.sql", BASE);
    g.commit_all("base");
    g.write("migrations/20240201000000_change.sql", sql);
    g.stage_all();
    let out = g
        .migguard()
        .args(["check", "--format", "json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["code"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// squawk's rule, migguard's rule and code, a bad and a good migration.
struct Case {
    squawk: &'static str,
    rule: &'static str,
    code: &'static str,
    bad: &'static str,
    good: &'static str,
}

const CASES: &[Case] = &[
    Case {
        squawk: "adding-field-with-default",
        rule: "table-rewrite",
        code: "PG302",
        bad: "SET lock_timeout = '2s';\nALTER TABLE core_recipe ADD COLUMN uid uuid DEFAULT gen_random_uuid();\n",
        // A constant default: no rewrite since PostgreSQL 11 (squawk agrees
        // for 11 and later).
        good: "SET lock_timeout = '2s';\nALTER TABLE core_recipe ADD COLUMN bar integer DEFAULT 10;\n",
    },
    Case {
        squawk: "adding-foreign-key-constraint",
        rule: "constraint-validation-lock",
        code: "PG306",
        bad: "SET lock_timeout = '2s';\nALTER TABLE email ADD CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES \"user\" (id);\n",
        good: "SET lock_timeout = '2s';\nALTER TABLE email ADD CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES \"user\" (id) NOT VALID;\n",
    },
    Case {
        squawk: "adding-not-nullable-field",
        rule: "not-null-scan",
        code: "PG303",
        bad: "SET lock_timeout = '2s';\nALTER TABLE core_recipe ALTER COLUMN foo SET NOT NULL;\n",
        // PostgreSQL 12 and later: a validated CHECK (foo IS NOT NULL) spares
        // the scan (squawk's docs show the same recipe).
        good: "-- atlas:txmode none\n\nSET lock_timeout = '2s';\nALTER TABLE core_recipe ADD CONSTRAINT foo_not_null CHECK (foo IS NOT NULL) NOT VALID;\nALTER TABLE core_recipe VALIDATE CONSTRAINT foo_not_null;\nALTER TABLE core_recipe ALTER COLUMN foo SET NOT NULL;\n",
    },
    Case {
        squawk: "adding-required-field",
        rule: "data-dependent-change",
        code: "MF103",
        bad: "ALTER TABLE core_recipe ADD COLUMN bar integer NOT NULL;\n",
        good: "ALTER TABLE core_recipe ADD COLUMN bar integer NOT NULL DEFAULT 10;\n",
    },
    Case {
        squawk: "ban-drop-column",
        rule: "destructive-change",
        code: "DS103",
        bad: "ALTER TABLE core_recipe DROP COLUMN foo;\n",
        good: "ALTER TABLE core_recipe ADD COLUMN bar integer;\n",
    },
    Case {
        squawk: "ban-drop-table",
        rule: "destructive-change",
        code: "DS102",
        bad: "DROP TABLE items;\n",
        good: "CREATE TABLE scratch (id bigint);\nDROP TABLE scratch;\n",
    },
    Case {
        squawk: "changing-column-type",
        rule: "table-rewrite",
        code: "PG301",
        bad: "SET lock_timeout = '2s';\nALTER TABLE core_recipe ALTER COLUMN amount TYPE bigint;\n",
        // squawk reports every type change; PostgreSQL 15 does not rewrite a
        // varchar that becomes text (binary coercible; relfilenode kept,
        // checked in lock_claims.rs), so migguard does not report it.
        good: "SET lock_timeout = '2s';\nALTER TABLE core_recipe ALTER COLUMN edits TYPE text;\n",
    },
    Case {
        squawk: "constraint-missing-not-valid",
        rule: "constraint-validation-lock",
        code: "PG305",
        bad: "SET lock_timeout = '2s';\nALTER TABLE core_recipe ADD CONSTRAINT positive CHECK (amount > 0);\n",
        good: "SET lock_timeout = '2s';\nALTER TABLE core_recipe ADD CONSTRAINT positive CHECK (amount > 0) NOT VALID;\n",
    },
    Case {
        squawk: "disallowed-unique-constraint",
        rule: "unique-constraint-lock",
        code: "PG105",
        bad: "SET lock_timeout = '2s';\nALTER TABLE table_name ADD CONSTRAINT field_name_constraint UNIQUE (field_name);\n",
        good: "SET lock_timeout = '2s';\nALTER TABLE table_name ADD CONSTRAINT field_name_constraint UNIQUE USING INDEX field_name_idx;\n",
    },
    Case {
        squawk: "renaming-column",
        rule: "backward-incompatible-change",
        code: "BC102",
        bad: "ALTER TABLE core_recipe RENAME COLUMN foo TO bar;\n",
        good: "ALTER TABLE core_recipe ADD COLUMN bar integer;\n",
    },
    Case {
        squawk: "renaming-table",
        rule: "backward-incompatible-change",
        code: "BC101",
        bad: "ALTER TABLE core_recipe RENAME TO core_foo;\n",
        // The old name kept as a view: old readers go on.
        good: "ALTER TABLE core_recipe RENAME TO core_foo;\nCREATE VIEW core_recipe AS SELECT * FROM core_foo;\n",
    },
    Case {
        squawk: "require-concurrent-index-creation",
        rule: "index-lock",
        code: "PG101",
        bad: "SET lock_timeout = '2s';\nCREATE INDEX email_address_idx ON email (address);\n",
        good: "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY email_address_idx ON email (address);\n",
    },
    Case {
        squawk: "require-concurrent-index-deletion",
        rule: "index-lock",
        code: "PG102",
        bad: "SET lock_timeout = '2s';\nDROP INDEX IF EXISTS field_name_idx;\n",
        good: "-- atlas:txmode none\n\nDROP INDEX CONCURRENTLY IF EXISTS field_name_idx;\n",
    },
    Case {
        squawk: "transaction-nesting",
        rule: "transaction-control",
        code: "TX201",
        bad: "BEGIN;\nALTER TABLE core_recipe ADD COLUMN bar integer;\nCOMMIT;\n",
        good: "ALTER TABLE core_recipe ADD COLUMN bar integer;\n",
    },
    Case {
        squawk: "adding-primary-key-constraint",
        rule: "unique-constraint-lock",
        code: "PG104",
        bad: "SET lock_timeout = '2s';\nALTER TABLE items ADD PRIMARY KEY (id);\n",
        good: "SET lock_timeout = '2s';\nCREATE TABLE other (id bigint);\nALTER TABLE other ADD PRIMARY KEY (id);\n",
    },
    Case {
        squawk: "ban-concurrent-index-creation-in-transaction",
        rule: "concurrently-in-transaction",
        code: "PG103",
        bad: "CREATE INDEX CONCURRENTLY email_address_idx ON email (address);\n",
        good: "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY email_address_idx ON email (address);\n",
    },
    Case {
        squawk: "require-timeout-settings",
        rule: "lock-timeout",
        code: "",
        bad: "ALTER TABLE core_recipe ADD COLUMN bar integer;\n",
        good: "SET lock_timeout = '2s';\nALTER TABLE core_recipe ADD COLUMN bar integer;\n",
    },
];

#[test]
fn squawks_documented_cases_get_the_same_verdict() {
    let mut wrong = Vec::new();
    for case in CASES {
        let bad = verdict(case.bad);
        let good = verdict(case.good);
        let hit = |found: &[(String, String)]| {
            found
                .iter()
                .any(|(r, c)| r == case.rule && (case.code.is_empty() || c == case.code))
        };
        if !hit(&bad) {
            wrong.push(format!(
                "{}: the bad case gets no {} {}: {bad:?}",
                case.squawk, case.rule, case.code
            ));
        }
        if hit(&good) {
            wrong.push(format!(
                "{}: the good case gets {} {}: {good:?}",
                case.squawk, case.rule, case.code
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
