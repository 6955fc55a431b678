//! `constraint-dropped`: a new migration drops a foreign key that exists on
//! the base side (Atlas's `condrop` analyzer).

use crate::check::CheckContext;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::lint::Analyzer;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "constraint-dropped",
    default_severity: Severity::Warn,
    summary: "a new migration drops an existing foreign key (Atlas CD101)",
    doc: r#"# constraint-dropped

## What it does
Atlas's `condrop` analyzer, free and git-aware: `CD101` for an
`ALTER TABLE ... DROP CONSTRAINT` of a foreign key that exists on the base
side (declared in `CREATE TABLE`, inline with `REFERENCES`, or added by
`ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY`; names as PostgreSQL keeps
them, cut to 63 bytes). Not reported: a key re-created under the same name on
the same columns in the same statement (a changed `ON DELETE`), and a key
dropped together with one of its columns (`destructive-change` reports the
column). `-- atlas:nolint` (bare, `CD101`, `condrop`) and
`-- migguard:ignore constraint-dropped <reason>` are honoured. Atlas defines
only `CD101`; check and primary-key constraints dropped are not reported.
With `check --all` (an audit) each migration is judged as the one new
migration after all earlier ones.

## Why it matters
Without the foreign key the database no longer keeps the relation: rows can
point at deleted parents, and `ON DELETE CASCADE` no longer cleans up.

## Example
```sql
ALTER TABLE "billing_profiles" DROP CONSTRAINT "billing_profiles_apps_tax_app";
```

## How to fix
If the relation still holds, keep the key (in ent, an edge generates it). If
it is replaced, add the new key in the same statement. When the drop is
intended, mark the statement with `-- atlas:nolint CD101`.
"#,
    check: Some(check),
    needs_change: false,
};

fn help(_code: &str) -> &'static str {
    "unless a key on the same columns replaces it, the database no longer guards this relation; if the drop is intended, mark the statement with `-- atlas:nolint CD101`"
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    super::atlas_findings(ctx, RULE.name, Analyzer::ConDrop, severity, help, out)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{codes, on_new, shown};

    #[test]
    fn dropping_an_existing_foreign_key_is_found() {
        let found = on_new(&RULE, "ALTER TABLE users DROP CONSTRAINT users_org_fk;\n");
        assert_eq!(codes(&found), vec![(1, "CD101")], "{}", shown(&found));
    }

    #[test]
    fn dropping_a_foreign_key_the_change_added_is_clean() {
        let sql = "ALTER TABLE users ADD CONSTRAINT users_org2 FOREIGN KEY (org_id) REFERENCES orgs (id) NOT VALID;\n\
                   ALTER TABLE users DROP CONSTRAINT users_org2;\n";
        let found = on_new(&RULE, sql);
        assert!(found.is_empty(), "{}", shown(&found));
    }
}
