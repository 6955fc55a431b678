//! `generated-edited`: generated files changed by hand.

use std::collections::BTreeMap;
use std::path::Path;

use crate::check::Mode;
use crate::check::{first_difference, line_span, CheckContext, Side};
use crate::config::{Config, GeneratedConfig, GeneratedGlobs, FILE_NAME as CONFIG_FILE};
use crate::error::{Error, Result};
use crate::findings::{Finding, Severity};
use crate::git::{ChangeKind, Scope, Snapshot};

use super::Rule;

pub const RULE: Rule = Rule {
    name: "generated-edited",
    default_severity: Severity::Error,
    summary: "generated files changed without their sources, missing their header, or differing from a fresh generation",
    doc: r#"# generated-edited

## What it does
For each `generated:` entry of the config (`paths` that a generator writes from
`sources`, less the `exclude` globs: hand-written files that live among the
generated ones, such as `ent/schema/**` and `ent/generate.go` in ent's default
layout):

- a file under `paths` changed while none of the `sources` changed: a hand
  edit of generated code (ent's `openmeter/ent/db/`, `views.sql`, ...);
- with `header: true`, a file under `paths` (added or changed; every file with
  `--all`) without the `Code generated ... DO NOT EDIT.` header line that Go
  generators write at the top;
- with `check --regenerate`, the entry's `command` runs in a temporary checkout
  of the new side, and every generated file must equal what it produced, so a
  hand edit is caught even when the schema changed in the same commit. In
  `--base` mode the command comes from the base revision's config, never from
  the change (a pull request cannot choose what CI executes); a change to the
  command is itself reported.

## Why it matters
The next `make generate` silently overwrites a hand edit, and until then the
generated client disagrees with the schema that is the source of truth.

## Example
```yaml
generated:
  - paths: ["openmeter/ent/db/**"]
    sources: ["openmeter/ent/schema/**", "go.mod", "go.sum"]
    header: true
    command: make generate
```
A commit that edits `openmeter/ent/db/customer.go` and nothing under
`openmeter/ent/schema/` is reported.

## How to fix
Make the change in the source (the ent schema), run the generator, and commit
both. Never edit generated files by hand.
"#,
    check: Some(check),
    needs_change: false,
};

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    for (index, entry) in ctx.settings.config.generated.iter().enumerate() {
        let paths = &entry.globs;
        if ctx.cs.mode != Mode::All {
            hand_edits(ctx, entry, paths, severity, out)?;
        }
        if entry.header {
            headers(ctx, paths, severity, out)?;
        }
        if ctx.regenerate {
            regenerate(ctx, index, entry, paths, severity, out)?;
        }
    }
    Ok(())
}

fn hand_edits(
    ctx: &CheckContext,
    entry: &GeneratedConfig,
    paths: &GeneratedGlobs,
    severity: Severity,
    out: &mut Vec<Finding>,
) -> Result<()> {
    let source_changed = ctx
        .cs
        .changes
        .iter()
        .any(|c| c.paths().any(|p| paths.sources.is_match(p)));
    if source_changed {
        return Ok(());
    }
    let sources_text = if entry.sources.is_empty() {
        "(no sources configured)".to_string()
    } else {
        entry.sources.join(", ")
    };
    for change in ctx
        .cs
        .changes
        .iter()
        .filter(|c| c.paths().any(|p| paths.is_generated(p)))
    {
        let verb = match change.kind {
            ChangeKind::Added => "added",
            ChangeKind::Modified => "edited",
            ChangeKind::Deleted => "deleted",
            ChangeKind::Renamed { .. } => "renamed",
        };
        let mut f = Finding::new(
            RULE.name,
            severity,
            &change.path,
            format!("a generated file, {verb} while none of its sources changed ({sources_text}): a hand edit the next generation overwrites"),
        )
        .help("revert it; change the source instead and re-run the generator")
        .label("hand edit");
        if change.kind == ChangeKind::Modified {
            if let (Some(old), Some(new)) = (
                ctx.read(Side::Old, &change.path)?,
                ctx.read(Side::New, &change.path)?,
            ) {
                let line = first_difference(&old, &new);
                if let Some(span) = line_span(&new, line) {
                    f = f.at(line, span);
                }
            }
        }
        out.push(f);
    }
    Ok(())
}

