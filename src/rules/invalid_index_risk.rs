//! `invalid-index-risk`: concurrent index builds that can leave an invalid
//! index behind, unnoticed.

use crate::check::CheckContext;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::lint::Analyzer;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "invalid-index-risk",
    default_severity: Severity::Warn,
    summary: "CREATE INDEX CONCURRENTLY IF NOT EXISTS, or a concurrent build under lock_timeout: a failed build leaves an INVALID index (PG804, PG805)",
    doc: r#"# invalid-index-risk

## What it does
Finds concurrent index builds on existing tables in new migrations that
can end with an `INVALID` index nobody notices:
- `PG804`: `CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS`. A concurrent
  build that fails (a duplicate key, a deadlock, a cancel) does not roll
  back: PostgreSQL keeps the index, marked invalid. Run again,
  `IF NOT EXISTS` sees the name and skips the build, so the migration
  succeeds and the index is never used.
- `PG805`: a concurrent build with a `lock_timeout` in effect in the file's
  session. The build waits for every transaction that writes the table;
  when one outlasts `lock_timeout`, the build is cancelled and leaves the
  invalid index behind.

Both failures are reproduced on PostgreSQL in `tests/lock_claims.rs`. With
`check --all` each migration is judged as the one new migration after all
earlier ones.

## Why it matters
An invalid index costs writes (it is maintained) and helps no read; a
unique one does not enforce uniqueness. Nothing fails, so nobody looks.

## Example
```sql
-- atlas:txmode none

SET lock_timeout = '5s';
CREATE INDEX CONCURRENTLY IF NOT EXISTS "invoices_customer" ON "invoices" ("customer_id");
```

## How to fix
Drop `IF NOT EXISTS`, so a leftover invalid index makes the next run fail
loudly; before retrying, `DROP INDEX CONCURRENTLY IF EXISTS` it. Reset
`lock_timeout` (`SET lock_timeout = 0`) before a concurrent build: it takes
no lock that blocks others, so the timeout only cancels it. After the
migration, check `SELECT indexrelid::regclass FROM pg_index WHERE NOT
indisvalid`.
"#,
    check: Some(check),
    needs_change: false,
};

fn help(code: &str) -> &'static str {
    match code {
        "PG804" => "drop IF NOT EXISTS (and DROP INDEX CONCURRENTLY IF EXISTS a leftover before retrying), so a failed build fails the next run",
        _ => "SET lock_timeout = 0 before the concurrent build: it blocks nobody, so the timeout only cancels it",
    }
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    super::atlas_findings(ctx, RULE.name, Analyzer::InvalidIndex, severity, help, out)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{codes, on_new, shown};

    #[test]
    fn if_not_exists_and_a_timeout_are_found() {
        let sql = "-- atlas:txmode none\n\nSET lock_timeout = '5s';\nCREATE INDEX CONCURRENTLY IF NOT EXISTS users_email ON users (email);\n";
        let found = on_new(&RULE, sql);
        assert_eq!(
            codes(&found),
            vec![(4, "PG804"), (4, "PG805")],
            "{}",
            shown(&found)
        );
    }

    #[test]
    fn a_plain_concurrent_build_is_clean() {
        let sql = "-- atlas:txmode none\n\nSET lock_timeout = '5s';\nSET lock_timeout = 0;\nCREATE INDEX CONCURRENTLY users_email ON users (email);\nCREATE TABLE t (a int);\n";
        let found = on_new(&RULE, sql);
        assert!(found.is_empty(), "{}", shown(&found));
    }
}
