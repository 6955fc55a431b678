//! `sum-drift`: `atlas.sum` does not match the migration files.

use crate::atlas_sum::{DirSum, DriftKind, FILE_NAME};
use crate::check::{CheckContext, Side};
use crate::error::Result;
use crate::findings::{Finding, Severity};

use super::Rule;

pub const RULE: Rule = Rule {
    name: "sum-drift",
    default_severity: Severity::Error,
    summary: "atlas.sum does not match the migration files",
    doc: r#"# sum-drift

## What it does
Recomputes `atlas.sum` from the migration files exactly as `atlas migrate hash`
does and compares it with the committed file, byte for byte. Each difference is
reported with its reason, on the `atlas.sum` line concerned:

- a migration file that is not listed (added without rehashing);
- a listed file that no longer exists (removed or renamed);
- a file whose content changed after it was hashed (edited): the first such
  file is named, and the entries after it that change with it are counted;
- entries out of order, listed twice, or malformed lines;
- a header checksum that does not match the entries (a hand-edited file);
- unresolved merge-conflict markers (`<<<<<<<`, `=======`, `>>>>>>>`);
- a missing `atlas.sum` while migrations exist;
- the right hashes written in another form (CRLF line endings, no final
  newline, extra spaces).

Files are hashed as stored, never with line endings converted. Atlas's
directory formats decide which files count: every top-level `*.sql` file
(`atlas`, `goose`, `flyway`, `dbmate`), or only `*.up.sql` for
`golang-migrate` (unless the existing `atlas.sum` still lists `.down.sql`
entries, as older Atlas versions wrote it; that scope is kept). A file whose
first line is `-- atlas:sum ignore` is hashed by name only and gets no entry.

## Why it matters
`atlas migrate apply` and `atlas migrate lint` refuse a directory whose
`atlas.sum` is out of date, usually in CI or, worse, during a deploy. The sum
also makes concurrent migrations collide in git: a merge that is "resolved" by
keeping both sides' lines silently defeats that protection.

## Example
```text
h1:1rPv3Ybf...=
20240826120919_init.up.sql h1:tc1V91/s...=
<<<<<<< HEAD
20240903155435_add_index.up.sql h1:Hp8u5uck...=
=======
20240903160000_add_column.up.sql h1:Q1dAMo0V...=
>>>>>>> main
```

## How to fix
Run `migguard fix-sum` (or `atlas migrate hash`): it rewrites `atlas.sum` from
the migration files through a temporary file, and prints which entries it
added, removed or rehashed. If a migration was edited after it was applied
anywhere, revert the edit and write a new migration instead.
"#,
    check: Some(check_change),
    needs_change: false,
};

/// In `check`: the new side's directory (index, `HEAD`, or work tree).
fn check_change(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    let names = ctx.cs.dir_names(Side::New);
    if names.is_empty() {
        return Ok(());
    }
    if !ctx.settings.sum_expected && !names.iter().any(|n| n == FILE_NAME) {
        // Found only by its name, with no atlas.sum: not an Atlas directory.
        return Ok(());
    }
    let sum = ctx.new_sum()?;
    check(&sum, &ctx.cs.in_dir(FILE_NAME), severity, out);
    Ok(())
}

/// Reports every difference between the directory and its `atlas.sum`.
/// `sum_path` is the file's path relative to the repository root.
pub fn check(sum: &DirSum, sum_path: &str, severity: Severity, out: &mut Vec<Finding>) {
    for d in sum.drifts() {
        let label = match d.kind {
            DriftKind::Added => "the missing entry belongs here",
            DriftKind::Edited => "hash differs from the file",
            DriftKind::Removed => "no such file",
            DriftKind::Reordered => "out of order",
            DriftKind::Duplicate => "listed twice",
            DriftKind::Header => "does not match the entries",
            DriftKind::Conflict => "merge-conflict marker",
            DriftKind::Malformed => "not an entry",
            DriftKind::Format => "not the layout Atlas writes",
            DriftKind::Missing | DriftKind::Empty => "atlas.sum",
        };
        let mut f = Finding::new(RULE.name, severity, sum_path, d.message)
            .help(d.help)
            .label(label);
        if let Some(line) = &d.line {
            f = f.at(line.number, line.span.clone());
        }
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{assert_clean, findings, shown, sum_of};

    const A: (&str, &str) = ("20240101000000_a.sql", "CREATE TABLE a (id int);\n");
    const B: (&str, &str) = ("20240201000000_b.sql", "CREATE TABLE b (id int);\n");

    #[test]
    fn a_migration_missing_from_atlas_sum_is_found() {
        let sum = sum_of(&[A]);
        let old = [
            ("migrations/20240101000000_a.sql", A.1),
            ("migrations/atlas.sum", sum.as_str()),
        ];
        let new = [old[0], old[1], ("migrations/20240201000000_b.sql", B.1)];
        let found = findings(&RULE, "", &old, &new);
        assert!(!found.is_empty());
        assert!(
            found.iter().all(|f| f.path == "migrations/atlas.sum"),
            "{}",
            shown(&found)
        );
        assert!(
            shown(&found).contains("20240201000000_b.sql"),
            "{}",
            shown(&found)
        );
    }

    #[test]
    fn the_sum_atlas_writes_is_clean() {
        let sum = sum_of(&[A, B]);
        let new = [
            ("migrations/20240101000000_a.sql", A.1),
            ("migrations/20240201000000_b.sql", B.1),
            ("migrations/atlas.sum", sum.as_str()),
        ];
        assert_clean(&RULE, "", &[], &new);
    }
}