/// Go's convention: a line `// Code generated ... DO NOT EDIT.` before the
/// first line that is not a comment (any comment marker is accepted, so
/// generated SQL qualifies too).
pub fn has_generated_header(text: &[u8]) -> bool {
    for raw in text.split(|b| *b == b'\n').take(200) {
        let line = String::from_utf8_lossy(raw);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let body = ["//", "--", "#", "/*", "*"]
            .iter()
            .find_map(|m| line.strip_prefix(m));
        let Some(body) = body else { return false };
        let body = body.trim().trim_end_matches("*/").trim();
        if body.starts_with("Code generated ") && body.ends_with("DO NOT EDIT.") {
            return true;
        }
    }
    false
}

fn headers(
    ctx: &CheckContext,
    paths: &GeneratedGlobs,
    severity: Severity,
    out: &mut Vec<Finding>,
) -> Result<()> {
    let candidates: Vec<String> = if ctx.cs.mode == Mode::All {
        ctx.cs
            .new
            .files
            .keys()
            .filter(|p| paths.is_generated(p.as_str()))
            .cloned()
            .collect()
    } else {
        ctx.cs
            .changes
            .iter()
            .filter(|c| c.kind != ChangeKind::Deleted && paths.is_generated(&c.path))
            .map(|c| c.path.clone())
            .collect()
    };
    for path in candidates {
        let Some(bytes) = ctx.read(Side::New, &path)? else {
            continue;
        };
        if has_generated_header(&bytes) {
            continue;
        }
        let mut f = Finding::new(
            RULE.name,
            severity,
            &path,
            "under a generated path but lacks the `Code generated ... DO NOT EDIT.` header: it was written by hand or its header was removed".to_string(),
        )
        .help("generate it with the configured generator, which writes the header, or move hand-written code out of the generated path");
        if let Some(span) = line_span(&bytes, 1) {
            f = f.at(1, span);
        }
        out.push(f);
    }
    Ok(())
}

/// The generate command to run: in `--base` mode the base revision's, so a
/// pull request cannot change what CI executes.
fn command_for(
    ctx: &CheckContext,
    entry: &GeneratedConfig,
    severity: Severity,
    out: &mut Vec<Finding>,
) -> Result<Option<String>> {
    if ctx.cs.mode != Mode::Base {
        return Ok(entry.command.clone());
    }
    let base_config = match ctx.read(Side::Created, CONFIG_FILE)? {
        Some(bytes) => {
            let text = String::from_utf8_lossy(&bytes).to_string();
            Config::parse(Path::new(CONFIG_FILE), &text, &super::known_names()).ok()
        }
        None => None,
    };
    let base_command = base_config
        .as_ref()
        .and_then(|c| c.generated.iter().find(|g| g.paths == entry.paths))
        .and_then(|g| g.command.clone());
    if base_command != entry.command {
        out.push(
            Finding::new(
                RULE.name,
                severity,
                CONFIG_FILE,
                format!(
                    "the generate command for {} changed in this change (base: {:?}, change: {:?}); --regenerate runs the base's command",
                    entry.paths.join(", "),
                    base_command.as_deref().unwrap_or("none"),
                    entry.command.as_deref().unwrap_or("none")
                ),
            )
            .help("land the command change on the base branch first, in a change of its own"),
        );
    }
    Ok(base_command)
}

