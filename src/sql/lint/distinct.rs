//! MF101 and what proves a table's rows distinct already: a unique index
//! cannot fail on duplicates where every row it covers is distinct in its
//! columns before it is built. What this module knows proves it:
//! - a key the table has (the primary key, an immediate unique constraint,
//!   a unique index, partial ones when the new index covers no more rows);
//! - a key dropped earlier in the same transaction, a column added there
//!   (NULL in every row), or a `NOT NULL` column added there without a
//!   default (the table was empty, or that statement failed): the lock
//!   those statements took keeps every other session out until the
//!   transaction ends, so only the transaction's own statements could
//!   write a row, and any that might makes it forget.

use sqlparser::ast::{AlterColumnOperation, BinaryOperator};

use super::*;

/// Columns whose rows are known distinct: a unique key or index, or the
/// primary key, and the rows it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Distinct {
    pub columns: Vec<String>,
    pub nulls_not_distinct: bool,
    /// The conjuncts of a partial index's `WHERE` (empty: every row).
    pub predicate: Vec<Conjunct>,
}

/// One `AND`-ed term of an index's `WHERE`, as written, and the column it
/// tests when it is `column IS NOT NULL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Conjunct {
    text: String,
    not_null: Option<String>,
}

/// The conjuncts of a `WHERE`, parentheses removed.
pub(super) fn conjuncts(e: Option<&Expr>) -> Vec<Conjunct> {
    fn walk(e: &Expr, out: &mut Vec<Conjunct>) {
        match e {
            Expr::Nested(inner) => walk(inner, out),
            Expr::BinaryOp {
                left,
                op: BinaryOperator::And,
                right,
            } => {
                walk(left, out);
                walk(right, out);
            }
            other => out.push(Conjunct {
                text: other.to_string(),
                not_null: match other {
                    Expr::IsNotNull(inner) => match inner.as_ref() {
                        Expr::Identifier(i) => Some(ident_name(i)),
                        _ => None,
                    },
                    _ => None,
                },
            }),
        }
    }
    let mut out = Vec::new();
    if let Some(e) = e {
        walk(e, &mut out);
    }
    out
}

/// A unique index or constraint being added, for MF101.
pub(super) struct NewUnique<'a> {
    pub name: &'a str,
    /// Its plain columns (expressions left out).
    pub columns: &'a [String],
    pub nulls_not_distinct: bool,
    pub predicate: Vec<Conjunct>,
}

impl Distinct {
    /// Whether `new` cannot meet a duplicate where this key holds: it holds
    /// every column of the key, and every row it covers that has no NULL
    /// in its columns is one the key covers (each term of the key's `WHERE`
    /// is one of `new`'s, or `c IS NOT NULL` for a column of `new`). Two
    /// such rows differ in the key's columns (or hold a NULL there), so they
    /// differ in `new` too. A NULL counts as distinct in `new` unless it
    /// says `NULLS NOT DISTINCT`, and then only a key that says so as well,
    /// over the same rows, proves anything.
    pub(super) fn proves(&self, new: &NewUnique) -> bool {
        let holds_key = !self.columns.is_empty()
            && self
                .columns
                .iter()
                .all(|c| !c.is_empty() && new.columns.contains(c));
        let covers_rows = self.predicate.iter().all(|k| {
            new.predicate.contains(k)
                || (!new.nulls_not_distinct
                    && k.not_null.as_ref().is_some_and(|c| new.columns.contains(c)))
        });
        holds_key && covers_rows && (!new.nulls_not_distinct || self.nulls_not_distinct)
    }
}

/// What an earlier statement of the open transaction established about a
/// table, until a statement that might write its rows.
#[derive(Debug, Clone)]
pub(super) enum Fact {
    /// A key it dropped: its rows were distinct there.
    Dropped(Distinct),
    /// A column it added with no default: NULL in every row.
    AllNull(String),
    /// A `NOT NULL` column it added with no default: the table was empty.
    Empty,
}

