//! `unique-without-deleted-at`: a unique index on a soft-delete table that
//! ignores soft-deleted rows.

use std::collections::{BTreeSet, HashSet};

use crate::check::Mode;
use crate::check::{CheckContext, Side};
use crate::ent::Kind;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::{requires_null, Event};

use super::Rule;

pub const RULE: Rule = Rule {
    name: "unique-without-deleted-at",
    default_severity: Severity::Error,
    summary: "a new unique index on a soft-delete table that neither includes deleted_at, nor is partial on deleted_at IS NULL, nor includes the id",
    doc: r#"# unique-without-deleted-at

## What it does
Finds unique indexes and unique constraints added by a new migration on a table
that has the soft-delete column at that point of the history (default
`deleted_at`; a column added later by `ALTER TABLE` counts from then on), unless
the index

- lists the soft-delete column, or
- is partial with a predicate that requires it to be NULL
  (`WHERE (deleted_at IS NULL)`, also as one term of an `AND`), or
- includes the primary key or `id` (ids are never reused, so
  `("namespace", "id")` is fine).

With `ent.schema` configured, the same holds for an
`index.Fields(...)...Unique()` that the change adds to a soft-delete ent schema
(indexes that come from mixins count where the mixin is applied), unless it
lists the column, carries `entsql.IndexWhere("deleted_at IS NULL")`, or
includes `id`. The finding points at the `index.Fields` call; when the SQL and
the ent finding describe the same table and columns, only the ent one is
reported.

Runs only where the team has the soft-delete convention, configured or
detected, with its column (see `migguard explain missing-soft-delete`).

## Why it matters
A soft-deleted row still occupies its unique key: after deleting a customer with
key `acme`, nobody can create a new `acme`. The application sees a unique
violation for a row it cannot see.

## Example
```sql
CREATE UNIQUE INDEX "customer_namespace_key" ON "customers" ("namespace", "key");
-- fine:
CREATE UNIQUE INDEX "customer_namespace_key" ON "customers" ("namespace", "key") WHERE (deleted_at IS NULL);
```

## How to fix
In the ent schema, add `deleted_at` to the index
(`index.Fields("namespace", "key", "deleted_at").Unique()`) or make it partial
with `entsql.IndexWhere("deleted_at IS NULL")`, then regenerate the migration.
"#,
    check: Some(check),
    needs_change: false,
};

/// The key that identifies "the same unique index" in SQL and in ent.
pub fn subject(table: &str, columns: &[String]) -> String {
    let mut c = columns.to_vec();
    c.sort();
    format!("{table}({})", c.join(","))
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    check_ent(ctx, severity, out)?;
    let new: HashSet<String> = ctx.cs.new_migrations().iter().cloned().collect();
    if new.is_empty() {
        return Ok(());
    }
    let convention = ctx.soft_delete()?;
    if !convention.on {
        return Ok(());
    }
    let replay = ctx.replay()?;
    let exempt = ctx.exempt_tables();
    let column = convention.column.as_str();
    for event in &replay.events {
        let Event::UniqueAdded {
            table,
            name,
            columns,
            predicate,
            table_columns,
            primary_key,
            origin,
        } = event
        else {
            continue;
        };
        if !new.contains(&origin.path)
            || exempt.is_match(table)
            || !table_columns.iter().any(|c| c == column)
        {
            continue;
        }
        let includes_key = columns.iter().any(|c| c == "id")
            || (!primary_key.is_empty() && primary_key.iter().all(|k| columns.contains(k)));
        let partial = predicate.as_ref().is_some_and(|p| requires_null(p, column));
        if columns.iter().any(|c| c == column) || partial || includes_key {
            continue;
        }
        // A later migration that dropped or replaced the index repaired it.
        if let Some(n) = name {
            let still = replay.schema.indexes.get(n).is_some_and(|ix| {
                ix.table == *table
                    && ix.columns == *columns
                    && ix.predicate.as_ref().map(ToString::to_string)
                        == predicate.as_ref().map(ToString::to_string)
            });
            if !still {
                continue;
            }
        }
        let what = match name {
            Some(n) => format!("unique index \"{n}\""),
            None => "a unique constraint".to_string(),
        };
        out.push(
            Finding::new(
                RULE.name,
                severity,
                &origin.path,
                format!(
                    "{what} on \"{table}\" ({}) ignores soft-deleted rows: a deleted row keeps blocking its key",
                    columns.join(", ")
                ),
            )
            .at(origin.line, origin.span.clone())
            .label(format!("add \"{column}\" or WHERE {column} IS NULL"))
            .subject(subject(table, columns))
            .help(format!(
                "in the ent schema use index.Fields(..., \"{column}\").Unique() or entsql.IndexWhere(\"{column} IS NULL\"), then regenerate"
            )),
        );
    }
    Ok(())
}

