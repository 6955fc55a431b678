//! The second wave of PostgreSQL rules: maintenance commands that lock
//! (`maintenance-lock`), exclusion constraints (`exclusion-constraint`),
//! `json` columns (`prefer-jsonb`) and a `BEGIN` left open
//! (`unclosed-transaction`). sqlparser cannot read
//! most maintenance commands (`REINDEX`, `REFRESH MATERIALIZED VIEW`,
//! `CLUSTER`, `DETACH PARTITION`), so they are judged from their text,
//! parsed or not. Every lock and rewrite claimed here is checked against
//! PostgreSQL in `tests/lock_claims.rs`.

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, DataType, Statement, TableConstraint,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::locks::Session;
use super::{ident_name, object_name, Analyzer, Found, Lint};

/// `"Users"` / `public.users` as the model names tables (its last part,
/// case folded unless quoted).
fn name_of(word: &str) -> Option<String> {
    let word = word.trim_end_matches([';', ',']);
    let mut parser = Parser::new(&PostgreSqlDialect {}).try_with_sql(word).ok()?;
    parser
        .parse_object_name(false)
        .ok()
        .map(|n| object_name(&n))
}

/// The first words of a statement, split at whitespace, as written and
/// upper-cased: what the judges that read a statement by its words
/// (`maintenance-lock`, `postgres-version`, the renames sqlparser does not
/// model) look at, split once per statement for all of them.
pub(super) struct Words<'a> {
    pub raw: Vec<&'a str>,
    pub upper: Vec<String>,
}

impl<'a> Words<'a> {
    /// The words the judges read: no statement they know needs more.
    const MAX: usize = 12;

