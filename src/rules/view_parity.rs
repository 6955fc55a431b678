//! `view-parity`: the views the migrations build equal the generated views.

use crate::check::{CheckContext, Side};
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::normalize::first_difference;
use crate::sql::Origin;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "view-parity",
    default_severity: Severity::Error,
    summary: "replaying every migration does not yield exactly the views of views.sql",
    doc: r#"# view-parity

## What it does
Replays every migration's statements in order (`CREATE [OR REPLACE] VIEW`,
`DROP VIEW`, renames) and compares the resulting views with the generated
views file (`views.generated`, e.g. `tools/migrate/views.sql`). Definitions are
compared after normalisation: whitespace, keyword case, quotes around
identifiers that need none, `x AS x` self-aliases, `::type` versus `CAST`,
redundant parentheses and trailing semicolons do not count. A view on only one
side is a finding; a different view names the first differing clause (for a
select list, the output column) with both texts.

It runs with `--all`, and with a change set when the change touches the
migrations or the views file. `migguard parity` makes the same comparison on a
real PostgreSQL.

## Why it matters
ent views are not diffed by Atlas: their DDL is copied into migrations by hand.
A view that differs from the generated one means the database serves other
columns than the code expects.

## Example
```text
view "charges_search_v1s": column 28 ("feature_id") differs:
  migrations: NULL::char(26) AS feature_id
  views.sql:  NULL::varchar AS feature_id
```

## How to fix
Add a migration that runs `DROP VIEW IF EXISTS "v";` and then the `CREATE VIEW`
statement copied from the regenerated views file.
"#,
    check: Some(check),
    needs_change: false,
};

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    let Some(views_path) = ctx.settings.config.views.generated.clone() else {
        return Ok(());
    };
    if !ctx.cs.touches_sql(Some(&views_path)) {
        return Ok(());
    }
    let Some(generated) = ctx.views_of(Side::New, &views_path)? else {
        return Ok(());
    };
    let replay = ctx.replay()?;
    let finding = |origin: &Origin, message: String, label: &str, help: &str| {
        Finding::new(RULE.name, severity, &origin.path, message)
            .at(origin.line, origin.span.clone())
            .label(label.to_string())
            .help(help.to_string())
    };
    for (name, (query, origin)) in &generated {
        match replay.schema.views.get(name) {
            None => out.push(finding(
                origin,
                format!("view \"{name}\" is in {views_path}, but no migration creates it"),
                "not created by any migration",
                "add a migration with this CREATE VIEW statement (after DROP VIEW IF EXISTS)",
            )),
            Some(view) => {
                if let Some((clause, migrations, file)) = first_difference(&view.query, query) {
                    out.push(finding(
                        origin,
                        format!(
                            "view \"{name}\" differs from what the migrations build: {clause}: migrations have `{migrations}`, {views_path} has `{file}` (last created at {}:{})",
                            view.origin.path, view.origin.line
                        ),
                        &format!("{clause} differs"),
                        "add a migration that drops the view and creates it again from the generated file",
                    ));
                }
            }
        }
    }
    for (name, view) in &replay.schema.views {
        if !generated.contains_key(name) {
            out.push(finding(
                &view.origin,
                format!("view \"{name}\" is created by the migrations but is not in {views_path}"),
                "not in the generated views",
                "drop it in a new migration, or add its ent view schema and regenerate",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{
        assert_clean, findings, shown, VIEWS_CONFIG as CONFIG, VIEW_BASE as BASE,
    };

    #[test]
    fn a_view_in_views_sql_that_no_migration_creates_is_found() {
        let views = ("views.sql", "CREATE VIEW names AS SELECT name FROM users;\nCREATE VIEW ids AS SELECT id FROM users;\n");
        let found = findings(&RULE, CONFIG, &[BASE], &[BASE, views]);
        assert_eq!(found.len(), 1, "{}", shown(&found));
        assert_eq!(
            (found[0].path.as_str(), found[0].line),
            ("views.sql", Some(2))
        );
        assert!(found[0].message.contains("no migration creates it"));
    }

    #[test]
    fn views_sql_matching_the_migrations_is_clean() {
        let views = (
            "views.sql",
            "CREATE VIEW names AS SELECT name FROM users;\n",
        );
        assert_clean(&RULE, CONFIG, &[BASE], &[BASE, views]);
    }
}
