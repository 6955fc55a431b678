//! `missing-soft-delete`: a new table without the soft-delete column.

use std::collections::HashSet;

use crate::check::Mode;
use crate::check::{CheckContext, Side};
use crate::ent::Kind;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::Event;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "missing-soft-delete",
    default_severity: Severity::Error,
    summary: "a new table (CREATE TABLE in a new migration) without the soft-delete column",
    doc: r#"# missing-soft-delete

## What it does
Replays every migration in order and finds tables created by a new migration
(one that is not on the base; every migration with `--all`) that, once all
migrations ran, lack the soft-delete column (`conventions.soft_delete_column`,
default `deleted_at`). A column added later by `ALTER TABLE ... ADD COLUMN`
counts. Tables matching `conventions.exempt_tables` globs are exempt; without
that setting, the tables `atlas.hcl` excludes (`exclude = ["t[type=table]"]`)
are.

With `ent.schema` configured, the same holds at the source of truth: an ent
schema type (a struct embedding `ent.Schema`; `ent.View` types are views, not
tables) that the change adds, whose fields, own or from its mixins (also
composite mixins, local mixins, and fields built in helpers), lack the column.
The finding points at the type declaration and names the mixin to add. When the
SQL and the ent finding describe the same table, only the ent one is reported.
Suppress in Go with `// migguard:ignore missing-soft-delete <reason>` above the
type.

## Why it matters
The team's rule is that every entity supports soft delete: queries filter on
`deleted_at IS NULL`, and unique indexes include it. A table without the column
is either deleted for real (losing history) or cannot follow the conventions.

## Example
```sql
-- create "invoices" table
CREATE TABLE "invoices" ("id" character(26) NOT NULL, "namespace" character varying NOT NULL, PRIMARY KEY ("id"));
```

## When it runs
Only where the team has the convention: when `conventions.soft_delete: true`
or `conventions.soft_delete_column` is set, or, with neither, when at least
three quarters of the tables
that exist before the change carry one soft-delete column (`deleted_at`,
`deletedAt`, `deleted_on`, ...; with no table yet, of the ent schemas). A bare
majority is not enough: such a team soft-deletes some tables, not all. The
summary says which and why (`soft-delete convention: on, 212 of 240 tables
have deleted_at (detected)`); `conventions.soft_delete: false` turns it off.
Column names compare as PostgreSQL compares identifiers: an unquoted
`deletedAt` is stored as `deletedat`, a quoted `"deletedAt"` keeps its case.
Temporary tables (`CREATE TEMP TABLE`) are never tables of the schema, and
many-to-many join tables (exactly two columns, each a foreign key, together
the primary key: what ent generates for an edge without a schema of its own)
are exempt unless `conventions.exempt_join_tables: false`.

## How to fix
Add the soft-delete mixin to the ent schema (the help line names this
repository's own mixin that provides the column, when there is one; in
OpenMeter, `entutils.TimeMixin{}` provides `created_at`, `updated_at` and
`deleted_at`) and regenerate the migration. If
the table must not have it (a lock table, a backup), add it to
`conventions.exempt_tables` or suppress with
`-- migguard:ignore missing-soft-delete <reason>` above the statement.
"#,
    check: Some(check),
    needs_change: false,
};

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
    let join_exempt = exempt_join_tables(ctx);
    let column = convention.column.as_str();
    let mut remedy: Option<String> = None;
    for event in &replay.events {
        let Event::TableCreated { table, origin } = event else {
            continue;
        };
        if !new.contains(&origin.path) || exempt.is_match(table) {
            continue;
        }
        let Some(final_table) = replay.schema.tables.get(table) else {
            continue;
        };
        if final_table.columns.iter().any(|c| c == column)
            || (join_exempt && final_table.is_join_table())
        {
            continue;
        }
        if remedy.is_none() {
            remedy = Some(sql_remedy(ctx, column)?);
        }
        let remedy = remedy.as_deref().unwrap_or_default();
        out.push(
            Finding::new(
                RULE.name,
                severity,
                &origin.path,
                format!("table \"{table}\" is created without the soft-delete column \"{column}\": rows can only be deleted for real"),
            )
            .at(origin.line, origin.span.clone())
            .label(format!("no \"{column}\""))
            .subject(table.clone())
            .help(format!("{remedy}, or list \"{table}\" in conventions.exempt_tables")),
        );
    }
    Ok(())
}

/// Whether many-to-many join tables are exempt (`conventions.exempt_join_tables`,
/// default true).
pub fn exempt_join_tables(ctx: &CheckContext) -> bool {
    ctx.settings
        .config
        .conventions
        .exempt_join_tables
        .unwrap_or(true)
}

