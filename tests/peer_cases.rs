//! Peers' own cases: for each migguard rule with an equivalent in squawk or
//! pgfence, the bad and good patterns their rule documentation shows
//! (squawk's rule pages; pgfence's rule catalog `RULES.md` and its checks
//! pages; written here from those patterns, on tables that exist on the base
//! side) get the same verdict from migguard. Where PostgreSQL 15 disagrees with the peer,
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
CREATE TABLE items (id bigint NOT NULL, name text);\n\
CREATE SCHEMA s;\n\
CREATE TABLE parent (id bigint PRIMARY KEY);\n\
CREATE TABLE t (id bigint PRIMARY KEY, col text, name varchar(50), n integer, parent_id bigint, during tstzrange);\n\
CREATE INDEX idx_t_n ON t (n);\n\
CREATE UNIQUE INDEX uq_t_col ON t (col);\n\
ALTER TABLE t ADD CONSTRAINT fk_existing FOREIGN KEY (parent_id) REFERENCES parent (id) NOT VALID;\n\
CREATE MATERIALIZED VIEW mv AS SELECT id FROM t;\n\
CREATE UNIQUE INDEX mv_id ON mv (id);\n\
CREATE TABLE events (id bigint, at date) PARTITION BY RANGE (at);\n";

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

/// pgfence's pattern, migguard's rule and code (empty: any code of the
/// rule), the bad migration, and the safe rewrite pgfence documents (none
/// where its advice is to keep the statement out of migrations).
struct PgfenceCase {
    pattern: &'static str,
    rule: &'static str,
    code: &'static str,
    bad: &'static str,
    good: Option<&'static str>,
}

/// No transaction around the file (atlas), for the `CONCURRENTLY` forms.
macro_rules! no_tx {
    ($sql:expr) => {
        concat!("-- atlas:txmode none\n\nSET lock_timeout = '2s';\n", $sql)
    };
}

/// The file starts with `SET lock_timeout`, as pgfence asks of every file.
macro_rules! timed {
    ($sql:expr) => {
        concat!("SET lock_timeout = '2s';\n", $sql)
    };
}

