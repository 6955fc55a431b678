//! `down-roundtrip`: a new migration's down does not undo its up. Only a
//! database can judge that: `migguard parity --roundtrip --base REV` runs it
//! (`src/devdb/roundtrip.rs`); `migguard check` does not.

use crate::findings::Severity;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "down-roundtrip",
    default_severity: Severity::Error,
    summary: "a new migration's down does not undo its up on PostgreSQL (parity --roundtrip)",
    doc: r#"# down-roundtrip

## What it does
Run by `migguard parity --roundtrip --base REV` (not by `migguard check`: it
needs PostgreSQL). Every migration is applied in order to a scratch database;
for each migration that is new since `REV` (the merge base of `REV` and
`HEAD`), migguard takes a snapshot of the catalog, applies the up, applies the
down, and compares the catalog with the snapshot taken before the up: schemas,
tables, views and sequences, columns with their types, `NOT NULL`, defaults,
identity and generated expressions, indexes, constraints, view definitions,
enum, domain and range types, functions, triggers and extensions. Then it
applies the up again, which must work and give the same catalog as the first
time.

A finding lists what differs (what the down leaves behind, what it removes
that was there before the up, what it changes). A down that fails on
PostgreSQL, an up that does not apply again after its down, and a new
migration without a down are findings too. Column order is not compared: a
column that a down adds back can only go at the end.

## Why it matters
A down migration is written for the bad day: the deploy went wrong and the
schema must go back. A down that leaves an index or a constraint behind makes
the next `migrate up` fail, or leaves a database that no migration describes,
and nobody finds out until the rollback is needed.

## Example
```text
20240201000000_emails.down.sql does not undo 20240201000000_emails.up.sql:
after the up and the down, PostgreSQL's catalog differs from before the up:
  index public.customers_email_key is left behind
    (CREATE UNIQUE INDEX customers_email_key ON public.customers USING btree (email))
```

## How to fix
Make the down drop what the up creates and restore what it changes, in the
reverse order (`DROP INDEX`, `DROP CONSTRAINT`, then `DROP COLUMN` / `DROP
TABLE`), and run `migguard parity --roundtrip --base origin/main` again.
"#,
    check: None,
    needs_change: true,
};

/// The rule's verdict is `devdb::roundtrip::differences` over PostgreSQL's
/// catalog before the up and after the down (the database-backed run is in
/// `tests/parity.rs`); here on catalogs built by hand.
#[cfg(test)]
mod tests {
    use crate::devdb::roundtrip::{differences, Catalog, Object};

    fn catalog(objects: &[(&str, &str, &str)]) -> Catalog {
        objects
            .iter()
            .map(|(key, definition, relation)| {
                (
                    key.to_string(),
                    Object {
                        definition: definition.to_string(),
                        relation: relation.to_string(),
                    },
                )
            })
            .collect()
    }

    const TABLE: (&str, &str, &str) = ("table public.customers", "", "public.customers");

    #[test]
    fn an_index_the_down_leaves_behind_is_found() {
        let before = catalog(&[TABLE]);
        let index = (
            "index public.customers_email_key",
            "CREATE UNIQUE INDEX customers_email_key ON public.customers USING btree (email)",
            "public.customers",
        );
        let after = catalog(&[TABLE, index]);
        let found = differences(&before, &after, "left behind", "removed");
        assert_eq!(
            found,
            vec!["index public.customers_email_key is left behind (CREATE UNIQUE INDEX customers_email_key ON public.customers USING btree (email))"]
        );
    }

    #[test]
    fn a_down_that_restores_the_catalog_is_clean() {
        let before = catalog(&[
            TABLE,
            ("column public.customers.email", "text", "public.customers"),
        ]);
        let after = catalog(&[
            TABLE,
            ("column public.customers.email", "text", "public.customers"),
        ]);
        assert!(differences(&before, &after, "left behind", "removed").is_empty());
    }
}
