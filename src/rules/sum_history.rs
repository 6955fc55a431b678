//! `sum-history`: `atlas.sum` must only grow at the end, relative to the base.

use std::collections::{HashMap, HashSet};

use crate::atlas_sum::{ParsedEntry, ParsedSum, FILE_NAME};
use crate::check::{CheckContext, Side};
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::migrations::compare_versions;

use super::Rule;

pub const RULE: Rule = Rule {
    name: "sum-history",
    default_severity: Severity::Error,
    summary:
        "base records of atlas.sum changed, removed, reordered, or a record inserted before them",
    doc: r#"# sum-history

## What it does
Compares the change's `atlas.sum` with the one on the base: the merge base in
`--base` mode; in `--staged` mode the merge base of the configured base ref and
`HEAD` (a branch that is behind the base has not removed anything). The file must be
append-only: every record the base has must still be there, unchanged and in
the same order, and every new record must come after the base's last one.
Reports:

- a base record removed (its migration deleted or renamed);
- a base record whose hash changed: because each hash covers every earlier file,
  the first changed record names the migration that was edited (later records
  change with it and are counted, not repeated);
- base records reordered;
- a new record inserted before the base's last record: a migration whose
  version sorts before migrations that are already on the base.

This is what OpenMeter's CI script `check_atlas_sum_append_only.py` enforces,
with a message that says which migration moved and where.

## Why it matters
Records on the base describe migrations that may already run in production.
Changing them means a deployed migration was edited or removed; inserting a new
record before them means a new migration sorts before applied ones, and
golang-migrate skips it silently on databases that are already past it.

## Example
```text
 h1:...
 20240826120919_init.up.sql h1:...
+20240901000000_add_index.up.sql h1:...     <- inserted before the base's last record
 20240903155435_entitlements.up.sql h1:...  (base's last record)
```

## How to fix
Never edit or delete a migration that is on the base: write a new one. If your
new migration sorts before the base's newest, merge the base and run
`migguard fix-sum --renumber --base <base>`: it gives your migrations fresh
versions after the base's newest and rewrites `atlas.sum`.
"#,
    check: Some(check),
    needs_change: true,
};

fn version_of(ctx: &CheckContext, name: &str) -> String {
    crate::migrations::Listing::new(ctx.format, [name])
        .migrations
        .first()
        .map(|m| m.version.clone())
        .unwrap_or_else(|| crate::migrations::local_version(name).to_string())
}

fn valid_entries(bytes: &[u8]) -> Option<(ParsedSum, Vec<ParsedEntry>)> {
    let parsed = ParsedSum::parse(bytes);
    if !parsed.conflicts.is_empty() {
        // Conflict markers are sum-drift's to report.
        return None;
    }
    let entries = parsed.entries.clone();
    Some((parsed, entries))
}

fn check(ctx: &CheckContext, severity: Severity, out: &mut Vec<Finding>) -> Result<()> {
    let path = ctx.in_dir(FILE_NAME);
    let (Some(base_bytes), Some(new_bytes)) =
        (ctx.read(Side::History, &path)?, ctx.read(Side::New, &path)?)
    else {
        return Ok(());
    };
    if base_bytes == new_bytes {
        return Ok(());
    }
    let (Some((_, base)), Some((new_parsed, new))) =
        (valid_entries(&base_bytes), valid_entries(&new_bytes))
    else {
        return Ok(());
    };
    let label = &ctx.created_label;
    let finding = |line: Option<&crate::atlas_sum::LineRef>, message: String, help: &str| {
        let mut f = Finding::new(RULE.name, severity, &path, message)
            .help(help)
            .label("breaks the append-only history");
        if let Some(l) = line {
            f = f.at(l.number, l.span.clone());
        }
        f
    };
    let new_pos: HashMap<&str, usize> = new
        .iter()
        .enumerate()
        .map(|(i, e)| (e.name.as_str(), i))
        .collect();
    let base_names: HashSet<&str> = base.iter().map(|e| e.name.as_str()).collect();
    let fallback_line = new_parsed.header.as_ref().map(|h| h.1.clone());

    // Removed base records.
    for b in &base {
        if !new_pos.contains_key(b.name.as_str()) {
            let anchor = new
                .iter()
                .find(|e| e.name > b.name)
                .map(|e| e.line.clone())
                .or(fallback_line.clone());
            out.push(finding(
                anchor.as_ref(),
                format!("the record of {} was removed, but it is on {label}: a migration that may already be applied was deleted or renamed", b.name),
                "restore the migration file and its atlas.sum record; to undo its effect, add a new migration",
            ));
        }
    }
    // New records inserted before the base's last (surviving) record.
    let last_base = base
        .iter()
        .filter_map(|b| new_pos.get(b.name.as_str()))
        .max()
        .copied();
    if let Some(last) = last_base {
        let last_name = &new[last].name;
        for e in new[..last]
            .iter()
            .filter(|e| !base_names.contains(e.name.as_str()))
        {
            out.push(finding(
                Some(&e.line),
                format!(
                    "{} is inserted before {last_name}, the newest record on {label}: atlas.sum must only grow at the end, and a migration older than applied ones is skipped by golang-migrate",
                    e.name
                ),
                "merge the base, then run `migguard fix-sum --renumber --base <base>` to move your migrations after it",
            ));
        }
    }
    // Appended records must have strictly increasing versions, as the CI
    // script OpenMeter runs demands: two migrations sharing a version collide.
    if let Some(last) = last_base {
        for pair in new[last..].windows(2) {
            let (prev, cur) = (&pair[0], &pair[1]);
            let (pv, cv) = (version_of(ctx, &prev.name), version_of(ctx, &cur.name));
            if !base_names.contains(cur.name.as_str())
                && compare_versions(ctx.format, &cv, &pv) != std::cmp::Ordering::Greater
            {
                out.push(finding(
                    Some(&cur.line),
                    format!("{} has version {cv}, not newer than {} just before it: two migrations share a version", cur.name, prev.name),
                    "give one of them a newer version (`migguard fix-sum --renumber --base <base>`, or regenerate it)",
                ));
            }
        }
    }
    // Reordered base records.
    let mut max_seen: Option<usize> = None;
    for b in &base {
        let Some(&pos) = new_pos.get(b.name.as_str()) else {
            continue;
        };
        match max_seen {
            Some(m) if pos < m => out.push(finding(
                Some(&new[pos].line),
                format!("the record of {} moved: base records must keep their order", b.name),
                "restore atlas.sum's base records in their original order (`migguard fix-sum` after restoring the files)",
            )),
            _ => max_seen = Some(pos),
        }
    }
    // Changed: the first base record whose hash differs while everything
    // before it is intact names the edited migration.
    let intact = base
        .iter()
        .zip(&new)
        .take_while(|(b, n)| b.name == n.name && b.hash == n.hash)
        .count();
    if let (Some(b), Some(n)) = (base.get(intact), new.get(intact)) {
        if b.name == n.name {
            let knock_on = base[intact + 1..]
                .iter()
                .filter(|b| {
                    new_pos
                        .get(b.name.as_str())
                        .is_some_and(|&p| new[p].hash != b.hash)
                })
                .count();
            let tail = if knock_on > 0 {
                format!(" ({knock_on} later base record(s) change with it)")
            } else {
                String::new()
            };
            out.push(finding(
                Some(&n.line),
                format!(
                    "the record of {} changed: the migration differs from the one on {label}, where it may already be applied{tail}",
                    b.name
                ),
                "revert the edit and put the change in a new migration",
            ));
        }
    }
    Ok(())
}
