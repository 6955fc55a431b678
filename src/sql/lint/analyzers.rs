//! Atlas's analyzers proper: what each statement does to objects that
//! exist on the base side, with Atlas's codes and wording.

use super::*;

impl Lint {
    /// What `ast` does to objects that exist on the base side, before it
    /// runs. `rest` is the rest of the file (for renames undone later).
    pub(super) fn judge(
        &self,
        ast: &Statement,
        rest: &[Stmt],
        session: &locks::Session,
        out: &mut Vec<Found>,
    ) {
        match ast {
            Statement::Drop {
                object_type, names, ..
            } => {
                for n in names {
                    let name = object_name(n);
                    match object_type {
                        ObjectType::Table if self.existing_table(&name) => {
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
                let name = crate::sql::schema::index_name(ci, &table, &columns);
                let unique = NewUnique {
                    name: &name,
                    columns: &columns,
                    nulls_not_distinct: ci.nulls_distinct == Some(false),
                    predicate: conjuncts(ci.predicate.as_ref()),
                };
                self.unique_on_existing(&table, unique, session, out);
            }
            Statement::AlterTable(at) => {
                let table = object_name(&at.name);
                self.judge_alter(&table, &at.operations, rest, session, out);
            }
            _ => {}
        }
    }

    pub(super) fn judge_alter(
        &self,
        table: &str,
        ops: &[AlterTableOperation],
        rest: &[Stmt],
        session: &locks::Session,
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
                    let name = unique_constraint_name(table, u.name.as_ref(), &columns);
                    let unique = NewUnique {
                        name: &name,
                        columns: &columns,
                        nulls_not_distinct: nulls_not_distinct(u),
                        predicate: Vec::new(),
                    };
                    self.unique_on_existing(table, unique, session, out);
                }
                _ => {}
            }
        }
    }
}

/// A diagnostic before it is placed: code, analyzer, text, subject.
pub(super) type Found = (&'static str, Analyzer, String, String);

pub(super) fn index_column(c: &sqlparser::ast::IndexColumn) -> Option<String> {
    match &c.column.expr {
        Expr::Identifier(i) => Some(ident_name(i)),
        _ => None,
    }
}

pub(super) fn adds_column(op: &AlterTableOperation, name: &str) -> bool {
    matches!(op, AlterTableOperation::AddColumn { column_def, .. } if ident_name(&column_def.name) == name)
}

/// How PostgreSQL fills a column added with these options: whether it is
/// `NOT NULL`, and whether it fills every row itself (a default, a serial,
/// identity or generated column).
fn added_column(c: &ColumnDef) -> (bool, bool) {
    let mut not_null = false;
    let mut fills = false;
    for o in &c.options {
        match &o.option {
            ColumnOption::NotNull | ColumnOption::PrimaryKey(_) => not_null = true,
            ColumnOption::Default(_)
            | ColumnOption::Generated { .. }
            | ColumnOption::Identity(_) => fills = true,
            _ => {}
        }
    }
    let ty = c.data_type.to_string().to_lowercase();
    let serial = matches!(
        ty.as_str(),
        "serial" | "bigserial" | "smallserial" | "serial2" | "serial4" | "serial8"
    );
    (not_null, fills || serial)
}

/// MF103: a column added `NOT NULL` with no default that PostgreSQL cannot
/// fill itself (serial, identity and generated columns fill every row).
pub(super) fn needs_default(c: &ColumnDef) -> bool {
    added_column(c) == (true, false)
}

/// A column added with nothing in it (NULL in every row): not `NOT NULL`,
/// and nothing PostgreSQL fills it with.
pub(super) fn all_null(c: &ColumnDef) -> bool {
    added_column(c) == (false, false)
}

/// Whether a `UNIQUE` constraint says `NULLS NOT DISTINCT`.
pub(super) fn nulls_not_distinct(u: &sqlparser::ast::UniqueConstraint) -> bool {
    u.nulls_distinct == sqlparser::ast::NullsDistinctOption::NotDistinct
}

/// The name PostgreSQL gives a `UNIQUE` constraint of `table` on `columns`
/// when the statement names none.
pub(super) fn unique_constraint_name(
    table: &str,
    name: Option<&sqlparser::ast::Ident>,
    columns: &[String],
) -> String {
    name.map(ident_name)
        .unwrap_or_else(|| format!("{table}_{}_key", columns.join("_")))
}

/// Whether `e` can never be NULL: a constant other than NULL, a column of
/// the table known `NOT NULL` (`not_null`), a function that never returns
/// NULL (`nextval`, `now`, `gen_random_uuid`, ...), a `COALESCE` whose last
/// argument is one, or operators and casts over such. A nullable column or
/// any other function may be NULL: copying it does not fill every row.
pub(super) fn never_null(e: &Expr, not_null: &BTreeSet<&str>) -> bool {
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
pub(super) fn is_only_null_test(w: &Expr) -> bool {
    match w {
        Expr::Nested(inner) => is_only_null_test(inner),
        Expr::IsNull(_) => true,
        _ => false,
    }
}
