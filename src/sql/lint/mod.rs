//! Atlas's migration analyzers (`atlas migrate lint`), statement by
//! statement: `destructive` (DS101–DS103), `data_depend` (MF101, MF103,
//! MF104), `incompatible` (BC101, BC102) and `condrop` (CD101), with the codes
//! and the wording of Atlas's own diagnostics, and `-- atlas:nolint` read the
//! way Atlas reads it.
//!
//! Atlas judges each file against a dev database holding every earlier file.
//! Here a model of the schema (tables, their columns with nullability, their
//! foreign keys, schemas) is replayed file by file instead, and each object
//! remembers whether the change created it: only objects that exist on the
//! base side are ever "dropped", "renamed" or "made NOT NULL". A statement
//! sqlparser cannot read changes nothing in the model and is never judged;
//! an object the model does not know (created by such a statement) is never
//! reported. MF102 (an index turned unique by one statement) cannot happen in
//! PostgreSQL SQL, where a unique index is always created anew (MF101).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, AssignmentTarget, ColumnDef, ColumnOption,
    CreateTable, Expr, ObjectType, RenameTableNameKind, Statement, TableConstraint, TableFactor,
};

mod analyzers;
mod distinct;
mod fk;
mod locks;
mod maintenance;
mod model;
mod nolint;
mod window;

use analyzers::*;
use distinct::*;
pub use nolint::file_directives;
use nolint::*;

pub use locks::type_change_rewrites;

use super::normalize::ident_name;
use super::parse::{ParsedFile, Stmt};
use super::schema::object_name;
use crate::migrations::TxMode;

/// An Atlas analyzer: its name is what `-- atlas:nolint NAME` skips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Analyzer {
    Destructive,
    DataDepend,
    Incompatible,
    ConDrop,
    /// migguard's PostgreSQL lock rules (not Atlas analyzers; `-- atlas:nolint`
    /// with their codes skips them too).
    IndexLock,
    Concurrently,
    TxControl,
    UniqueLock,
    Validation,
    NotNullScan,
    Rewrite,
    LockTimeout,
    Maintenance,
    Exclusion,
    PreferJsonb,
    UnclosedTx,
    InvalidIndex,
    Backfill,
    LockWindow,
    PgVersion,
    FkIndex,
}

impl Analyzer {
    pub fn name(self) -> &'static str {
        match self {
            Analyzer::Destructive => "destructive",
            Analyzer::DataDepend => "data_depend",
            Analyzer::Incompatible => "incompatible",
            Analyzer::ConDrop => "condrop",
            Analyzer::IndexLock => "index-lock",
            Analyzer::Concurrently => "concurrently-in-transaction",
            Analyzer::TxControl => "transaction-control",
            Analyzer::UniqueLock => "unique-constraint-lock",
            Analyzer::Validation => "constraint-validation-lock",
            Analyzer::NotNullScan => "not-null-scan",
            Analyzer::Rewrite => "table-rewrite",
            Analyzer::LockTimeout => "lock-timeout",
            Analyzer::Maintenance => "maintenance-lock",
            Analyzer::Exclusion => "exclusion-constraint",
            Analyzer::PreferJsonb => "prefer-jsonb",
            Analyzer::InvalidIndex => "invalid-index-risk",
            Analyzer::Backfill => "backfill-in-transaction",
            Analyzer::LockWindow => "long-lock-window",
            Analyzer::PgVersion => "postgres-version",
            Analyzer::FkIndex => "fk-without-index",
            Analyzer::UnclosedTx => "unclosed-transaction",
        }
    }
}

/// One diagnostic: Atlas's code and text, on one statement of a new
/// migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diag {
    pub code: &'static str,
    pub analyzer: Analyzer,
    pub path: String,
    /// The statement's first line and byte span.
    pub line: usize,
    pub span: Range<usize>,
    pub message: String,
    /// The table (or `table.column`) it is about.
    pub subject: String,
}

#[derive(Debug, Clone, Default)]
struct Column {
    /// The type as written, lower case (`character varying(20)`).
    ty: String,
    not_null: bool,
    /// Added by the change (a new migration).
    new: bool,
}

#[derive(Debug, Clone, Default)]
struct Table {
    columns: BTreeMap<String, Column>,
    /// Foreign keys by constraint name: their local columns, and whether the
    /// change added them.
    foreign_keys: BTreeMap<String, (Vec<String>, bool)>,
    primary_key: Vec<String>,
    /// Its `UNIQUE` constraints (each backed by an index).
    unique_keys: Vec<UniqueKey>,
    /// `CHECK (col IS NOT NULL)` constraints by name: the column, and
    /// whether the constraint is validated.
    not_null_checks: BTreeMap<String, (String, bool)>,
    new: bool,
}

/// A `UNIQUE` constraint: its name and columns, and whether it proves its
/// columns distinct at every moment (not `DEFERRABLE`).
#[derive(Debug, Clone)]
struct UniqueKey {
    name: String,
    columns: Vec<String>,
    immediate: bool,
    nulls_not_distinct: bool,
}

/// An index: its table, and whether the change created it.
#[derive(Debug, Clone)]
struct IndexOf {
    table: String,
    new: bool,
    /// Its columns in order (`""` for an expression).
    columns: Vec<String>,
    unique: bool,
    nulls_not_distinct: bool,
    /// The conjuncts of its `WHERE` (empty: every row).
    predicate: Vec<distinct::Conjunct>,
}

