//! The schema model the analyzers judge against: tables with their
//! columns, nullability, keys and indexes, replayed statement by statement,
//! each object remembering whether the change created it.

use sqlparser::ast::{Ident, UniqueConstraint};

use super::*;

impl Lint {
    /// Applies `ast` to the model; `new`: the change creates what it adds.
    pub(super) fn apply(&mut self, ast: &Statement, new: bool) {
        if new {
            self.mark_fresh(ast);
        }
        match ast {
            Statement::CreateTable(ct) => self.create_table(ct, new),
            Statement::CreateIndex(ci) => {
                if let Some(name) = &ci.name {
                    self.indexes.entry(object_name(name)).or_insert(IndexOf {
                        table: object_name(&ci.table_name),
                        new,
                        columns: ci
                            .columns
                            .iter()
                            .map(|c| index_column(c).unwrap_or_default())
                            .collect(),
                        unique: ci.unique,
                        predicate: distinct::conjuncts(ci.predicate.as_ref()),
                        nulls_not_distinct: ci.nulls_distinct == Some(false),
                    });
                }
            }
            Statement::CreateType { name, .. } => {
                self.types.entry(object_name(name)).or_insert(new);
            }
            Statement::CreateView(cv) if cv.materialized && new => {
                self.new_matviews.insert(object_name(&cv.name));
            }
            Statement::CreateSchema { schema_name, .. } => {
                self.schemas.entry(schema_key(schema_name)).or_insert(new);
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
                        Some(w) => {
                            crate::sql::schema::requires_null(w, &col) && is_only_null_test(w)
                        }
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

    /// Notes the names `ast` may mark as the change's own, for
    /// [`Lint::settle`]: a table under its name before and after each
    /// `ALTER TABLE` operation (a rename moves its marks to the new name).
    fn mark_fresh(&mut self, ast: &Statement) {
        let fresh = &mut self.fresh;
        match ast {
            Statement::CreateTable(ct) => fresh.tables.push(object_name(&ct.name)),
            Statement::CreateIndex(ci) => {
                if let Some(name) = &ci.name {
                    fresh.indexes.push(object_name(name));
                }
            }
            Statement::CreateType { name, .. } => fresh.types.push(object_name(name)),
            Statement::CreateSchema { schema_name, .. } => {
                fresh.schemas.push(schema_key(schema_name))
            }
            Statement::AlterTable(at) => {
                fresh.tables.push(object_name(&at.name));
                for op in &at.operations {
                    if let AlterTableOperation::RenameTable { table_name } = op {
                        let (RenameTableNameKind::As(n) | RenameTableNameKind::To(n)) = table_name;
                        fresh.tables.push(object_name(n));
                    }
                }
            }
            _ => {}
        }
    }

    pub(super) fn create_table(&mut self, ct: &CreateTable, new: bool) {
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
                    ColumnOption::Unique(u) => t.unique_keys.push(UniqueKey::of(
                        &name,
                        opt.name.as_ref(),
                        vec![c.clone()],
                        u,
                    )),
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

    pub(super) fn add_constraint(
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
            TableConstraint::Unique(u) => {
                let columns: Vec<String> = u
                    .columns
                    .iter()
                    .map(|c| index_column(c).unwrap_or_default())
                    .collect();
                t.unique_keys
                    .push(UniqueKey::of(table, u.name.as_ref(), columns, u));
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
    pub(super) fn alter(&mut self, table: &str, op: &AlterTableOperation, new: bool) -> String {
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
                    // PostgreSQL drops the indexes and constraints on it.
                    t.unique_keys.retain(|k| !k.columns.contains(&c));
                    self.indexes
                        .retain(|_, ix| ix.table != table || !ix.columns.contains(&c));
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
                // Keys and indexes follow the column, as PostgreSQL's do.
                let keys = t
                    .primary_key
                    .iter_mut()
                    .chain(t.unique_keys.iter_mut().flat_map(|k| k.columns.iter_mut()))
                    .chain(
                        t.foreign_keys
                            .values_mut()
                            .flat_map(|(cols, _)| cols.iter_mut()),
                    );
                let indexed = self
                    .indexes
                    .values_mut()
                    .filter(|ix| ix.table == table)
                    .flat_map(|ix| ix.columns.iter_mut());
                for c in keys.chain(indexed).filter(|c| **c == old) {
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
                t.unique_keys.retain(|k| k.name != name);
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

impl UniqueKey {
    /// The `UNIQUE` constraint `u` of `table` on `columns`, named `name` or
    /// as PostgreSQL names it.
    fn of(
        table: &str,
        name: Option<&Ident>,
        columns: Vec<String>,
        u: &UniqueConstraint,
    ) -> UniqueKey {
        UniqueKey {
            name: pg_name(unique_constraint_name(table, name, &columns)),
            columns,
            // A DEFERRABLE one is checked at commit: its columns may hold
            // duplicates inside the transaction.
            immediate: u
                .characteristics
                .as_ref()
                .is_none_or(|c| c.deferrable != Some(true)),
            nulls_not_distinct: nulls_not_distinct(u),
        }
    }
}

/// A schema's name as the model keys it (without its quotes).
fn schema_key(name: &sqlparser::ast::SchemaName) -> String {
    name.to_string().trim_matches('"').to_string()
}
