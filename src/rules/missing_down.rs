//! `missing-down`: golang-migrate `.up.sql` without its `.down.sql`, or the
//! reverse.

use crate::check::Mode;
use crate::check::{CheckContext, Side};
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::migrations::DirFormat;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "missing-down",
    default_severity: Severity::Warn,
    summary: "golang-migrate: an .up.sql without its .down.sql, or the reverse",
    doc: r#"# missing-down

## What it does
In a golang-migrate directory, finds an `<version>_<name>.up.sql` without the
`<version>_<name>.down.sql` of the same name, or a `.down.sql` without its
`.up.sql`. With a change set it looks at the migrations the change touches;
with `--all`, at every migration.

## Why it matters
`migrate down` fails on a migration without a down file, exactly when a rollback
is needed. A down file without its up file is usually a leftover of a rename, and
its version no longer matches anything.

## Example
```text
20240903155435_entitlements.up.sql
20240903155435_entitlement.down.sql   <- name differs: neither has its pair
```

## How to fix
Add the missing file (Atlas writes both with `atlas migrate diff`), or rename the
pair so both halves share `<version>_<name>`. Turn the rule off
(`rules: {missing-down: off}`) if your team does not keep down migrations.
"#,
    check: Some(check),
    needs_change: false,
};

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    if ctx.cs.format != DirFormat::GolangMigrate {
        return Ok(());
    }
    let listing = ctx.cs.listing(Side::New);
    // A file counts when the change adds, edits, renames or deletes it.
    let relevant = |name: &str| {
        ctx.cs.mode == Mode::All
            || ctx
                .cs
                .changes
                .iter()
                .any(|c| c.paths().any(|p| p == ctx.cs.in_dir(name)))
    };
    for m in &listing.migrations {
        let down = m.up.trim_end_matches(".up.sql").to_string() + ".down.sql";
        if m.down.is_none() && (relevant(&m.up) || relevant(&down)) {
            out.push(
                Finding::new(
                    RULE.name,
                    severity,
                    ctx.cs.in_dir(&m.up),
                    format!("no {down} beside it: this migration cannot be rolled back"),
                )
                .help(format!("add {down} that reverts it")),
            );
        }
    }
    for down in &listing.orphan_downs {
        let up = down.trim_end_matches(".down.sql").to_string() + ".up.sql";
        if !relevant(down) && !relevant(&up) {
            continue;
        }
        out.push(
            Finding::new(
                RULE.name,
                severity,
                ctx.cs.in_dir(down),
                format!("no {up} beside it: this down file's version matches no migration"),
            )
            .help(format!(
                "rename it to match its .up.sql, or delete it if {up} is gone"
            )),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{assert_clean, findings, shown};

    const CONFIG: &str = "migrations:\n  dir: migrations\n  format: golang-migrate\n";

    #[test]
    fn an_up_without_its_down_is_found() {
        let new = [("migrations/1_init.up.sql", "CREATE TABLE a (id int);\n")];
        let found = findings(&RULE, CONFIG, &[], &new);
        assert_eq!(found.len(), 1, "{}", shown(&found));
        assert_eq!(found[0].path, "migrations/1_init.up.sql");
        assert!(found[0].message.contains("no 1_init.down.sql"));
    }

    #[test]
    fn an_up_with_its_down_is_clean() {
        let new = [
            ("migrations/1_init.down.sql", "DROP TABLE a;\n"),
            ("migrations/1_init.up.sql", "CREATE TABLE a (id int);\n"),
        ];
        assert_clean(&RULE, CONFIG, &[], &new);
    }
}