/// The replayed schema and the diagnostics of the new migrations so far.
#[derive(Debug, Clone)]
pub struct Lint {
    tables: BTreeMap<String, Table>,
    indexes: BTreeMap<String, IndexOf>,
    /// Schemas by name, and whether the change created them.
    schemas: BTreeMap<String, bool>,
    pub diags: Vec<Diag>,
    /// Diagnostics an `atlas:nolint` directive skipped.
    pub skipped: usize,
    /// Where they were: (path, line, analyzer), so a measurement does not
    /// bring back what a directive silenced.
    pub silenced: Vec<(String, usize, Analyzer)>,
    /// Columns (table, column) an earlier `UPDATE` of the current file set
    /// on every row that was NULL: `SET NOT NULL` after it cannot fail.
    filled: BTreeSet<(String, String)>,
    /// Materialized views the change creates.
    new_matviews: BTreeSet<String>,
    /// Types by name, and whether the change created them.
    types: BTreeMap<String, bool>,
    /// Foreign keys the change added to existing tables, judged when the
    /// change is complete ([`Lint::finish`]): an index may come later.
    pending_fks: Vec<fk::PendingFk>,
    /// What the change created or altered since the last [`Lint::settle`]:
    /// only these can carry the change's marks.
    fresh: Fresh,
    pg_version: u32,
    pg_minor: Option<u32>,
    lock_timeout_by_runner: bool,
}

impl Default for Lint {
    fn default() -> Lint {
        Lint {
            tables: BTreeMap::new(),
            indexes: BTreeMap::new(),
            // Every PostgreSQL database starts with it.
            schemas: BTreeMap::from([("public".to_string(), false)]),
            diags: Vec::new(),
            skipped: 0,
            silenced: Vec::new(),
            filled: BTreeSet::new(),
            new_matviews: BTreeSet::new(),
            types: BTreeMap::new(),
            pending_fks: Vec::new(),
            fresh: Fresh::default(),
            pg_version: 15,
            pg_minor: None,
            lock_timeout_by_runner: false,
        }
    }
}

/// Names of the objects the change touched, by kind (a table under every
/// name it had, when renamed).
#[derive(Debug, Clone, Default)]
struct Fresh {
    tables: Vec<String>,
    indexes: Vec<String>,
    schemas: Vec<String>,
    types: Vec<String>,
}