impl Fact {
    /// Whether it says something of column `c`.
    fn mentions(&self, c: &str) -> bool {
        match self {
            Fact::Dropped(k) => {
                k.columns.iter().any(|k| k == c) || k.predicate.iter().any(|p| p.text.contains(c))
            }
            Fact::AllNull(n) => n == c,
            Fact::Empty => false,
        }
    }
}

/// What a statement may break of the facts of its transaction.
enum Breaks {
    Nothing,
    Table(String),
    Anything,
}

impl Lint {
    /// MF101: a unique index whose columns (some of them) already hold rows,
    /// unless they are distinct already.
    pub(super) fn unique_on_existing(
        &self,
        table: &str,
        unique: NewUnique,
        session: &locks::Session,
        out: &mut Vec<Found>,
    ) {
        let Some(t) = self.tables.get(table).filter(|t| !t.new) else {
            return;
        };
        if self
            .distinct_keys(table, t)
            .iter()
            .any(|k| k.proves(&unique))
        {
            return;
        }
        let proven = session.facts_in_tx(table).any(|fact| match fact {
            Fact::Dropped(k) => k.proves(&unique),
            Fact::AllNull(c) => !unique.nulls_not_distinct && unique.columns.contains(c),
            Fact::Empty => true,
        });
        if proven {
            return;
        }
        let NewUnique { name, columns, .. } = unique;
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

    /// The keys whose rows `table` keeps distinct now: its primary key, its
    /// immediate unique constraints, its unique indexes.
    fn distinct_keys(&self, table: &str, t: &Table) -> Vec<Distinct> {
        let pk = (!t.primary_key.is_empty()).then(|| primary_key(t));
        let constraints = t.unique_keys.iter().filter_map(unique_key);
        let indexes = self
            .indexes
            .values()
            .filter(|ix| ix.table == table)
            .filter_map(unique_index);
        pk.into_iter().chain(constraints).chain(indexes).collect()
    }

    /// Before `ast` changes the model: what it establishes inside a
    /// transaction is remembered for MF101, and what it may write or change
    /// the values of is forgotten (its own facts included).
    pub(super) fn follow_facts(&self, ast: &Statement, session: &mut locks::Session) {
        self.remember_facts(ast, session);
        if session.facts.is_empty() {
            return;
        }
        // A dropped column takes what was known of it along (it may come
        // back with other values).
        if let Statement::AlterTable(at) = ast {
            let table = object_name(&at.name);
            for op in &at.operations {
                if let AlterTableOperation::DropColumn { column_names, .. } = op {
                    for c in column_names.iter().map(ident_name) {
                        session
                            .facts
                            .retain(|(t, f, _)| *t != table || !f.mentions(&c));
                    }
                }
            }
        }
        match self.may_break_facts(ast) {
            Breaks::Nothing => {}
            Breaks::Table(t) => session.facts.retain(|(d, _, _)| *d != t),
            Breaks::Anything => session.facts.clear(),
        }
    }

    /// What `ast` may write rows of, or change the values of a column of.
    /// Only plain DDL is known to write nothing: any other statement may
    /// call a function that writes anything.
    fn may_break_facts(&self, ast: &Statement) -> Breaks {
        match ast {
            // A table dropped (and perhaps created anew) forgets its facts.
            Statement::Drop {
                object_type: ObjectType::Table,
                ..
            } => Breaks::Anything,
            Statement::CreateIndex(_)
            | Statement::Drop { .. }
            | Statement::Comment { .. }
            | Statement::Set(_)
            | Statement::Reset(_)
            | Statement::StartTransaction { .. }
            | Statement::Commit { .. }
            | Statement::Rollback { .. }
            | Statement::CreateType { .. }
            | Statement::CreateSchema { .. } => Breaks::Nothing,
            Statement::CreateTable(ct) if ct.query.is_none() => Breaks::Nothing,
            Statement::AlterTable(at) => {
                let table = object_name(&at.name);
                let columns = self.tables.get(&table).map(|t| &t.columns);
                let breaks = at.operations.iter().any(|op| match op {
                    AlterTableOperation::AddConstraint { .. }
                    | AlterTableOperation::DropConstraint { .. }
                    | AlterTableOperation::ValidateConstraint { .. }
                    | AlterTableOperation::AddColumn { .. }
                    | AlterTableOperation::DropColumn { .. } => false,
                    AlterTableOperation::AlterColumn { column_name, op } => match op {
                        AlterColumnOperation::SetNotNull
                        | AlterColumnOperation::DropNotNull
                        | AlterColumnOperation::SetDefault { .. }
                        | AlterColumnOperation::DropDefault => false,
                        // A change that keeps every value's bytes keeps
                        // distinct values distinct.
                        AlterColumnOperation::SetDataType {
                            data_type, using, ..
                        } => columns
                            .and_then(|c| c.get(&ident_name(column_name)))
                            .is_none_or(|c| {
                                locks::type_change_rewrites(
                                    &c.ty,
                                    &data_type.to_string().to_lowercase(),
                                    using.is_some(),
                                )
                            }),
                        _ => true,
                    },
                    _ => true,
                });
                if breaks {
                    Breaks::Table(table)
                } else {
                    Breaks::Nothing
                }
            }
            _ => Breaks::Anything,
        }
    }

    fn remember_facts(&self, ast: &Statement, session: &mut locks::Session) {
        let Some(epoch) = session.open_epoch() else {
            return;
        };
        match ast {
            Statement::Drop {
                object_type: ObjectType::Index,
                names,
                ..
            } => {
                for n in names {
                    let Some(ix) = self.indexes.get(&object_name(n)) else {
                        continue;
                    };
                    if let Some(key) = unique_index(ix) {
                        session
                            .facts
                            .push((ix.table.clone(), Fact::Dropped(key), epoch));
                    }
                }
            }
            Statement::AlterTable(at) => {
                let table = object_name(&at.name);
                let Some(t) = self.tables.get(&table) else {
                    return;
                };
                for op in &at.operations {
                    let fact = match op {
                        AlterTableOperation::DropConstraint { name, .. } => {
                            let name = pg_name(ident_name(name));
                            if name == pg_name(format!("{table}_pkey")) {
                                (!t.primary_key.is_empty()).then(|| primary_key(t))
                            } else {
                                t.unique_keys
                                    .iter()
                                    .find(|k| k.name == name)
                                    .and_then(unique_key)
                            }
                            .map(Fact::Dropped)
                        }
                        AlterTableOperation::AddColumn { column_def, .. } => {
                            let c = ident_name(&column_def.name);
                            // Only a column the table did not have (IF NOT
                            // EXISTS keeps an old one with its values).
                            if t.columns.contains_key(&c) {
                                None
                            } else if needs_default(column_def) {
                                Some(Fact::Empty)
                            } else if all_null(column_def) {
                                Some(Fact::AllNull(c))
                            } else {
                                None
                            }
                        }
                        _ => None,
                    };
                    if let Some(fact) = fact {
                        session.facts.push((table.clone(), fact, epoch));
                    }
                }
            }
            _ => {}
        }
    }
}

fn primary_key(t: &Table) -> Distinct {
    Distinct {
        columns: t.primary_key.clone(),
        // Its columns are NOT NULL.
        nulls_not_distinct: true,
        predicate: Vec::new(),
    }
}

/// A unique constraint as a key, unless `DEFERRABLE` (duplicates may stand
/// until commit).
fn unique_key(k: &UniqueKey) -> Option<Distinct> {
    k.immediate.then(|| Distinct {
        columns: k.columns.clone(),
        nulls_not_distinct: k.nulls_not_distinct,
        predicate: Vec::new(),
    })
}

fn unique_index(ix: &IndexOf) -> Option<Distinct> {
    ix.unique.then(|| Distinct {
        columns: ix.columns.clone(),
        nulls_not_distinct: ix.nulls_not_distinct,
        predicate: ix.predicate.clone(),
    })
}
