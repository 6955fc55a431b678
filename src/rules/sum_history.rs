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
    crate::migrations::Listing::new(ctx.cs.format, [name])
        .migrations
        .first()
        .map(|m| m.version.clone())
        .unwrap_or_else(|| crate::migrations::local_version(name).to_string())
}

/// One migration's files share this key: the name without `.up.sql` /
/// `.down.sql` (golang-migrate keeps a migration in two files).
fn migration_key(name: &str) -> &str {
    name.strip_suffix(".up.sql")
        .or_else(|| name.strip_suffix(".down.sql"))
        .unwrap_or(name)
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
    let path = ctx.cs.in_dir(FILE_NAME);
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
    let label = &ctx.cs.created_label;
    let dir_path = |name: &str| ctx.cs.in_dir(name);
    // Which migration files the change really edited: a base record can
    // change because its file changed, or only because the record itself
    // was wrong on the base (drift) and the change repairs it.
    let history = ctx.cs.snapshot(Side::History);
    let new_side = ctx.cs.snapshot(Side::New);
    let on_history = |name: &str| history.contains(&dir_path(name));
    let on_new = |name: &str| new_side.contains(&dir_path(name));
    let file_same = |name: &str| -> Result<bool> {
        let p = dir_path(name);
        if history.same_as(new_side, &p) {
            return Ok(true);
        }
        Ok(ctx.read(Side::History, &p)? == ctx.read(Side::New, &p)?)
    };
    // The first file (in atlas.sum order) of the base's records that the
    // change edited or deleted.
    let mut first_edited: Option<&str> = None;
    for b in &base {
        if on_history(&b.name) && !file_same(&b.name)? {
            first_edited = Some(b.name.as_str());
            break;
        }
    }
    let files_intact =
        first_edited.is_none() && base.iter().all(|b| !on_history(&b.name) || on_new(&b.name));
    let exact = ctx.new_sum()?.is_exact();
    // Only records changed, and they now match the files: a repair of
    // drift on the base. Removed, reordered and rewritten base records are
    // then not history changes; appended records are still checked.
    let repair = files_intact && exact;
    if repair {
        let rewritten = base
            .iter()
            .filter(|b| !new.iter().any(|n| n.name == b.name && n.hash == b.hash))
            .count();
        if rewritten > 0 {
            ctx.note(format!(
                "{path}: {rewritten} record(s) of {label} rewritten to match migration files the change leaves unchanged: drift on the base repaired, not a history change"
            ));
        }
    }
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
    let mut removed: Vec<Finding> = Vec::new();
    for b in base.iter().filter(|_| !repair) {
        // A stale record (no such file on the base) or a record missing for
        // a file that is still there is drift, sum-drift's to report.
        if !new_pos.contains_key(b.name.as_str()) && on_history(&b.name) && !on_new(&b.name) {
            let anchor = new
                .iter()
                .find(|e| e.name > b.name)
                .map(|e| e.line.clone())
                .or(fallback_line.clone());
            removed.push(finding(
                anchor.as_ref(),
                format!("the record of {} was removed with its file, which is on {label}: a migration that may already be applied was deleted or renamed", b.name),
                "restore the migration file and its atlas.sum record; to undo its effect, add a new migration",
            ));
        }
    }
    if removed.len() > 5 {
        // A squash: migration-edited reports it once, where a deliberate
        // squash can be accepted; one finding per record would bury it.
        ctx.note(format!(
            "{path}: {} records of {label} removed with their files (a squash), reported by migration-edited",
            removed.len()
        ));
    } else {
        out.append(&mut removed);
    }
    // New records inserted before the base's last (surviving) record; a
    // file that is on the base counts as the base's even if its record was
    // missing there (drift).
    let last_base = new
        .iter()
        .rposition(|e| base_names.contains(e.name.as_str()) || on_history(&e.name));
    if let Some(last) = last_base {
        let last_name = &new[last].name;
        for e in new[..last]
            .iter()
            .filter(|e| !base_names.contains(e.name.as_str()) && !on_history(&e.name))
        {
            out.push(finding(
                Some(&e.line),
                format!(
                    "{} is inserted before {last_name}, the newest record on {label}: atlas.sum must only grow at the end, and {}",
                    e.name,
                    ctx.cs.format.out_of_order_effect()
                ),
                "merge the base, then run `migguard fix-sum --renumber --base <base>` to move your migrations after it",
            ));
        }
    }
    // Appended records must have strictly increasing versions, as the CI
    // script OpenMeter runs demands: two migrations sharing a version collide.
    // The up and down files of one migration (an atlas.sum that still lists
    // `.down.sql` files) share a version: versions increase per migration.
    if let Some(last) = last_base {
        for pair in new[last..].windows(2) {
            let (prev, cur) = (&pair[0], &pair[1]);
            if migration_key(&prev.name) == migration_key(&cur.name) {
                continue;
            }
            let (pv, cv) = (version_of(ctx, &prev.name), version_of(ctx, &cur.name));
            if !base_names.contains(cur.name.as_str())
                && !on_history(&cur.name)
                && compare_versions(ctx.cs.format, &cv, &pv) != std::cmp::Ordering::Greater
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
    if !repair {
        let moved = crate::atlas_sum::compare::moved(base.iter().map(|b| b.name.as_str()), |n| {
            new_pos.get(n).copied()
        });
        for (name, _) in moved {
            out.push(finding(
                Some(&new[new_pos[name]].line),
                format!("the record of {name} moved: base records must keep their order"),
                "restore atlas.sum's base records in their original order (`migguard fix-sum` after restoring the files)",
            ));
        }
    }
    // Edited: the first base file (in atlas.sum order) whose bytes differ
    // from the base's. A record that changed while no file did is drift, for
    // sum-drift to report; saying the migration was edited would be false.
    if let Some(edited) = first_edited {
        if let (Some(&pos), Some(b)) = (new_pos.get(edited), base.iter().find(|b| b.name == edited))
        {
            let n = &new[pos];
            let knock_on = crate::atlas_sum::compare::rehashed(
                base.iter()
                    .filter(|x| x.name.as_str() > edited)
                    .map(|x| (x.name.as_str(), x.hash.as_str())),
                |n| new_pos.get(n).map(|&p| new[p].hash.as_str()),
            );
            let tail = if knock_on > 0 {
                format!(" ({knock_on} later base record(s) change with it)")
            } else {
                String::new()
            };
            let record = if n.hash == b.hash {
                "its atlas.sum record was left as it was"
            } else {
                "its atlas.sum record changed with it"
            };
            out.push(finding(
                Some(&n.line),
                format!(
                    "{edited} differs from the file on {label}, where it may already be applied: {record}{tail}"
                ),
                "revert the edit and put the change in a new migration",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{findings, shown, sum_of};

    const A: (&str, &str) = ("20240101000000_a.sql", "CREATE TABLE a (id int);\n");
    const B: (&str, &str) = ("20240201000000_b.sql", "CREATE TABLE b (id int);\n");
    const C: (&str, &str) = ("20240301000000_c.sql", "CREATE TABLE c (id int);\n");

    fn side<'a>(files: &[(&'a str, &'a str)], sum: &'a str) -> Vec<(String, &'a str)> {
        let mut out: Vec<(String, &str)> = files
            .iter()
            .map(|(n, c)| (format!("migrations/{n}"), *c))
            .collect();
        out.push(("migrations/atlas.sum".into(), sum));
        out
    }

    fn run(old: &[(String, &str)], new: &[(String, &str)]) -> Vec<crate::findings::Finding> {
        let old: Vec<(&str, &str)> = old.iter().map(|(p, c)| (p.as_str(), *c)).collect();
        let new: Vec<(&str, &str)> = new.iter().map(|(p, c)| (p.as_str(), *c)).collect();
        findings(&RULE, "", &old, &new)
    }

    #[test]
    fn a_migration_inserted_before_the_base_records_is_found() {
        let base_sum = sum_of(&[A, C]);
        let old = side(&[A, C], &base_sum);
        let new_sum = sum_of(&[A, B, C]);
        let new = side(&[A, B, C], &new_sum);
        let found = run(&old, &new);
        assert!(
            !found.is_empty(),
            "an insertion before {} must be found",
            C.0
        );
        assert!(shown(&found).contains(B.0), "{}", shown(&found));
    }

    #[test]
    fn appending_a_migration_is_clean() {
        let base_sum = sum_of(&[A, B]);
        let old = side(&[A, B], &base_sum);
        let new_sum = sum_of(&[A, B, C]);
        let new = side(&[A, B, C], &new_sum);
        let found = run(&old, &new);
        assert!(found.is_empty(), "{}", shown(&found));
    }
}