/// Whether an `entsql.IndexWhere` predicate requires the column to be NULL.
fn predicate_requires_null(predicate: &str, column: &str) -> bool {
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(predicate)
        .and_then(|mut p| p.parse_expr())
        .is_ok_and(|e| requires_null(&e, column))
}

/// The ent side: an `index.Fields(...).Unique()` added by the change on a
/// soft-delete schema (indexes from mixins count where the mixin is applied).
fn check_ent(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    if !ctx.ent.touches_ent(&ctx.cs) || !ctx.ent.ent_change_may_matter(&ctx.cs)? {
        return Ok(());
    }
    let Some(world) = ctx.ent_world(Side::New)? else {
        return Ok(());
    };
    let key = |schema: &str, ix: &crate::ent::IndexInfo| {
        format!(
            "{schema}:{}:{}:{:?}",
            ix.fields.join(","),
            ix.unique,
            ix.predicate
        )
    };
    let existing: HashSet<String> = match (ctx.cs.mode, ctx.ent_world(Side::Created)?) {
        (Mode::All, _) | (_, None) => HashSet::new(),
        (_, Some(base)) => base.index_keys().iter().map(|(s, ix)| key(s, ix)).collect(),
    };
    let convention = ctx.soft_delete()?;
    if !convention.on {
        return Ok(());
    }
    let exempt = ctx.exempt_tables();
    let column = convention.column.as_str();
    // Only schemas with a unique index the base does not have are resolved.
    let candidates: BTreeSet<String> = world
        .index_keys()
        .iter()
        .filter(|(s, ix)| ix.unique && !existing.contains(&key(s, ix)))
        .map(|(s, _)| s.clone())
        .collect();
    for name in candidates {
        let Some(schema) = world.schema(&name) else {
            continue;
        };
        if schema.kind != Kind::Schema
            || !schema.fields.contains(column)
            || exempt.is_match(&schema.table)
        {
            continue;
        }
        for ix in &schema.indexes {
            if !ix.unique
                || ix.fields.iter().any(|f| f == column || f == "id")
                || ix
                    .predicate
                    .as_deref()
                    .is_some_and(|p| predicate_requires_null(p, column))
                || existing.contains(&key(&schema.name, ix))
            {
                continue;
            }
            let via = ix
                .via
                .as_ref()
                .map(|m| format!(" (from {m})"))
                .unwrap_or_default();
            out.push(
                Finding::new(
                    RULE.name,
                    severity,
                    &ix.place.path,
                    format!(
                        "unique index on {} ({}){via} ignores soft-deleted rows: a deleted {} keeps blocking its key",
                        schema.name,
                        ix.fields.join(", "),
                        schema.name
                    ),
                )
                .at(ix.place.line, ix.place.span.clone())
                .label(format!("add \"{column}\" or IndexWhere"))
                .subject(subject(&schema.table, &ix.fields))
                .help(format!(
                    "use index.Fields({}, \"{column}\").Unique(), or .Annotations(entsql.IndexWhere(\"{column} IS NULL\"))",
                    ix.fields.iter().map(|f| format!("\"{f}\"")).collect::<Vec<_>>().join(", ")
                )),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{
        assert_clean, findings, shown, SOFT_DELETE_BASE as BASE, SOFT_DELETE_CONFIG as CONFIG,
    };

    #[test]
    fn a_unique_index_ignoring_deleted_at_is_found() {
        let new = [
            BASE,
            (
                "migrations/20240201000000_u.sql",
                "CREATE UNIQUE INDEX users_email ON users (email);\n",
            ),
        ];
        let found = findings(&RULE, CONFIG, &[BASE], &new);
        assert_eq!(found.len(), 1, "{}", shown(&found));
        assert_eq!(found[0].path, "migrations/20240201000000_u.sql");
    }

    #[test]
    fn a_partial_unique_index_on_live_rows_is_clean() {
        let new = [
            BASE,
            (
                "migrations/20240201000000_u.sql",
                "CREATE UNIQUE INDEX users_email ON users (email) WHERE deleted_at IS NULL;\n",
            ),
        ];
        assert_clean(&RULE, CONFIG, &[BASE], &new);
    }
}
