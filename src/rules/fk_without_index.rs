//! `fk-without-index`: a foreign key added to an existing table with no
//! index on its columns.

use crate::check::CheckContext;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::lint::Analyzer;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "fk-without-index",
    default_severity: Severity::Info,
    summary: "a new foreign key on an existing table whose columns lead no index (PG702)",
    doc: r#"# fk-without-index

## What it does
`PG702`: a new migration adds a foreign key to a table that exists on the
base side (`ADD CONSTRAINT ... FOREIGN KEY`, or `ADD COLUMN ... REFERENCES`)
and, once the whole change is read, no index of that table leads with the
key's columns (in any order): not the primary key, a unique constraint or
an index, including one a later migration of the same change builds. An
info finding: it never fails a run. With `check --all` each migration is
judged as the one new migration after all earlier ones.

## Why it matters
PostgreSQL indexes the referenced side of a foreign key, never the
referencing side. Each delete of a parent row (and each update of its key)
looks for referencing rows, and without an index that is a scan of the
whole child table, under the delete's locks (checked on PostgreSQL in
`tests/lock_claims.rs`: the delete scans the child without an index, and
uses the index once there is one). Joins from parent to children scan too.

## Example
```sql
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_customer"
  FOREIGN KEY ("customer_id") REFERENCES "customers" ("id");
```

## How to fix
Add the index, built `CONCURRENTLY` in a migration of its own:
`CREATE INDEX CONCURRENTLY "invoices_customer_id" ON "invoices" ("customer_id");`.
In ent, an edge's foreign key gets an index with `index.Edges("customer")`
in the schema's `Indexes()`.
"#,
    check: Some(check),
    needs_change: false,
};

fn help(_: &str) -> &'static str {
    "add an index that leads with the key's columns (CREATE INDEX CONCURRENTLY in a migration of its own; in ent, index.Edges(...))"
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    super::atlas_findings(ctx, RULE.name, Analyzer::FkIndex, severity, help, out)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::findings::Severity;
    use crate::rules::testing::{codes, on_new, shown};

    #[test]
    fn a_key_without_an_index_is_found_as_info() {
        let sql = "ALTER TABLE users ADD COLUMN team_id bigint REFERENCES orgs (id);\n";
        let found = on_new(&RULE, sql);
        assert_eq!(codes(&found), vec![(1, "PG702")], "{}", shown(&found));
        assert_eq!(found[0].severity, Severity::Info);
    }

    #[test]
    fn a_key_with_its_index_is_clean() {
        let sql = "ALTER TABLE users ADD COLUMN team_id bigint REFERENCES orgs (id);\nCREATE INDEX users_team_id ON users (team_id);\n";
        let found = on_new(&RULE, sql);
        assert!(found.is_empty(), "{}", shown(&found));
    }
}
