//! `non-linear`: a new migration whose version is not newer than the newest
//! created one.

use std::cmp::Ordering;

use crate::check::{line_span, CheckContext, Side};
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::migrations::compare_versions;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "non-linear",
    default_severity: Severity::Error,
    summary: "a new migration whose version is not newer than the newest created one",
    doc: r#"# non-linear

## What it does
Finds migrations that are not created yet (they exist on the new side but not on
the base) whose version is not newer than the newest created migration. In
`--base` mode the base is the merge base; in `--staged` mode it is the
configured `base` ref (by default `origin/HEAD`, then `origin/main`, then
`main`), else `HEAD`. Versions compare as the migration tool compares them:
numerically for golang-migrate's timestamps, dotted numbers for Flyway.

## Why it matters
Databases record the highest version they ran. golang-migrate never applies a
migration whose version is below that: your migration is silently skipped in
production, while it runs fine on fresh databases and in tests. This typically
happens when a branch that was created before another migration landed on main
is merged after it.

## Example
```text
main:   20240903155435_entitlements.up.sql   (created, applied in production)
branch: 20240901000000_add_index.up.sql      (new, but older: skipped)
```

## How to fix
Merge the base into your branch, then run
`migguard fix-sum --renumber --base <base>`: it renames your branch's migrations
to fresh versions after the base's newest (keeping their order and their
`.up.sql`/`.down.sql` pairs) and rewrites `atlas.sum`.
"#,
    check: Some(check),
    needs_change: true,
};

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    let created = ctx.cs.listing(Side::Created);
    let Some(newest) = created
        .migrations
        .iter()
        .max_by(|a, b| compare_versions(ctx.cs.format, &a.version, &b.version))
    else {
        return Ok(());
    };
    for m in ctx.cs.listing(Side::New).migrations.iter() {
        // The same file is the created migration itself; the same version
        // under another name is a duplicate, and not newer either.
        if created.migrations.iter().any(|c| c.up == m.up) {
            continue;
        }
        if compare_versions(ctx.cs.format, &m.version, &newest.version) == Ordering::Greater {
            continue;
        }
        let path = ctx.cs.in_dir(&m.up);
        let mut f = Finding::new(
            RULE.name,
            severity,
            &path,
            format!(
                "version {} is not newer than {} ({}), the newest migration on {}: databases that already ran it will skip this one",
                m.version, newest.version, newest.up, ctx.cs.created_label
            ),
        )
        .help("merge the base, then run `migguard fix-sum --renumber --base <base>` to give this migration a newer version")
        .label(format!("version {} <= {}", m.version, newest.version));
        if let Some(bytes) = ctx.read(Side::New, &path)? {
            if let Some(span) = line_span(&bytes, 1) {
                f = f.at(1, span);
            }
        }
        out.push(f);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{assert_clean, findings, shown};

    const OLD: [(&str, &str); 1] = [(
        "migrations/20240201000000_b.sql",
        "CREATE TABLE b (id int);\n",
    )];

    #[test]
    fn a_new_migration_older_than_the_newest_created_one_is_found() {
        let new = [
            OLD[0],
            (
                "migrations/20240115000000_a.sql",
                "CREATE TABLE a (id int);\n",
            ),
        ];
        let found = findings(&RULE, "", &OLD, &new);
        assert_eq!(found.len(), 1, "{}", shown(&found));
        assert_eq!(found[0].path, "migrations/20240115000000_a.sql");
        assert!(found[0]
            .message
            .starts_with("version 20240115000000 is not newer than 20240201000000"));
    }

    #[test]
    fn a_newer_migration_is_clean() {
        let new = [
            OLD[0],
            (
                "migrations/20240301000000_c.sql",
                "CREATE TABLE c (id int);\n",
            ),
        ];
        assert_clean(&RULE, "", &OLD, &new);
    }
}
