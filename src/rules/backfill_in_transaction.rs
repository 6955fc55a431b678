//! `backfill-in-transaction`: rows rewritten in the transaction that
//! changed the table, or every row of an existing table in one statement.

use crate::check::CheckContext;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::lint::Analyzer;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "backfill-in-transaction",
    default_severity: Severity::Warn,
    summary: "UPDATE/DELETE/INSERT ... SELECT in the transaction of a schema change of that table, or UPDATE/DELETE without WHERE on an existing table (PG802, PG803)",
    doc: r#"# backfill-in-transaction

## What it does
- `PG802`: `UPDATE`, `DELETE` or `INSERT ... SELECT` on an existing table in
  the same transaction as an earlier `ALTER TABLE` of that table (the
  tool's transaction, or an explicit one). The `ACCESS EXCLUSIVE` lock the
  `ALTER` took is held while every row is written.
- `PG803`: `UPDATE` or `DELETE` without `WHERE` on an existing table (and
  not already `PG802`): every row is locked until the transaction ends, and
  every row leaves a dead copy for vacuum.

Tables the same change creates are empty: never reported. Checked on
PostgreSQL in `tests/lock_claims.rs`. With `check --all` each migration is
judged as the one new migration after all earlier ones.

## Why it matters
A backfill takes as long as the table is big. Under the `ALTER`'s lock,
the application cannot even read the table for that long; without it, an
unbatched update still blocks every other writer of those rows and doubles
the table on disk until vacuum catches up.

## Example
```sql
ALTER TABLE "users" ADD COLUMN "nick" text;
UPDATE "users" SET "nick" = "email";
```

## How to fix
Change the schema in one migration; backfill in batches
(`UPDATE ... WHERE id BETWEEN ...`) from a job or from migrations that run
outside a transaction, committing between batches. In ent, give the new
field a default in the schema and fill old rows later.
"#,
    check: Some(check),
    needs_change: false,
};

fn help(code: &str) -> &'static str {
    match code {
        "PG802" => "change the schema in this migration and backfill in batches outside its transaction (a job, or a later migration that runs outside one)",
        _ => "backfill in batches with a WHERE on the key, committing between batches",
    }
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    super::atlas_findings(ctx, RULE.name, Analyzer::Backfill, severity, help, out)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{codes, on_new, shown};

    #[test]
    fn a_backfill_under_the_alters_lock_is_found() {
        let sql = "ALTER TABLE users ADD COLUMN nick text;\nUPDATE users SET nick = email;\n";
        let found = on_new(&RULE, sql);
        assert_eq!(codes(&found), vec![(2, "PG802")], "{}", shown(&found));
    }

    #[test]
    fn a_bounded_update_in_its_own_file_is_clean() {
        let sql = "UPDATE users SET name = email WHERE id < 1000;\n";
        let found = on_new(&RULE, sql);
        assert!(found.is_empty(), "{}", shown(&found));
    }
}
