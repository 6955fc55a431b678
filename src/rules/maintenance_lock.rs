//! `maintenance-lock`: maintenance commands that hold strong locks on
//! existing tables, indexes or materialized views.

use crate::check::CheckContext;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::lint::Analyzer;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "maintenance-lock",
    default_severity: Severity::Warn,
    summary: "REINDEX, REFRESH MATERIALIZED VIEW, DETACH PARTITION without CONCURRENTLY; VACUUM FULL, CLUSTER, TRUNCATE of existing objects (PG501-PG506)",
    doc: r#"# maintenance-lock

## What it does
Finds maintenance commands in new migrations that lock objects that
already exist (objects the same change creates are empty and never
reported):
- `PG501`: `REINDEX` without `CONCURRENTLY`: the table is held under a
  `SHARE` lock (writes wait) and each index under an `ACCESS EXCLUSIVE` lock
  (reads that would use it wait) until it is rebuilt.
- `PG502`: `REFRESH MATERIALIZED VIEW` without `CONCURRENTLY`: an
  `ACCESS EXCLUSIVE` lock on the view while its query runs.
- `PG503`: `VACUUM FULL`, and `PG504`: `CLUSTER`: the table and its indexes
  are rewritten under an `ACCESS EXCLUSIVE` lock.
- `PG505`: `TRUNCATE` of an existing table: an `ACCESS EXCLUSIVE` lock, and
  every row is gone.
- `PG506`: `ALTER TABLE ... DETACH PARTITION` without `CONCURRENTLY`: an
  `ACCESS EXCLUSIVE` lock on the partitioned table, so every partition's
  reads and writes wait.

Every lock named here is checked against PostgreSQL in
`tests/lock_claims.rs`. With `check --all` (an audit) each migration is
judged as the one new migration after all earlier ones.

## Why it matters
These commands take as long as the table is big, and their locks are held
for all of it. An `ACCESS EXCLUSIVE` lock also makes every later query on
the table queue behind it, even while it still waits for its own turn.

## Example
```sql
REINDEX TABLE "invoices";
REFRESH MATERIALIZED VIEW "invoice_totals";
```

## How to fix
- `REINDEX INDEX CONCURRENTLY` / `REINDEX TABLE CONCURRENTLY` (PostgreSQL
  12 and later), in a migration that runs outside a transaction (atlas:
  `-- atlas:txmode none`; goose: `-- +goose NO TRANSACTION`; dbmate:
  `transaction:false`; golang-migrate: alone in its file).
- `REFRESH MATERIALIZED VIEW CONCURRENTLY` (needs a unique index on the
  view); better, refresh from a scheduled job, not a migration.
- Instead of `VACUUM FULL` or `CLUSTER`: `pg_repack`, or leave it to
  autovacuum; they are operations, not schema changes.
- Instead of `TRUNCATE` of a live table: delete in batches, or rename the
  table away and create a new one.
- `ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY` (PostgreSQL 14 and
  later), outside a transaction.
"#,
    check: Some(check),
    needs_change: false,
};

fn help(code: &str) -> &'static str {
    match code {
        "PG501" => "use REINDEX ... CONCURRENTLY in a migration that runs outside a transaction",
        "PG502" => "use REFRESH MATERIALIZED VIEW CONCURRENTLY (it needs a unique index on the view), or refresh from a scheduled job",
        "PG503" | "PG504" => "leave table maintenance to autovacuum or pg_repack, outside migrations",
        "PG505" => "delete in batches, or rename the table away and create a new one",
        _ => "use DETACH PARTITION ... CONCURRENTLY (PostgreSQL 14 and later) in a migration that runs outside a transaction",
    }
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    super::atlas_findings(ctx, RULE.name, Analyzer::Maintenance, severity, help, out)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{codes, on_new, shown};

    #[test]
    fn maintenance_of_existing_tables_is_found() {
        let sql = "-- atlas:txmode none\n\nREINDEX TABLE users;\nVACUUM FULL users;\nTRUNCATE orgs CASCADE;\nCLUSTER users USING users_name_idx;\n";
        let found = on_new(&RULE, sql);
        assert_eq!(
            codes(&found),
            vec![(3, "PG501"), (4, "PG503"), (5, "PG505"), (6, "PG504")],
            "{}",
            shown(&found)
        );
    }

    #[test]
    fn concurrent_forms_and_new_tables_are_clean() {
        let sql = "-- atlas:txmode none\n\nREINDEX INDEX CONCURRENTLY users_name_idx;\nCREATE TABLE t (a int);\nTRUNCATE t;\nVACUUM users;\n";
        let found = on_new(&RULE, sql);
        assert!(found.is_empty(), "{}", shown(&found));
    }
}