    pub fn of(text: &'a str) -> Words<'a> {
        let raw: Vec<&str> = text.split_whitespace().take(Self::MAX).collect();
        let upper = raw.iter().map(|w| w.to_ascii_uppercase()).collect();
        Words { raw, upper }
    }

    /// Word `n`, upper-cased, as written (`""` past the end).
    fn at(&self, n: usize) -> &str {
        self.upper.get(n).map(String::as_str).unwrap_or("")
    }

    /// Word `n`, upper-cased, without the punctuation around it.
    fn bare(&self, n: usize) -> &str {
        self.at(n).trim_matches(PUNCTUATION)
    }

    /// Whether `word` (upper case) is among them, punctuation aside.
    fn has(&self, word: &str) -> bool {
        self.upper
            .iter()
            .any(|x| x.trim_matches(PUNCTUATION) == word)
    }
}

/// What may stick to a word: `(FULL,`, `users;`.
const PUNCTUATION: [char; 4] = [',', '(', ')', ';'];

impl Lint {
    /// `maintenance-lock` on a statement, from its words.
    pub(super) fn judge_maintenance(&self, text: &Words, out: &mut Vec<Found>) {
        let (words, upper) = (&text.raw, &text.upper);
        let has = |w: &str| text.has(w);
        let first = |n: usize| text.at(n);
        // The first word after the keywords and options, as a name.
        let target = |from: usize, skip: &[&str]| -> Option<String> {
            words
                .iter()
                .zip(upper)
                .skip(from)
                .find(|(_, u)| {
                    !skip.contains(&u.trim_matches(PUNCTUATION))
                        && !u.starts_with('(')
                        && !u.ends_with(')')
                })
                .and_then(|(w, _)| name_of(w))
        };
        let mut push = |code: &'static str, message: String, subject: String| {
            out.push((code, Analyzer::Maintenance, message, subject));
        };
        match first(0) {
            "REINDEX" if !has("CONCURRENTLY") => {
                let kind = upper
                    .iter()
                    .skip(1)
                    .map(|u| u.trim_matches([',', '(', ')']))
                    .find(|u| ["INDEX", "TABLE", "SCHEMA", "DATABASE", "SYSTEM"].contains(u))
                    .unwrap_or("");
                let pos = upper.iter().position(|u| u == kind).unwrap_or(0);
                let name = target(pos + 1, &[]);
                let table = match (kind, &name) {
                    ("TABLE", Some(t)) if self.existing_table(t) => Some(t.clone()),
                    ("INDEX", Some(i)) => self
                        .indexes
                        .get(i)
                        .filter(|ix| !ix.new && self.existing_table(&ix.table))
                        .map(|ix| ix.table.clone()),
                    ("SCHEMA" | "DATABASE" | "SYSTEM", _) => Some(String::new()),
                    _ => None,
                };
                if let Some(table) = table {
                    let what = if table.is_empty() {
                        format!("REINDEX {kind} rebuilds every index in it")
                    } else {
                        format!("REINDEX {kind} rebuilds indexes of existing table {table:?}")
                    };
                    push(
                        "PG501",
                        format!("{what} without CONCURRENTLY: each table is held under a SHARE lock (writes wait) and each index under an ACCESS EXCLUSIVE lock (reads that would use it wait) until its rebuild ends"),
                        table,
                    );
                }
            }
            "REFRESH" if first(1) == "MATERIALIZED" && !has("CONCURRENTLY") => {
                if let Some(view) = target(3, &[]) {
                    if !self.new_matviews.contains(&view) {
                        push(
                            "PG502",
                            format!("REFRESH MATERIALIZED VIEW {view:?} without CONCURRENTLY holds an ACCESS EXCLUSIVE lock on it while its query runs: every read of {view:?} waits"),
                            view,
                        );
                    }
                }
            }
            "VACUUM" if has("FULL") => {
                let table = target(1, &["FULL", "FREEZE", "VERBOSE", "ANALYZE"]);
                let message = match &table {
                    Some(t) if self.existing_table(t) => Some(format!("VACUUM FULL rewrites existing table {t:?} and its indexes under an ACCESS EXCLUSIVE lock: reads and writes wait for the rewrite")),
                    Some(_) => None,
                    None => Some("VACUUM FULL rewrites every table of the database, each under an ACCESS EXCLUSIVE lock: its reads and writes wait for the rewrite".to_string()),
                };
                if let Some(m) = message {
                    push("PG503", m, table.unwrap_or_default());
                }
            }
            "CLUSTER" => {
                let table = target(1, &["VERBOSE"]);
                let message = match &table {
                    Some(t) if self.existing_table(t) => Some(format!("CLUSTER rewrites existing table {t:?} in index order under an ACCESS EXCLUSIVE lock: reads and writes wait for the rewrite")),
                    Some(_) => None,
                    None => Some("CLUSTER rewrites every table clustered before, each under an ACCESS EXCLUSIVE lock: its reads and writes wait for the rewrite".to_string()),
                };
                if let Some(m) = message {
                    push("PG504", m, table.unwrap_or_default());
                }
            }
            "TRUNCATE" => {
                let start = if first(1) == "TABLE" { 2 } else { 1 };
                let start = if first(start) == "ONLY" {
                    start + 1
                } else {
                    start
                };
                let tables: Vec<String> = words
                    .iter()
                    .zip(upper)
                    .skip(start)
                    .take_while(|(_, u)| {
                        !["CASCADE", "RESTRICT", "RESTART", "CONTINUE"]
                            .contains(&u.trim_end_matches(';'))
                    })
                    .filter_map(|(w, _)| name_of(w))
                    .filter(|t| self.existing_table(t))
                    .collect();
                for t in tables {
                    push(
                        "PG505",
                        format!("TRUNCATE of existing table {t:?} takes an ACCESS EXCLUSIVE lock and deletes every row: reads and writes wait, and the data is gone"),
                        t,
                    );
                }
            }
            "ALTER"
                if first(1) == "TABLE"
                    && has("DETACH")
                    && !has("CONCURRENTLY")
                    && !has("FINALIZE") =>
            {
                let table = target(2, &["IF", "EXISTS", "ONLY"]);
                let detach = upper.iter().position(|u| u == "DETACH").unwrap_or(0);
                let partition = target(detach + 2, &[]).unwrap_or_default();
                if let Some(t) = table.filter(|t| self.existing_table(t)) {
                    push(
                        "PG506",
                        format!("DETACH PARTITION {partition:?} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on partitioned table {t:?}: reads and writes of every partition wait"),
                        t,
                    );
                }
            }
            _ => {}
        }
    }

