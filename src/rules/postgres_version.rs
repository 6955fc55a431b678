//! `postgres-version`: statements whose outcome depends on the server's
//! version, judged for `conventions.postgres_version`.

use crate::check::CheckContext;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::lint::Analyzer;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "postgres-version",
    default_severity: Severity::Warn,
    summary:
        "a statement that fails or corrupts on the configured PostgreSQL version (PG901-PG904)",
    doc: r#"# postgres-version

## What it does
Judges new migrations for the server version in
`conventions.postgres_version` (default 15; a major version such as `14`,
or a string with the minor, `"14.11"`):
- `PG901`: `CREATE INDEX CONCURRENTLY` or `REINDEX CONCURRENTLY` on
  PostgreSQL 14.0 to 14.3, which can build a corrupt index (fixed in 14.4).
  With `postgres_version: 14` the minor is unknown and the finding says so;
  `"14.4"` or later silences it.
- `PG902`: `ALTER TYPE ... ADD VALUE` inside a transaction block before
  PostgreSQL 12, where it fails.
- `PG903`: `ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY` before
  PostgreSQL 14, which does not have it.
- `PG904`: `REINDEX CONCURRENTLY` before PostgreSQL 12, which does not
  have it.

A constant `ADD COLUMN ... DEFAULT` before PostgreSQL 11 rewrites the
table: `table-rewrite` (`PG302`) reports it for the same setting. These
facts come from PostgreSQL's release notes; the project's test server is
15, so unlike the lock rules they are not reproduced in its tests.

## Why it matters
A migration that works on the developer's PostgreSQL 16 fails in
production on 11, or silently leaves a corrupt index on 14.2.

## Example
```yaml
conventions:
  postgres_version: "14.2"
```
```sql
CREATE INDEX CONCURRENTLY "invoices_customer" ON "invoices" ("customer_id");
```

## How to fix
Upgrade the server (14.4 or later for concurrent builds), or write the
migration for the version it runs on: run `ALTER TYPE ... ADD VALUE` in a
file that runs outside a transaction, detach and reindex without
`CONCURRENTLY` in a maintenance window. Keep `conventions.postgres_version`
equal to production's version.
"#,
    check: Some(check),
    needs_change: false,
};

fn help(code: &str) -> &'static str {
    match code {
        "PG901" => "run PostgreSQL 14.4 or later (then set conventions.postgres_version to it, e.g. \"14.11\")",
        "PG902" => "put ALTER TYPE ... ADD VALUE in a migration that runs outside a transaction",
        _ => "write the statement for the configured version, or upgrade the server and conventions.postgres_version",
    }
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    super::atlas_findings(ctx, RULE.name, Analyzer::PgVersion, severity, help, out)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{codes, findings, shown, BASE, NEW};

    fn on(version: &str, sql: &str) -> Vec<crate::findings::Finding> {
        findings(
            &RULE,
            &format!("conventions:\n  postgres_version: {version}\n"),
            &[BASE],
            &[BASE, (NEW, sql)],
        )
    }

    #[test]
    fn statements_the_configured_version_gets_wrong_are_found() {
        let cic =
            "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n";
        assert_eq!(codes(&on("\"14.2\"", cic)), vec![(3, "PG901")]);
        let unknown = on("14", cic);
        assert!(
            unknown[0].message.contains("without its minor version"),
            "{}",
            shown(&unknown)
        );
        let old = "ALTER TYPE mood ADD VALUE 'meh';\nREINDEX TABLE CONCURRENTLY users;\n";
        assert_eq!(codes(&on("11", old)), vec![(1, "PG902"), (2, "PG904")]);
        let detach = "-- atlas:txmode none\n\nALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;\n";
        assert_eq!(codes(&on("13", detach)), vec![(3, "PG903")]);
    }

    #[test]
    fn the_same_on_versions_that_handle_them_is_clean() {
        let sql = "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY users_email ON users (email);\nALTER TYPE mood ADD VALUE 'meh';\nALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;\n";
        for version in ["\"14.4\"", "15", "16"] {
            let found = on(version, sql);
            assert!(found.is_empty(), "{version}: {}", shown(&found));
        }
    }
}