/// PostgreSQL keeps the first 63 bytes of an identifier.
fn pg_name(mut s: String) -> String {
    if s.len() > 63 {
        let mut end = 63;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

impl Lint {
    /// The PostgreSQL major version the advice is for
    /// (`conventions.postgres_version`, default 15), and whether the runner
    /// sets `lock_timeout` itself (`conventions.lock_timeout_set_by_runner`).
    pub fn for_postgres(mut self, version: u32, lock_timeout_by_runner: bool) -> Lint {
        self.pg_version = version;
        self.lock_timeout_by_runner = lock_timeout_by_runner;
        self
    }

    /// Whether `name` is a table that exists on the base side (not one the
    /// change creates): the only tables the safety rules judge.
    fn existing_table(&self, name: &str) -> bool {
        self.tables.get(name).is_some_and(|t| !t.new)
    }

    /// The minor version, when the config gives it (`"14.11"`).
    pub fn with_minor(mut self, minor: Option<u32>) -> Lint {
        self.pg_minor = minor;
        self
    }

    /// Ends a change: everything created so far exists on the base side of
    /// what comes next (`check --all` judges each migration this way, as
    /// the one new migration after all earlier ones).
    /// Only what the change touched is visited: an audit settles after each
    /// of hundreds of migrations, and visiting every column of the schema
    /// each time was a sixth of the analysis.
    pub fn settle(&mut self) {
        let fresh = std::mem::take(&mut self.fresh);
        for name in &fresh.tables {
            if let Some(t) = self.tables.get_mut(name) {
                t.new = false;
                t.columns.values_mut().for_each(|c| c.new = false);
                t.foreign_keys.values_mut().for_each(|fk| fk.1 = false);
            }
        }
        for name in &fresh.indexes {
            if let Some(ix) = self.indexes.get_mut(name) {
                ix.new = false;
            }
        }
        for name in &fresh.schemas {
            if let Some(s) = self.schemas.get_mut(name) {
                *s = false;
            }
        }
        for name in &fresh.types {
            if let Some(t) = self.types.get_mut(name) {
                *t = false;
            }
        }
        self.new_matviews.clear();
    }

    /// Applies one migration (its up statements). With `new`, its
    /// statements are judged first and what it creates counts as the
    /// change's own.
    pub fn file(&mut self, path: &str, file: &ParsedFile, new: bool) {
        self.file_in(path, file, new, TxMode::Unknown);
    }

    /// [`Lint::file`] for a file its migration tool runs as `tx` says, for
    /// the transaction rules.
    pub fn file_in(&mut self, path: &str, file: &ParsedFile, new: bool, tx: TxMode) {
        let nolint = new.then(|| Nolint::of_file(&file.text));
        self.filled.clear();
        let mut session = locks::Session::new(tx, file.stmts.len());
        let first_diag = self.diags.len();
        for (i, stmt) in file.stmts.iter().enumerate() {
            session.line = stmt.line;
            if let Some(nolint) = &nolint {
                let rules = nolint.rules_for(&file.text, stmt);
                let mut found = Vec::new();
                if stmt.ast.is_empty() {
                    locks::judge_opaque(file.stmt_text(stmt), &session, &mut found);
                }
                let words = maintenance::Words::of(file.stmt_text(stmt));
                self.judge_maintenance(&words, &mut found);
                self.judge_version(&words, &session, &mut found);
                self.judge_renames(&words, &mut found);
                for ast in &stmt.ast {
                    self.judge(ast, &file.stmts[i + 1..], &session, &mut found);
                    let lock = self.judge_locks(ast, &session, &mut found);
                    self.judge_second_wave(ast, &session, &mut found);
                    self.judge_window(ast, lock.as_ref(), &session, &mut found);
                    self.hold(ast, lock, &mut session);
                    let silenced = nolint.skips(&rules, "PG702", Analyzer::FkIndex);
                    let added = self.foreign_keys_added(path, ast, stmt, silenced);
                    self.pending_fks.extend(added);
                }
                for (code, analyzer, message, subject) in found {
                    if nolint.skips(&rules, code, analyzer) {
                        self.skipped += 1;
                        self.silenced.push((path.to_string(), stmt.line, analyzer));
                        continue;
                    }
                    self.diags.push(Diag {
                        code,
                        analyzer,
                        path: path.to_string(),
                        line: stmt.line,
                        span: stmt.span.clone(),
                        message,
                        subject,
                    });
                }
            }
            if nolint.is_some() {
                if stmt.ast.is_empty() {
                    session.facts.clear();
                }
                for ast in &stmt.ast {
                    self.follow_facts(ast, &mut session);
                }
            }
            for ast in &stmt.ast {
                session.after(ast);
                self.apply(ast, new);
            }
            session.next_statement();
        }
        if let (Some(nolint), Some(line)) = (&nolint, maintenance::unclosed(&session)) {
            if let Some(stmt) = file.stmts.iter().find(|s| s.line == line) {
                let rules = nolint.rules_for(&file.text, stmt);
                if nolint.skips(&rules, "TX202", Analyzer::UnclosedTx) {
                    self.skipped += 1;
                    self.silenced
                        .push((path.to_string(), line, Analyzer::UnclosedTx));
                } else {
                    self.diags.push(Diag {
                        code: "TX202",
                        analyzer: Analyzer::UnclosedTx,
                        path: path.to_string(),
                        line,
                        span: stmt.span.clone(),
                        message: "this BEGIN opens a transaction the file never commits or rolls back: the statements after it are committed or rolled back by whatever the migration tool runs next on that connection, not by the file, and the locks they take are held until then".to_string(),
                        subject: String::new(),
                    });
                }
            }
        }
        self.one_lock_timeout_per_file(first_diag);
        self.one_lock_window_per_table(first_diag);
    }

    /// One `long-lock-window` finding per file and locked table, at the
    /// first slow statement: the fix (split the file) is one.
    fn one_lock_window_per_table(&mut self, from: usize) {
        let mut first: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        let mut i = from;
        while i < self.diags.len() {
            if self.diags[i].analyzer == Analyzer::LockWindow {
                if let Some((_, more)) = first.get_mut(&self.diags[i].subject) {
                    *more += 1;
                    self.diags.remove(i);
                    continue;
                }
                first.insert(self.diags[i].subject.clone(), (i, 0));
            }
            i += 1;
        }
        for (i, more) in first.into_values().filter(|(_, more)| *more > 0) {
            self.diags[i].message.push_str(&format!(
                " (and {more} more slow statement{} of this file after it)",
                if more == 1 { "" } else { "s" }
            ));
        }
    }

    /// One `lock-timeout` finding per file, at its first statement: one
    /// `SET lock_timeout` at the top fixes them all.
    fn one_lock_timeout_per_file(&mut self, from: usize) {
        let mut seen: Option<usize> = None;
        let mut more = 0;
        let mut i = from;
        while i < self.diags.len() {
            if self.diags[i].analyzer == Analyzer::LockTimeout {
                if seen.is_none() {
                    seen = Some(i);
                } else {
                    self.diags.remove(i);
                    more += 1;
                    continue;
                }
            }
            i += 1;
        }
        if let (Some(i), true) = (seen, more > 0) {
            self.diags[i].message.push_str(&format!(
                " (and {more} more statement{} of this file)",
                if more == 1 { "" } else { "s" }
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settling_makes_what_a_migration_created_existing_for_the_next() {
        let first = "CREATE TABLE t (id int);\nCREATE TYPE mood AS ENUM ('a');\nCREATE MATERIALIZED VIEW mv AS SELECT 1;\nCREATE INDEX t_id ON t (id);\nALTER TABLE t RENAME TO u;\nALTER TABLE u ADD COLUMN c text;\n";
        let second = "ALTER TYPE mood RENAME VALUE 'a' TO 'b';\nREFRESH MATERIALIZED VIEW mv;\nREINDEX INDEX t_id;\nTRUNCATE u;\nALTER TABLE u ALTER COLUMN c SET NOT NULL;\n";
        let codes = |settle: bool| {
            let mut l = Lint::default();
            l.file_in(
                "1.sql",
                &ParsedFile::parse(first.as_bytes()),
                true,
                TxMode::None,
            );
            if settle {
                l.settle();
            }
            l.file_in(
                "2.sql",
                &ParsedFile::parse(second.as_bytes()),
                true,
                TxMode::None,
            );
            let mut codes: Vec<&str> = l.diags.iter().map(|d| d.code).collect();
            codes.sort();
            codes
        };
        // Settled, the first migration's objects (the table under its new
        // name, its column, the index, the enum, the view) exist: the enum
        // value rename, the NOT NULL that may fail and scans, REINDEX,
        // REFRESH, TRUNCATE, and lock-timeout (no code) are reported.
        assert_eq!(
            codes(true),
            ["", "BC104", "MF104", "PG303", "PG501", "PG502", "PG505"]
        );
        // Not settled, they are the change's own: nothing to say.
        assert_eq!(codes(false), Vec::<&str>::new());
    }

    /// Diagnostics of `new` after `base`: (line, code, message).
    fn lint(base: &str, new: &str) -> Vec<(usize, &'static str, String)> {
        let mut l = Lint::default();
        l.file("base.sql", &ParsedFile::parse(base.as_bytes()), false);
        l.file("new.sql", &ParsedFile::parse(new.as_bytes()), true);
        l.diags
            .into_iter()
            .filter(|d| {
                ["DS", "MF", "BC", "CD"]
                    .iter()
                    .any(|p| d.code.starts_with(p))
            })
            .map(|d| (d.line, d.code, d.message))
            .collect()
    }

    const BASE: &str = "CREATE TABLE \"users\" (\"id\" bigint NOT NULL, \"email\" text NULL, \"org_id\" bigint NULL, PRIMARY KEY (\"id\"), CONSTRAINT \"users_orgs\" FOREIGN KEY (\"org_id\") REFERENCES \"orgs\" (\"id\"));\nCREATE SCHEMA \"audit\";\n";

    #[test]
    fn destructive_changes_of_existing_objects() {
        let d = lint(
            BASE,
            "ALTER TABLE \"users\" DROP COLUMN \"email\";\nDROP TABLE \"users\";\nDROP SCHEMA \"audit\";\n",
        );
        assert_eq!(
            d,
            vec![
                (
                    1,
                    "DS103",
                    "Dropping non-virtual column \"email\"".to_string()
                ),
                (2, "DS102", "Dropping table \"users\"".to_string()),
                (3, "DS101", "Dropping schema \"audit\"".to_string()),
            ]
        );
    }

    #[test]
    fn objects_the_change_creates_are_never_reported() {
        let d = lint(
            BASE,
            "CREATE TABLE t (a int NOT NULL, b int);\nALTER TABLE t ADD COLUMN c int NOT NULL;\nCREATE UNIQUE INDEX t_a ON t (a);\nALTER TABLE t RENAME COLUMN b TO bb;\nALTER TABLE t DROP COLUMN a;\nDROP TABLE t;\nALTER TABLE users ADD COLUMN x text;\nALTER TABLE users DROP COLUMN x;\nDROP TABLE unknown_table;\n",
        );
        assert_eq!(d, vec![]);
    }

    #[test]
    fn data_dependent_changes() {
        // The primary key's columns are distinct already.
        assert_eq!(
            lint(BASE, "CREATE UNIQUE INDEX users_id ON users (id, email);\n"),
            vec![]
        );
        let d = lint(
            BASE,
            "ALTER TABLE users ADD COLUMN name text NOT NULL;\nALTER TABLE users ADD COLUMN n2 text NOT NULL DEFAULT '';\nALTER TABLE users ADD COLUMN seq bigserial NOT NULL;\nCREATE UNIQUE INDEX users_email ON users (email, name);\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\nALTER TABLE users ALTER COLUMN id SET NOT NULL;\nALTER TABLE users ADD CONSTRAINT users_org UNIQUE (org_id);\n",
        );
        assert_eq!(
            d,
            vec![
                (1, "MF103", "Adding a non-nullable \"text\" column \"name\" will fail in case table \"users\" is not empty".to_string()),
                (4, "MF101", "Adding a unique index \"users_email\" on table \"users\" might fail in case column \"email\" contains duplicate entries".to_string()),
                (5, "MF104", "Modifying nullable column \"email\" to non-nullable might fail in case it contains NULL values".to_string()),
                (7, "MF101", "Adding a unique index \"users_org\" on table \"users\" might fail in case column \"org_id\" contains duplicate entries".to_string()),
            ]
        );
    }

    /// MF101 codes of `new` after `base` (several base files), run as `tx`.
    fn mf101(base: &[&str], new: &str, tx: TxMode) -> Vec<usize> {
        let mut l = Lint::default();
        for b in base {
            l.file("base.sql", &ParsedFile::parse(b.as_bytes()), false);
            l.settle();
        }
        l.file_in("new.sql", &ParsedFile::parse(new.as_bytes()), true, tx);
        l.diags
            .iter()
            .filter(|d| d.code == "MF101")
            .map(|d| d.line)
            .collect()
    }

    #[test]
    fn a_unique_index_over_a_key_that_holds_cannot_meet_a_duplicate() {
        let t = "CREATE TABLE t (id bigint PRIMARY KEY, a text UNIQUE, b text, c text, d text, e text, CONSTRAINT t_bc UNIQUE (b, c), CONSTRAINT t_d_def UNIQUE (d) DEFERRABLE);\nCREATE UNIQUE INDEX t_e ON t (e);\nCREATE UNIQUE INDEX t_c_live ON t (c) WHERE deleted_at IS NULL;\n";
        let none = TxMode::None;
        // Holding every column of a unique constraint, index or the key.
        assert_eq!(
            mf101(&[t], "CREATE UNIQUE INDEX x1 ON t (a, b);\n", none),
            [] as [usize; 0]
        );
        assert_eq!(
            mf101(&[t], "CREATE UNIQUE INDEX x2 ON t (c, d, b);\n", none),
            [] as [usize; 0]
        );
        assert_eq!(
            mf101(
                &[t],
                "CREATE UNIQUE INDEX x3 ON t (e, lower(a)) WHERE e <> '';\n",
                none
            ),
            [] as [usize; 0]
        );
        assert_eq!(
            mf101(
                &[t],
                "ALTER TABLE t ADD CONSTRAINT x4 UNIQUE (a, c);\n",
                none
            ),
            [] as [usize; 0]
        );
        // Only part of a key; a deferrable one (duplicates may exist until
        // commit); a partial index (it says nothing of other rows); a key
        // only in an expression.
        assert_eq!(
            mf101(&[t], "CREATE UNIQUE INDEX y1 ON t (b, d);\n", none),
            [1]
        );
        assert_eq!(
            mf101(&[t], "CREATE UNIQUE INDEX y2 ON t (d, c);\n", none),
            [1]
        );
        assert_eq!(
            mf101(&[t], "CREATE UNIQUE INDEX y3 ON t (c, d);\n", none),
            [1]
        );
        assert_eq!(
            mf101(&[t], "CREATE UNIQUE INDEX y4 ON t (lower(a), b);\n", none),
            [1]
        );
        // NULLS NOT DISTINCT: rows with NULL in a unique column may now clash.
        assert_eq!(
            mf101(
                &[t],
                "CREATE UNIQUE INDEX y5 ON t (a, b) NULLS NOT DISTINCT;\n",
                none
            ),
            [1]
        );
        assert_eq!(
            mf101(
                &[t],
                "CREATE UNIQUE INDEX y6 ON t (id, b) NULLS NOT DISTINCT;\n",
                none
            ),
            [] as [usize; 0]
        );
        // A key dropped in an earlier migration proves nothing any more (by
        // its default name, by its given name, with its column, or the index).
        let drops = "ALTER TABLE t DROP CONSTRAINT t_a_key;\nALTER TABLE t DROP CONSTRAINT t_bc;\nDROP INDEX t_e;\n";
        assert_eq!(
            mf101(&[t, drops], "CREATE UNIQUE INDEX z1 ON t (a, b);\nCREATE UNIQUE INDEX z2 ON t (b, c, d);\nCREATE UNIQUE INDEX z3 ON t (e, d);\n", none),
            [1, 2, 3]
        );
        assert_eq!(
            mf101(&[t, "ALTER TABLE t DROP COLUMN e;\nALTER TABLE t ADD COLUMN e text;\nUPDATE t SET e = 'x';\n"], "CREATE UNIQUE INDEX z4 ON t (e, b);\n", none),
            [1]
        );
    }

    #[test]
    fn a_key_dropped_earlier_in_the_transaction_still_proves_the_rows_distinct() {
        let t = "CREATE TABLE t (id bigint, a text UNIQUE, b text, v text, n numeric(10,2), CONSTRAINT t_pkey PRIMARY KEY (id));\nCREATE UNIQUE INDEX t_b ON t (b);\nCREATE UNIQUE INDEX t_n ON t (n);\n";
        let goose = TxMode::Wrapped("goose");
        let widen = "ALTER TABLE t DROP CONSTRAINT t_a_key;\nDROP INDEX t_b;\nCREATE INDEX t_x ON t (a);\nALTER TABLE t ADD COLUMN c text, ALTER COLUMN a TYPE varchar;\nALTER TABLE t ADD CONSTRAINT t_a_c UNIQUE (a, c);\nCREATE UNIQUE INDEX t_b_live ON t (b, c) WHERE c IS NULL;\n";
        // The drop's lock keeps other sessions out until the transaction
        // ends, and nothing in it wrote a row: (a, c) and (b, c) cannot fail.
        assert_eq!(mf101(&[t], widen, goose), [] as [usize; 0]);
        assert_eq!(mf101(&[t], widen, TxMode::Implicit), [] as [usize; 0]);
        // Without a transaction another session may write a duplicate
        // between the statements.
        assert_eq!(mf101(&[t], widen, TxMode::None), [5, 6]);
        // A COMMIT in between ends the lock; an explicit BEGIN starts one.
        assert_eq!(
            mf101(
                &[t],
                "BEGIN;\nDROP INDEX t_b;\nCOMMIT;\nCREATE UNIQUE INDEX t_b2 ON t (b, v);\n",
                TxMode::None
            ),
            [4]
        );
        assert_eq!(
            mf101(
                &[t],
                "BEGIN;\nDROP INDEX t_b;\nCREATE UNIQUE INDEX t_b2 ON t (b, v);\nCOMMIT;\n",
                TxMode::None
            ),
            [] as [usize; 0]
        );
        // A write, a value-changing type change, anything not plain DDL or
        // that sqlparser cannot read, between the drop and the new index.
        for between in [
            "UPDATE t SET b = 'x';",
            "INSERT INTO t (id, b) VALUES (1, 'x');",
            "SELECT backfill();",
            "ALTER TABLE t ALTER COLUMN b TYPE varchar(2);",
            "ALTER TABLE t RENAME COLUMN b TO bb;",
            "FROBNICATE t;",
        ] {
            let new =
                format!("DROP INDEX t_b;\n{between}\nCREATE UNIQUE INDEX t_b2 ON t (b, v);\n");
            assert_eq!(mf101(&[t], &new, goose), [3], "{between}");
        }
        // DDL of another table and a retype that keeps every value keep it;
        // rounding numbers does not.
        assert_eq!(
            mf101(&[t], "DROP INDEX t_b;\nCREATE TABLE u (x int);\nALTER TABLE t ALTER COLUMN b TYPE varchar;\nCREATE UNIQUE INDEX t_b2 ON t (b, v);\n", goose),
            [] as [usize; 0]
        );
        assert_eq!(
            mf101(&[t], "DROP INDEX t_n;\nALTER TABLE t ALTER COLUMN n TYPE numeric(10,0);\nCREATE UNIQUE INDEX t_n2 ON t (n, v);\n", goose),
            [3]
        );
        // The primary key replaced by a new one, then restored as unique.
        assert_eq!(
            mf101(&[t], "ALTER TABLE t DROP CONSTRAINT t_pkey, ADD COLUMN k bigint GENERATED BY DEFAULT AS IDENTITY, ADD PRIMARY KEY (k);\nCREATE UNIQUE INDEX t_id ON t (id);\n", goose),
            [] as [usize; 0]
        );
        // A statement that drops the key and retypes its column itself.
        assert_eq!(
            mf101(&[t], "ALTER TABLE t DROP CONSTRAINT t_a_key, ALTER COLUMN a TYPE varchar(1);\nCREATE UNIQUE INDEX t_a2 ON t (a, v);\n", goose),
            [2]
        );
    }

    #[test]
    fn rows_a_partial_key_covers_a_column_left_null_or_an_empty_table_prove_it_too() {
        let t = "CREATE TABLE t (id bigint PRIMARY KEY, a text, b text, deleted_at timestamptz);\nCREATE UNIQUE INDEX t_ab ON t (a, b) WHERE ((b IS NOT NULL) AND (deleted_at IS NULL));\n";
        let goose = TxMode::Wrapped("goose");
        // Rows the old index left out have a NULL in b: distinct in the new.
        let wider =
            "DROP INDEX t_ab;\nCREATE UNIQUE INDEX t_ab ON t (a, b) WHERE (deleted_at IS NULL);\n";
        assert_eq!(mf101(&[t], wider, goose), [] as [usize; 0]);
        assert_eq!(mf101(&[t], "CREATE UNIQUE INDEX t_abd ON t (a, b, deleted_at) WHERE deleted_at IS NULL AND b IS NOT NULL;\n", goose), [] as [usize; 0]);
        // Rows outside the old index entirely; NULLS NOT DISTINCT.
        assert_eq!(
            mf101(
                &[t],
                "DROP INDEX t_ab;\nCREATE UNIQUE INDEX t_ab ON t (a, b);\n",
                goose
            ),
            [2]
        );
        assert_eq!(
            mf101(&[t], "DROP INDEX t_ab;\nCREATE UNIQUE INDEX t_ab ON t (a, b) NULLS NOT DISTINCT WHERE (deleted_at IS NULL);\n", goose),
            [2]
        );
        // A column added with nothing in it holds a NULL in every row, and a
        // NOT NULL one without a default only succeeds on an empty table.
        let null = "ALTER TABLE t ADD COLUMN c text, ADD COLUMN d text DEFAULT 'x', ADD COLUMN e serial;\n";
        assert_eq!(
            mf101(
                &[t],
                &format!("{null}CREATE UNIQUE INDEX t_ac ON t (a, c);\n"),
                goose
            ),
            [] as [usize; 0]
        );
        assert_eq!(
            mf101(
                &[t],
                &format!("{null}CREATE UNIQUE INDEX t_ad ON t (a, d);\n"),
                goose
            ),
            [2]
        );
        assert_eq!(
            mf101(
                &[t],
                &format!("{null}CREATE UNIQUE INDEX t_ac ON t (a, c) NULLS NOT DISTINCT;\n"),
                goose
            ),
            [2]
        );
        assert_eq!(
            mf101(
                &[t],
                &format!("{null}UPDATE t SET c = a;\nCREATE UNIQUE INDEX t_ac ON t (a, c);\n"),
                goose
            ),
            [3]
        );
        assert_eq!(
            mf101(
                &[t],
                &format!("{null}CREATE UNIQUE INDEX t_ac ON t (a, c);\n"),
                TxMode::None
            ),
            [2]
        );
        let empty = "ALTER TABLE t DROP COLUMN b, ADD COLUMN k text NOT NULL;\nCREATE UNIQUE INDEX t_a ON t (a);\n";
        assert_eq!(mf101(&[t], empty, goose), [] as [usize; 0]);
        assert_eq!(
            mf101(
                &[t],
                &empty.replace("NOT NULL", "NOT NULL DEFAULT ''"),
                goose
            ),
            [2]
        );
        // A column dropped and added back takes its facts along.
        assert_eq!(
            mf101(&[t], "ALTER TABLE t ADD COLUMN c text;\nALTER TABLE t DROP COLUMN c;\nALTER TABLE t ADD COLUMN c text DEFAULT 'x';\nCREATE UNIQUE INDEX t_ac ON t (a, c);\n", goose),
            [4]
        );
        // ADD COLUMN IF NOT EXISTS of a column the table has keeps its values.
        assert_eq!(
            mf101(&[t], "ALTER TABLE t ADD COLUMN IF NOT EXISTS a text;\nCREATE UNIQUE INDEX t_a ON t (a);\n", goose),
            [2]
        );
    }

    #[test]
    fn a_fill_of_every_null_row_makes_set_not_null_safe() {
        let set = "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n";
        for (fill, reported) in [
            ("UPDATE users SET email = '' WHERE email IS NULL;\n", false),
            ("UPDATE users SET email = 'x';\n", false),
            ("UPDATE users SET email = 'x' WHERE id > 5;\n", true),
            ("UPDATE users SET email = NULL;\n", true),
            ("UPDATE users SET email = org_id::text;\n", true),
            ("UPDATE users SET email = id::text;\n", false),
            (
                "UPDATE users SET email = 'u-' || nextval('s') WHERE email IS NULL;\n",
                false,
            ),
            ("UPDATE users SET email = COALESCE(email, '');\n", false),
        ] {
            let d = lint(BASE, &format!("{fill}{set}"));
            assert_eq!(d.iter().any(|x| x.1 == "MF104"), reported, "{fill}");
        }
    }

    #[test]
    fn renames_and_dropped_foreign_keys() {
        let d = lint(
            BASE,
            "ALTER TABLE users RENAME COLUMN email TO mail;\nALTER TABLE users DROP CONSTRAINT users_orgs;\nALTER TABLE users RENAME TO people;\n",
        );
        assert_eq!(
            d,
            vec![
                (
                    1,
                    "BC102",
                    "Renaming column \"email\" to \"mail\"".to_string()
                ),
                (
                    2,
                    "CD101",
                    "Dropping foreign-key constraint \"users_orgs\"".to_string()
                ),
                (
                    3,
                    "BC101",
                    "Renaming table \"users\" to \"people\"".to_string()
                ),
            ]
        );
        // Backward compatible: the old column added back, a view under the
        // old table name, the key re-created under its name, the key dropped
        // with its column.
        let d = lint(
            BASE,
            "ALTER TABLE users RENAME COLUMN email TO mail;\nALTER TABLE users ADD COLUMN email text;\nALTER TABLE users DROP CONSTRAINT users_orgs, ADD CONSTRAINT users_orgs FOREIGN KEY (org_id) REFERENCES orgs (id) ON DELETE CASCADE;\nALTER TABLE users RENAME TO people;\nCREATE VIEW users AS SELECT * FROM people;\n",
        );
        assert_eq!(d, vec![]);
        let d = lint(BASE, "ALTER TABLE users DROP CONSTRAINT users_orgs, ADD CONSTRAINT users_orgs FOREIGN KEY (email) REFERENCES emails (address);\n");
        assert_eq!(
            d.iter().map(|x| x.1).collect::<Vec<_>>(),
            vec!["CD101"],
            "same name, other columns: another key"
        );
        let d = lint(BASE, "ALTER TABLE users DROP CONSTRAINT users_orgs, ADD CONSTRAINT users_org_fk FOREIGN KEY (org_id) REFERENCES orgs (id);\n");
        assert_eq!(
            d[0].2,
            "Dropping foreign-key constraint \"users_orgs\" (the same statement adds \"users_org_fk\" on the same columns)"
        );
        let d = lint(
            BASE,
            "ALTER TABLE users DROP CONSTRAINT users_orgs, DROP COLUMN org_id;\n",
        );
        assert_eq!(d.iter().map(|x| x.1).collect::<Vec<_>>(), vec!["DS103"]);
    }

    #[test]
    fn nolint_as_atlas_reads_it() {
        let drop = "ALTER TABLE users DROP COLUMN email;\n";
        let codes = |new: &str| lint(BASE, new).into_iter().map(|d| d.1).collect::<Vec<_>>();
        assert!(codes(&format!("-- atlas:nolint\n{drop}")).is_empty());
        assert!(codes(&format!("-- atlas:nolint DS103\n{drop}")).is_empty());
        assert!(codes(&format!("--atlas:nolint destructive\n{drop}")).is_empty());
        assert!(codes(&format!("/*atlas:nolint*/\n{drop}")).is_empty());
        assert_eq!(codes(&format!("-- atlas:nolint MF103\n{drop}")), ["DS103"]);
        assert_eq!(codes(&format!("-- atlas:nolintx\n{drop}")), ["DS103"]);
        // File level: the leading comments, then a blank line.
        let two = format!("{drop}ALTER TABLE users DROP COLUMN org_id;\n");
        assert!(codes(&format!("-- atlas:nolint\n\n{two}")).is_empty());
        assert!(codes(&format!("-- atlas:nolint DS103\n\n{two}")).is_empty());
        assert_eq!(
            codes(&format!("-- atlas:nolint BC102\n\n{two}")),
            ["DS103", "DS103"]
        );
        // Without the blank line it is the first statement's directive.
        assert_eq!(codes(&format!("-- atlas:nolint\n{two}")), ["DS103"]);
    }

    /// Lock and transaction findings of `new` run as `tx` after `BASE`.
    fn locks(new: &str, tx: TxMode) -> Vec<(usize, &'static str)> {
        let mut l = Lint::default();
        l.file("base.sql", &ParsedFile::parse(BASE.as_bytes()), false);
        l.file(
            "base2.sql",
            &ParsedFile::parse(b"CREATE INDEX users_email ON users (email);\n"),
            false,
        );
        l.file_in("new.sql", &ParsedFile::parse(new.as_bytes()), true, tx);
        l.diags
            .into_iter()
            .filter(|d| d.code.starts_with("PG") || d.code.starts_with("TX"))
            .map(|d| (d.line, d.code))
            .collect()
    }

    #[test]
    fn index_locks_only_on_existing_tables() {
        let none = TxMode::None;
        assert_eq!(
            locks(
                "CREATE INDEX users_org ON users (org_id);\nDROP INDEX users_email;\n",
                none
            ),
            vec![(1, "PG101"), (2, "PG102")]
        );
        assert_eq!(
            locks("CREATE TABLE t (a int);\nCREATE INDEX t_a ON t (a);\nDROP INDEX t_a;\nCREATE INDEX CONCURRENTLY users_org ON users (org_id);\n", none),
            vec![]
        );
        let mut l = Lint::default();
        l.file("base.sql", &ParsedFile::parse(BASE.as_bytes()), false);
        l.file(
            "new.sql",
            &ParsedFile::parse(b"CREATE INDEX users_org ON users (org_id);\n"),
            true,
        );
        assert!(l.diags[0].message.contains("SHARE lock"), "{:?}", l.diags);
    }

    #[test]
    fn concurrently_fails_where_the_tool_opens_a_transaction() {
        let cic = "CREATE INDEX CONCURRENTLY users_org ON users (org_id);\n";
        assert_eq!(locks(cic, TxMode::Wrapped("goose")), vec![(1, "PG103")]);
        assert_eq!(locks(cic, TxMode::None), vec![]);
        assert_eq!(locks(cic, TxMode::Unknown), vec![]);
        // golang-migrate: alone in its file it runs outside a transaction.
        assert_eq!(locks(cic, TxMode::Implicit), vec![]);
        assert_eq!(
            locks(
                &format!("SET lock_timeout = '2s';\n{cic}"),
                TxMode::Implicit
            ),
            vec![(2, "PG103")]
        );
        // An explicit BEGIN, in any format.
        assert_eq!(
            locks(&format!("BEGIN;\n{cic}COMMIT;\n"), TxMode::None),
            vec![(2, "PG103")]
        );
    }

    #[test]
    fn transaction_control_where_the_tool_wraps_the_file() {
        let sql = "BEGIN;\nALTER TABLE users ADD COLUMN note text;\nCOMMIT;\n";
        assert_eq!(
            locks(sql, TxMode::Wrapped("atlas")),
            vec![(1, "TX201"), (3, "TX201")]
        );
        assert_eq!(locks(sql, TxMode::Implicit), vec![]);
        assert_eq!(locks(sql, TxMode::None), vec![]);
    }

    #[test]
    fn file_directives_need_the_blank_line() {
        assert_eq!(
            file_directives("-- atlas:txmode none\n\nSELECT 1;\n", "txmode"),
            ["none"]
        );
        assert!(file_directives("-- atlas:txmode none\nSELECT 1;\n", "txmode").is_empty());
        assert!(file_directives("\n-- atlas:txmode none\n\nSELECT 1;\n", "txmode").is_empty());
    }

    /// Every lock finding of `new` (run as `tx`) after `BASE`, with
    /// lock-timeout as "LT".
    fn all_locks(new: &str, tx: TxMode) -> Vec<(usize, &'static str)> {
        let mut l = Lint::default();
        l.file("base.sql", &ParsedFile::parse(BASE.as_bytes()), false);
        l.file_in("new.sql", &ParsedFile::parse(new.as_bytes()), true, tx);
        l.diags
            .into_iter()
            .filter(|d| d.code.is_empty() || d.code.starts_with("PG"))
            .map(|d| (d.line, if d.code.is_empty() { "LT" } else { d.code }))
            .collect()
    }

    #[test]
    fn rewrites_scans_and_constraint_locks() {
        let t = "SET lock_timeout = '2s';\n";
        let d = all_locks(
            &format!("{t}ALTER TABLE users ALTER COLUMN org_id TYPE text;\nALTER TABLE users ALTER COLUMN email TYPE varchar;\nALTER TABLE users ADD COLUMN r float DEFAULT random();\nALTER TABLE users ADD COLUMN c int DEFAULT 0;\nALTER TABLE users ADD COLUMN n timestamptz DEFAULT now();\nALTER TABLE users ADD COLUMN g bigint GENERATED ALWAYS AS (id * 2) STORED;\nALTER TABLE users ADD COLUMN s bigserial;\nALTER TABLE users SET UNLOGGED;\n"),
            TxMode::None,
        );
        assert_eq!(
            d,
            vec![
                (2, "PG301"),
                (4, "PG302"),
                (7, "PG302"),
                (8, "PG302"),
                (9, "PG307")
            ]
        );
        let d = all_locks(
            &format!("{t}ALTER TABLE users ADD CONSTRAINT users_email UNIQUE (email);\nALTER TABLE users ADD PRIMARY KEY (org_id);\nALTER TABLE users ADD CONSTRAINT users_email_ok CHECK (email <> '');\nALTER TABLE users ADD CONSTRAINT users_org FOREIGN KEY (org_id) REFERENCES orgs (id);\nALTER TABLE users ADD CONSTRAINT users_ok CHECK (email <> '') NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT users_ok;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\n"),
            TxMode::None,
        );
        assert_eq!(
            d,
            vec![
                (2, "PG105"),
                (3, "PG104"),
                (4, "PG305"),
                (5, "PG306"),
                (8, "PG303")
            ]
        );
        // Validated in the tool's transaction: the ADD's lock is held.
        let d = all_locks(
            &format!("{t}ALTER TABLE users ADD CONSTRAINT users_ok CHECK (email <> '') NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT users_ok;\n"),
            TxMode::Wrapped("atlas"),
        );
        assert_eq!(d, vec![(3, "PG305")]);
        // A validated CHECK (col IS NOT NULL) spares the scan.
        let d = all_locks(
            &format!("{t}ALTER TABLE users ADD CONSTRAINT e_nn CHECK (email IS NOT NULL) NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT e_nn;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\n"),
            TxMode::None,
        );
        assert_eq!(d, vec![]);
        // Before PostgreSQL 11 every default rewrites.
        let mut l = Lint::default().for_postgres(10, false);
        l.file("base.sql", &ParsedFile::parse(BASE.as_bytes()), false);
        l.file(
            "new.sql",
            &ParsedFile::parse(
                format!("{t}ALTER TABLE users ADD COLUMN c int DEFAULT 0;\n").as_bytes(),
            ),
            true,
        );
        assert_eq!(
            l.diags.iter().map(|d| d.code).collect::<Vec<_>>(),
            ["PG302"]
        );
    }

    #[test]
    fn lock_timeout_in_effect_or_not() {
        let alter = "ALTER TABLE users ADD COLUMN note text;\n";
        assert_eq!(all_locks(alter, TxMode::None), vec![(1, "LT")]);
        assert_eq!(
            all_locks(&format!("SET lock_timeout = '5s';\n{alter}"), TxMode::None),
            vec![]
        );
        assert_eq!(
            all_locks(&format!("{alter}SET lock_timeout = '5s';\n"), TxMode::None),
            vec![(1, "LT")]
        );
        assert_eq!(
            all_locks(
                &format!("SET lock_timeout = '5s';\nRESET lock_timeout;\n{alter}"),
                TxMode::None
            ),
            vec![(3, "LT")]
        );
        assert_eq!(
            all_locks(&format!("SET lock_timeout = 0;\n{alter}"), TxMode::None),
            vec![(2, "LT")]
        );
        // SET LOCAL lasts the tool's transaction...
        assert_eq!(
            all_locks(
                &format!("SET LOCAL lock_timeout = '5s';\n{alter}"),
                TxMode::Wrapped("goose")
            ),
            vec![]
        );
        // ...does nothing outside one, and ends with its transaction.
        assert_eq!(
            all_locks(
                &format!("SET LOCAL lock_timeout = '5s';\n{alter}"),
                TxMode::None
            ),
            vec![(2, "LT")]
        );
        assert_eq!(
            all_locks(
                &format!("BEGIN;\nSET LOCAL lock_timeout = '5s';\n{alter}COMMIT;\n{alter}"),
                TxMode::None
            ),
            vec![(5, "LT")]
        );
        // One finding per file, at its first statement.
        let mut l = Lint::default();
        l.file("base.sql", &ParsedFile::parse(BASE.as_bytes()), false);
        l.file(
            "new.sql",
            &ParsedFile::parse(format!("{alter}{alter}{alter}").as_bytes()),
            true,
        );
        let lt: Vec<_> = l.diags.iter().filter(|d| d.code.is_empty()).collect();
        assert_eq!(lt.len(), 1);
        assert_eq!(lt[0].line, 1);
        assert!(
            lt[0]
                .message
                .ends_with("(and 2 more statements of this file)"),
            "{}",
            lt[0].message
        );
        // Tables the change creates, and the runner's own timeout.
        assert_eq!(
            all_locks(
                "CREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN b int;\n",
                TxMode::None
            ),
            vec![]
        );
        let mut l = Lint::default().for_postgres(15, true);
        l.file("base.sql", &ParsedFile::parse(BASE.as_bytes()), false);
        l.file("new.sql", &ParsedFile::parse(alter.as_bytes()), true);
        assert!(l.diags.is_empty());
    }

    #[test]
    fn drop_index_concurrently_in_a_transaction() {
        // sqlparser cannot read it; PG103 all the same.
        assert_eq!(
            locks(
                "DROP INDEX CONCURRENTLY users_email;\n",
                TxMode::Wrapped("goose")
            ),
            vec![(1, "PG103")]
        );
        assert_eq!(
            locks("DROP INDEX CONCURRENTLY users_email;\n", TxMode::None),
            vec![]
        );
    }
}
