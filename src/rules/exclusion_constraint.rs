//! `exclusion-constraint`: an exclusion constraint added to an existing
//! table.

use crate::check::CheckContext;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::lint::Analyzer;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "exclusion-constraint",
    default_severity: Severity::Warn,
    summary: "ADD CONSTRAINT ... EXCLUDE on an existing table: built under ACCESS EXCLUSIVE, cannot be NOT VALID (PG601)",
    doc: r#"# exclusion-constraint

## What it does
`PG601`: `ALTER TABLE ... ADD CONSTRAINT ... EXCLUDE` on a table that
exists before the change. PostgreSQL builds the constraint's index and
checks every row while holding an `ACCESS EXCLUSIVE` lock on the table, and
refuses `NOT VALID` for exclusion constraints, so the usual two-step
recipe does not exist (both checked in `tests/lock_claims.rs`). A table the
same change creates is empty: never reported. With `check --all` each
migration is judged as the one new migration after all earlier ones.

## Why it matters
Reads and writes of the table wait for the whole build, and everything
queued behind them waits too.

## Example
```sql
ALTER TABLE "bookings" ADD CONSTRAINT "bookings_no_overlap"
  EXCLUDE USING gist ("room_id" WITH =, "during" WITH &&);
```

## How to fix
There is no online way to add an exclusion constraint. Add it while the
table is small or in a maintenance window with a `lock_timeout`; or enforce
the rule another way (a unique index on a normalised key built
`CONCURRENTLY`, or a trigger) and add the constraint later.
"#,
    check: Some(check),
    needs_change: false,
};

fn help(_: &str) -> &'static str {
    "add it in a maintenance window with a lock_timeout, or while the table is small; exclusion constraints cannot be added NOT VALID"
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    super::atlas_findings(ctx, RULE.name, Analyzer::Exclusion, severity, help, out)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{codes, on_new, shown};

    #[test]
    fn an_exclusion_constraint_on_an_existing_table_is_found() {
        let sql =
            "ALTER TABLE users ADD CONSTRAINT users_one_name EXCLUDE USING btree (name WITH =);\n";
        let found = on_new(&RULE, sql);
        assert_eq!(codes(&found), vec![(1, "PG601")], "{}", shown(&found));
        assert!(found[0].message.contains("cannot be added NOT VALID"));
    }

    #[test]
    fn one_on_a_table_of_the_change_is_clean() {
        let sql = "CREATE TABLE rooms (id int, during tstzrange);\nALTER TABLE rooms ADD CONSTRAINT rooms_no_overlap EXCLUDE USING gist (during WITH &&);\n";
        let found = on_new(&RULE, sql);
        assert!(found.is_empty(), "{}", shown(&found));
    }
}
