//! `table-rewrite`: a change that rewrites an existing table under an
//! `ACCESS EXCLUSIVE` lock.

use crate::check::CheckContext;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::lint::Analyzer;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "table-rewrite",
    default_severity: Severity::Warn,
    summary: "a change that rewrites an existing table: a type change, a volatile default, a stored generated or identity column, SET LOGGED/UNLOGGED (PG301, PG302, PG307)",
    doc: r#"# table-rewrite

## What it does
For each statement of a new migration, on a table that exists on the base
side (each case checked against PostgreSQL 15 in the tests, by the table's
`relfilenode` before and after):

| code | finds |
|---|---|
| `PG301` | `ALTER COLUMN ... TYPE` that is not binary coercible, or has a `USING` clause. Not reported: a longer or unlimited `varchar`, `varchar` to `text`, `text` to an unlimited `varchar`, `numeric` with more precision and the same scale or unconstrained |
| `PG302` | `ADD COLUMN` with a volatile default (`random()`, `gen_random_uuid()`, `clock_timestamp()`, `nextval()`, a `serial` type), a stored generated column, or an identity column. Constant and stable defaults (`0`, `''`, `now()`) do not rewrite since PostgreSQL 11; with `conventions.postgres_version` below 11 every default is reported |
| `PG307` | `SET LOGGED` / `SET UNLOGGED` |

The type of the column is known from the replayed migrations; a column
whose type migguard could not read is not judged.
With `check --all` (an audit) each migration is judged as the one new
migration after all earlier ones.

## Why it matters
A rewrite copies the whole table and rebuilds its indexes while holding an
`ACCESS EXCLUSIVE` lock: nothing can read or write the table until it is
done, and it needs disk for a second copy.

## Example
```sql
ALTER TABLE "events" ALTER COLUMN "id" TYPE bigint;
```

## How to fix
Add a new column, backfill it in batches, switch readers and writers, then
drop the old one. For a volatile default, add the column without it (or with
a constant), backfill, then `SET DEFAULT`. With ent, change the field in Go
only after the data has moved.
"#,
    check: Some(check),
    needs_change: false,
};

fn help(code: &str) -> &'static str {
    match code {
        "PG302" => "add the column without a volatile default (or with a constant one), backfill it in batches, then SET DEFAULT",
        "PG307" => "schedule it in a maintenance window, or build a new table and switch to it",
        _ => "add a new column of the new type, backfill it in batches, switch reads and writes, then drop the old column in a later migration",
    }
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    super::atlas_findings(ctx, RULE.name, Analyzer::Rewrite, severity, help, out)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{codes, on_new, shown};

    #[test]
    fn a_type_change_that_rewrites_an_existing_table_is_found() {
        let found = on_new(&RULE, "ALTER TABLE users ALTER COLUMN org_id TYPE text;\n");
        assert_eq!(codes(&found), vec![(1, "PG301")], "{}", shown(&found));
    }

    #[test]
    fn a_constant_default_and_a_new_table_are_clean() {
        let sql = "ALTER TABLE users ADD COLUMN score int DEFAULT 0;\n\
                   CREATE TABLE t (a int);\nALTER TABLE t ALTER COLUMN a TYPE text;\n";
        let found = on_new(&RULE, sql);
        assert!(found.is_empty(), "{}", shown(&found));
    }
}
