//! `backward-incompatible-change`: a new migration renames a table or column
//! that running code still uses (Atlas's `incompatible` analyzer).

use crate::check::CheckContext;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::lint::Analyzer;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "backward-incompatible-change",
    default_severity: Severity::Warn,
    summary: "a new migration renames an existing table or column (Atlas BC101, BC102), schema (BC103) or enum value (BC104)",
    doc: r#"# backward-incompatible-change

## What it does
Atlas's `incompatible` analyzer, free and git-aware. For each statement of a
new migration it reports, with Atlas's code and wording:

| code | finds |
|---|---|
| `BC101` | `ALTER TABLE ... RENAME TO` of a table that exists on the base side, unless a later statement of the file creates a view under the old name |
| `BC102` | `ALTER TABLE ... RENAME COLUMN` of a column of a table that exists on the base side, unless the same file adds a column under the old name again |
| `BC103` | `ALTER SCHEMA ... RENAME TO` of a schema that exists on the base side (migguard's code: Atlas has none) |
| `BC104` | `ALTER TYPE ... RENAME VALUE` of an enum type that exists on the base side: rows keep the value under its new label, and old code that writes or compares the old label fails (migguard's code) |

Tables created by the change itself are new and never reported.
`-- atlas:nolint` (bare, `BC102`, `incompatible`; statement or file) and
`-- migguard:ignore backward-incompatible-change <reason>` are honoured.
With `check --all` (an audit) each migration is judged as the one new
migration after all earlier ones.

## Why it matters
During a deploy the previous release keeps running against the migrated
database: its queries name the old table or column and fail until every
instance is replaced. A rename is a drop for every reader that was not
deployed with it.

## Example
```sql
ALTER TABLE "meters" RENAME COLUMN "slug" TO "key";
```

## How to fix
With ent, keep the database name and rename only in Go:
`field.String("key").StorageKey("slug")` (a column) or
`entsql.Annotation{Table: "old_name"}` (a table), and no migration is needed.
Otherwise add the new column, write both for a release, copy the data, and
drop the old one later; for a table, create a view under the old name in the
same migration. When nothing else reads it, mark the statement with
`-- atlas:nolint BC102`.
"#,
    check: Some(check),
    needs_change: false,
};

fn help(code: &str) -> &'static str {
    match code {
        "BC101" => "running code still uses the old name: keep it in ent with `entsql.Annotation{Table: \"<old>\"}`, or create a view under the old name in this migration",
        _ => "running code still uses the old name: keep it in ent with `field.<Type>(\"<new>\").StorageKey(\"<old>\")`, or add the new column and drop the old one in a later release",
    }
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    super::atlas_findings(ctx, RULE.name, Analyzer::Incompatible, severity, help, out)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{codes, on_new, shown, NEW};

    #[test]
    fn renaming_an_existing_table_or_column_is_found() {
        let sql = "ALTER TABLE users RENAME COLUMN name TO full_name;\nALTER TABLE orgs RENAME TO teams;\n";
        let found = on_new(&RULE, sql);
        assert_eq!(
            codes(&found),
            vec![(1, "BC102"), (2, "BC101")],
            "{}",
            shown(&found)
        );
    }

    #[test]
    fn renaming_in_a_table_the_change_creates_is_clean() {
        let sql = "CREATE TABLE t (a int);\nALTER TABLE t RENAME COLUMN a TO b;\nALTER TABLE t RENAME TO u;\n";
        let found = on_new(&RULE, sql);
        assert!(found.is_empty(), "{}", shown(&found));
    }

    #[test]
    fn schema_and_enum_value_renames_of_existing_objects_are_found() {
        let base = (
            "migrations/20240101000000_base.sql",
            "CREATE SCHEMA audit;\nCREATE TYPE mood AS ENUM ('ok', 'meh');\n",
        );
        let sql = "ALTER SCHEMA audit RENAME TO history;\nALTER TYPE mood RENAME VALUE 'meh' TO 'fine';\nCREATE TYPE color AS ENUM ('red');\nALTER TYPE color RENAME VALUE 'red' TO 'crimson';\n";
        let found = crate::rules::testing::findings(&RULE, "", &[base], &[base, (NEW, sql)]);
        assert_eq!(
            codes(&found),
            vec![(1, "BC103"), (2, "BC104")],
            "{}",
            shown(&found)
        );
    }
}
