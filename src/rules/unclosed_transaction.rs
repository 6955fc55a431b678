//! `unclosed-transaction`: a `BEGIN` the file never commits or rolls back.

use crate::check::CheckContext;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::lint::Analyzer;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "unclosed-transaction",
    default_severity: Severity::Error,
    summary: "a BEGIN with no COMMIT or ROLLBACK before the end of the file (TX202)",
    doc: r#"# unclosed-transaction

## What it does
`TX202`: a new migration opens a transaction with `BEGIN` (or
`START TRANSACTION`) and the file ends before a `COMMIT` or `ROLLBACK`.
Files their tool already runs in a transaction (atlas without
`txmode none`, goose without `NO TRANSACTION`, dbmate without
`transaction:false`) are `transaction-control`'s: a `BEGIN` there is
wrong whether or not it is closed. With `check --all` each migration is
judged as the one new migration after all earlier ones.

## Why it matters
After the file, the connection is still inside the transaction (checked in
`tests/lock_claims.rs`: the session's transaction is open and holds the
locks of the statements after `BEGIN`). Whether those statements stay is
decided by whatever the migration tool runs next on that connection, not by
the migration: recording the version may commit them, a pooled connection
may hand the open transaction to other work, a closed one rolls them back.
Until then every lock they took is held.

## Example
```sql
BEGIN;
ALTER TABLE "invoices" ADD COLUMN "note" text;
```

## How to fix
End the transaction in the same file (`COMMIT;`), or drop the `BEGIN` and
let the tool run the file as it does.
"#,
    check: Some(check),
    needs_change: false,
};

fn help(_: &str) -> &'static str {
    "end the transaction in the same file with COMMIT, or remove the BEGIN"
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    super::atlas_findings(ctx, RULE.name, Analyzer::UnclosedTx, severity, help, out)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{codes, on_new, shown};

    #[test]
    fn a_begin_left_open_is_found() {
        let sql = "-- atlas:txmode none\n\nBEGIN;\nALTER TABLE users ADD COLUMN note text;\n";
        let found = on_new(&RULE, sql);
        assert_eq!(codes(&found), vec![(3, "TX202")], "{}", shown(&found));
    }

    #[test]
    fn a_closed_one_and_one_inside_the_tools_transaction_are_not_its_business() {
        for sql in [
            "-- atlas:txmode none\n\nBEGIN;\nALTER TABLE users ADD COLUMN note text;\nCOMMIT;\n",
            // atlas wraps the file: transaction-control reports the BEGIN.
            "BEGIN;\nALTER TABLE users ADD COLUMN note text;\n",
        ] {
            let found = on_new(&RULE, sql);
            assert!(found.is_empty(), "{}", shown(&found));
        }
    }
}
