//! `transaction-control`: `BEGIN` / `COMMIT` / `ROLLBACK` in a file its
//! migration tool already runs in a transaction.

use crate::check::CheckContext;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::lint::Analyzer;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "transaction-control",
    default_severity: Severity::Error,
    summary: "BEGIN / COMMIT / ROLLBACK in a file its tool already wraps in a transaction (TX201)",
    doc: r#"# transaction-control

## What it does
`TX201`: a `BEGIN`, `START TRANSACTION`, `COMMIT` or `ROLLBACK` in a new
migration that its tool already runs in a transaction: atlas without
`-- atlas:txmode none`, goose without `-- +goose NO TRANSACTION`, dbmate
without `transaction:false`. golang-migrate does not wrap its files, so an
explicit `BEGIN` ... `COMMIT` there is right and never reported.
With `check --all` (an audit) each migration is judged as the one new
migration after all earlier ones.

## Why it matters
PostgreSQL ignores the inner `BEGIN` with a warning; the `COMMIT` after it
ends the tool's transaction early. What follows runs outside any transaction:
when it fails, the first half stays applied while the tool records the
migration as failed, and re-running it fails on what already exists.

## Example
```sql
-- +goose Up
BEGIN;
ALTER TABLE "invoices" ADD COLUMN "note" text;
COMMIT;
```

## How to fix
Remove the statements: the tool's transaction already makes the file atomic.
If the file must control its own transactions, mark it as running outside
one (atlas `-- atlas:txmode none`, goose `-- +goose NO TRANSACTION`, dbmate
`transaction:false`).
"#,
    check: Some(check),
    needs_change: false,
};

fn help(_: &str) -> &'static str {
    "remove it: the tool's transaction already makes the file atomic; or mark the file as running outside a transaction (atlas `-- atlas:txmode none`, goose `-- +goose NO TRANSACTION`, dbmate `transaction:false`)"
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    super::atlas_findings(ctx, RULE.name, Analyzer::TxControl, severity, help, out)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{codes, on_new, shown};

    #[test]
    fn begin_and_commit_in_a_file_atlas_wraps_are_found() {
        let found = on_new(
            &RULE,
            "BEGIN;\nALTER TABLE users ADD COLUMN x int;\nCOMMIT;\n",
        );
        assert_eq!(
            codes(&found),
            vec![(1, "TX201"), (3, "TX201")],
            "{}",
            shown(&found)
        );
    }

    #[test]
    fn the_same_with_txmode_none_is_clean() {
        let sql = "-- atlas:txmode none\n\nBEGIN;\nALTER TABLE users ADD COLUMN x int;\nCOMMIT;\n";
        let found = on_new(&RULE, sql);
        assert!(found.is_empty(), "{}", shown(&found));
    }
}
