//! `not-null-scan`: `SET NOT NULL` on an existing column, scanning the
//! table under an `ACCESS EXCLUSIVE` lock.

use crate::check::CheckContext;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::lint::Analyzer;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "not-null-scan",
    default_severity: Severity::Warn,
    summary: "SET NOT NULL on an existing column with no validated CHECK (col IS NOT NULL) (PG303)",
    doc: r#"# not-null-scan

## What it does
`PG303`: `ALTER TABLE ... ALTER COLUMN c SET NOT NULL` in a new migration, on
a nullable column of a table that exists on the base side, when no
validated `CHECK (c IS NOT NULL)` constraint already proves it (PostgreSQL 12
and later skip the scan then; `conventions.postgres_version` below 12 always
reports).
With `check --all` (an audit) each migration is judged as the one new
migration after all earlier ones.

## Why it matters
PostgreSQL checks every row for NULLs while holding an `ACCESS EXCLUSIVE`
lock (checked against PostgreSQL 15 in the tests): on a large table, reads
and writes wait for the whole scan.

## Example
```sql
ALTER TABLE "invoices" ALTER COLUMN "number" SET NOT NULL;
```

## How to fix
Prove it without the lock first, then set it cheaply:

```sql
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_number_not_null" CHECK ("number" IS NOT NULL) NOT VALID;
-- next migration
ALTER TABLE "invoices" VALIDATE CONSTRAINT "invoices_number_not_null";
-- next migration
ALTER TABLE "invoices" ALTER COLUMN "number" SET NOT NULL;
ALTER TABLE "invoices" DROP CONSTRAINT "invoices_number_not_null";
```
"#,
    check: Some(check),
    needs_change: false,
};

fn help(_: &str) -> &'static str {
    "add CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT it in the next migration, then SET NOT NULL (no scan since PostgreSQL 12) and drop the check"
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    super::atlas_findings(ctx, RULE.name, Analyzer::NotNullScan, severity, help, out)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{codes, on_new, shown};

    #[test]
    fn set_not_null_on_an_existing_column_is_found() {
        let found = on_new(&RULE, "ALTER TABLE users ALTER COLUMN name SET NOT NULL;\n");
        assert_eq!(codes(&found), vec![(1, "PG303")], "{}", shown(&found));
    }

    #[test]
    fn set_not_null_on_a_new_table_is_clean() {
        let found = on_new(
            &RULE,
            "CREATE TABLE t (a int);\nALTER TABLE t ALTER COLUMN a SET NOT NULL;\n",
        );
        assert!(found.is_empty(), "{}", shown(&found));
    }
}
