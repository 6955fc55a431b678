//! `data-dependent-change`: a new migration that fails or not depending on
//! the rows already in the table (Atlas's `data_depend` analyzer).

use crate::check::CheckContext;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::lint::Analyzer;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "data-dependent-change",
    default_severity: Severity::Warn,
    summary: "a new migration that can fail on existing rows (Atlas MF101, MF103, MF104)",
    doc: r#"# data-dependent-change

## What it does
Atlas's `data_depend` analyzer, free and git-aware. For each statement of a
new migration it reports, with Atlas's code and wording:

| code | finds |
|---|---|
| `MF101` | a unique index (`CREATE UNIQUE INDEX`, `ADD CONSTRAINT ... UNIQUE`) on columns that exist on the base side: duplicates make it fail. Not when the rows it covers are distinct already (Atlas reports these too): it holds every column of the primary key, of a unique constraint (not `DEFERRABLE`) or of a unique index the table has, and each term of that index's `WHERE` is one of its own or `c IS NOT NULL` for one of its columns (a `NULLS NOT DISTINCT` index needs a key that says so too); or of such a key dropped earlier in the same transaction; or it holds a column added earlier in the transaction with no default (NULL in every row); or a `NOT NULL` column without a default was added earlier in the transaction (that only succeeds on an empty table). Facts of the transaction last until a statement that may write rows of the table or change a value of it (anything but plain DDL, a type change that rewrites, a rename); the lock the earlier statement took keeps other sessions out |
| `MF103` | `ADD COLUMN ... NOT NULL` without a `DEFAULT` on a table that exists on the base side: it fails when the table has rows (serial, identity and generated columns fill themselves and are not reported) |
| `MF104` | `ALTER COLUMN ... SET NOT NULL` on a nullable column of a table that exists on the base side, unless an earlier `UPDATE` of the same file fills every NULL row (no `WHERE`, or `WHERE col IS NULL`) with a value that cannot be NULL (a constant, a `NOT NULL` column, `COALESCE(..., constant)`, `nextval(...)`) |

Atlas's `MF102` (one statement turning an existing index unique) cannot be
written in PostgreSQL SQL, where a unique index is always created anew
(`MF101`). Tables created by the change itself are new: nothing in them can
fail. `-- atlas:nolint` (bare, `MF103`, `data_depend`; statement or file) and
`-- migguard:ignore data-dependent-change <reason>` are honoured.
With `check --all` (an audit) each migration is judged as the one new
migration after all earlier ones.

## Why it matters
These statements pass on a developer's empty database and in CI, then fail in
production, where the rows are: a duplicate `email`, a NULL left in a column,
a non-empty table. A failed migration leaves golang-migrate's version dirty
and the deploy stuck.

## Example
```sql
ALTER TABLE "billing_invoices" ADD COLUMN "number" character varying NOT NULL;
```

## How to fix
- `MF103`: give the column a default (ent: `field.String("number").Default("")`),
  or add it nullable, backfill, then `SET NOT NULL` in a later migration.
- `MF104`: backfill before it in the same migration:
  `UPDATE "t" SET "c" = <value> WHERE "c" IS NULL;`.
- `MF101`: look for duplicates first
  (`SELECT c, count(*) FROM t GROUP BY c HAVING count(*) > 1`) and clean them
  in an earlier migration.
When you know the data is fine, mark the statement with
`-- atlas:nolint MF101` (Atlas reads the same line).
"#,
    check: Some(check),
    needs_change: false,
};

fn help(code: &str) -> &'static str {
    match code {
        "MF101" => "find and remove duplicates first (SELECT the columns, count(*) ... GROUP BY ... HAVING count(*) > 1); if there can be none, mark the statement with `-- atlas:nolint MF101`",
        "MF103" => "give the column a DEFAULT (ent: `.Default(...)`), or add it nullable, backfill it, and SET NOT NULL in a later migration",
        _ => "fill the NULL rows first in the same migration: UPDATE the table SET the column = <value> WHERE it IS NULL",
    }
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    super::atlas_findings(ctx, RULE.name, Analyzer::DataDepend, severity, help, out)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{codes, findings, on_new, shown, BASE, NEW};

    #[test]
    fn a_unique_index_and_set_not_null_on_existing_columns_are_found() {
        let sql = "CREATE UNIQUE INDEX users_email ON users (email);\n\
                   ALTER TABLE users ALTER COLUMN name SET NOT NULL;\n";
        let found = on_new(&RULE, sql);
        assert_eq!(
            codes(&found),
            vec![(1, "MF101"), (2, "MF104")],
            "{}",
            shown(&found)
        );
    }

    #[test]
    fn a_unique_index_widened_in_one_transaction_is_clean_and_outside_one_is_found() {
        let base = (
            BASE.0,
            "CREATE TABLE users (id bigint PRIMARY KEY, email text, name text, deleted_at timestamptz);\n\
             CREATE UNIQUE INDEX users_email_key ON users (email);\n",
        );
        let widen = "DROP INDEX users_email_key;\n\
                     CREATE UNIQUE INDEX users_email_live ON users (email, deleted_at);\n\
                     CREATE UNIQUE INDEX users_name_id ON users (name, id);\n";
        // Atlas runs the file in one transaction.
        let found = findings(&RULE, "", &[base], &[base, (NEW, widen)]);
        assert!(found.is_empty(), "{}", shown(&found));
        // Outside one, a duplicate may be written between the statements.
        let none = format!("-- atlas:txmode none\n\n{widen}");
        let found = findings(&RULE, "", &[base], &[base, (NEW, &none)]);
        assert_eq!(codes(&found), vec![(4, "MF101")], "{}", shown(&found));
    }

    #[test]
    fn the_same_on_a_table_the_change_creates_is_clean() {
        let sql = "CREATE TABLE t (a text);\nCREATE UNIQUE INDEX t_a ON t (a);\n\
                   ALTER TABLE t ALTER COLUMN a SET NOT NULL;\n";
        let found = on_new(&RULE, sql);
        assert!(found.is_empty(), "{}", shown(&found));
    }
}
