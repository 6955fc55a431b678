//! migguard's PostgreSQL lock, rewrite and transaction rules, judged on the
//! same replayed model as Atlas's analyzers: only objects that exist on the
//! base side, and each file run the way its migration tool runs it. Every
//! lock, scan and rewrite claimed here is checked against PostgreSQL in
//! `tests/lock_claims.rs`.

use std::collections::BTreeMap;

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnOption, ContextModifier, Expr, GeneratedAs,
    ObjectType, Reset, Set, Statement, TableConstraint,
};

use super::{ident_name, object_name, pg_name, Analyzer, Fact, Found, Lint};
use crate::migrations::TxMode;

/// What the session running one file is in, statement by statement.
pub(super) struct Session {
    /// Why the tool's (or PostgreSQL's implicit) transaction is open.
    tool_tx: Option<String>,
    tx: TxMode,
    /// After an explicit `BEGIN`, until `COMMIT` / `ROLLBACK`.
    explicit: bool,
    /// Statements of one transaction share it.
    epoch: usize,
    /// `SET lock_timeout` for the session, and `SET LOCAL` for the
    /// current transaction.
    timeout_session: bool,
    timeout_local: bool,
    /// Constraints added `NOT VALID` in this file: their code and epoch.
    not_valid: BTreeMap<String, (&'static str, usize)>,
    /// The line of the statement being followed, and of the explicit
    /// `BEGIN` that is open.
    pub(super) line: usize,
    begin_line: usize,
    /// Locks that block writes (or reads and writes) of existing tables,
    /// taken by earlier statements: (mode, table, line, epoch).
    pub(super) held: Vec<(&'static str, String, usize, usize)>,
    /// Existing tables an earlier statement altered: (table, line, epoch).
    pub(super) altered: Vec<(String, usize, usize)>,
    /// What earlier statements established about a table inside a
    /// transaction, with nothing since that could have written a row of it:
    /// (table, fact, epoch).
    pub(super) facts: Vec<(String, Fact, usize)>,
}

impl Session {
    pub(super) fn new(tx: TxMode, statements: usize) -> Session {
        let tool_tx = match tx {
            TxMode::Wrapped(tool) => Some(format!("{tool} runs this file in one transaction")),
            TxMode::Implicit if statements > 1 => Some(
                "golang-migrate sends this file as one query, which PostgreSQL runs as one transaction when it holds more than one statement"
                    .to_string(),
            ),
            _ => None,
        };
        Session {
            tool_tx,
            tx,
            explicit: false,
            epoch: 0,
            timeout_session: false,
            timeout_local: false,
            not_valid: BTreeMap::new(),
            line: 0,
            begin_line: 0,
            held: Vec::new(),
            altered: Vec::new(),
            facts: Vec::new(),
        }
    }

    /// The transaction the next statement runs in, if it is in one: its
    /// epoch (statements of one transaction share it).
    pub(super) fn open_epoch(&self) -> Option<usize> {
        self.in_tx().map(|_| self.epoch)
    }

    /// The facts about `table` established earlier in the open
    /// transaction.
    pub(super) fn facts_in_tx<'a>(&'a self, table: &'a str) -> impl Iterator<Item = &'a Fact> + 'a {
        let epoch = self.open_epoch();
        self.facts
            .iter()
            .filter(move |(t, _, e)| t == table && Some(*e) == epoch)
            .map(|(_, f, _)| f)
    }

    pub(super) fn timeout_in_effect(&self) -> bool {
        self.timeout()
    }

    /// The line of a `BEGIN` still open at the end of the file, when the
    /// tool does not wrap the file in a transaction of its own.
    pub(super) fn open_begin(&self) -> Option<usize> {
        (self.explicit && !matches!(self.tx, TxMode::Wrapped(_))).then_some(self.begin_line)
    }

    /// Why the statement runs inside a transaction block, if it does.
    pub(super) fn in_tx(&self) -> Option<String> {
        if self.explicit {
            Some("an explicit BEGIN opened a transaction before it".to_string())
        } else {
            self.tool_tx.clone()
        }
    }

    fn timeout(&self) -> bool {
        self.timeout_session || self.timeout_local
    }

    /// Follows what `ast` did to the session.
    pub(super) fn after(&mut self, ast: &Statement) {
        match ast {
            Statement::StartTransaction { .. } => {
                if !self.explicit {
                    self.begin_line = self.line;
                }
                self.explicit = true;
                self.epoch += 1;
            }
            Statement::Commit { .. } | Statement::Rollback { .. } => {
                if self.explicit {
                    self.explicit = false;
                } else {
                    // The tool's transaction ended early (TX201): what
                    // follows runs in autocommit.
                    self.tool_tx = None;
                }
                self.epoch += 1;
                self.timeout_local = false;
            }
            Statement::Set(Set::SingleAssignment {
                scope,
                variable,
                values,
                ..
            }) if object_name(variable) == "lock_timeout" => {
                let on = values.first().is_some_and(|v| {
                    let v = v.to_string().trim_matches('\'').to_lowercase();
                    v != "0" && v != "default" && !v.starts_with("0ms") && v != "0s"
                });
                if matches!(scope, Some(ContextModifier::Local)) {
                    // Outside a transaction block SET LOCAL does nothing.
                    if self.in_tx().is_some() {
                        self.timeout_local = on;
                    }
                } else {
                    self.timeout_session = on;
                    self.timeout_local = false;
                }
            }
            Statement::Reset(r) => {
                let all = matches!(r.reset, Reset::ALL);
                let ours = matches!(&r.reset, Reset::ConfigurationParameter(n) if object_name(n) == "lock_timeout");
                if all || ours {
                    self.timeout_session = false;
                    self.timeout_local = false;
                }
            }
            Statement::AlterTable(at) => {
                for op in &at.operations {
                    if let AlterTableOperation::AddConstraint {
                        constraint,
                        not_valid: true,
                    } = op
                    {
                        let (code, name) = match constraint {
                            TableConstraint::Check(c) => ("PG305", c.name.as_ref()),
                            TableConstraint::ForeignKey(f) => ("PG306", f.name.as_ref()),
                            _ => continue,
                        };
                        if let Some(n) = name {
                            self.not_valid
                                .insert(pg_name(ident_name(n)), (code, self.epoch));
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Between statements: outside any transaction block each statement is
    /// a transaction of its own.
    pub(super) fn next_statement(&mut self) {
        if self.in_tx().is_none() {
            self.epoch += 1;
            self.timeout_local = false;
        }
    }
}

/// `CONCURRENTLY` in a statement sqlparser could not read (its grammar has
/// no `DROP INDEX CONCURRENTLY`): PG103 all the same.
pub(super) fn judge_opaque(text: &str, session: &Session, out: &mut Vec<Found>) {
    let words: Vec<String> = text
        .split_whitespace()
        .take(4)
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let concurrent = matches!(
        words
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
        ["DROP", "INDEX", "CONCURRENTLY", ..]
            | ["CREATE", "INDEX", "CONCURRENTLY", ..]
            | ["CREATE", "UNIQUE", "INDEX", "CONCURRENTLY"]
            | ["REINDEX", ..]
    ) && (words[0] != "REINDEX"
        || text.to_ascii_uppercase().contains("CONCURRENTLY"));
    if let (true, Some(why)) = (concurrent, session.in_tx()) {
        let what = words[..2].join(" ");
        out.push((
            "PG103",
            Analyzer::Concurrently,
            format!("{what} CONCURRENTLY cannot run inside a transaction block, and {why}: the migration fails"),
            String::new(),
        ));
    }
}

/// The column a `CHECK (col IS NOT NULL)` proves not null.
pub(super) fn not_null_check(e: &Expr) -> Option<String> {
    match e {
        Expr::Nested(inner) => not_null_check(inner),
        Expr::IsNotNull(inner) => match &**inner {
            Expr::Identifier(i) => Some(ident_name(i)),
            _ => None,
        },
        _ => None,
    }
}

/// A type name reduced to PostgreSQL's canonical spelling and its
/// modifiers: `character varying(20)` is (`varchar`, [20]).
fn canonical(ty: &str) -> (String, Vec<u32>) {
    let ty = ty.trim().to_lowercase();
    let (base, args) = match ty.split_once('(') {
        Some((b, rest)) => (
            b.trim().to_string(),
            rest.trim_end_matches(')')
                .split(',')
                .filter_map(|a| a.trim().parse().ok())
                .collect(),
        ),
        None => (ty.clone(), Vec::new()),
    };
    let base = match base.as_str() {
        "character varying" => "varchar",
        "int" | "int4" => "integer",
        "int8" => "bigint",
        "int2" => "smallint",
        "decimal" => "numeric",
        "timestamp with time zone" => "timestamptz",
        "timestamp without time zone" => "timestamp",
        "bool" => "boolean",
        other => other,
    }
    .to_string();
    (base, args)
}

/// Whether changing a column from `old` to `new` rewrites the table. Binary
/// coercible changes do not: a longer or unlimited `varchar`, `varchar` to
/// `text` and back to an unlimited `varchar`, a `numeric` with more
/// precision and the same scale, or unconstrained. A `USING` clause always
/// recomputes the rows.
pub fn type_change_rewrites(old: &str, new: &str, using: bool) -> bool {
    if using {
        return true;
    }
    let (ob, oa) = canonical(old);
    let (nb, na) = canonical(new);
    if (ob.as_str(), &oa) == (nb.as_str(), &na) {
        return false;
    }
    match (ob.as_str(), nb.as_str()) {
        ("varchar", "varchar") => !(na.is_empty() || (!oa.is_empty() && na[0] >= oa[0])),
        ("varchar", "text") => false,
        ("text", "varchar") => !na.is_empty(),
        ("numeric", "numeric") => {
            !(na.is_empty()
                || (oa.len() == na.len()
                    && !oa.is_empty()
                    && na[0] >= oa[0]
                    && oa.get(1) == na.get(1)))
        }
        _ => true,
    }
}

/// Functions whose value differs per row: a column added with one as
/// default is written into every row.
fn volatile_default(e: &Expr) -> bool {
    let mut volatile = false;
    let _ = sqlparser::ast::visit_expressions(e, |x: &Expr| {
        if let Expr::Function(f) = x {
            let name = f.name.to_string().to_lowercase();
            let name = name.rsplit('.').next().unwrap_or(&name).to_string();
            if matches!(
                name.as_str(),
                "random"
                    | "gen_random_uuid"
                    | "uuid_generate_v1"
                    | "uuid_generate_v4"
                    | "clock_timestamp"
                    | "timeofday"
                    | "nextval"
                    | "txid_current"
            ) {
                volatile = true;
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    volatile
}

impl Lint {
    /// The lock, rewrite and transaction rules on one statement; returns
    /// the strongest lock it takes on an existing table (mode, table).
    pub(super) fn judge_locks(
        &self,
        ast: &Statement,
        session: &Session,
        out: &mut Vec<Found>,
    ) -> Option<(&'static str, String)> {
        let in_tx = session.in_tx();
        // The strongest lock the statement takes on an existing table, for
        // lock-timeout: (mode, table).
        let mut lock: Option<(&str, String)> = None;
        match ast {
            Statement::CreateIndex(ci) => {
                let table = object_name(&ci.table_name);
                let name = ci.name.as_ref().map(object_name).unwrap_or_default();
                if ci.concurrently {
                    if let Some(why) = &in_tx {
                        out.push((
                            "PG103",
                            Analyzer::Concurrently,
                            format!("CREATE INDEX CONCURRENTLY cannot run inside a transaction block, and {why}: the migration fails"),
                            table,
                        ));
                    }
                } else if self.existing_table(&table) {
                    out.push((
                        "PG101",
                        Analyzer::IndexLock,
                        format!("creating index {name:?} on existing table {table:?} without CONCURRENTLY holds a SHARE lock while the index is built: every write to {table:?} waits"),
                        table.clone(),
                    ));
                    lock = Some(("SHARE", table));
                }
            }
            Statement::Drop {
                object_type, names, ..
            } => {
                for n in names {
                    let name = object_name(n);
                    match object_type {
                        ObjectType::Index => {
                            let Some(ix) = self.indexes.get(&name) else {
                                continue;
                            };
                            if !ix.new && self.existing_table(&ix.table) {
                                out.push((
                                    "PG102",
                                    Analyzer::IndexLock,
                                    format!("dropping index {name:?} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on {:?}: its reads and writes wait, and so does everything queued behind it", ix.table),
                                    ix.table.clone(),
                                ));
                                lock = Some(("ACCESS EXCLUSIVE", ix.table.clone()));
                            }
                        }
                        ObjectType::Table if self.existing_table(&name) => {
                            lock = Some(("ACCESS EXCLUSIVE", name));
                        }
                        _ => {}
                    }
                }
            }
            Statement::Truncate(t) => {
                if let Some(name) = t.table_names.first().map(|n| object_name(&n.name)) {
                    if self.existing_table(&name) {
                        lock = Some(("ACCESS EXCLUSIVE", name));
                    }
                }
            }
            Statement::StartTransaction { .. }
            | Statement::Commit { .. }
            | Statement::Rollback { .. } => {
                if let TxMode::Wrapped(tool) = session.tx {
                    let word = match ast {
                        Statement::StartTransaction { .. } => "BEGIN",
                        Statement::Commit { .. } => "COMMIT",
                        _ => "ROLLBACK",
                    };
                    let effect = match word {
                        "BEGIN" => "PostgreSQL ignores it with a warning, and a COMMIT after it ends the tool's transaction early",
                        _ => "it ends the tool's transaction early: what follows runs outside it, and a failure there leaves the migration half applied",
                    };
                    out.push((
                        "TX201",
                        Analyzer::TxControl,
                        format!(
                            "{word} inside the transaction {tool} opens for this file: {effect}"
                        ),
                        String::new(),
                    ));
                }
            }
            Statement::AlterTable(at) => {
                let table = object_name(&at.name);
                if self.existing_table(&table) {
                    lock = self.judge_alter_locks(&table, &at.operations, session, out);
                }
            }
            _ => {}
        }
        let verb = match ast {
            Statement::CreateIndex(_) => "CREATE INDEX",
            Statement::Drop {
                object_type: ObjectType::Index,
                ..
            } => "DROP INDEX",
            Statement::Drop { .. } => "DROP TABLE",
            Statement::Truncate(_) => "TRUNCATE",
            _ => "ALTER TABLE",
        };
        if let Some((mode, table)) = &lock {
            if !session.timeout() && !self.lock_timeout_by_runner {
                out.push((
                    "",
                    Analyzer::LockTimeout,
                    format!("{verb} takes a{} {mode} lock on existing table {table:?} with no lock_timeout in effect in this file's session: if it waits behind one long query, every later query on {table:?} queues behind it", if mode.starts_with('A') { "n" } else { "" }),
                    table.clone(),
                ));
            }
        }
        lock
    }

    /// The lock and rewrite rules on the operations of one `ALTER TABLE` of
    /// an existing table; returns the strongest lock it takes.
    fn judge_alter_locks(
        &self,
        table: &str,
        ops: &[AlterTableOperation],
        session: &Session,
        out: &mut Vec<Found>,
    ) -> Option<(&'static str, String)> {
        let t = self.tables.get(table)?;
        let mut access_exclusive = false;
        let mut share_row_exclusive = false;
        for op in ops {
            match op {
                AlterTableOperation::AddConstraint {
                    constraint,
                    not_valid,
                } => match constraint {
                    TableConstraint::PrimaryKey(_) => {
                        access_exclusive = true;
                        out.push((
                            "PG104",
                            Analyzer::UniqueLock,
                            format!("adding a primary key to existing table {table:?} builds its index under an ACCESS EXCLUSIVE lock: reads and writes wait until it is built"),
                            table.to_string(),
                        ));
                    }
                    TableConstraint::Unique(u) => {
                        access_exclusive = true;
                        let name = u.name.as_ref().map(ident_name).unwrap_or_default();
                        out.push((
                            "PG105",
                            Analyzer::UniqueLock,
                            format!("adding unique constraint {name:?} to existing table {table:?} builds its index under an ACCESS EXCLUSIVE lock: reads and writes wait until it is built"),
                            table.to_string(),
                        ));
                    }
                    TableConstraint::Check(c) if !not_valid => {
                        access_exclusive = true;
                        let name = c.name.as_ref().map(ident_name).unwrap_or_default();
                        out.push((
                            "PG305",
                            Analyzer::Validation,
                            format!("adding CHECK constraint {name:?} without NOT VALID scans every row of existing table {table:?} under an ACCESS EXCLUSIVE lock: reads and writes wait for the scan"),
                            table.to_string(),
                        ));
                    }
                    TableConstraint::ForeignKey(f) if !not_valid => {
                        share_row_exclusive = true;
                        let name = f.name.as_ref().map(ident_name).unwrap_or_default();
                        let other = object_name(&f.foreign_table);
                        out.push((
                            "PG306",
                            Analyzer::Validation,
                            format!("adding foreign key {name:?} without NOT VALID checks every row of existing table {table:?} while holding SHARE ROW EXCLUSIVE locks on {table:?} and {other:?}: writes to both wait for the check"),
                            table.to_string(),
                        ));
                    }
                    TableConstraint::Check(_) => access_exclusive = true,
                    TableConstraint::ForeignKey(_) => share_row_exclusive = true,
                    _ => access_exclusive = true,
                },
                AlterTableOperation::ValidateConstraint { name } => {
                    let name = pg_name(ident_name(name));
                    let same_tx =
                        |epoch: usize| epoch == session.epoch && session.in_tx().is_some();
                    // A write-blocking lock an earlier statement of this
                    // transaction took (on any existing table).
                    let held = session.held.iter().find(|(_, _, _, epoch)| same_tx(*epoch));
                    match (session.not_valid.get(&name), held) {
                        (Some((code, epoch)), _) if same_tx(*epoch) => out.push((
                            code,
                            Analyzer::Validation,
                            format!("validating {name:?} in the same transaction that added it NOT VALID: the lock the ADD took is still held while every row of {table:?} is checked, so NOT VALID gains nothing"),
                            table.to_string(),
                        )),
                        (_, Some((mode, locked, line, _))) => out.push((
                            "PG308",
                            Analyzer::Validation,
                            format!("validating {name:?} in a transaction that already holds the {mode} lock line {line} took on {locked:?}: that lock stays held while every row of {table:?} is checked"),
                            table.to_string(),
                        )),
                        _ => {}
                    }
                }
                AlterTableOperation::AlterColumn { column_name, op } => {
                    access_exclusive = true;
                    let c = ident_name(column_name);
                    let Some(col) = t.columns.get(&c).filter(|c| !c.new) else {
                        continue;
                    };
                    match op {
                        AlterColumnOperation::SetNotNull if !col.not_null => {
                            let proven = t
                                .not_null_checks
                                .values()
                                .any(|(column, valid)| *column == c && *valid);
                            if !proven || self.pg_version < 12 {
                                out.push((
                                    "PG303",
                                    Analyzer::NotNullScan,
                                    format!("SET NOT NULL on {c:?} scans every row of existing table {table:?} under an ACCESS EXCLUSIVE lock: reads and writes wait for the scan"),
                                    format!("{table}.{c}"),
                                ));
                            }
                        }
                        AlterColumnOperation::SetDataType {
                            data_type, using, ..
                        } => {
                            let new = data_type.to_string().to_lowercase();
                            if !col.ty.is_empty()
                                && type_change_rewrites(&col.ty, &new, using.is_some())
                            {
                                out.push((
                                    "PG301",
                                    Analyzer::Rewrite,
                                    format!("changing {c:?} from {} to {new} rewrites existing table {table:?} and its indexes under an ACCESS EXCLUSIVE lock: reads and writes wait for the rewrite", col.ty),
                                    format!("{table}.{c}"),
                                ));
                            }
                        }
                        _ => {}
                    }
                }
                AlterTableOperation::AddColumn { column_def, .. } => {
                    access_exclusive = true;
                    let c = ident_name(&column_def.name);
                    let ty = column_def.data_type.to_string().to_lowercase();
                    let why = column_def.options.iter().find_map(|o| match &o.option {
                        ColumnOption::Default(e) if volatile_default(e) => {
                            Some(format!("its default {e} is volatile: a value is written into every row"))
                        }
                        ColumnOption::Default(_) if self.pg_version < 11 => Some(format!(
                            "before PostgreSQL 11 any default is written into every row (conventions.postgres_version: {})",
                            self.pg_version
                        )),
                        ColumnOption::Generated {
                            generated_as: GeneratedAs::ExpStored,
                            ..
                        } => Some("a stored generated column is computed into every row".to_string()),
                        ColumnOption::Generated {
                            generated_as: GeneratedAs::Always | GeneratedAs::ByDefault,
                            generation_expr: None,
                            ..
                        }
                        | ColumnOption::Identity(_) => {
                            Some("an identity column is numbered in every row".to_string())
                        }
                        _ => None,
                    });
                    let why = why.or_else(|| {
                        matches!(
                            ty.as_str(),
                            "serial"
                                | "bigserial"
                                | "smallserial"
                                | "serial2"
                                | "serial4"
                                | "serial8"
                        )
                        .then(|| format!("a {ty} column takes nextval() into every row"))
                    });
                    if let Some(why) = why {
                        out.push((
                            "PG302",
                            Analyzer::Rewrite,
                            format!("adding column {c:?} rewrites existing table {table:?} under an ACCESS EXCLUSIVE lock ({why}): reads and writes wait for the rewrite"),
                            format!("{table}.{c}"),
                        ));
                    }
                }
                AlterTableOperation::SetLogged | AlterTableOperation::SetUnlogged => {
                    access_exclusive = true;
                    let to = if matches!(op, AlterTableOperation::SetLogged) {
                        "LOGGED"
                    } else {
                        "UNLOGGED"
                    };
                    out.push((
                        "PG307",
                        Analyzer::Rewrite,
                        format!("SET {to} rewrites existing table {table:?} under an ACCESS EXCLUSIVE lock: reads and writes wait for the rewrite"),
                        table.to_string(),
                    ));
                }
                _ => access_exclusive = true,
            }
        }
        if access_exclusive {
            Some(("ACCESS EXCLUSIVE", table.to_string()))
        } else if share_row_exclusive {
            Some(("SHARE ROW EXCLUSIVE", table.to_string()))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_coercible_type_changes_do_not_rewrite() {
        for (old, new, rewrites) in [
            ("character varying(10)", "character varying(20)", false),
            ("varchar(10)", "varchar", false),
            ("character varying(10)", "text", false),
            ("text", "character varying", false),
            ("numeric(10,2)", "numeric(12,2)", false),
            ("numeric(10,2)", "numeric", false),
            ("character varying(20)", "character varying(10)", true),
            ("text", "varchar(10)", true),
            ("numeric(10,2)", "numeric(10,3)", true),
            ("integer", "bigint", true),
            ("int", "integer", false),
            ("text", "jsonb", true),
        ] {
            assert_eq!(
                type_change_rewrites(old, new, false),
                rewrites,
                "{old} -> {new}"
            );
        }
        assert!(type_change_rewrites("text", "text", true));
    }
}