/// How this repository adds the column: the in-repo ent mixin that provides
/// it when there is one, else the column itself.
fn sql_remedy(ctx: &CheckContext, column: &str) -> Result<String> {
    if let Some(world) = ctx.ent_world(Side::New)? {
        if let Some(mixin) = world.mixins_providing(column).first() {
            return Ok(format!(
                "add {mixin} to the ent schema's Mixin() and regenerate"
            ));
        }
        return Ok(format!(
            "add a \"{column}\" field to the ent schema (or a mixin that provides it) and regenerate"
        ));
    }
    Ok(format!("add the \"{column}\" column"))
}

/// The ent side: a schema type added by the change (absent on the base)
/// without the soft-delete field, own or from its mixins.
fn check_ent(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    if !ctx.ent.touches_ent(&ctx.cs) || !ctx.ent.ent_change_may_matter(&ctx.cs)? {
        return Ok(());
    }
    let Some(world) = ctx.ent_world(Side::New)? else {
        return Ok(());
    };
    let existing: HashSet<String> = match (ctx.cs.mode, ctx.ent_world(Side::Created)?) {
        (Mode::All, _) | (_, None) => HashSet::new(),
        (_, Some(base)) => base.schema_names().into_iter().collect(),
    };
    let convention = ctx.soft_delete()?;
    if !convention.on {
        return Ok(());
    }
    let exempt = ctx.exempt_tables();
    let column = convention.column.as_str();
    let providers = world.mixins_providing(column);
    // Only schema types the change adds are resolved (fields, mixins).
    let mut unknown: Vec<String> = Vec::new();
    for name in world.schema_names() {
        if existing.contains(&name) {
            continue;
        }
        let Some(schema) = world.schema(&name) else {
            continue;
        };
        if schema.kind != Kind::Schema
            || exempt.is_match(&schema.table)
            || schema.fields.contains(column)
        {
            continue;
        }
        if let Some(first) = schema.unresolved.first() {
            // A mixin that cannot be read may bring the column: unknown.
            unknown.push(format!("{} ({first})", schema.name));
            continue;
        }
        let mixin = providers
            .first()
            .cloned()
            .unwrap_or_else(|| format!("a \"{column}\" field (or a mixin that provides it)"));
        let others = if providers.len() > 1 {
            format!(
                " (or a composite that contains it: {})",
                providers[1..].join(", ")
            )
        } else {
            String::new()
        };
        out.push(
            Finding::new(
                RULE.name,
                severity,
                &schema.place.path,
                format!(
                    "ent schema {} (table \"{}\") has no \"{column}\" field, own or from a mixin: it cannot be soft-deleted",
                    schema.name, schema.table
                ),
            )
            .at(schema.place.line, schema.place.span.clone())
            .label(format!("add {mixin}"))
            .subject(schema.table.clone())
            .help(format!("add {mixin} to {}'s Mixin(){others}, then regenerate", schema.name)),
        );
    }
    if !unknown.is_empty() {
        let shown: Vec<&str> = unknown.iter().take(3).map(String::as_str).collect();
        ctx.note(format!(
            "{} ent schema(s) not judged for \"{column}\": a mixin they use cannot be read (defined outside the repository, or built where migguard cannot follow): {}{}",
            unknown.len(),
            shown.join(", "),
            if unknown.len() > 3 { ", ..." } else { "" }
        ));
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
    fn a_new_table_without_the_column_is_found() {
        let new = [
            BASE,
            (
                "migrations/20240201000000_t.sql",
                "CREATE TABLE orders (id bigint PRIMARY KEY);\n",
            ),
        ];
        let found = findings(&RULE, CONFIG, &[BASE], &new);
        assert_eq!(found.len(), 1, "{}", shown(&found));
        assert_eq!(found[0].line, Some(1));
        assert!(found[0].message.contains("orders"), "{}", shown(&found));
    }

    #[test]
    fn a_new_table_with_the_column_or_exempt_is_clean() {
        let new = [BASE, ("migrations/20240201000000_t.sql",
            "CREATE TABLE orders (id bigint PRIMARY KEY, deleted_at timestamptz);\nCREATE TABLE locks (id int);\n")];
        let config = format!("{CONFIG}  exempt_tables: [locks]\n");
        assert_clean(&RULE, &config, &[BASE], &new);
    }

    #[test]
    fn the_convention_is_detected_from_the_existing_tables() {
        // No config: every existing table has deleted_at, so it is on.
        let new = [
            BASE,
            (
                "migrations/20240201000000_t.sql",
                "CREATE TABLE orders (id bigint);\n",
            ),
        ];
        let run = crate::rules::testing::run(&RULE, "", &[BASE], &new);
        assert_eq!(run.findings.len(), 1, "{}", shown(&run.findings));
        assert!(
            run.notes.iter().any(|n| n.contains("on, 1 of 1 tables")),
            "{:?}",
            run.notes
        );
    }
}