const PGFENCE_CASES: &[PgfenceCase] = &[
    PgfenceCase {
        pattern: "ALTER COLUMN ... TYPE (rewrites; widening varchar does not)",
        rule: "table-rewrite",
        code: "PG301",
        bad: timed!("ALTER TABLE t ALTER COLUMN n TYPE bigint;\n"),
        good: Some(timed!("ALTER TABLE t ALTER COLUMN name TYPE varchar(255);\n")),
    },
    PgfenceCase {
        pattern: "ADD COLUMN ... DEFAULT <volatile>",
        rule: "table-rewrite",
        code: "PG302",
        bad: timed!("ALTER TABLE t ADD COLUMN created timestamptz DEFAULT clock_timestamp();\n"),
        good: Some(timed!("ALTER TABLE t ADD COLUMN IF NOT EXISTS created timestamptz;\n")),
    },
    PgfenceCase {
        pattern: "ADD COLUMN ... NOT NULL without a DEFAULT",
        rule: "data-dependent-change",
        code: "MF103",
        bad: timed!("ALTER TABLE t ADD COLUMN status text NOT NULL;\n"),
        good: Some(timed!("ALTER TABLE t ADD COLUMN IF NOT EXISTS status text;\n")),
    },
    PgfenceCase {
        pattern: "SET LOGGED / SET UNLOGGED",
        rule: "table-rewrite",
        code: "PG307",
        bad: timed!("ALTER TABLE t SET UNLOGGED;\n"),
        good: None,
    },
    PgfenceCase {
        pattern: "VACUUM FULL",
        rule: "maintenance-lock",
        code: "PG503",
        bad: no_tx!("VACUUM FULL t;\n"),
        good: None,
    },
    PgfenceCase {
        pattern: "CLUSTER table USING idx",
        rule: "maintenance-lock",
        code: "PG504",
        bad: timed!("CLUSTER t USING idx_t_n;\n"),
        good: None,
    },
    PgfenceCase {
        pattern: "ADD CONSTRAINT ... FOREIGN KEY (then VALIDATE separately)",
        rule: "constraint-validation-lock",
        code: "PG306",
        bad: timed!("ALTER TABLE t ADD CONSTRAINT fk_t_parent FOREIGN KEY (parent_id) REFERENCES parent (id);\n"),
        good: Some(timed!("ALTER TABLE t ADD CONSTRAINT fk_t_parent FOREIGN KEY (parent_id) REFERENCES parent (id) NOT VALID;\n")),
    },
    PgfenceCase {
        pattern: "ADD CONSTRAINT ... CHECK without NOT VALID",
        rule: "constraint-validation-lock",
        code: "PG305",
        bad: timed!("ALTER TABLE t ADD CONSTRAINT t_col_nn CHECK (col IS NOT NULL);\n"),
        good: Some(timed!("ALTER TABLE t ADD CONSTRAINT t_col_nn CHECK (col IS NOT NULL) NOT VALID;\n")),
    },
    PgfenceCase {
        pattern: "NOT VALID + VALIDATE CONSTRAINT in the same transaction (#25)",
        rule: "constraint-validation-lock",
        // Reported with the ADD's own code (PG306 here: "validating ... in
        // the same transaction that added it NOT VALID"); PG308 is for a
        // VALIDATE after another statement's lock.
        code: "",
        bad: timed!("ALTER TABLE t ADD CONSTRAINT fk_t_parent FOREIGN KEY (parent_id) REFERENCES parent (id) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT fk_t_parent;\n"),
        // VALIDATE in a migration of its own.
        good: Some(timed!("ALTER TABLE t VALIDATE CONSTRAINT fk_existing;\n")),
    },
    PgfenceCase {
        pattern: "ADD CONSTRAINT ... UNIQUE without USING INDEX",
        rule: "unique-constraint-lock",
        code: "",
        bad: timed!("ALTER TABLE t ADD CONSTRAINT uq_t_name UNIQUE (name);\n"),
        // The index was built CONCURRENTLY by an earlier migration.
        good: Some(timed!("ALTER TABLE t ADD CONSTRAINT uq_t_col UNIQUE USING INDEX uq_t_col;\n")),
    },
    PgfenceCase {
        pattern: "ADD CONSTRAINT ... EXCLUDE",
        rule: "exclusion-constraint",
        code: "PG601",
        bad: timed!("ALTER TABLE t ADD CONSTRAINT t_no_overlap EXCLUDE USING gist (during WITH &&);\n"),
        good: None,
    },
    PgfenceCase {
        pattern: "CREATE INDEX without CONCURRENTLY",
        rule: "index-lock",
        code: "PG101",
        bad: timed!("CREATE INDEX idx_t_col ON t (col);\n"),
        good: Some(no_tx!("CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_t_col ON t (col);\n")),
    },
    PgfenceCase {
        pattern: "DROP INDEX without CONCURRENTLY",
        rule: "index-lock",
        code: "PG102",
        bad: timed!("DROP INDEX idx_t_n;\n"),
        good: Some(no_tx!("DROP INDEX CONCURRENTLY idx_t_n;\n")),
    },
    PgfenceCase {
        pattern: "CREATE INDEX CONCURRENTLY inside a transaction (#27)",
        rule: "concurrently-in-transaction",
        code: "PG103",
        bad: timed!("CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_t_col ON t (col);\n"),
        good: Some(no_tx!("CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_t_col ON t (col);\n")),
    },
    PgfenceCase {
        pattern: "REINDEX INDEX (prefer REINDEX INDEX CONCURRENTLY)",
        rule: "maintenance-lock",
        code: "PG501",
        bad: timed!("REINDEX INDEX idx_t_n;\n"),
        good: Some(no_tx!("REINDEX INDEX CONCURRENTLY idx_t_n;\n")),
    },
    PgfenceCase {
        pattern: "REINDEX TABLE",
        rule: "maintenance-lock",
        code: "PG501",
        bad: timed!("REINDEX TABLE t;\n"),
        good: Some(no_tx!("REINDEX TABLE CONCURRENTLY t;\n")),
    },
    PgfenceCase {
        pattern: "REFRESH MATERIALIZED VIEW (non-concurrent)",
        rule: "maintenance-lock",
        code: "PG502",
        bad: timed!("REFRESH MATERIALIZED VIEW mv;\n"),
        good: Some(timed!("REFRESH MATERIALIZED VIEW CONCURRENTLY mv;\n")),
    },
    PgfenceCase {
        pattern: "DETACH PARTITION (blocking; CONCURRENTLY on PostgreSQL 14+)",
        rule: "maintenance-lock",
        code: "PG506",
        bad: timed!("ALTER TABLE events DETACH PARTITION events_2020;\n"),
        good: Some(no_tx!("ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;\n")),
    },
    PgfenceCase {
        pattern: "Bulk UPDATE without WHERE (#28)",
        rule: "backfill-in-transaction",
        code: "PG803",
        bad: timed!("UPDATE t SET col = 'x';\n"),
        good: Some(timed!("UPDATE t SET col = 'x' WHERE id IN (SELECT id FROM t WHERE col IS NULL LIMIT 1000);\n")),
    },
    PgfenceCase {
        pattern: "Missing SET lock_timeout",
        rule: "lock-timeout",
        code: "",
        bad: "ALTER TABLE t ADD COLUMN x integer;\n",
        good: Some(timed!("ALTER TABLE t ADD COLUMN x integer;\n")),
    },
    PgfenceCase {
        pattern: "lock_timeout set after dangerous DDL",
        rule: "lock-timeout",
        code: "",
        bad: "ALTER TABLE t ADD COLUMN x integer;\nSET lock_timeout = '2s';\n",
        good: Some(timed!("ALTER TABLE t ADD COLUMN x integer;\n")),
    },
    PgfenceCase {
        pattern: "DROP TABLE",
        rule: "destructive-change",
        code: "DS102",
        bad: timed!("DROP TABLE items;\n"),
        good: None,
    },
    PgfenceCase {
        pattern: "DROP COLUMN",
        rule: "destructive-change",
        code: "DS103",
        bad: timed!("ALTER TABLE t DROP COLUMN n;\n"),
        good: None,
    },
    PgfenceCase {
        pattern: "DROP SCHEMA s CASCADE",
        rule: "destructive-change",
        code: "DS101",
        bad: timed!("DROP SCHEMA s CASCADE;\n"),
        good: None,
    },
    PgfenceCase {
        pattern: "TRUNCATE",
        rule: "maintenance-lock",
        code: "PG505",
        bad: timed!("TRUNCATE items;\n"),
        good: None,
    },
    PgfenceCase {
        pattern: "RENAME COLUMN",
        rule: "backward-incompatible-change",
        code: "BC102",
        bad: timed!("ALTER TABLE t RENAME COLUMN name TO title;\n"),
        good: None,
    },
    PgfenceCase {
        pattern: "RENAME TABLE",
        rule: "backward-incompatible-change",
        code: "BC101",
        bad: timed!("ALTER TABLE items RENAME TO things;\n"),
        good: None,
    },
];

#[test]
fn pgfences_documented_patterns_get_the_same_verdict() {
    let mut wrong = Vec::new();
    for case in PGFENCE_CASES {
        let hit = |found: &[(String, String)]| {
            found
                .iter()
                .any(|(r, c)| r == case.rule && (case.code.is_empty() || c == case.code))
        };
        let bad = verdict(case.bad);
        if !hit(&bad) {
            wrong.push(format!(
                "{}: the bad case gets no {} {}: {bad:?}",
                case.pattern, case.rule, case.code
            ));
        }
        if let Some(good) = case.good {
            let good = verdict(good);
            if hit(&good) {
                wrong.push(format!(
                    "{}: the safe rewrite gets {} {}: {good:?}",
                    case.pattern, case.rule, case.code
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

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
