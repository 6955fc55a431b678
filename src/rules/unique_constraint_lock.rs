//! `unique-constraint-lock`: a primary key or unique constraint added to an
//! existing table, its index built under an `ACCESS EXCLUSIVE` lock.

use crate::check::CheckContext;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::lint::Analyzer;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "unique-constraint-lock",
    default_severity: Severity::Warn,
    summary:
        "ADD PRIMARY KEY / ADD UNIQUE on an existing table not built USING INDEX (PG104, PG105)",
    doc: r#"# unique-constraint-lock

## What it does
For each statement of a new migration: `PG104` for
`ALTER TABLE ... ADD PRIMARY KEY (...)` and `PG105` for
`ALTER TABLE ... ADD [CONSTRAINT name] UNIQUE (...)` on a table that exists
on the base side. The `USING INDEX` forms are the safe recipe and never
reported; tables the change creates are never reported.
With `check --all` (an audit) each migration is judged as the one new
migration after all earlier ones.

## Why it matters
PostgreSQL builds the constraint's index while holding an `ACCESS EXCLUSIVE`
lock on the table (checked against PostgreSQL 15 in the tests): every read
and write waits for the whole build.

## Example
```sql
ALTER TABLE "customers" ADD CONSTRAINT "customers_key" UNIQUE ("namespace", "key");
```

## How to fix
Build the index first without blocking, in a migration file of its own that
runs outside a transaction, then attach it (a short lock):

```sql
CREATE UNIQUE INDEX CONCURRENTLY "customers_key" ON "customers" ("namespace", "key");
-- next migration
ALTER TABLE "customers" ADD CONSTRAINT "customers_key" UNIQUE USING INDEX "customers_key";
```
"#,
    check: Some(check),
    needs_change: false,
};

fn help(code: &str) -> &'static str {
    match code {
        "PG104" => "build the index first with CREATE UNIQUE INDEX CONCURRENTLY (a migration file of its own, outside a transaction), then ALTER TABLE ... ADD CONSTRAINT ... PRIMARY KEY USING INDEX <index>",
        _ => "build the index first with CREATE UNIQUE INDEX CONCURRENTLY (a migration file of its own, outside a transaction), then ALTER TABLE ... ADD CONSTRAINT <name> UNIQUE USING INDEX <index>",
    }
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    super::atlas_findings(ctx, RULE.name, Analyzer::UniqueLock, severity, help, out)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{on_new, shown};

    #[test]
    fn a_unique_constraint_built_in_place_on_an_existing_table_is_found() {
        let found = on_new(
            &RULE,
            "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);\n",
        );
        assert_eq!(found.len(), 1, "{}", shown(&found));
        assert_eq!(found[0].line, Some(1));
        assert!(
            matches!(found[0].code, Some("PG104") | Some("PG105")),
            "{}",
            shown(&found)
        );
    }

    #[test]
    fn a_unique_constraint_using_a_prebuilt_index_is_clean() {
        let sql =
            "ALTER TABLE users ADD CONSTRAINT users_name_key UNIQUE USING INDEX users_name_idx;\n";
        let found = on_new(&RULE, sql);
        assert!(found.is_empty(), "{}", shown(&found));
    }
}
