//! `missing-down`: golang-migrate `.up.sql` without its `.down.sql`, or the
//! reverse.

use crate::check::{CheckContext, Side};
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::migrations::DirFormat;
use crate::report::Mode;

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
    if ctx.format != DirFormat::GolangMigrate {
        return Ok(());
    }
    let listing = ctx.listing(Side::New);
    // A file counts when the change adds, edits, renames or deletes it.
    let relevant = |name: &str| {
        ctx.mode == Mode::All
            || ctx
                .changes
                .iter()
                .any(|c| c.paths().any(|p| p == ctx.in_dir(name)))
    };
    for m in &listing.migrations {
        let down = m.up.trim_end_matches(".up.sql").to_string() + ".down.sql";
        if m.down.is_none() && (relevant(&m.up) || relevant(&down)) {
            out.push(
                Finding::new(
                    RULE.name,
                    severity,
                    ctx.in_dir(&m.up),
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
                ctx.in_dir(down),
                format!("no {up} beside it: this down file's version matches no migration"),
            )
            .help(format!(
                "rename it to match its .up.sql, or delete it if {up} is gone"
            )),
        );
    }
    Ok(())
}
