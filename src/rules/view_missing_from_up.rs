//! `view-missing-from-up`: a view changed in the generated views file but not
//! recreated by the change's new migrations.

use std::collections::HashSet;

use sqlparser::ast::Statement;

use crate::check::{CheckContext, Side};
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::normalize::normalize_query;
use crate::sql::schema::object_name;
use crate::sql::Event;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "view-missing-from-up",
    default_severity: Severity::Error,
    summary: "a view the change adds or alters in the generated views.sql is not recreated in the change's new .up.sql",
    doc: r#"# view-missing-from-up

## What it does
For each view that the change adds or alters in the generated views file
(`views.generated`), requires one of the change's new migrations to recreate
it: `DROP VIEW IF EXISTS "v";` before `CREATE VIEW "v" AS ...` (or a
`CREATE OR REPLACE VIEW`) whose definition equals the generated one after
normalisation. A view that does not exist yet may be created by a plain
`CREATE VIEW`: `DROP VIEW IF EXISTS` is needed only to recreate an existing
view. Also reports a `CREATE VIEW` (without `OR REPLACE`) of a view
that exists at that point of the history with no `DROP VIEW` before it:
PostgreSQL refuses it.

## Why it matters
Atlas does not generate view DDL for ent views: after `make generate`, the
developer must copy the view into the new migration. Forgetting it ships code
that reads columns the database's view does not have.

## Example
```sql
-- 20260814114215_charges-search-feature-filters.up.sql
ALTER TABLE "charge_flat_fees" ADD COLUMN "feature_key" character varying NULL;
DROP VIEW IF EXISTS "charges_search_v1s";
CREATE VIEW "charges_search_v1s" AS SELECT ...;   -- copied from views.sql
```

## How to fix
Copy the view's `CREATE VIEW` statement from the regenerated views file to the
end of the new `.up.sql`, preceded by `DROP VIEW IF EXISTS "<view>";`, then run
`migguard fix-sum`.
"#,
    check: Some(check),
    needs_change: true,
};

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    let new_files: Vec<String> = ctx.cs.new_migrations().to_vec();
    let new_set: HashSet<&str> = new_files.iter().map(String::as_str).collect();
    // Views that a new migration creates with a plain CREATE VIEW while no
    // view of that name exists: nothing needs dropping first.
    let mut fresh: HashSet<String> = HashSet::new();
    // A CREATE VIEW of an existing view without a DROP before it.
    if !new_files.is_empty() {
        let replay = ctx.replay()?;
        for event in &replay.events {
            if let Event::ViewCreated {
                name,
                existed: false,
                origin,
                ..
            } = event
            {
                if new_set.contains(origin.path.as_str()) {
                    fresh.insert(name.clone());
                }
            }
            if let Event::ViewCreated {
                name,
                or_replace: false,
                existed: true,
                origin,
                ..
            } = event
            {
                if new_set.contains(origin.path.as_str()) {
                    out.push(
                        Finding::new(
                            RULE.name,
                            severity,
                            &origin.path,
                            format!("CREATE VIEW \"{name}\" runs while the view exists, with no DROP VIEW before it: PostgreSQL refuses it"),
                        )
                        .at(origin.line, origin.span.clone())
                        .label("the view already exists here")
                        .help(format!("put `DROP VIEW IF EXISTS \"{name}\";` before it")),
                    );
                }
            }
        }
    }
    let Some(views_path) = ctx.settings.config.views.generated.clone() else {
        return Ok(());
    };
    let Some(new_views) = ctx.views_of(Side::New, &views_path)? else {
        return Ok(());
    };
    let old_views = ctx.views_of(Side::Old, &views_path)?.unwrap_or_default();
    let changed: Vec<&String> = new_views
        .iter()
        .filter(|(name, (q, _))| {
            old_views
                .get(*name)
                .is_none_or(|(old, _)| old.to_string() != q.to_string())
        })
        .map(|(name, _)| name)
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    // Views recreated by the change's new migrations, with the definition.
    ctx.parse_all(Side::New, &new_files)?;
    let mut recreated: Vec<(String, String)> = Vec::new();
    let mut dropped: HashSet<String> = HashSet::new();
    for path in &new_files {
        let Some(file) = ctx.parsed(Side::New, path)? else {
            continue;
        };
        for ast in file.stmts.iter().flat_map(|s| &s.ast) {
            match ast {
                Statement::Drop {
                    object_type: sqlparser::ast::ObjectType::View,
                    names,
                    ..
                } => dropped.extend(names.iter().map(object_name)),
                Statement::CreateView(cv) => {
                    let name = object_name(&cv.name);
                    if cv.or_replace || dropped.contains(&name) || fresh.contains(&name) {
                        recreated.push((name, normalize_query(&cv.query).to_string()));
                    }
                }
                _ => {}
            }
        }
    }
    for name in changed {
        let (query, origin) = &new_views[name];
        let want = query.to_string();
        if recreated.iter().any(|(n, q)| n == name && *q == want) {
            continue;
        }
        let partly = recreated.iter().any(|(n, _)| n == name);
        let is_new = !old_views.contains_key(name);
        let message = match (partly, is_new) {
            (true, false) => format!("view \"{name}\" changed in {views_path}, and the change's new migrations recreate it, but not with the generated definition"),
            (true, true) => format!("view \"{name}\" is new in {views_path}, and the change's new migrations create it, but not with the generated definition"),
            (false, false) => format!("view \"{name}\" changed in {views_path}, but none of the change's new migrations recreates it: the database keeps the old view"),
            (false, true) => format!("view \"{name}\" is new in {views_path}, but none of the change's new migrations creates it: the database will not have it"),
        };
        let help = if is_new {
            "append this CREATE VIEW statement to the new migration's up part, then run `migguard fix-sum`".to_string()
        } else {
            format!("append `DROP VIEW IF EXISTS \"{name}\";` and this CREATE VIEW statement to the new migration's up part, then run `migguard fix-sum`")
        };
        out.push(
            Finding::new(RULE.name, severity, &origin.path, message)
                .at(origin.line, origin.span.clone())
                .label("not copied into a new migration")
                .help(help),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{
        assert_clean, findings, shown, VIEWS_CONFIG as CONFIG, VIEW_BASE as BASE,
    };
    const VIEWS: (&str, &str) = (
        "views.sql",
        "CREATE VIEW names AS SELECT name FROM users;\n",
    );
    const VIEWS2: (&str, &str) = (
        "views.sql",
        "CREATE VIEW names AS SELECT name, id FROM users;\n",
    );

    #[test]
    fn a_view_changed_in_views_sql_but_not_in_the_new_migration_is_found() {
        let new = [
            BASE,
            VIEWS2,
            (
                "migrations/20240201000000_x.sql",
                "ALTER TABLE users ADD COLUMN age int;\n",
            ),
        ];
        let found = findings(&RULE, CONFIG, &[BASE, VIEWS], &new);
        assert_eq!(found.len(), 1, "{}", shown(&found));
        assert!(found[0].message.contains("names"), "{}", shown(&found));
    }

    #[test]
    fn a_view_recreated_in_the_new_migration_is_clean() {
        let new = [
            BASE,
            VIEWS2,
            (
                "migrations/20240201000000_x.sql",
                "DROP VIEW IF EXISTS names;\nCREATE VIEW names AS SELECT name, id FROM users;\n",
            ),
        ];
        assert_clean(&RULE, CONFIG, &[BASE, VIEWS], &new);
    }
}
