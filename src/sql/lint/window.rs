//! What a transaction holds while later statements run: `long-lock-window`
//! (slow work under a lock an earlier statement took) and
//! `backfill-in-transaction` (rows rewritten in the transaction that
//! changed the table's schema, or every row in one statement). Both follow
//! the session of one file: its tool's transaction, or explicit ones.

use sqlparser::ast::{
    AlterTableOperation, FromTable, SetExpr, Statement, TableFactor, TableObject,
};

use super::locks::Session;
use super::{object_name, Analyzer, Found, Lint};

/// Codes of the statements that take long on a big table: index builds,
/// scans, validations, rewrites, maintenance.
const SLOW: &[&str] = &[
    "PG101", "PG104", "PG105", "PG301", "PG302", "PG303", "PG305", "PG306", "PG307", "PG501",
    "PG502", "PG503", "PG504", "PG505", "PG506", "PG601",
];

fn strength(mode: &str) -> u8 {
    match mode {
        "ACCESS EXCLUSIVE" => 3,
        "SHARE ROW EXCLUSIVE" => 2,
        _ => 1,
    }
}

/// Who waits for a lock of `mode`.
fn waiting(mode: &str) -> &'static str {
    if mode == "ACCESS EXCLUSIVE" {
        "reader and writer"
    } else {
        "writer"
    }
}

