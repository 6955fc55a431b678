//! `lock-timeout`: a blocking lock on an existing table with no
//! `lock_timeout` in effect.

use crate::check::CheckContext;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::lint::Analyzer;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "lock-timeout",
    default_severity: Severity::Warn,
    summary:
        "a statement that takes a blocking lock on an existing table with no lock_timeout in effect",
    doc: r#"# lock-timeout

## What it does
Finds statements of new migrations that take an `ACCESS EXCLUSIVE` (most
`ALTER TABLE` forms, `DROP TABLE`, `DROP INDEX`, `TRUNCATE`),
`SHARE ROW EXCLUSIVE` (adding a foreign key) or `SHARE` (`CREATE INDEX`)
lock on a table that exists on the base side while no `lock_timeout` is in
effect in the session that runs the file. In effect means: a
`SET lock_timeout = ...` earlier in the file, or a `SET LOCAL lock_timeout`
earlier in the same transaction (the tool's transaction for the whole file,
or an explicit `BEGIN` block). Not in effect: a `SET` after the statement, a
`RESET`, `SET lock_timeout = 0`, or a `SET LOCAL` whose transaction has
ended (PostgreSQL ignores a `SET LOCAL` outside a transaction block). With
`conventions.lock_timeout_set_by_runner: true` (your runner or the database
role sets it) the rule is off. One finding per file, at its first such
statement, counting the others: one `SET` at the top fixes them all.
With `check --all` (an audit) each migration is judged as the one new
migration after all earlier ones.

## Why it matters
A statement that waits for its lock behind one long-running query makes
every later query on the table wait behind it: a one-millisecond `ALTER`
becomes an outage. With a `lock_timeout` the migration fails fast instead,
and can be retried.

## Example
```sql
ALTER TABLE "invoices" ADD COLUMN "note" text;
```

## How to fix
Start the migration with `SET lock_timeout = '5s';` (or `SET LOCAL` inside
the tool's transaction), and retry the deploy when it times out.
"#,
    check: Some(check),
    needs_change: false,
};

fn help(_: &str) -> &'static str {
    "start the file with SET lock_timeout = '5s'; (or set conventions.lock_timeout_set_by_runner: true when the runner sets it)"
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    super::atlas_findings(ctx, RULE.name, Analyzer::LockTimeout, severity, help, out)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{on_new, shown};

    #[test]
    fn a_blocking_statement_with_no_lock_timeout_is_found_once_per_file() {
        let found = on_new(
            &RULE,
            "ALTER TABLE users ADD COLUMN x int;\nALTER TABLE users ADD COLUMN y int;\n",
        );
        assert_eq!(found.len(), 1, "{}", shown(&found));
        assert_eq!(found[0].line, Some(1));
    }

    #[test]
    fn a_lock_timeout_set_first_is_clean() {
        let found = on_new(
            &RULE,
            "SET lock_timeout = '2s';\nALTER TABLE users ADD COLUMN x int;\n",
        );
        assert!(found.is_empty(), "{}", shown(&found));
    }
}
