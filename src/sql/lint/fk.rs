//! `fk-without-index`: a foreign key added to an existing table whose
//! referencing columns lead no index. Judged when the whole change is
//! read ([`Lint::finish`]): the index often comes in a later migration of
//! its own (`CREATE INDEX CONCURRENTLY` must run outside a transaction).

use std::collections::BTreeSet;
use std::ops::Range;

use sqlparser::ast::{AlterTableOperation, ColumnOption, Statement, TableConstraint};

use super::{ident_name, object_name, pg_name, Analyzer, Diag, Lint};
use crate::sql::Stmt;

/// A foreign key a new migration added to an existing table.
#[derive(Debug, Clone)]
pub(super) struct PendingFk {
    path: String,
    line: usize,
    span: Range<usize>,
    table: String,
    name: String,
    columns: Vec<String>,
    parent: String,
    /// An `atlas:nolint` directive skips it.
    silenced: bool,
}

impl Lint {
    /// The foreign keys `ast` (statement `stmt` of a new migration at
    /// `path`) adds to an existing table.
    pub(super) fn foreign_keys_added(
        &self,
        path: &str,
        ast: &Statement,
        stmt: &Stmt,
        silenced: bool,
    ) -> Vec<PendingFk> {
        let Statement::AlterTable(at) = ast else {
            return Vec::new();
        };
        let table = object_name(&at.name);
        if !self.existing_table(&table) {
            return Vec::new();
        }
        let pending = |name: String, columns: Vec<String>, parent: String| PendingFk {
            path: path.to_string(),
            line: stmt.line,
            span: stmt.span.clone(),
            table: table.clone(),
            name: pg_name(name),
            columns,
            parent,
            silenced,
        };
        let mut out = Vec::new();
        for op in &at.operations {
            match op {
                AlterTableOperation::AddConstraint {
                    constraint: TableConstraint::ForeignKey(fk),
                    ..
                } => {
                    let columns: Vec<String> = fk.columns.iter().map(ident_name).collect();
                    let name = fk
                        .name
                        .as_ref()
                        .map(ident_name)
                        .unwrap_or_else(|| format!("{table}_{}_fkey", columns.join("_")));
                    out.push(pending(name, columns, object_name(&fk.foreign_table)));
                }
                AlterTableOperation::AddColumn { column_def, .. } => {
                    let c = ident_name(&column_def.name);
                    for o in &column_def.options {
                        if let ColumnOption::ForeignKey(fk) = &o.option {
                            let name = o
                                .name
                                .as_ref()
                                .map(ident_name)
                                .unwrap_or_else(|| format!("{table}_{c}_fkey"));
                            out.push(pending(
                                name,
                                vec![c.clone()],
                                object_name(&fk.foreign_table),
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Whether an index of `table` leads with `columns` (in any order), as
    /// PostgreSQL needs to find the referencing rows without a scan.
    fn leads_an_index(&self, table: &str, columns: &[String]) -> bool {
        let want: BTreeSet<&str> = columns.iter().map(String::as_str).collect();
        let leads = |index: &[String]| {
            index.len() >= columns.len()
                && index[..columns.len()]
                    .iter()
                    .map(String::as_str)
                    .collect::<BTreeSet<_>>()
                    == want
        };
        self.tables.get(table).is_some_and(|t| {
            leads(&t.primary_key) || t.unique_keys.iter().any(|k| leads(&k.columns))
        }) || self
            .indexes
            .values()
            .any(|ix| ix.table == table && leads(&ix.columns))
    }

    /// Ends a change: the foreign keys it added that still lead no index
    /// (and whose key and table are still there) become findings.
    pub fn finish(&mut self) {
        for fk in std::mem::take(&mut self.pending_fks) {
            let still = self
                .tables
                .get(&fk.table)
                .is_some_and(|t| t.foreign_keys.contains_key(&fk.name));
            if !still || self.leads_an_index(&fk.table, &fk.columns) {
                continue;
            }
            if fk.silenced {
                self.skipped += 1;
                self.silenced
                    .push((fk.path.clone(), fk.line, Analyzer::FkIndex));
                continue;
            }
            let cols = fk.columns.join(", ");
            self.diags.push(Diag {
                code: "PG702",
                analyzer: Analyzer::FkIndex,
                path: fk.path,
                line: fk.line,
                span: fk.span,
                message: format!(
                    "foreign key {:?} of existing table {:?} ({cols}) leads no index: each delete or key update on {:?} scans {:?} for referencing rows, and joins on the key scan it too",
                    fk.name, fk.table, fk.parent, fk.table
                ),
                subject: format!("{}.{cols}", fk.table),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::TxMode;
    use crate::sql::ParsedFile;

    fn found(new: &[&str]) -> Vec<(String, usize)> {
        let mut l = Lint::default();
        l.file(
            "base.sql",
            &ParsedFile::parse(
                b"CREATE TABLE orgs (id int PRIMARY KEY);\nCREATE TABLE users (id int PRIMARY KEY, org_id int, team_id int, UNIQUE (team_id, id));\nCREATE TABLE invites (org_id int, email text);\nCREATE INDEX invites_org_email ON invites (org_id, email);\n",
            ),
            false,
        );
        for (i, sql) in new.iter().enumerate() {
            l.file_in(
                &format!("new{i}.sql"),
                &ParsedFile::parse(sql.as_bytes()),
                true,
                TxMode::None,
            );
        }
        l.finish();
        l.diags
            .iter()
            .filter(|d| d.analyzer == Analyzer::FkIndex)
            .map(|d| (d.path.clone(), d.line))
            .collect()
    }

    #[test]
    fn a_key_no_index_leads_is_found() {
        assert_eq!(
            found(&["ALTER TABLE users ADD CONSTRAINT users_org FOREIGN KEY (org_id) REFERENCES orgs (id);\n"]),
            [("new0.sql".to_string(), 1)]
        );
        assert_eq!(
            found(&[
                "SELECT 1;\nALTER TABLE users ADD COLUMN boss_id int REFERENCES users (id);\n"
            ]),
            [("new0.sql".to_string(), 2)]
        );
    }

    #[test]
    fn an_index_that_leads_with_the_columns_now_or_later_in_the_change_is_enough() {
        // An existing index, a unique constraint, the primary key.
        assert_eq!(
            found(&[
                "ALTER TABLE invites ADD CONSTRAINT invites_org FOREIGN KEY (org_id) REFERENCES orgs (id);\nALTER TABLE users ADD CONSTRAINT users_team FOREIGN KEY (team_id) REFERENCES orgs (id);\nALTER TABLE users ADD CONSTRAINT users_self FOREIGN KEY (id) REFERENCES orgs (id);\n"
            ]),
            []
        );
        // The index in a later migration of the change.
        assert_eq!(
            found(&[
                "ALTER TABLE users ADD CONSTRAINT users_org FOREIGN KEY (org_id) REFERENCES orgs (id) NOT VALID;\n",
                "CREATE INDEX CONCURRENTLY users_org_id ON users (org_id);\n",
            ]),
            []
        );
        // An index made before its column was renamed still serves it.
        assert_eq!(
            found(&[
                "CREATE INDEX users_o ON users (org_id);\nALTER TABLE users RENAME COLUMN org_id TO organization_id;\nALTER TABLE users ADD CONSTRAINT users_org FOREIGN KEY (organization_id) REFERENCES orgs (id);\n"
            ]),
            []
        );
        // An index on the column, but not leading: still a scan.
        assert_eq!(
            found(&[
                "CREATE INDEX users_x ON users (id, org_id);\nALTER TABLE users ADD CONSTRAINT users_org FOREIGN KEY (org_id) REFERENCES orgs (id);\n"
            ]),
            [("new0.sql".to_string(), 2)]
        );
    }
}
