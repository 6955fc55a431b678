//! `migration-edited`: a created migration modified, deleted or renamed.

use crate::check::{first_difference, line_span, CheckContext, Side};
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::git::ChangeKind;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "migration-edited",
    default_severity: Severity::Error,
    summary: "a created migration (.up.sql and .down.sql) modified, deleted or renamed",
    doc: r#"# migration-edited

## What it does
Finds changes to migration files that are already *created*: files that exist
on the base (the merge base in `--base` mode; in `--staged` mode the configured
`base` ref, by default `origin/HEAD`, then `origin/main`, then `main`, else
`HEAD`). Every `*.sql` file of the directory counts, including golang-migrate's
`.down.sql` files, which `atlas.sum` does not cover. A modification points at
the first line that differs from the created version; a rename is reported as
an edit of the old file.

Migrations that exist only on your branch are not created: regenerate them as
often as you like.

A squash (more than five created migrations deleted, renamed or edited in one
change) is reported once for the directory, naming the count and the first
files, at the change's new migration; a deliberate squash is accepted with
`-- migguard:ignore-file migration-edited <reason>` in that migration.

## Why it matters
A created migration may already have run on a database. Editing it changes
nothing there, so environments silently diverge; deleting or renaming it makes
golang-migrate and Atlas see a different history than the one applied.

## Example
```sql
-- 20240826120919_init.up.sql (on main since March)
CREATE TABLE "customers" ("id" character(26) NOT NULL, "name" text NOT NULL);
--                                                    ^ edited on this branch
```

## How to fix
Revert the edit (`git checkout <base> -- <file>`) and write a new migration that
makes the change. If the migration truly never ran anywhere, suppress the
finding with `-- migguard:ignore migration-edited <reason>` above the statement.
"#,
    check: Some(check),
    needs_change: true,
};

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    let mut found: Vec<Finding> = Vec::new();
    file_findings(ctx, severity, &mut found)?;
    if found.len() <= SQUASH_THRESHOLD {
        out.append(&mut found);
        return Ok(());
    }
    squash(ctx, severity, &found, out);
    Ok(())
}

/// One finding per created file deleted, renamed or edited.
fn file_findings(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    for change in ctx.cs.dir_changes() {
        // The old path of a deletion or rename: gone from a created file.
        let gone = match &change.kind {
            ChangeKind::Deleted => Some(change.path.as_str()),
            ChangeKind::Renamed { from } => Some(from.as_str()),
            _ => None,
        };
        if let Some(old) = gone.filter(|p| is_created_migration(ctx, p)) {
            let message = match &change.kind {
                ChangeKind::Renamed { .. } => format!(
                    "renamed from {old}, a created migration (on {}): databases record applied migrations by version and name",
                    ctx.cs.created_label
                ),
                _ => format!(
                    "deleted, but it is a created migration (on {}): databases that ran it keep its effects and its version",
                    ctx.cs.created_label
                ),
            };
            let path = if matches!(change.kind, ChangeKind::Renamed { .. }) {
                &change.path
            } else {
                old
            };
            out.push(
                Finding::new(RULE.name, severity, path, message)
                    .help("restore it under its original name: databases record applied migrations by version"),
            );
        }
        // The new content of a created file that differs from the created one.
        if change.kind == ChangeKind::Deleted || !is_created_migration(ctx, &change.path) {
            continue;
        }
        if ctx.cs.created.same_as(&ctx.cs.new, &change.path) {
            continue;
        }
        let (Some(created), Some(new)) = (
            ctx.read(Side::Created, &change.path)?,
            ctx.read(Side::New, &change.path)?,
        ) else {
            continue;
        };
        if created == new {
            continue;
        }
        let line = first_difference(&created, &new);
        let mut f = Finding::new(
            RULE.name,
            severity,
            &change.path,
            format!(
                "a created migration (on {}) edited at line {line}: databases that already ran it will not see the change",
                ctx.cs.created_label
            ),
        )
        .help("revert the edit and write a new migration for the change")
        .label("differs from the created migration");
        if let Some(span) = line_span(&new, line) {
            f = f.at(line, span);
        }
        out.push(f);
    }
    Ok(())
}

/// A squash: one finding for the directory, not one per file.
fn squash(ctx: &CheckContext, severity: Severity, found: &[Finding], out: &mut Vec<Finding>) {
    let new_files = ctx.cs.new_migrations();
    let at = new_files
        .first()
        .cloned()
        .unwrap_or_else(|| ctx.cs.dir.clone());
    let mut names: Vec<&str> = found.iter().map(|f| f.path.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let shown: Vec<&str> = names
        .iter()
        .take(SHOWN)
        .map(|p| p.rsplit('/').next().unwrap_or(p))
        .collect();
    let more = names.len().saturating_sub(SHOWN);
    let dir = if ctx.cs.dir.is_empty() {
        "."
    } else {
        ctx.cs.dir.as_str()
    };
    out.push(
        Finding::new(
            RULE.name,
            severity,
            &at,
            format!(
                "{} files of created migrations (on {}) in {dir} were deleted, renamed or edited, as a squash does: {}{}; databases that already ran them keep their versions",
                names.len(),
                ctx.cs.created_label,
                shown.join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            ),
        )
        .help(format!(
            "if the squash is deliberate, accept it in review: add `-- migguard:ignore-file migration-edited <reason>` to the leading comments of {at}, and baseline every database that ran the old migrations; otherwise restore them"
        )),
    );
}

/// More findings than this in one run of the rule are a squash.
const SQUASH_THRESHOLD: usize = 5;
/// Files named in a squash finding.
const SHOWN: usize = 5;

fn is_created_migration(ctx: &CheckContext, path: &str) -> bool {
    ctx.cs
        .dir_name(path)
        .is_some_and(|n| ctx.cs.is_migration(n))
        && ctx.cs.created.contains(path)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{assert_clean, findings, shown};

    const CREATED: &str = "CREATE TABLE t (id bigint);\nCREATE INDEX t_id ON t (id);\n";

    #[test]
    fn an_edited_created_migration_is_found_at_the_first_changed_line() {
        let old = [("migrations/20240101000000_init.sql", CREATED)];
        let new = [(
            "migrations/20240101000000_init.sql",
            "CREATE TABLE t (id bigint);\nCREATE INDEX t_id2 ON t (id);\n",
        )];
        let found = findings(&RULE, "", &old, &new);
        assert_eq!(found.len(), 1, "{}", shown(&found));
        assert_eq!(found[0].line, Some(2));
        assert!(found[0].message.contains("edited at line 2"));
    }

    #[test]
    fn a_renamed_created_migration_is_found_under_its_new_name() {
        let old = [("migrations/20240101000000_init.sql", CREATED)];
        let new = [("migrations/20240102000000_init.sql", CREATED)];
        let found = findings(&RULE, "", &old, &new);
        assert_eq!(found.len(), 1, "{}", shown(&found));
        assert_eq!(found[0].path, "migrations/20240102000000_init.sql");
        assert!(found[0]
            .message
            .starts_with("renamed from migrations/20240101000000_init.sql"));
    }

    #[test]
    fn adding_a_migration_edits_nothing() {
        let old = [("migrations/20240101000000_init.sql", CREATED)];
        let new = [
            ("migrations/20240101000000_init.sql", CREATED),
            (
                "migrations/20240102000000_more.sql",
                "CREATE TABLE u (id bigint);\n",
            ),
        ];
        assert_clean(&RULE, "", &old, &new);
    }
}
