//! `constraint-validation-lock`: a `CHECK` or foreign key added to an
//! existing table and validated under its lock.

use crate::check::CheckContext;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::lint::Analyzer;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "constraint-validation-lock",
    default_severity: Severity::Warn,
    summary: "ADD CHECK / FOREIGN KEY on an existing table without NOT VALID, or validated in the same transaction as that or another blocking lock (PG305, PG306, PG308)",
    doc: r#"# constraint-validation-lock

## What it does
For each statement of a new migration, on a table that exists on the base
side:

| code | finds | lock (checked against PostgreSQL 15 in the tests) |
|---|---|---|
| `PG305` | `ADD CONSTRAINT ... CHECK (...)` without `NOT VALID` | `ACCESS EXCLUSIVE` on the table while every row is checked |
| `PG306` | `ADD CONSTRAINT ... FOREIGN KEY` without `NOT VALID` | `SHARE ROW EXCLUSIVE` on the table and on the referenced table while every row is checked |

Also, with the same code: `VALIDATE CONSTRAINT` in the same transaction as
the `ADD ... NOT VALID` of that constraint (the file runs in one transaction:
atlas, goose, dbmate by default, a multi-statement golang-migrate file, or
both inside one explicit `BEGIN`), where the lock the `ADD` took is still
held during the check. And `PG308`: `VALIDATE CONSTRAINT` after any other
statement of the same transaction took a lock that blocks writes of an
existing table (an `ALTER TABLE`, an index build): that lock stays held
for the whole check (checked on PostgreSQL in `tests/lock_claims.rs`).
With `check --all` (an audit) each migration is judged as the one new
migration after all earlier ones.

## Why it matters
The check reads the whole table. Under `ACCESS EXCLUSIVE` nothing else can
touch the table meanwhile; under `SHARE ROW EXCLUSIVE` every write to both
tables waits.

## Example
```sql
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_customer" FOREIGN KEY ("customer_id") REFERENCES "customers" ("id");
```

## How to fix
Add it `NOT VALID` (a short lock, new rows are checked from then on), and
validate it in the next migration: `VALIDATE CONSTRAINT` takes only a
`SHARE UPDATE EXCLUSIVE` lock, which lets reads and writes go on.

```sql
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_customer" FOREIGN KEY ("customer_id") REFERENCES "customers" ("id") NOT VALID;
-- next migration
ALTER TABLE "invoices" VALIDATE CONSTRAINT "invoices_customer";
```
"#,
    check: Some(check),
    needs_change: false,
};

fn help(code: &str) -> &'static str {
    match code {
        "PG308" => "validate in a migration of its own, so no other lock is held while the rows are checked",
        "PG306" => "add it NOT VALID, then ALTER TABLE ... VALIDATE CONSTRAINT in the next migration (VALIDATE takes only SHARE UPDATE EXCLUSIVE: reads and writes go on)",
        _ => "add it NOT VALID, then ALTER TABLE ... VALIDATE CONSTRAINT in the next migration (VALIDATE takes only SHARE UPDATE EXCLUSIVE: reads and writes go on)",
    }
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    super::atlas_findings(ctx, RULE.name, Analyzer::Validation, severity, help, out)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{codes, on_new, shown};

    #[test]
    fn a_check_or_foreign_key_added_valid_to_an_existing_table_is_found() {
        let sql = "ALTER TABLE users ADD CONSTRAINT users_id_positive CHECK (id > 0);\n\
                   ALTER TABLE users ADD CONSTRAINT users_org2 FOREIGN KEY (org_id) REFERENCES orgs (id);\n";
        let found = on_new(&RULE, sql);
        assert_eq!(
            codes(&found),
            vec![(1, "PG305"), (2, "PG306")],
            "{}",
            shown(&found)
        );
    }

    #[test]
    fn validating_in_the_same_transaction_is_found_and_not_valid_alone_is_clean() {
        let sql = "ALTER TABLE users ADD CONSTRAINT users_id_positive CHECK (id > 0) NOT VALID;\n\
                   ALTER TABLE users VALIDATE CONSTRAINT users_id_positive;\n";
        let found = on_new(&RULE, sql);
        assert_eq!(codes(&found), vec![(2, "PG305")], "{}", shown(&found));
        assert!(found[0].message.contains("in the same transaction"));
        let found = on_new(
            &RULE,
            "ALTER TABLE users ADD CONSTRAINT users_id_positive CHECK (id > 0) NOT VALID;\n",
        );
        assert!(found.is_empty(), "{}", shown(&found));
    }

    #[test]
    fn a_validation_under_another_statements_lock_is_found() {
        let sql = "ALTER TABLE users ADD COLUMN note text;\nALTER TABLE users VALIDATE CONSTRAINT users_org_fk;\n";
        let found = on_new(&RULE, sql);
        assert_eq!(codes(&found), vec![(2, "PG308")], "{}", shown(&found));
        assert!(found[0].message.contains("line 1"), "{}", shown(&found));
    }
}
