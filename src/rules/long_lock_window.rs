//! `long-lock-window`: slow work while the transaction holds a lock an
//! earlier statement took.

use crate::check::CheckContext;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::lint::Analyzer;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "long-lock-window",
    default_severity: Severity::Warn,
    summary: "an index build, scan, rewrite or backfill after a write-blocking lock was taken in the same transaction (PG801)",
    doc: r#"# long-lock-window

## What it does
`PG801`: in a new migration's transaction (the tool's, or an explicit
`BEGIN`), a statement that takes long on a big table (an index build, a
validation or `SET NOT NULL` scan, a rewrite, maintenance, or writing rows
of an existing table) runs after an earlier statement of the same
transaction took a lock that blocks writes, or reads and writes, of an
existing table. PostgreSQL keeps every lock to the end of the
transaction, so that table stays blocked for the slow statement too. Not
reported when the statement's own lock on that table is as strong (a
second rewrite of the same table adds nothing). Checked on PostgreSQL in
`tests/lock_claims.rs`. With `check --all` each migration is judged as the
one new migration after all earlier ones.

## Why it matters
`ALTER TABLE ... ADD COLUMN` alone is instant, and `CREATE INDEX` alone lets
reads go on; together in one transaction, every read of the table waits
for the whole index build.

## Example
```sql
ALTER TABLE "invoices" ADD COLUMN "note" text;
CREATE INDEX "invoices_note" ON "invoices" ("note");
```

## How to fix
Put the slow statement in a migration of its own (for an index,
`CREATE INDEX CONCURRENTLY` outside a transaction), or order the file so
the slow work comes first and the short, strongly locking statements last.
"#,
    check: Some(check),
    needs_change: false,
};

fn help(_: &str) -> &'static str {
    "move the slow statement into a migration of its own (an index: CREATE INDEX CONCURRENTLY outside a transaction), or run it before the statement that takes the lock"
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    super::atlas_findings(ctx, RULE.name, Analyzer::LockWindow, severity, help, out)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{codes, on_new, shown};

    #[test]
    fn an_index_build_under_an_alters_lock_is_found() {
        let sql =
            "ALTER TABLE users ADD COLUMN nick text;\nCREATE INDEX users_nick ON users (nick);\n";
        let found = on_new(&RULE, sql);
        assert_eq!(codes(&found), vec![(2, "PG801")], "{}", shown(&found));
        assert!(found[0].message.contains("line 1"), "{}", shown(&found));
    }

    #[test]
    fn the_same_statements_outside_a_transaction_are_clean() {
        let sql = "-- atlas:txmode none\n\nALTER TABLE users ADD COLUMN nick text;\nCREATE INDEX users_nick ON users (nick);\n";
        let found = on_new(&RULE, sql);
        assert!(found.is_empty(), "{}", shown(&found));
    }
}
