//! Schema replay: applying every migration's statements in order yields a model
//! of tables (columns, primary keys), indexes (columns, uniqueness, partial
//! predicate) and views (name, normalised definition), plus the events rules
//! need (a table created, a unique index added, a view created or dropped),
//! each with the file and line that caused it.

use std::collections::BTreeMap;
use std::ops::Range;

use sqlparser::ast::{
    AlterIndexOperation, AlterTableOperation, ColumnOption, CreateIndex, CreateTable, Expr,
    IndexColumn, ObjectName, ObjectNamePart, ObjectType, Query, RenameTableNameKind, Statement,
    TableConstraint,
};

use super::normalize::{ident_name, normalize_query};
use super::parse::{ParsedFile, Stmt};

/// Where something happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Repository path of the migration (or views file).
    pub path: String,
    pub line: usize,
    pub span: Range<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct Table {
    pub columns: Vec<String>,
    pub primary_key: Vec<String>,
    /// The local columns of each foreign key.
    pub foreign_keys: Vec<Vec<String>>,
}

/// Soft-delete column names detection looks for, as PostgreSQL stores them
/// (`deletedAt` unquoted is stored as `deletedat`).
pub const SOFT_DELETE_COLUMNS: [&str; 8] = [
    "deleted_at",
    "deletedAt",
    "deletedat",
    "deleted_on",
    "deletedOn",
    "deleted_time",
    "deletion_time",
    "deleted_date",
];

/// Whether `n` of `total` tables (or ent schemas) carrying one soft-delete
/// column make it the team's convention: at least three quarters of them. A
/// bare majority is a team that soft-deletes some tables, not every one (real
/// repositories: 11 of 20 at chainloop, 77 of 89 at OpenMeter).
pub fn is_soft_delete_convention(n: usize, total: usize) -> bool {
    total > 0 && n * 4 >= total * 3
}

/// The soft-delete column most `items` (tables, ent schemas) carry, with how
/// many carry it (the first listed wins a tie); `None` when none carries
/// one. `has(item, column)` says whether an item has a column.
pub fn most_common_soft_delete<T>(
    items: &[T],
    has: impl Fn(&T, &str) -> bool,
) -> Option<(usize, &'static str)> {
    SOFT_DELETE_COLUMNS
        .iter()
        .map(|col| (items.iter().filter(|i| has(i, col)).count(), *col))
        .fold(None, |best: Option<(usize, &str)>, c| match best {
            Some(b) if b.0 >= c.0 => Some(b),
            _ => Some(c),
        })
        .filter(|(n, _)| *n > 0)
}

impl Table {
    /// A many-to-many join table (what ent generates for an `edge.To` with
    /// no schema of its own): exactly two columns, each a foreign key, that
    /// together form the primary key. Its rows go with the edge; it cannot
    /// carry a soft-delete column.
    pub fn is_join_table(&self) -> bool {
        let mut pk = self.primary_key.clone();
        pk.sort();
        let mut cols = self.columns.clone();
        cols.sort();
        cols.len() == 2
            && pk == cols
            && cols.iter().all(|c| {
                self.foreign_keys
                    .iter()
                    .any(|fk| fk == std::slice::from_ref(c))
            })
    }
}

#[derive(Debug, Clone)]
pub struct Index {
    pub table: String,
    pub columns: Vec<String>,
    pub unique: bool,
    pub predicate: Option<Expr>,
}

#[derive(Debug, Clone)]
pub struct View {
    /// The normalised query.
    pub query: Query,
    pub origin: Origin,
}

#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub tables: BTreeMap<String, Table>,
    pub indexes: BTreeMap<String, Index>,
    pub views: BTreeMap<String, View>,
}

#[derive(Debug, Clone)]
// Events are few (one per statement at most); boxing them buys nothing.
#[allow(clippy::large_enum_variant)]
pub enum Event {
    TableCreated {
        table: String,
        origin: Origin,
    },
    /// A unique index or constraint, with the table as it was at that moment.
    UniqueAdded {
        table: String,
        name: Option<String>,
        columns: Vec<String>,
        predicate: Option<Expr>,
        table_columns: Vec<String>,
        primary_key: Vec<String>,
        origin: Origin,
    },
    ViewCreated {
        name: String,
        or_replace: bool,
        /// The view existed when this statement ran.
        existed: bool,
        query: Box<Query>,
        origin: Origin,
    },
}

