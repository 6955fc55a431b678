//! `missing-soft-delete`: a new table without the soft-delete column.

use std::collections::HashSet;

use crate::check::{CheckContext, Side};
use crate::ent::Kind;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::report::Mode;
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

## How to fix
Add the soft-delete mixin to the ent schema (`entutils.TimeMixin{}` provides
`created_at`, `updated_at` and `deleted_at`) and regenerate the migration. If
the table must not have it (a lock table, a backup), add it to
`conventions.exempt_tables` or suppress with
`-- migguard:ignore missing-soft-delete <reason>` above the statement.
"#,
    check: Some(check),
    needs_change: false,
};

pub fn exempt_set(ctx: &CheckContext) -> Result<globset::GlobSet> {
    super::generated_edited::globset(&ctx.settings.exempt_tables())
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    check_ent(ctx, severity, out)?;
    let new: HashSet<String> = ctx.new_migrations().into_iter().collect();
    if new.is_empty() {
        return Ok(());
    }
    let replay = ctx.replay()?;
    let exempt = exempt_set(ctx)?;
    let column = ctx.soft_delete_column();
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
        if final_table.columns.iter().any(|c| c == column) {
            continue;
        }
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
            .help(format!("add the soft-delete mixin (entutils.TimeMixin{{}}) to the ent schema and regenerate, or list \"{table}\" in conventions.exempt_tables")),
        );
    }
    Ok(())
}

/// The ent side: a schema type added by the change (absent on the base)
/// without the soft-delete field, own or from its mixins.
fn check_ent(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    if !ctx.touches_ent() || !ctx.ent_change_may_matter()? {
        return Ok(());
    }
    let Some(world) = ctx.ent_world(Side::New)? else {
        return Ok(());
    };
    let existing: HashSet<String> = match (ctx.mode, ctx.ent_world(Side::Created)?) {
        (Mode::All, _) | (_, None) => HashSet::new(),
        (_, Some(base)) => base.schema_names().into_iter().collect(),
    };
    let exempt = exempt_set(ctx)?;
    let column = ctx.soft_delete_column();
    let providers = world.mixins_providing(column);
    // Only schema types the change adds are resolved (fields, mixins).
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
        let mixin = providers
            .first()
            .cloned()
            .unwrap_or_else(|| "entutils.TimeMixin{}".to_string());
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
    Ok(())
}
