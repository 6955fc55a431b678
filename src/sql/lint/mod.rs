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

mod locks;

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
    /// `CHECK (col IS NOT NULL)` constraints by name: the column, and
    /// whether the constraint is validated.
    not_null_checks: BTreeMap<String, (String, bool)>,
    new: bool,
}

/// An index: its table, and whether the change created it.
#[derive(Debug, Clone)]
struct IndexOf {
    table: String,
    new: bool,
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
    /// Columns (table, column) an earlier `UPDATE` of the current file set
    /// on every row that was NULL: `SET NOT NULL` after it cannot fail.
    filled: BTreeSet<(String, String)>,
    pg_version: u32,
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
            filled: BTreeSet::new(),
            pg_version: 15,
            lock_timeout_by_runner: false,
        }
    }
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

    /// Ends a change: everything created so far exists on the base side of
    /// what comes next (`check --all` judges each migration this way, as
    /// the one new migration after all earlier ones).
    pub fn settle(&mut self) {
        for t in self.tables.values_mut() {
            t.new = false;
            t.columns.values_mut().for_each(|c| c.new = false);
            t.foreign_keys.values_mut().for_each(|fk| fk.1 = false);
        }
        self.indexes.values_mut().for_each(|ix| ix.new = false);
        self.schemas.values_mut().for_each(|s| *s = false);
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
            if let Some(nolint) = &nolint {
                let rules = nolint.rules_for(&file.text, stmt);
                let mut found = Vec::new();
                if stmt.ast.is_empty() {
                    locks::judge_opaque(file.stmt_text(stmt), &session, &mut found);
                }
                for ast in &stmt.ast {
                    self.judge(ast, &file.stmts[i + 1..], &mut found);
                    self.judge_locks(ast, &session, &mut found);
                }
                for (code, analyzer, message, subject) in found {
                    if nolint.skips(&rules, code, analyzer) {
                        self.skipped += 1;
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
            for ast in &stmt.ast {
                session.after(ast);
                self.apply(ast, new);
            }
            session.next_statement();
        }
        self.one_lock_timeout_per_file(first_diag);
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

    /// What `ast` does to objects that exist on the base side, before it
    /// runs. `rest` is the rest of the file (for renames undone later).
    fn judge(&self, ast: &Statement, rest: &[Stmt], out: &mut Vec<Found>) {
        match ast {
            Statement::Drop {
                object_type, names, ..
            } => {
                for n in names {
                    let name = object_name(n);
                    match object_type {
                        ObjectType::Table if self.tables.get(&name).is_some_and(|t| !t.new) => {
                            out.push((
                                "DS102",
                                Analyzer::Destructive,
                                format!("Dropping table {name:?}"),
                                name,
                            ));
                        }
                        ObjectType::Schema if self.schemas.get(&name) == Some(&false) => {
                            out.push((
                                "DS101",
                                Analyzer::Destructive,
                                format!("Dropping schema {name:?}"),
                                name,
                            ));
                        }
                        _ => {}
                    }
                }
            }
            Statement::CreateIndex(ci) if ci.unique => {
                let table = object_name(&ci.table_name);
                let columns: Vec<String> = ci.columns.iter().filter_map(index_column).collect();
                let name = super::schema::index_name(ci, &table, &columns);
                self.unique_on_existing(&table, &name, &columns, out);
            }
            Statement::AlterTable(at) => {
                let table = object_name(&at.name);
                self.judge_alter(&table, &at.operations, rest, out);
            }
            _ => {}
        }
    }

    /// MF101: a unique index whose columns (some of them) already hold rows.
    fn unique_on_existing(
        &self,
        table: &str,
        name: &str,
        columns: &[String],
        out: &mut Vec<Found>,
    ) {
        let Some(t) = self.tables.get(table).filter(|t| !t.new) else {
            return;
        };
        // Every column of the primary key in it: its rows are already
        // distinct, no duplicate can make it fail (Atlas reports it anyway).
        if !t.primary_key.is_empty() && t.primary_key.iter().all(|c| columns.contains(c)) {
            return;
        }
        let existing: Vec<String> = columns
            .iter()
            .filter(|c| t.columns.get(*c).is_some_and(|c| !c.new))
            .map(|c| format!("{c:?}"))
            .collect();
        if existing.is_empty() {
            return;
        }
        let which = if existing.len() == 1 {
            format!("column {} contains", existing[0])
        } else {
            format!("columns {} contain", existing.join(", "))
        };
        out.push((
            "MF101",
            Analyzer::DataDepend,
            format!(
                "Adding a unique index {name:?} on table {table:?} might fail in case {which} duplicate entries"
            ),
            table.to_string(),
        ));
    }

    fn judge_alter(
        &self,
        table: &str,
        ops: &[AlterTableOperation],
        rest: &[Stmt],
        out: &mut Vec<Found>,
    ) {
        let Some(t) = self.tables.get(table).filter(|t| !t.new) else {
            return;
        };
        // What the statement itself drops and adds, for CD101.
        let mut dropped_columns = BTreeSet::new();
        // Foreign keys the statement adds: name and local columns.
        let mut added_constraints: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for op in ops {
            match op {
                AlterTableOperation::DropColumn { column_names, .. } => {
                    dropped_columns.extend(column_names.iter().map(ident_name));
                }
                AlterTableOperation::AddConstraint {
                    constraint: TableConstraint::ForeignKey(fk),
                    ..
                } => {
                    if let Some(n) = &fk.name {
                        added_constraints.insert(
                            pg_name(ident_name(n)),
                            fk.columns.iter().map(ident_name).collect(),
                        );
                    }
                }
                _ => {}
            }
        }
        for op in ops {
            match op {
                AlterTableOperation::DropColumn { column_names, .. } => {
                    for c in column_names.iter().map(ident_name) {
                        if t.columns.get(&c).is_some_and(|c| !c.new) {
                            out.push((
                                "DS103",
                                Analyzer::Destructive,
                                format!("Dropping non-virtual column {c:?}"),
                                format!("{table}.{c}"),
                            ));
                        }
                    }
                }
                AlterTableOperation::AddColumn { column_def, .. } if needs_default(column_def) => {
                    let c = ident_name(&column_def.name);
                    let ty = column_def.data_type.to_string().to_lowercase();
                    out.push((
                        "MF103",
                        Analyzer::DataDepend,
                        format!(
                            "Adding a non-nullable {ty:?} column {c:?} will fail in case table {table:?} is not empty"
                        ),
                        format!("{table}.{c}"),
                    ));
                }
                AlterTableOperation::AlterColumn {
                    column_name,
                    op: AlterColumnOperation::SetNotNull,
                } => {
                    let c = ident_name(column_name);
                    let nullable = t.columns.get(&c).is_some_and(|c| !c.not_null);
                    if nullable && !self.filled.contains(&(table.to_string(), c.clone())) {
                        out.push((
                            "MF104",
                            Analyzer::DataDepend,
                            format!(
                                "Modifying nullable column {c:?} to non-nullable might fail in case it contains NULL values"
                            ),
                            format!("{table}.{c}"),
                        ));
                    }
                }
                AlterTableOperation::RenameColumn {
                    old_column_name,
                    new_column_name,
                } => {
                    let (old, new) = (ident_name(old_column_name), ident_name(new_column_name));
                    let readded = ops.iter().any(|o| adds_column(o, &old))
                        || rest.iter().any(|s| {
                            s.ast.iter().any(|a| match a {
                                Statement::AlterTable(at) if object_name(&at.name) == table => {
                                    at.operations.iter().any(|o| adds_column(o, &old))
                                }
                                _ => false,
                            })
                        });
                    if t.columns.contains_key(&old) && !readded {
                        out.push((
                            "BC102",
                            Analyzer::Incompatible,
                            format!("Renaming column {old:?} to {new:?}"),
                            format!("{table}.{old}"),
                        ));
                    }
                }
                AlterTableOperation::RenameTable { table_name } => {
                    let new = match table_name {
                        RenameTableNameKind::As(n) | RenameTableNameKind::To(n) => object_name(n),
                    };
                    // A view under the old name keeps old readers working.
                    let view_kept = rest.iter().any(|s| {
                        s.ast.iter().any(|a| {
                            matches!(a, Statement::CreateView(cv) if object_name(&cv.name) == table)
                        })
                    });
                    if !view_kept {
                        out.push((
                            "BC101",
                            Analyzer::Incompatible,
                            format!("Renaming table {table:?} to {new:?}"),
                            table.to_string(),
                        ));
                    }
                }
                AlterTableOperation::DropConstraint { name, .. } => {
                    let name = pg_name(ident_name(name));
                    let Some((columns, fk_new)) = t.foreign_keys.get(&name) else {
                        continue;
                    };
                    // Re-created under its name on the same columns by the
                    // same statement: a modified key (ON DELETE, ...), not a
                    // dropped one. Dropped with its column: the column's drop
                    // says it all (DS103).
                    if *fk_new
                        || added_constraints.get(&name) == Some(columns)
                        || columns.iter().any(|c| dropped_columns.contains(c))
                    {
                        continue;
                    }
                    // Atlas reports a key re-created under another name too;
                    // say so, the relation stays guarded.
                    let replaced = added_constraints
                        .iter()
                        .find(|(_, cols)| *cols == columns)
                        .map(|(n, _)| {
                            format!(" (the same statement adds {n:?} on the same columns)")
                        })
                        .unwrap_or_default();
                    out.push((
                        "CD101",
                        Analyzer::ConDrop,
                        format!("Dropping foreign-key constraint {name:?}{replaced}"),
                        table.to_string(),
                    ));
                }
                AlterTableOperation::AddConstraint {
                    constraint: TableConstraint::Unique(u),
                    ..
                } => {
                    let columns: Vec<String> = u.columns.iter().filter_map(index_column).collect();
                    let name = u
                        .name
                        .as_ref()
                        .map(ident_name)
                        .unwrap_or_else(|| format!("{table}_{}_key", columns.join("_")));
                    self.unique_on_existing(table, &name, &columns, out);
                }
                _ => {}
            }
        }
    }

    /// Applies `ast` to the model; `new`: the change creates what it adds.
    fn apply(&mut self, ast: &Statement, new: bool) {
        match ast {
            Statement::CreateTable(ct) => self.create_table(ct, new),
            Statement::CreateIndex(ci) => {
                if let Some(name) = &ci.name {
                    self.indexes.entry(object_name(name)).or_insert(IndexOf {
                        table: object_name(&ci.table_name),
                        new,
                    });
                }
            }
            Statement::CreateSchema { schema_name, .. } => {
                let name = schema_name.to_string().trim_matches('"').to_string();
                self.schemas.entry(name).or_insert(new);
            }
            Statement::Drop {
                object_type, names, ..
            } => {
                for n in names {
                    let name = object_name(n);
                    match object_type {
                        ObjectType::Table => {
                            self.tables.remove(&name);
                            self.indexes.retain(|_, ix| ix.table != name);
                        }
                        ObjectType::Index => {
                            self.indexes.remove(&name);
                        }
                        ObjectType::Schema => {
                            self.schemas.remove(&name);
                        }
                        _ => {}
                    }
                }
            }
            Statement::AlterTable(at) => {
                let mut table = object_name(&at.name);
                for op in &at.operations {
                    table = self.alter(&table, op, new);
                }
            }
            Statement::Update(u) => {
                // Only an UPDATE that reaches every NULL row fills the
                // column: no WHERE, or `WHERE col IS NULL`.
                let TableFactor::Table { name, .. } = &u.table.relation else {
                    return;
                };
                let table = object_name(name);
                for a in &u.assignments {
                    let AssignmentTarget::ColumnName(col) = &a.target else {
                        continue;
                    };
                    let col = object_name(col);
                    let every_null = match &u.selection {
                        None => true,
                        Some(w) => super::schema::requires_null(w, &col) && is_only_null_test(w),
                    };
                    let not_null_columns: BTreeSet<&str> = self
                        .tables
                        .get(&table)
                        .map(|t| {
                            t.columns
                                .iter()
                                .filter(|(_, c)| c.not_null)
                                .map(|(n, _)| n.as_str())
                                .collect()
                        })
                        .unwrap_or_default();
                    if every_null && never_null(&a.value, &not_null_columns) {
                        self.filled.insert((table.clone(), col));
                    }
                }
            }
            _ => {}
        }
    }

    fn create_table(&mut self, ct: &CreateTable, new: bool) {
        let name = object_name(&ct.name);
        if ct.temporary || (ct.if_not_exists && self.tables.contains_key(&name)) {
            return;
        }
        let mut t = Table {
            new,
            ..Table::default()
        };
        for col in &ct.columns {
            let c = ident_name(&col.name);
            let mut column = Column {
                ty: col.data_type.to_string().to_lowercase(),
                not_null: false,
                new,
            };
            for opt in &col.options {
                match &opt.option {
                    ColumnOption::NotNull => column.not_null = true,
                    ColumnOption::PrimaryKey(_) => {
                        column.not_null = true;
                        t.primary_key = vec![c.clone()];
                    }
                    ColumnOption::ForeignKey(_) => {
                        let fk = opt
                            .name
                            .as_ref()
                            .map(ident_name)
                            .unwrap_or_else(|| format!("{name}_{c}_fkey"));
                        t.foreign_keys.insert(pg_name(fk), (vec![c.clone()], new));
                    }
                    _ => {}
                }
            }
            t.columns.insert(c, column);
        }
        for constraint in &ct.constraints {
            self.add_constraint(&name, &mut t, constraint, false, new);
        }
        self.tables.insert(name, t);
    }

    fn add_constraint(
        &self,
        table: &str,
        t: &mut Table,
        constraint: &TableConstraint,
        not_valid: bool,
        new: bool,
    ) {
        match constraint {
            TableConstraint::Check(ch) => {
                if let Some(c) = locks::not_null_check(&ch.expr) {
                    let name = ch
                        .name
                        .as_ref()
                        .map(ident_name)
                        .unwrap_or_else(|| format!("{table}_{c}_check"));
                    t.not_null_checks.insert(pg_name(name), (c, !not_valid));
                }
            }
            TableConstraint::PrimaryKey(pk) => {
                t.primary_key = pk.columns.iter().filter_map(index_column).collect();
                for c in &t.primary_key {
                    if let Some(col) = t.columns.get_mut(c) {
                        col.not_null = true;
                    }
                }
            }
            TableConstraint::ForeignKey(fk) => {
                let columns: Vec<String> = fk.columns.iter().map(ident_name).collect();
                let name = fk
                    .name
                    .as_ref()
                    .map(ident_name)
                    .unwrap_or_else(|| format!("{table}_{}_fkey", columns.join("_")));
                t.foreign_keys.insert(pg_name(name), (columns, new));
            }
            _ => {}
        }
    }

    /// Applies one `ALTER TABLE` operation; returns the table's name after it.
    fn alter(&mut self, table: &str, op: &AlterTableOperation, new: bool) -> String {
        if let AlterTableOperation::RenameTable { table_name } = op {
            let to = match table_name {
                RenameTableNameKind::As(n) | RenameTableNameKind::To(n) => object_name(n),
            };
            if let Some(t) = self.tables.remove(table) {
                self.tables.insert(to.clone(), t);
                for ix in self.indexes.values_mut().filter(|ix| ix.table == table) {
                    ix.table = to.clone();
                }
            }
            return to;
        }
        let Some(mut t) = self.tables.remove(table) else {
            return table.to_string();
        };
        match op {
            AlterTableOperation::AddColumn { column_def, .. } => {
                let c = ident_name(&column_def.name);
                let not_null = column_def.options.iter().any(|o| {
                    matches!(
                        o.option,
                        ColumnOption::NotNull | ColumnOption::PrimaryKey(_)
                    )
                });
                t.columns.entry(c.clone()).or_insert(Column {
                    ty: column_def.data_type.to_string().to_lowercase(),
                    not_null,
                    new,
                });
                for opt in &column_def.options {
                    if let ColumnOption::ForeignKey(_) = opt.option {
                        let fk = opt
                            .name
                            .as_ref()
                            .map(ident_name)
                            .unwrap_or_else(|| format!("{table}_{c}_fkey"));
                        t.foreign_keys.insert(pg_name(fk), (vec![c.clone()], new));
                    }
                }
            }
            AlterTableOperation::DropColumn { column_names, .. } => {
                for c in column_names.iter().map(ident_name) {
                    t.columns.remove(&c);
                    if t.primary_key.contains(&c) {
                        t.primary_key.clear();
                    }
                    t.foreign_keys.retain(|_, (cols, _)| !cols.contains(&c));
                }
            }
            AlterTableOperation::AlterColumn { column_name, op } => {
                if let Some(col) = t.columns.get_mut(&ident_name(column_name)) {
                    match op {
                        AlterColumnOperation::SetNotNull => col.not_null = true,
                        AlterColumnOperation::DropNotNull => col.not_null = false,
                        AlterColumnOperation::SetDataType { data_type, .. } => {
                            col.ty = data_type.to_string().to_lowercase()
                        }
                        _ => {}
                    }
                }
            }
            AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => {
                let (old, new) = (ident_name(old_column_name), ident_name(new_column_name));
                if let Some(col) = t.columns.remove(&old) {
                    t.columns.insert(new.clone(), col);
                }
                for c in t.primary_key.iter_mut().filter(|c| **c == old) {
                    *c = new.clone();
                }
            }
            AlterTableOperation::AddConstraint {
                constraint,
                not_valid,
            } => {
                self.add_constraint(table, &mut t, constraint, *not_valid, new);
            }
            AlterTableOperation::ValidateConstraint { name } => {
                if let Some(check) = t.not_null_checks.get_mut(&pg_name(ident_name(name))) {
                    check.1 = true;
                }
            }
            AlterTableOperation::DropConstraint { name, .. } => {
                let name = pg_name(ident_name(name));
                t.foreign_keys.remove(&name);
                t.not_null_checks.remove(&name);
                if name == pg_name(format!("{table}_pkey")) {
                    t.primary_key.clear();
                }
            }
            _ => {}
        }
        self.tables.insert(table.to_string(), t);
        table.to_string()
    }
}

/// A diagnostic before it is placed: code, analyzer, text, subject.
type Found = (&'static str, Analyzer, String, String);

fn index_column(c: &sqlparser::ast::IndexColumn) -> Option<String> {
    match &c.column.expr {
        Expr::Identifier(i) => Some(ident_name(i)),
        _ => None,
    }
}

fn adds_column(op: &AlterTableOperation, name: &str) -> bool {
    matches!(op, AlterTableOperation::AddColumn { column_def, .. } if ident_name(&column_def.name) == name)
}

/// MF103: a column added `NOT NULL` with no default that PostgreSQL cannot
/// fill itself (serial, identity and generated columns fill every row).
fn needs_default(c: &ColumnDef) -> bool {
    let mut not_null = false;
    for o in &c.options {
        match &o.option {
            ColumnOption::NotNull | ColumnOption::PrimaryKey(_) => not_null = true,
            ColumnOption::Default(_)
            | ColumnOption::Generated { .. }
            | ColumnOption::Identity(_) => return false,
            _ => {}
        }
    }
    let ty = c.data_type.to_string().to_lowercase();
    let serial = matches!(
        ty.as_str(),
        "serial" | "bigserial" | "smallserial" | "serial2" | "serial4" | "serial8"
    );
    not_null && !serial
}

/// Whether `e` can never be NULL: a constant other than NULL, a column of
/// the table known `NOT NULL` (`not_null`), a function that never returns
/// NULL (`nextval`, `now`, `gen_random_uuid`, ...), a `COALESCE` whose last
/// argument is one, or operators and casts over such. A nullable column or
/// any other function may be NULL: copying it does not fill every row.
fn never_null(e: &Expr, not_null: &BTreeSet<&str>) -> bool {
    use sqlparser::ast::{FunctionArg, FunctionArgExpr, FunctionArguments, Value};
    let args = |f: &sqlparser::ast::Function| -> Vec<Expr> {
        match &f.args {
            FunctionArguments::List(list) => list
                .args
                .iter()
                .filter_map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Some(x.clone()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    };
    match e {
        Expr::Value(v) => v.value != Value::Null,
        Expr::Identifier(i) => not_null.contains(ident_name(i).as_str()),
        Expr::CompoundIdentifier(parts) => parts
            .last()
            .is_some_and(|i| not_null.contains(ident_name(i).as_str())),
        Expr::Nested(inner) => never_null(inner, not_null),
        Expr::Cast { expr, .. } => never_null(expr, not_null),
        Expr::BinaryOp { left, right, .. } => {
            never_null(left, not_null) && never_null(right, not_null)
        }
        Expr::Function(f) => {
            let name = f.name.to_string().to_lowercase();
            match name.as_str() {
                "coalesce" => args(f).last().is_some_and(|x| never_null(x, not_null)),
                "nextval"
                | "now"
                | "clock_timestamp"
                | "statement_timestamp"
                | "transaction_timestamp"
                | "gen_random_uuid"
                | "uuid_generate_v4"
                | "random" => true,
                _ => false,
            }
        }
        _ => false,
    }
}

/// Whether `w` is exactly `col IS NULL` (possibly in parentheses).
fn is_only_null_test(w: &Expr) -> bool {
    match w {
        Expr::Nested(inner) => is_only_null_test(inner),
        Expr::IsNull(_) => true,
        _ => false,
    }
}

/// `-- atlas:nolint [CODE|ANALYZER ...]` directives of one file, as Atlas
/// reads them: file directives are the comment lines the file starts with,
/// followed by a blank line; statement directives are the comments right
/// before a statement. A bare file directive skips the whole file.
#[derive(Debug)]
struct Nolint {
    file_rules: Vec<String>,
    file_ignored: bool,
}

/// The arguments of an `atlas:nolint` directive in one comment line
/// (`Some("")` for a bare one), the way Atlas's directive pattern
/// `^([ -~]*)atlas:(\w+)(?: +([ -~]*))*` reads it.
fn nolint_args(comment: &str) -> Option<String> {
    directive_args(comment, "nolint")
}

/// The arguments of an `atlas:NAME` directive in one comment line.
fn directive_args(comment: &str, want: &str) -> Option<String> {
    let at = comment.rfind("atlas:")?;
    if !comment[..at].bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return None;
    }
    let after = &comment[at + "atlas:".len()..];
    let name_len = after
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(after.len());
    if &after[..name_len] != want {
        return None;
    }
    let rest = &after[name_len..];
    let trimmed = rest.trim_start_matches(' ');
    if trimmed.len() == rest.len() {
        return Some(String::new());
    }
    let end = trimmed
        .find(|c: char| !(' '..='~').contains(&c))
        .unwrap_or(trimmed.len());
    Some(trimmed[..end].to_string())
}

/// The arguments of every `atlas:NAME` file directive of `text`: the
/// comment lines the file starts with, when a blank line follows them (how
/// Atlas reads `atlas:nolint`, `atlas:txmode`, ...).
pub fn file_directives(text: &str, name: &str) -> Vec<String> {
    let mut directives = Vec::new();
    let mut content = text;
    let mut comments = Vec::new();
    while content.starts_with('#') || content.starts_with("--") {
        match content.find('\n') {
            Some(i) => {
                comments.push(content[..i].trim());
                content = &content[i + 1..];
            }
            None => {
                comments.push(content);
                content = "";
                break;
            }
        }
    }
    // File comments are separated from the statements by a blank line.
    if content.trim_start_matches([' ', '\t']).starts_with('\n')
        || content.trim_start_matches([' ', '\t']).starts_with("\r\n")
    {
        directives.extend(comments.iter().filter_map(|c| directive_args(c, name)));
    }
    directives
}

impl Nolint {
    fn of_file(text: &str) -> Nolint {
        let directives = file_directives(text, "nolint");
        let file_ignored = directives.len() == 1 && directives[0].is_empty();
        Nolint {
            file_rules: directives
                .iter()
                .flat_map(|d| d.split(' ').map(str::to_string))
                .collect(),
            file_ignored,
        }
    }

    /// The rules skipped on `stmt`: the file's, then its own.
    fn rules_for(&self, text: &str, stmt: &Stmt) -> Vec<String> {
        let mut rules = self.file_rules.clone();
        let comments = text.get(stmt.comments_start..stmt.span.start).unwrap_or("");
        for line in comments.lines().map(str::trim) {
            if !(line.starts_with("--") || line.starts_with('#') || line.starts_with("/*")) {
                continue;
            }
            if let Some(args) = nolint_args(line) {
                rules.extend(args.split(' ').map(str::to_string));
            }
        }
        rules
    }

    fn skips(&self, rules: &[String], code: &str, analyzer: Analyzer) -> bool {
        self.file_ignored
            || (rules.len() == 1 && rules[0].is_empty())
            || rules
                .iter()
                .any(|r| (!code.is_empty() && r == code) || r == analyzer.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
