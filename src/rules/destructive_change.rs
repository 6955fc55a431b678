//! `destructive-change`: a new migration drops a schema, table or column
//! that exists on the base side (Atlas's `destructive` analyzer).

use crate::check::CheckContext;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::lint::Analyzer;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "destructive-change",
    default_severity: Severity::Error,
    summary: "a new migration drops an existing schema, table or column (Atlas DS101-DS103)",
    doc: r#"# destructive-change

## What it does
Atlas's `destructive` analyzer, free and git-aware. For each statement of a
new migration it reports, with Atlas's code and wording:

| code | finds |
|---|---|
| `DS101` | `DROP SCHEMA` of a schema that exists on the base side (`public` always does) |
| `DS102` | `DROP TABLE` of a table that exists on the base side |
| `DS103` | `ALTER TABLE ... DROP COLUMN` of a column that exists on the base side |

"Exists on the base side" means a created migration (one the base already
has) made it: a table or column that an earlier new migration of the same
change created is new, and dropping it is not reported. Objects migguard
cannot see (made by a statement it could not parse) are never reported. JSON
findings carry `"code"`; SARIF, GitHub and GitLab output show it.

`-- atlas:nolint` is read exactly as Atlas reads it: above a statement bare
(`-- atlas:nolint`), with codes (`-- atlas:nolint DS103`) or with the
analyzer's name (`-- atlas:nolint destructive`); at the top of the file,
followed by a blank line, for the whole file (bare: the file is not
analysed). `-- migguard:ignore destructive-change <reason>` works too.
With `check --all` (an audit) each migration is judged as the one new
migration after all earlier ones.

## Why it matters
A dropped column or table takes its data with it, and code that is still
running (the previous release, during a rolling deploy) fails on the missing
column. Since Atlas v0.38 `atlas migrate lint` needs a paid account; this rule
keeps the check in every team's pre-commit hook and CI.

## Example
```sql
-- modify "customers" table
ALTER TABLE "customers" DROP COLUMN "tax_provider";
```

## How to fix
Drop in two releases: first deploy code that no longer reads the column or
table (in ent: remove the field, regenerate, and keep the column with
`entsql.Annotation` or by not generating the drop), then drop it in a later
migration. When the data is truly unwanted, say so above the statement with
`-- atlas:nolint DS103` (Atlas reads the same line) or
`-- migguard:ignore destructive-change <reason>`.
"#,
    check: Some(check),
    needs_change: false,
};

fn help(code: &str) -> &'static str {
    match code {
        "DS101" => "a dropped schema takes every table in it; if that is intended, mark the statement with `-- atlas:nolint DS101`",
        "DS102" => "stop using the table in code first and drop it in a later release; if the data is unwanted, mark the statement with `-- atlas:nolint DS102`",
        _ => "deploy code that no longer reads the column first, then drop it in a later migration; if the data is unwanted, mark the statement with `-- atlas:nolint DS103`",
    }
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    super::atlas_findings(ctx, RULE.name, Analyzer::Destructive, severity, help, out)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{codes, on_new, run_all, shown, BASE};

    #[test]
    fn dropping_an_existing_table_or_column_is_found_with_atlas_codes() {
        let found = on_new(
            &RULE,
            "DROP TABLE orgs CASCADE;\nALTER TABLE users DROP COLUMN name;\n",
        );
        assert_eq!(
            codes(&found),
            vec![(1, "DS102"), (2, "DS103")],
            "{}",
            shown(&found)
        );
        assert_eq!(found[0].severity, crate::findings::Severity::Error);
    }

    #[test]
    fn dropping_what_the_change_created_or_a_nolint_statement_is_clean() {
        let sql = "CREATE TABLE tmp (id int);\nDROP TABLE tmp;\n\
                   -- atlas:nolint DS103\nALTER TABLE users DROP COLUMN name;\n";
        let found = on_new(&RULE, sql);
        assert!(found.is_empty(), "{}", shown(&found));
    }

    #[test]
    fn an_audit_judges_each_migration_against_the_earlier_ones() {
        let later = (
            "migrations/20240301000000_drop.sql",
            "DROP TABLE orgs CASCADE;\n",
        );
        let run = run_all(&RULE, "", &[BASE, later]);
        assert_eq!(
            codes(&run.findings),
            vec![(1, "DS102")],
            "{}",
            shown(&run.findings)
        );
        assert_eq!(run.findings[0].path, later.0);
    }
}