/// A name as PostgreSQL sees it, without its schema (`public."t"` is `t`).
pub fn object_name(name: &ObjectName) -> String {
    match name.0.last() {
        Some(ObjectNamePart::Identifier(i)) => ident_name(i),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// The index's name, or the one PostgreSQL gives an unnamed index
/// (`<table>_<columns>_idx`).
pub fn index_name(ci: &CreateIndex, table: &str, columns: &[String]) -> String {
    ci.name
        .as_ref()
        .map(object_name)
        .unwrap_or_else(|| format!("{table}_{}_idx", columns.join("_")))
}

fn index_column(c: &IndexColumn) -> String {
    match &c.column.expr {
        Expr::Identifier(i) => ident_name(i),
        other => other.to_string(),
    }
}

#[derive(Debug, Default)]
pub struct Replay {
    pub schema: Schema,
    pub events: Vec<Event>,
}

impl Replay {
    /// Applies `files` (repository path, parsed file) in order.
    pub fn run<'a>(files: impl IntoIterator<Item = (&'a str, &'a ParsedFile)>) -> Replay {
        let mut r = Replay::default();
        for (path, file) in files {
            for stmt in &file.stmts {
                for ast in &stmt.ast {
                    r.apply(ast, origin(path, stmt));
                }
            }
        }
        r
    }

    fn apply(&mut self, ast: &Statement, origin: Origin) {
        match ast {
            Statement::CreateTable(ct) => self.create_table(ct, origin),
            Statement::CreateIndex(ci) => self.create_index(ci, origin),
            Statement::AlterTable(at) => {
                let mut table = object_name(&at.name);
                for op in &at.operations {
                    table = self.alter_table(&table, op, &origin);
                }
            }
            Statement::AlterIndex { name, operation } => {
                let AlterIndexOperation::RenameIndex { index_name } = operation;
                if let Some(ix) = self.schema.indexes.remove(&object_name(name)) {
                    self.schema.indexes.insert(object_name(index_name), ix);
                }
            }
            Statement::CreateView(cv) => {
                let name = object_name(&cv.name);
                let existed = self.schema.views.contains_key(&name);
                if existed && cv.if_not_exists {
                    return;
                }
                let query = normalize_query(&cv.query);
                self.events.push(Event::ViewCreated {
                    name: name.clone(),
                    or_replace: cv.or_replace,
                    existed,
                    query: Box::new(query.clone()),
                    origin: origin.clone(),
                });
                self.schema.views.insert(name, View { query, origin });
            }
            Statement::Drop {
                object_type, names, ..
            } => {
                for n in names {
                    let name = object_name(n);
                    match object_type {
                        ObjectType::Table => {
                            self.schema.tables.remove(&name);
                            self.schema.indexes.retain(|_, ix| ix.table != name);
                        }
                        ObjectType::View => {
                            self.schema.views.remove(&name);
                        }
                        ObjectType::Index => {
                            self.schema.indexes.remove(&name);
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    fn create_table(&mut self, ct: &CreateTable, origin: Origin) {
        let name = object_name(&ct.name);
        if ct.if_not_exists && self.schema.tables.contains_key(&name) {
            return;
        }
        if ct.temporary {
            // A scratch table: gone at the end of the session (or commit),
            // never part of the schema.
            return;
        }
        let mut table = Table::default();
        let mut uniques = Vec::new();
        for col in &ct.columns {
            let c = ident_name(&col.name);
            table.columns.push(c.clone());
            for opt in &col.options {
                match &opt.option {
                    ColumnOption::PrimaryKey(_) => table.primary_key = vec![c.clone()],
                    ColumnOption::Unique(_) => uniques.push((None, vec![c.clone()])),
                    ColumnOption::ForeignKey(_) => table.foreign_keys.push(vec![c.clone()]),
                    _ => {}
                }
            }
        }
        for constraint in &ct.constraints {
            match constraint {
                TableConstraint::PrimaryKey(pk) => {
                    table.primary_key = pk.columns.iter().map(index_column).collect()
                }
                TableConstraint::Unique(u) => uniques.push((
                    u.name.as_ref().map(ident_name),
                    u.columns.iter().map(index_column).collect(),
                )),
                TableConstraint::ForeignKey(fk) => table
                    .foreign_keys
                    .push(fk.columns.iter().map(ident_name).collect()),
                _ => {}
            }
        }
        self.schema.tables.insert(name.clone(), table);
        self.events.push(Event::TableCreated {
            table: name.clone(),
            origin: origin.clone(),
        });
        for (constraint, columns) in uniques {
            self.unique_constraint(&name, constraint, columns, &origin);
        }
    }

    /// A unique constraint: PostgreSQL backs it with an index of the
    /// constraint's name (by default `<table>_<columns>_key`).
    fn unique_constraint(
        &mut self,
        table: &str,
        name: Option<String>,
        columns: Vec<String>,
        origin: &Origin,
    ) {
        let name = name.unwrap_or_else(|| format!("{table}_{}_key", columns.join("_")));
        self.unique_added(table, Some(name.clone()), columns.clone(), None, origin);
        self.schema.indexes.insert(
            name,
            Index {
                table: table.to_string(),
                columns,
                unique: true,
                predicate: None,
            },
        );
    }

    fn unique_added(
        &mut self,
        table: &str,
        name: Option<String>,
        columns: Vec<String>,
        predicate: Option<Expr>,
        origin: &Origin,
    ) {
        let t = self.schema.tables.get(table).cloned().unwrap_or_default();
        self.events.push(Event::UniqueAdded {
            table: table.to_string(),
            name,
            columns,
            predicate,
            table_columns: t.columns,
            primary_key: t.primary_key,
            origin: origin.clone(),
        });
    }

    fn create_index(&mut self, ci: &CreateIndex, origin: Origin) {
        let table = object_name(&ci.table_name);
        let columns: Vec<String> = ci.columns.iter().map(index_column).collect();
        let name = index_name(ci, &table, &columns);
        if ci.if_not_exists && self.schema.indexes.contains_key(&name) {
            return;
        }
        if ci.unique {
            self.unique_added(
                &table,
                Some(name.clone()),
                columns.clone(),
                ci.predicate.clone(),
                &origin,
            );
        }
        self.schema.indexes.insert(
            name,
            Index {
                table,
                columns,
                unique: ci.unique,
                predicate: ci.predicate.clone(),
            },
        );
    }

    /// Applies one `ALTER TABLE` operation; returns the table's name after it.
    fn alter_table(&mut self, table: &str, op: &AlterTableOperation, origin: &Origin) -> String {
        match op {
            AlterTableOperation::AddColumn { column_def, .. } => {
                let c = ident_name(&column_def.name);
                if let Some(t) = self.schema.tables.get_mut(table) {
                    if !t.columns.contains(&c) {
                        t.columns.push(c.clone());
                    }
                }
                for opt in &column_def.options {
                    if let ColumnOption::Unique(_) = opt.option {
                        self.unique_constraint(table, None, vec![c.clone()], origin);
                    }
                }
            }
            AlterTableOperation::DropConstraint { name, .. } => {
                self.schema.indexes.remove(&ident_name(name));
            }
            AlterTableOperation::DropColumn { column_names, .. } => {
                if let Some(t) = self.schema.tables.get_mut(table) {
                    let drop: Vec<String> = column_names.iter().map(ident_name).collect();
                    t.columns.retain(|c| !drop.contains(c));
                }
            }
            AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => {
                let (old, new) = (ident_name(old_column_name), ident_name(new_column_name));
                if let Some(t) = self.schema.tables.get_mut(table) {
                    for c in t.columns.iter_mut().chain(t.primary_key.iter_mut()) {
                        if *c == old {
                            *c = new.clone();
                        }
                    }
                }
            }
            AlterTableOperation::RenameTable { table_name } => {
                let new = match table_name {
                    RenameTableNameKind::As(n) | RenameTableNameKind::To(n) => object_name(n),
                };
                if let Some(t) = self.schema.tables.remove(table) {
                    self.schema.tables.insert(new.clone(), t);
                    for ix in self
                        .schema
                        .indexes
                        .values_mut()
                        .filter(|ix| ix.table == table)
                    {
                        ix.table = new.clone();
                    }
                } else if let Some(v) = self.schema.views.remove(table) {
                    self.schema.views.insert(new.clone(), v);
                }
                return new;
            }
            AlterTableOperation::AddConstraint { constraint, .. } => match constraint {
                TableConstraint::Unique(u) => {
                    let columns = u.columns.iter().map(index_column).collect();
                    self.unique_constraint(table, u.name.as_ref().map(ident_name), columns, origin);
                }
                TableConstraint::PrimaryKey(pk) => {
                    if let Some(t) = self.schema.tables.get_mut(table) {
                        t.primary_key = pk.columns.iter().map(index_column).collect();
                    }
                }
                TableConstraint::ForeignKey(fk) => {
                    if let Some(t) = self.schema.tables.get_mut(table) {
                        t.foreign_keys
                            .push(fk.columns.iter().map(ident_name).collect());
                    }
                }
                _ => {}
            },
            _ => {}
        }
        table.to_string()
    }
}

fn origin(path: &str, stmt: &Stmt) -> Origin {
    Origin {
        path: path.to_string(),
        line: stmt.line,
        span: stmt.span.clone(),
    }
}

/// Whether `predicate` requires `column IS NULL` (as one of its top-level
/// `AND` terms).
pub fn requires_null(predicate: &Expr, column: &str) -> bool {
    match predicate {
        Expr::Nested(inner) => requires_null(inner, column),
        Expr::BinaryOp {
            left,
            op: sqlparser::ast::BinaryOperator::And,
            right,
        } => requires_null(left, column) || requires_null(right, column),
        Expr::IsNull(inner) => match &**inner {
            Expr::Identifier(i) => ident_name(i) == column,
            Expr::CompoundIdentifier(parts) => {
                parts.last().is_some_and(|i| ident_name(i) == column)
            }
            Expr::Nested(e) => requires_null(&Expr::IsNull(e.clone()), column),
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replay(files: &[(&str, &str)]) -> Replay {
        let parsed: Vec<(String, ParsedFile)> = files
            .iter()
            .map(|(p, s)| (p.to_string(), ParsedFile::parse(s.as_bytes())))
            .collect();
        Replay::run(parsed.iter().map(|(p, f)| (p.as_str(), f)))
    }

    #[test]
    fn follows_tables_columns_indexes_and_views() {
        let r = replay(&[
            (
                "1.sql",
                "CREATE TABLE \"public\".\"a\" (\"id\" bigint NOT NULL, \"name\" text, PRIMARY KEY (\"id\"));\nCREATE UNIQUE INDEX \"a_name\" ON \"a\" (\"name\") WHERE (deleted_at IS NULL);\nCREATE VIEW \"v\" AS SELECT \"id\" FROM \"a\";",
            ),
            (
                "2.sql",
                "ALTER TABLE \"a\" ADD COLUMN \"deleted_at\" timestamptz NULL;\nALTER TABLE a RENAME COLUMN name TO title;\nALTER TABLE a RENAME TO b;\nALTER INDEX a_name RENAME TO b_title;\nDROP VIEW IF EXISTS v;\nCREATE TABLE IF NOT EXISTS b (x int);",
            ),
        ]);
        let b = &r.schema.tables["b"];
        assert_eq!(b.columns, ["id", "title", "deleted_at"]);
        assert_eq!(b.primary_key, ["id"]);
        assert_eq!(r.schema.indexes["b_title"].table, "b");
        assert!(r.schema.views.is_empty());
        assert!(
            matches!(&r.events[1], Event::UniqueAdded { columns, predicate: Some(p), .. } if columns == &["name"] && requires_null(p, "deleted_at"))
        );
    }

    #[test]
    fn unique_constraints_from_every_spelling() {
        let r = replay(&[(
            "1.sql",
            "CREATE TABLE t (id int PRIMARY KEY, k text UNIQUE, CONSTRAINT t_a UNIQUE (a, b));\nALTER TABLE t ADD CONSTRAINT t_c UNIQUE (c);\nALTER TABLE t ADD COLUMN d text UNIQUE;",
        )]);
        let uniques: Vec<Vec<String>> = r
            .events
            .iter()
            .filter_map(|e| match e {
                Event::UniqueAdded { columns, .. } => Some(columns.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            uniques,
            vec![vec!["k"], vec!["a", "b"], vec!["c"], vec!["d"]]
        );
    }
}