/// A statement that writes rows of a table: (verb, table, every row).
fn writes_rows(ast: &Statement) -> Option<(&'static str, String, bool)> {
    match ast {
        Statement::Update(u) => match &u.table.relation {
            TableFactor::Table { name, .. } => {
                Some(("UPDATE", object_name(name), u.selection.is_none()))
            }
            _ => None,
        },
        Statement::Delete(d) => {
            let from = match &d.from {
                FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
            };
            match from.first().map(|t| &t.relation) {
                Some(TableFactor::Table { name, .. }) => Some((
                    "DELETE",
                    object_name(name),
                    d.selection.is_none() && d.using.is_none(),
                )),
                _ => None,
            }
        }
        Statement::Insert(i) => {
            let from_query = i
                .source
                .as_ref()
                .is_some_and(|q| !matches!(*q.body, SetExpr::Values(_)));
            match &i.table {
                TableObject::TableName(name) if from_query => {
                    Some(("INSERT ... SELECT", object_name(name), false))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

impl Lint {
    /// `backfill-in-transaction` and `long-lock-window` on one statement,
    /// which takes `lock` itself.
    pub(super) fn judge_window(
        &self,
        ast: &Statement,
        lock: Option<&(&'static str, String)>,
        session: &Session,
        out: &mut Vec<Found>,
    ) {
        let epoch = session.open_epoch();
        let mut backfilled = None;
        if let Some((verb, table, every)) = writes_rows(ast) {
            if self.existing_table(&table) {
                let altered = session
                    .altered
                    .iter()
                    .find(|(t, _, e)| *t == table && Some(*e) == epoch);
                if let Some((_, line, _)) = altered {
                    out.push((
                        "PG802",
                        Analyzer::Backfill,
                        format!("{verb} on existing table {table:?} in the same transaction as its schema change at line {line}: the ACCESS EXCLUSIVE lock that change took is held while every row is written, so reads and writes of {table:?} wait for the backfill"),
                        table.clone(),
                    ));
                    backfilled = Some(table.clone());
                } else if every {
                    out.push((
                        "PG803",
                        Analyzer::Backfill,
                        format!("{verb} of every row of existing table {table:?} in one statement: each row stays locked until the transaction ends (other writers of those rows wait), and every row leaves a dead copy behind"),
                        table.clone(),
                    ));
                }
            }
        }
        let slow = out.iter().any(|(code, ..)| SLOW.contains(code))
            || writes_rows(ast).is_some_and(|(_, t, _)| self.existing_table(&t));
        // A validation under an earlier lock is constraint-validation-lock's.
        let validates = matches!(ast, Statement::AlterTable(at) if at.operations.iter().any(|op| matches!(op, AlterTableOperation::ValidateConstraint { .. })));
        if !slow || validates || epoch.is_none() {
            return;
        }
        // The earlier lock that makes others wait longer than this
        // statement's own lock would: on another table, or stronger.
        let earlier = session
            .held
            .iter()
            .filter(|(_, _, _, e)| Some(*e) == epoch)
            .filter(|(_, t, _, _)| backfilled.as_ref() != Some(t))
            .filter(|(mode, t, _, _)| match lock {
                Some((own, own_table)) if own_table == t => strength(mode) > strength(own),
                _ => true,
            })
            .max_by_key(|(mode, _, line, _)| (strength(mode), std::cmp::Reverse(*line)));
        if let Some((mode, table, line, _)) = earlier {
            out.push((
                "PG801",
                Analyzer::LockWindow,
                format!("this statement runs while the {mode} lock that line {line} took on existing table {table:?} is held (the transaction keeps it until it ends): every {} of {table:?} waits for this statement too", waiting(mode)),
                table.clone(),
            ));
        }
    }

    /// Remembers what a statement of the open transaction holds.
    pub(super) fn hold(
        &self,
        ast: &Statement,
        lock: Option<(&'static str, String)>,
        session: &mut Session,
    ) {
        let Some(epoch) = session.open_epoch() else {
            return;
        };
        let line = session.line;
        if let Some((mode, table)) = lock {
            session.held.push((mode, table, line, epoch));
        }
        if let Statement::AlterTable(at) = ast {
            let table = object_name(&at.name);
            if self.existing_table(&table) {
                session.altered.push((table, line, epoch));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::TxMode;
    use crate::sql::ParsedFile;

    fn found(new: &str, tx: TxMode) -> Vec<(usize, &'static str)> {
        let mut l = Lint::default();
        l.file(
            "base.sql",
            &ParsedFile::parse(
                b"CREATE TABLE users (id int PRIMARY KEY, email text, n int);\nCREATE TABLE orgs (id int PRIMARY KEY);\n",
            ),
            false,
        );
        l.file_in("new.sql", &ParsedFile::parse(new.as_bytes()), true, tx);
        l.diags
            .iter()
            .filter(|d| matches!(d.analyzer, Analyzer::Backfill | Analyzer::LockWindow))
            .map(|d| (d.line, d.code))
            .collect()
    }

    #[test]
    fn slow_work_under_an_earlier_lock_of_the_same_transaction() {
        let atlas = TxMode::Wrapped("atlas");
        // The index build runs under the ALTER's ACCESS EXCLUSIVE lock.
        assert_eq!(
            found(
                "ALTER TABLE users ADD COLUMN nick text;\nCREATE INDEX users_nick ON users (nick);\n",
                atlas
            ),
            [(2, "PG801")]
        );
        // A lock on another table is held while this one is scanned.
        assert_eq!(
            found(
                "ALTER TABLE orgs ADD COLUMN x int;\nALTER TABLE users ALTER COLUMN n TYPE text;\n",
                atlas
            ),
            [(2, "PG801")]
        );
        // One finding per locked table and file, counting the rest.
        let mut l = Lint::default();
        l.file(
            "base.sql",
            &ParsedFile::parse(b"CREATE TABLE users (id int, a int, b int);\n"),
            false,
        );
        l.file_in(
            "new.sql",
            &ParsedFile::parse(b"DROP INDEX IF EXISTS nothing;\nALTER TABLE users ADD COLUMN c int;\nCREATE INDEX u_a ON users (a);\nCREATE INDEX u_b ON users (b);\nCREATE INDEX u_c ON users (c);\n"),
            true,
            atlas,
        );
        let windows: Vec<&super::super::Diag> = l
            .diags
            .iter()
            .filter(|d| d.analyzer == Analyzer::LockWindow)
            .collect();
        assert_eq!(windows.len(), 1);
        assert_eq!(windows[0].line, 3);
        assert!(
            windows[0]
                .message
                .ends_with("(and 2 more slow statements of this file after it)"),
            "{}",
            windows[0].message
        );
        // Statement by statement, nothing is held in between.
        assert_eq!(
            found(
                "ALTER TABLE users ADD COLUMN nick text;\nCREATE INDEX users_nick ON users (nick);\n",
                TxMode::None
            ),
            []
        );
        // A second rewrite of the same table under its own ACCESS
        // EXCLUSIVE lock adds nothing.
        assert_eq!(
            found(
                "ALTER TABLE users ADD COLUMN nick text;\nALTER TABLE users ALTER COLUMN n TYPE text;\n",
                atlas
            ),
            []
        );
    }

    #[test]
    fn backfills_in_the_schema_change_transaction_and_of_every_row() {
        let atlas = TxMode::Wrapped("atlas");
        assert_eq!(
            found(
                "ALTER TABLE users ADD COLUMN nick text;\nUPDATE users SET nick = email;\n",
                atlas
            ),
            [(2, "PG802")]
        );
        assert_eq!(
            found("UPDATE users SET n = 0;\nDELETE FROM orgs;\n", TxMode::None),
            [(1, "PG803"), (2, "PG803")]
        );
        // Bounded, or on a table of the change: nothing.
        assert_eq!(
            found(
                "UPDATE users SET n = 0 WHERE id < 100;\nCREATE TABLE t (a int);\nINSERT INTO t SELECT id FROM users;\nUPDATE t SET a = 1;\n",
                TxMode::None
            ),
            []
        );
    }
}