    /// `exclusion-constraint` and `prefer-jsonb` on a parsed statement.
    pub(super) fn judge_second_wave(
        &self,
        ast: &Statement,
        session: &Session,
        out: &mut Vec<Found>,
    ) {
        let json = |ty: &DataType| matches!(ty, DataType::JSON);
        match ast {
            Statement::CreateIndex(ci) if ci.concurrently => {
                let table = object_name(&ci.table_name);
                let name = ci.name.as_ref().map(object_name).unwrap_or_default();
                // Inside a transaction block it fails anyway
                // (concurrently-in-transaction).
                if !self.existing_table(&table) || session.open_epoch().is_some() {
                    return;
                }
                if ci.if_not_exists {
                    out.push((
                        "PG804",
                        Analyzer::InvalidIndex,
                        format!("CREATE INDEX CONCURRENTLY IF NOT EXISTS {name:?}: a concurrent build that fails (a deadlock, a duplicate, a cancel) leaves an INVALID index {name:?} behind, and IF NOT EXISTS then keeps it: the migration succeeds with an index PostgreSQL never uses"),
                        table.clone(),
                    ));
                }
                if session.timeout_in_effect() {
                    out.push((
                        "PG805",
                        Analyzer::InvalidIndex,
                        format!("building {name:?} concurrently with a lock_timeout in effect: the build waits for every transaction that writes {table:?}, and when one outlasts lock_timeout the build is cancelled and leaves an INVALID index {name:?} behind"),
                        table,
                    ));
                }
            }
            Statement::CreateTable(ct) => {
                let table = object_name(&ct.name);
                for c in ct.columns.iter().filter(|c| json(&c.data_type)) {
                    out.push(prefer_jsonb(&table, &ident_name(&c.name)));
                }
            }
            Statement::AlterTable(at) => {
                let table = object_name(&at.name);
                for op in &at.operations {
                    match op {
                        AlterTableOperation::AddColumn { column_def, .. }
                            if json(&column_def.data_type) =>
                        {
                            out.push(prefer_jsonb(&table, &ident_name(&column_def.name)));
                        }
                        AlterTableOperation::AlterColumn {
                            column_name,
                            op: AlterColumnOperation::SetDataType { data_type, .. },
                        } if json(data_type) => {
                            out.push(prefer_jsonb(&table, &ident_name(column_name)));
                        }
                        AlterTableOperation::AddConstraint {
                            constraint: TableConstraint::Exclude(x),
                            ..
                        } if self.existing_table(&table) => {
                            let name = x.name.as_ref().map(ident_name).unwrap_or_default();
                            out.push((
                                "PG601",
                                Analyzer::Exclusion,
                                format!("adding exclusion constraint {name:?} to existing table {table:?} builds its index and checks every row under an ACCESS EXCLUSIVE lock, and an exclusion constraint cannot be added NOT VALID: reads and writes wait until it is built"),
                                table.clone(),
                            ));
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}

impl Lint {
    /// `postgres-version`: statements whose outcome depends on the server
    /// version (`conventions.postgres_version`), from their words.
    pub(super) fn judge_version(&self, text: &Words, session: &Session, out: &mut Vec<Found>) {
        let has = |w: &str| text.has(w);
        let first = |n: usize| text.bare(n);
        let (v, minor) = (self.pg_version, self.pg_minor);
        let mut push = |code: &'static str, message: String| {
            out.push((code, Analyzer::PgVersion, message, String::new()));
        };
        let concurrent_index = has("CONCURRENTLY")
            && (first(0) == "REINDEX" || (first(0) == "CREATE" && has("INDEX")));
        if concurrent_index && v == 14 && minor.is_none_or(|m| m < 4) {
            let on = match minor {
                Some(m) => format!("conventions.postgres_version is 14.{m}"),
                None => "conventions.postgres_version is 14 without its minor version".to_string(),
            };
            push(
                "PG901",
                format!("{on}: PostgreSQL 14.0 to 14.3 can build a corrupt index with CREATE INDEX CONCURRENTLY or REINDEX CONCURRENTLY (fixed in 14.4)"),
            );
        }
        if first(0) == "REINDEX" && has("CONCURRENTLY") && v < 12 {
            push(
                "PG904",
                format!("REINDEX CONCURRENTLY does not exist before PostgreSQL 12 (conventions.postgres_version: {v}): the migration fails"),
            );
        }
        if first(0) == "ALTER"
            && first(1) == "TABLE"
            && has("DETACH")
            && has("CONCURRENTLY")
            && v < 14
        {
            push(
                "PG903",
                format!("DETACH PARTITION ... CONCURRENTLY does not exist before PostgreSQL 14 (conventions.postgres_version: {v}): the migration fails"),
            );
        }
        if first(0) == "ALTER" && first(1) == "TYPE" && has("ADD") && has("VALUE") && v < 12 {
            if let Some(why) = session.in_tx() {
                push(
                    "PG902",
                    format!("ALTER TYPE ... ADD VALUE cannot run inside a transaction block before PostgreSQL 12 (conventions.postgres_version: {v}), and {why}: the migration fails"),
                );
            }
        }
    }
}

impl Lint {
    /// `backward-incompatible-change` for renames sqlparser does not model:
    /// a schema (`BC103`) and an enum value (`BC104`) that exist on the base
    /// side.
    pub(super) fn judge_renames(&self, text: &Words, out: &mut Vec<Found>) {
        let words = &text.raw;
        let at = |n: usize| text.at(n);
        if at(0) != "ALTER" {
            return;
        }
        let name = words.get(2).and_then(|w| name_of(w)).unwrap_or_default();
        if at(1) == "SCHEMA" && at(3) == "RENAME" && self.schemas.get(&name) == Some(&false) {
            let new = words.get(5).and_then(|w| name_of(w)).unwrap_or_default();
            out.push((
                "BC103",
                Analyzer::Incompatible,
                format!("Renaming schema {name:?} to {new:?}"),
                name,
            ));
        } else if at(1) == "TYPE"
            && at(3) == "RENAME"
            && at(4) == "VALUE"
            && self.types.get(&name) == Some(&false)
        {
            let old = words.get(5).copied().unwrap_or("");
            let new = words.get(7).map(|w| w.trim_end_matches(';')).unwrap_or("");
            out.push((
                "BC104",
                Analyzer::Incompatible,
                format!("Renaming value {old} of enum type {name:?} to {new}"),
                name,
            ));
        }
    }
}

fn prefer_jsonb(table: &str, column: &str) -> Found {
    (
        "PG701",
        Analyzer::PreferJsonb,
        format!("column {column:?} of {table:?} is json: it stores the text as written and has no equality operator, so it cannot be compared, indexed with GIN, or used in DISTINCT, GROUP BY or UNION; jsonb can"),
        format!("{table}.{column}"),
    )
}

/// `unclosed-transaction`: the line of a `BEGIN` the file never closes, when
/// the tool does not wrap the file itself (a `BEGIN` inside the tool's
/// transaction is `transaction-control`'s).
pub(super) fn unclosed(session: &Session) -> Option<usize> {
    session.open_begin()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::ParsedFile;

    fn found(base: &str, new: &str) -> Vec<(usize, &'static str)> {
        let mut l = Lint::default();
        l.file("base.sql", &ParsedFile::parse(base.as_bytes()), false);
        l.file_in(
            "new.sql",
            &ParsedFile::parse(new.as_bytes()),
            true,
            crate::migrations::TxMode::None,
        );
        l.diags
            .iter()
            .filter(|d| {
                matches!(
                    d.analyzer,
                    Analyzer::Maintenance
                        | Analyzer::Exclusion
                        | Analyzer::PreferJsonb
                        | Analyzer::UnclosedTx
                        | Analyzer::PgVersion
                )
            })
            .map(|d| (d.line, d.code))
            .collect()
    }

    const BASE: &str = "CREATE TABLE users (id int PRIMARY KEY, r int4range);\nCREATE INDEX users_r ON users (r);\nCREATE MATERIALIZED VIEW totals AS SELECT count(*) FROM users;\nCREATE TABLE events (id int, at date) PARTITION BY RANGE (at);\n";

    #[test]
    fn names_as_the_model_has_them() {
        assert_eq!(name_of("\"Users\";").as_deref(), Some("Users"));
        assert_eq!(name_of("public.USERS").as_deref(), Some("users"));
        assert_eq!(name_of("(x"), None);
    }

    #[test]
    fn maintenance_of_existing_objects_is_found_and_concurrent_forms_are_not() {
        let new = "REINDEX TABLE users;\nREINDEX INDEX users_r;\nREINDEX TABLE CONCURRENTLY users;\nREFRESH MATERIALIZED VIEW totals;\nREFRESH MATERIALIZED VIEW CONCURRENTLY totals;\nVACUUM FULL users;\nVACUUM (FULL, ANALYZE) users;\nCLUSTER users USING users_pkey;\nTRUNCATE TABLE users, other CASCADE;\nALTER TABLE events DETACH PARTITION events_2020;\nALTER TABLE events DETACH PARTITION events_2021 CONCURRENTLY;\nVACUUM users;\n";
        assert_eq!(
            found(BASE, new),
            [
                (1, "PG501"),
                (2, "PG501"),
                (4, "PG502"),
                (6, "PG503"),
                (7, "PG503"),
                (8, "PG504"),
                (9, "PG505"),
                (10, "PG506")
            ]
        );
    }

    #[test]
    fn objects_the_change_creates_are_left_alone() {
        let new = "CREATE TABLE t (id int, j jsonb);\nCREATE MATERIALIZED VIEW mv AS SELECT 1;\nREFRESH MATERIALIZED VIEW mv;\nTRUNCATE t;\nREINDEX TABLE t;\nVACUUM FULL t;\nCLUSTER t;\nALTER TABLE t ADD CONSTRAINT t_x EXCLUDE USING gist (id WITH =);\n";
        assert_eq!(found(BASE, new), []);
    }

    #[test]
    fn exclusion_constraints_json_columns_and_open_transactions() {
        let new = "ALTER TABLE users ADD CONSTRAINT users_no_overlap EXCLUDE USING gist (r WITH &&);\nALTER TABLE users ADD COLUMN doc json;\nCREATE TABLE docs (id int, body json, meta jsonb);\nBEGIN;\nALTER TABLE users ADD COLUMN note text;\n";
        assert_eq!(
            found(BASE, new),
            [(1, "PG601"), (2, "PG701"), (3, "PG701"), (4, "TX202")]
        );
        // Closed, it is fine.
        assert_eq!(
            found(
                BASE,
                "BEGIN;\nALTER TABLE users ADD COLUMN note text;\nCOMMIT;\n"
            ),
            []
        );
    }
}
