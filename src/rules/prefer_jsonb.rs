//! `prefer-jsonb`: a column of type `json` added.

use crate::check::CheckContext;
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::sql::lint::Analyzer;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "prefer-jsonb",
    default_severity: Severity::Info,
    summary: "a column of type json added (jsonb can be compared and indexed) (PG701)",
    doc: r#"# prefer-jsonb

## What it does
`PG701`: a new migration adds a column of type `json`: in `CREATE TABLE`,
`ALTER TABLE ... ADD COLUMN`, or a type change to `json`. An info finding:
it never fails a run.

## Why it matters
`json` keeps the text exactly as written (whitespace, key order, duplicate
keys) and has no equality operator: such a column cannot be compared with
`=`, used in `DISTINCT`, `GROUP BY` or `UNION`, or indexed with GIN
(checked in `tests/lock_claims.rs`). `jsonb` stores the parsed value and
supports all of it. Changing the type later rewrites the table.

## Example
```sql
ALTER TABLE "events" ADD COLUMN "payload" json;
```

## How to fix
Use `jsonb`. In ent: `field.JSON(...)` maps to `jsonb` on PostgreSQL unless
a `SchemaType` sets `json`; drop that override. Keep `json` only when the
exact text must be kept.
"#,
    check: Some(check),
    needs_change: false,
};

fn help(_: &str) -> &'static str {
    "use jsonb (in ent, drop a SchemaType override that sets json)"
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    super::atlas_findings(ctx, RULE.name, Analyzer::PreferJsonb, severity, help, out)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::findings::Severity;
    use crate::rules::testing::{codes, on_new, shown};

    #[test]
    fn json_columns_are_found_as_info() {
        let sql =
            "ALTER TABLE users ADD COLUMN doc json;\nCREATE TABLE events (id int, payload json);\n";
        let found = on_new(&RULE, sql);
        assert_eq!(
            codes(&found),
            vec![(1, "PG701"), (2, "PG701")],
            "{}",
            shown(&found)
        );
        assert!(found.iter().all(|f| f.severity == Severity::Info));
    }

    #[test]
    fn jsonb_is_clean() {
        let found = on_new(&RULE, "ALTER TABLE users ADD COLUMN doc jsonb;\n");
        assert!(found.is_empty(), "{}", shown(&found));
    }
}
