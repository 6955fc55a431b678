//! `index-lock`: an index built or dropped on an existing table without
//! `CONCURRENTLY`.

use crate::check::CheckContext;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::lint::Analyzer;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "index-lock",
    default_severity: Severity::Warn,
    summary: "CREATE INDEX / DROP INDEX on an existing table without CONCURRENTLY (PG101, PG102)",
    doc: r#"# index-lock

## What it does
For each statement of a new migration:

| code | finds | lock (checked against PostgreSQL 15 in the tests) |
|---|---|---|
| `PG101` | `CREATE INDEX` (also `UNIQUE`) without `CONCURRENTLY` on a table that exists on the base side | `SHARE` on the table for the whole build: every `INSERT`, `UPDATE`, `DELETE` waits; reads go on |
| `PG102` | `DROP INDEX` without `CONCURRENTLY` of an index of a table that exists on the base side | `ACCESS EXCLUSIVE` on the table: reads and writes wait |

A table created by the change itself is empty: indexing it is never
reported. `-- atlas:nolint PG101` and `-- migguard:ignore index-lock <reason>`
skip a statement.
With `check --all` (an audit) each migration is judged as the one new
migration after all earlier ones.

## Why it matters
On a large table an index build takes minutes. Every write waits for it, and
so do the queries queued behind the first waiting write: the application
stalls.

## Example
```sql
CREATE INDEX "invoice_customer_id" ON "invoices" ("customer_id");
```

## How to fix
Build it with `CREATE INDEX CONCURRENTLY` (and drop with
`DROP INDEX CONCURRENTLY`) in a migration file of its own that the tool runs
outside a transaction: atlas `-- atlas:txmode none` at the top of the file
followed by a blank line, goose `-- +goose NO TRANSACTION`, dbmate
`-- migrate:up transaction:false`, golang-migrate: the statement alone in its
file. Atlas-generated ent migrations write plain `CREATE INDEX`: edit the
generated file before it is applied anywhere, then `migguard fix-sum`.
"#,
    check: Some(check),
    needs_change: false,
};

fn help(code: &str) -> &'static str {
    match code {
        "PG102" => "use DROP INDEX CONCURRENTLY in a migration file of its own that runs outside a transaction (atlas: `-- atlas:txmode none`; goose: `-- +goose NO TRANSACTION`; dbmate: `transaction:false`; golang-migrate: alone in its file)",
        _ => "use CREATE INDEX CONCURRENTLY in a migration file of its own that runs outside a transaction (atlas: `-- atlas:txmode none`; goose: `-- +goose NO TRANSACTION`; dbmate: `transaction:false`; golang-migrate: alone in its file)",
    }
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    super::atlas_findings(ctx, RULE.name, Analyzer::IndexLock, severity, help, out)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{codes, on_new, shown};

    #[test]
    fn building_or_dropping_an_index_of_an_existing_table_is_found() {
        let sql = "-- atlas:txmode none\n\nCREATE INDEX users_email_idx ON users (email);\nDROP INDEX users_name_idx;\n";
        let found = on_new(&RULE, sql);
        assert_eq!(
            codes(&found),
            vec![(3, "PG101"), (4, "PG102")],
            "{}",
            shown(&found)
        );
    }

    #[test]
    fn concurrent_builds_and_indexes_of_new_tables_are_clean() {
        let sql =
            "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n\
                   CREATE TABLE t (a int);\nCREATE INDEX t_a ON t (a);\n";
        let found = on_new(&RULE, sql);
        assert!(found.is_empty(), "{}", shown(&found));
    }
}