fn regenerate(
    ctx: &CheckContext,
    _index: usize,
    entry: &GeneratedConfig,
    paths: &GeneratedGlobs,
    severity: Severity,
    out: &mut Vec<Finding>,
) -> Result<()> {
    let Some(command) = command_for(ctx, entry, severity, out)? else {
        return Ok(());
    };
    let Some(git) = ctx.cs.git else {
        return Err(Error::Usage(
            "--regenerate needs a git repository to check out".into(),
        ));
    };
    // A full checkout of the new side.
    let full = if ctx.cs.mode == Mode::Staged {
        Snapshot::from_index(git, &Scope::everything())?
    } else if ctx.cs.mode == Mode::All {
        Snapshot::from_disk(&git.workdir, &Scope::everything())?
    } else {
        let head = git
            .head_commit()?
            .ok_or_else(|| Error::Git("HEAD has no commit to regenerate from".into()))?;
        Snapshot::from_tree(git, git.tree_of(head)?, &Scope::everything())?
    };
    let tmp = tempfile::Builder::new()
        .prefix("migguard-regenerate-")
        .tempdir()
        .map_err(|e| Error::Command(format!("cannot create a temporary checkout: {e}")))?;
    for path in full.files.keys() {
        let Some(bytes) = full.read(Some(git), path)? else {
            continue;
        };
        let target = tmp.path().join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::write(parent, e))?;
        }
        std::fs::write(&target, bytes).map_err(|e| Error::write(&target, e))?;
    }
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(&command)
        .current_dir(tmp.path())
        .output()
        .map_err(|e| Error::Command(format!("cannot run the generate command `{command}`: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(10).collect();
        return Err(Error::Command(format!(
            "the generate command `{command}` failed ({}) in a temporary checkout:\n{}",
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )));
    }
    let regenerated = Snapshot::from_disk(tmp.path(), &Scope::everything())?;
    let mut produced: BTreeMap<&str, ()> = BTreeMap::new();
    for path in regenerated
        .files
        .keys()
        .filter(|p| paths.is_generated(p.as_str()))
    {
        produced.insert(path, ());
        let fresh = regenerated.read(None, path)?.unwrap_or_default();
        match ctx.read(Side::New, path)? {
            None => out.push(
                Finding::new(
                    RULE.name,
                    severity,
                    path,
                    format!("`{command}` produces {path}, which is not committed"),
                )
                .help("run the generator and commit its output"),
            ),
            Some(committed) if *committed != fresh[..] => {
                let line = first_difference(&fresh, &committed);
                let mut f = Finding::new(
                    RULE.name,
                    severity,
                    path,
                    format!("differs from a fresh `{command}` at line {line}: the committed file was edited by hand"),
                )
                .help("run the generator and commit its output instead of editing it");
                if let Some(span) = line_span(&committed, line) {
                    f = f.at(line, span);
                }
                out.push(f);
            }
            Some(_) => {}
        }
    }
    for path in full
        .files
        .keys()
        .filter(|p| paths.is_generated(p.as_str()) && !produced.contains_key(p.as_str()))
    {
        out.push(
            Finding::new(
                RULE.name,
                severity,
                path,
                format!("committed under a generated path, but `{command}` does not produce it"),
            )
            .help("delete it, or move hand-written code out of the generated path"),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_header_detection() {
        assert!(has_generated_header(
            b"// Code generated by ent, DO NOT EDIT.\n\npackage db\n"
        ));
        assert!(has_generated_header(
            b"// Copyright\n\n// Code generated by x. DO NOT EDIT.\npackage a\n"
        ));
        assert!(has_generated_header(
            b"-- Code generated by make views. DO NOT EDIT.\nCREATE VIEW v AS SELECT 1;\n"
        ));
        assert!(!has_generated_header(
            b"package db\n// Code generated by ent, DO NOT EDIT.\n"
        ));
        assert!(!has_generated_header(
            b"// Code generated by ent.\npackage db\n"
        ));
        assert!(!has_generated_header(b""));
    }
}

#[cfg(test)]
mod rule_tests {
    use super::RULE;
    use crate::rules::testing::{assert_clean, findings, shown};

    const CONFIG: &str =
        "generated:\n  - paths: [\"ent/db/**\"]\n    sources: [\"ent/schema/**\"]\n";
    const OLD: [(&str, &str); 2] = [
        (
            "ent/db/user.go",
            "// Code generated by ent, DO NOT EDIT.\npackage db\n",
        ),
        ("ent/schema/user.go", "package schema\n"),
    ];

    #[test]
    fn a_generated_file_edited_without_its_sources_is_found() {
        let new = [
            (
                "ent/db/user.go",
                "// Code generated by ent, DO NOT EDIT.\npackage db\n// hand edit\n",
            ),
            OLD[1],
        ];
        let found = findings(&RULE, CONFIG, &OLD, &new);
        assert_eq!(found.len(), 1, "{}", shown(&found));
        assert_eq!(found[0].path, "ent/db/user.go");
    }

    #[test]
    fn a_generated_file_changed_with_its_source_is_clean() {
        let new = [
            (
                "ent/db/user.go",
                "// Code generated by ent, DO NOT EDIT.\npackage db\n// field added\n",
            ),
            ("ent/schema/user.go", "package schema\n// field added\n"),
        ];
        assert_clean(&RULE, CONFIG, &OLD, &new);
    }
}
