//! `concurrently-in-transaction`: `CREATE INDEX CONCURRENTLY` where the
//! migration tool runs the file in a transaction, so the migration fails.

use crate::check::CheckContext;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::lint::Analyzer;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "concurrently-in-transaction",
    default_severity: Severity::Error,
    summary: "CREATE INDEX CONCURRENTLY in a file its tool runs in a transaction (PG103)",
    doc: r#"# concurrently-in-transaction

## What it does
`PG103`: a `CREATE INDEX CONCURRENTLY` in a new migration that will run
inside a transaction block, where PostgreSQL refuses it
(`CREATE INDEX CONCURRENTLY cannot run inside a transaction block`):

- atlas runs each file in a transaction unless its header says
  `-- atlas:txmode none` (then a blank line);
- goose, unless the file says `-- +goose NO TRANSACTION`;
- dbmate, unless its `-- migrate:up` line says `transaction:false`;
- golang-migrate sends the whole file as one query, which PostgreSQL runs as
  one implicit transaction when it holds more than one statement;
- any format: after an explicit `BEGIN` in the file.

Flyway's transaction mode is a setting migguard cannot see: not reported.
With `check --all` (an audit) each migration is judged as the one new
migration after all earlier ones.

## Why it matters
The migration fails on every database, in the middle of a deploy, and
golang-migrate leaves its version table dirty. It passes review because the
statement itself is the safe one.

## Example
```sql
-- +goose Up
CREATE INDEX CONCURRENTLY "invoice_customer_id" ON "invoices" ("customer_id");
```

## How to fix
Give the file the format's no-transaction marker (see the list above) or,
with golang-migrate, move the statement into a migration file of its own.
"#,
    check: Some(check),
    needs_change: false,
};

fn help(_: &str) -> &'static str {
    "run the file outside a transaction: atlas `-- atlas:txmode none` (then a blank line) at the top, goose `-- +goose NO TRANSACTION`, dbmate `-- migrate:up transaction:false`; with golang-migrate, put the statement alone in its own migration file"
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    super::atlas_findings(ctx, RULE.name, Analyzer::Concurrently, severity, help, out)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{codes, on_new, shown};

    #[test]
    fn a_concurrent_build_in_a_file_atlas_wraps_in_a_transaction_is_found() {
        let found = on_new(
            &RULE,
            "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n",
        );
        assert_eq!(codes(&found), vec![(1, "PG103")], "{}", shown(&found));
        assert_eq!(found[0].severity, crate::findings::Severity::Error);
    }

    #[test]
    fn the_same_build_with_txmode_none_is_clean() {
        let sql =
            "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n";
        let found = on_new(&RULE, sql);
        assert!(found.is_empty(), "{}", shown(&found));
    }
}
