//! `migguard fix-sum`: rewrite `atlas.sum` as `atlas migrate hash` would.

use std::collections::BTreeMap;

use clap::Args;

use super::{current_dir, open_dir, print, Global};
use crate::atlas_sum::{DirSum, HashFile, ParsedSum, FILE_NAME};
use crate::error::{Error, ExitStatus, Result};
use crate::fsutil::write_atomic;
use crate::git::Git;
use crate::migrations::{renumber, DiskDir, Listing};

#[derive(Debug, Args)]
pub struct FixSumArgs {
    /// Write nothing; exit 1 if atlas.sum would change
    #[arg(long)]
    check: bool,
    /// First give this branch's migrations that are not newer than the newest
    /// on --base fresh versions after it (after merging the base)
    #[arg(long, requires = "base")]
    renumber: bool,
    /// The base revision for --renumber (e.g. origin/main)
    #[arg(long, value_name = "REV")]
    base: Option<String>,
}

/// What a rewrite changes, entry by entry.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub rehashed: Vec<String>,
}

impl Changes {
    /// Compares the entries of the old file (all of them, conflict sides
    /// included) with the new ones.
    pub fn between(old: Option<&[u8]>, new: &HashFile) -> Changes {
        let mut old_hashes: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if let Some(bytes) = old {
            for e in ParsedSum::parse(bytes).entries {
                old_hashes.entry(e.name).or_default().push(e.hash);
            }
        }
        let mut changes = Changes::default();
        for e in &new.entries {
            match old_hashes.remove(&e.name) {
                None => changes.added.push(e.name.clone()),
                Some(hashes) if !hashes.contains(&e.hash) => changes.rehashed.push(e.name.clone()),
                Some(_) => {}
            }
        }
        changes.removed = old_hashes.into_keys().collect();
        changes
    }

    fn describe(&self) -> String {
        let mut out = String::new();
        for (sign, names) in [("+", &self.added), ("-", &self.removed)] {
            for n in names {
                out.push_str(&format!("  {sign} {n}\n"));
            }
        }
        // Hashes are cumulative: one change rehashes every later entry, so
        // listing them all would bury the change itself.
        const SHOWN: usize = 5;
        for n in self.rehashed.iter().take(SHOWN) {
            out.push_str(&format!("  ~ {n}\n"));
        }
        if self.rehashed.len() > SHOWN {
            out.push_str(&format!(
                "  ~ ... and {} later entries (each hash covers every earlier file)\n",
                self.rehashed.len() - SHOWN
            ));
        }
        out.push_str(&format!(
            "  {} added, {} removed, {} rehashed\n",
            self.added.len(),
            self.removed.len(),
            self.rehashed.len()
        ));
        out
    }
}

pub fn run(global: &Global, args: &FixSumArgs) -> Result<ExitStatus> {
    if args.renumber {
        let renamed = renumber(global, args)?;
        if args.check && renamed {
            return Ok(ExitStatus::Findings);
        }
    }
    let all = global.settings()?;
    // Directories that hold (or are configured to hold) an atlas.sum; when
    // there are none, the ones found by name, so a first run creates it.
    let mut targets: Vec<&crate::config::MigrationDir> =
        all.dirs.iter().filter(|d| d.sum_expected).collect();
    if targets.is_empty() {
        targets = all.dirs.iter().collect();
    }
    let mut status = ExitStatus::Clean;
    for d in targets {
        if fix_one(global, args, &all.for_dir(d))? == ExitStatus::Findings {
            status = ExitStatus::Findings;
        }
    }
    Ok(status)
}

fn fix_one(
    global: &Global,
    args: &FixSumArgs,
    settings: &crate::config::Settings,
) -> Result<ExitStatus> {
    let (dir, format) = open_dir(settings)?;
    // Held from reading to writing: a concurrent run waits for nothing and
    // fails clearly instead of interleaving.
    let _lock = if args.check {
        None
    } else {
        let parent = dir.path.parent().unwrap_or(&dir.path).to_path_buf();
        let lock = crate::fsutil::DirLock::acquire(&parent)?;
        crate::fsutil::clean_stale_temp_files(&dir.path);
        Some(lock)
    };
    let actual = dir.read_optional(FILE_NAME)?;
    let sum = super::disk_sum(settings, &dir, format, actual)?;
    let sum_path = dir.path.join(FILE_NAME);
    let shown = settings.rel(&sum_path);
    if sum.is_exact() {
        if !global.quiet {
            print(&format!(
                "{shown} is up to date ({} entr{})\n",
                sum.expected.entries.len(),
                if sum.expected.entries.len() == 1 {
                    "y"
                } else {
                    "ies"
                }
            ));
        }
        return Ok(ExitStatus::Clean);
    }
    let changes = Changes::between(sum.actual.as_deref(), &sum.expected);
    let mut reason = String::new();
    if let Some(bytes) = sum.actual.as_deref() {
        let parsed = ParsedSum::parse(bytes);
        if !parsed.conflicts.is_empty() {
            reason = " (resolving merge-conflict markers)".to_string();
        }
    } else {
        reason = " (creating it)".to_string();
    }
    if changes == Changes::default() {
        // Same entries: only the header or the layout of the file differs.
        reason = format!("{reason} (rewriting the header and layout)");
    }
    let text = sum.expected.marshal();
    if args.check {
        print(&format!(
            "{shown} would change{reason}:\n{}",
            changes.describe()
        ));
        print("run `migguard fix-sum` to rewrite it\n");
        return Ok(ExitStatus::Findings);
    }
    write_atomic(&sum_path, text.as_bytes())?;
    if !global.quiet {
        print(&format!("rewrote {shown}{reason}:\n{}", changes.describe()));
    }
    Ok(ExitStatus::Clean)
}

/// Renames the branch's non-linear migrations; returns whether any needs
/// (or, with `--check`, would need) a rename.
fn renumber(global: &Global, args: &FixSumArgs) -> Result<bool> {
    let rev = args.base.as_deref().unwrap_or_default();
    let git = Git::discover(&current_dir()?)?;
    let all = global.settings_at(&git)?;
    let mut any = false;
    for d in all
        .dirs
        .iter()
        .filter(|d| d.sum_expected || all.dirs.len() == 1)
    {
        any |= renumber_one(global, args, &git, &all.for_dir(d), rev)?;
    }
    Ok(any)
}

fn renumber_one(
    global: &Global,
    args: &FixSumArgs,
    git: &Git,
    settings: &crate::config::Settings,
    rev: &str,
) -> Result<bool> {
    let (dir, format) = open_dir(settings)?;
    let commit = git.require_commit(rev)?;
    let base_listing = Listing::at_commit(git, commit, &dir.path, format)?;
    let current = Listing::new(format, dir.names.iter().map(String::as_str));
    let renames = renumber::plan(format, &base_listing, &current).map_err(Error::Usage)?;
    if renames.is_empty() {
        if !global.quiet {
            print(&format!("no migration needs a new version: all of this branch's are newer than {rev}'s newest\n"));
        }
        return Ok(false);
    }
    for r in &renames {
        if dir.contains(&r.to) && !renames.iter().any(|o| o.from == r.to) {
            return Err(Error::file(
                dir.path.join(&r.to),
                "already exists: cannot renumber onto it",
            ));
        }
    }
    let verb = if args.check {
        "would rename"
    } else {
        "renamed"
    };
    if !args.check {
        let _lock = crate::fsutil::DirLock::acquire(dir.path.parent().unwrap_or(&dir.path))?;
        apply_renames(&dir, format, settings.dir_format.is_some(), &renames)?;
    }
    for r in &renames {
        print(&format!("{verb} {} -> {}\n", r.from, r.to));
    }
    Ok(true)
}

/// Renames migrations as one step: the renamed directory (hard links, and the
/// rewritten atlas.sum) is built beside the real one and swapped in
/// atomically, so a crash never leaves half the renames done.
fn apply_renames(
    dir: &DiskDir,
    format: crate::migrations::DirFormat,
    configured: bool,
    renames: &[renumber::Rename],
) -> Result<()> {
    let name = dir
        .path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("migrations")
        .to_string();
    let parent = dir.path.parent().unwrap_or(std::path::Path::new("."));
    crate::fsutil::clean_stale_staging(&dir.path);
    let staged = tempfile::Builder::new()
        .prefix(&format!(".migguard-{name}-"))
        .tempdir_in(parent)
        .map_err(|e| Error::write(parent, e))?
        .keep();
    let result = (|| -> Result<()> {
        let renamed: BTreeMap<&str, &str> = renames
            .iter()
            .map(|r| (r.from.as_str(), r.to.as_str()))
            .collect();
        let mut names = Vec::new();
        for n in &dir.names {
            let to = renamed.get(n.as_str()).copied().unwrap_or(n);
            let target = staged.join(to);
            if let Some(p) = target.parent() {
                std::fs::create_dir_all(p).map_err(|e| Error::write(p, e))?;
            }
            std::fs::hard_link(dir.path.join(n), &target).map_err(|e| Error::write(&target, e))?;
            names.push(to.to_string());
        }
        names.sort();
        // The new atlas.sum, computed from the renamed files.
        let actual = dir.read_optional(FILE_NAME)?;
        let sum = DirSum::compute(format, configured, &names, actual, |n| {
            std::fs::read(staged.join(n)).map_err(|e| Error::read(staged.join(n), e))
        })?;
        let sum_path = staged.join(FILE_NAME);
        let _ = std::fs::remove_file(&sum_path);
        write_atomic(&sum_path, sum.expected.marshal().as_bytes())?;
        crate::fsutil::swap_dirs(&staged, &dir.path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staged);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_count_conflict_sides_as_old_entries() {
        let new = HashFile::compute([("1.sql", b"a".as_slice()), ("2.sql", b"b".as_slice())]);
        let old = format!(
            "h1:x\n1.sql h1:{}\n<<<<<<< HEAD\n3.sql h1:zz\n=======\n2.sql h1:{}\n>>>>>>> main\n",
            new.entries[0].hash, new.entries[1].hash
        );
        let c = Changes::between(Some(old.as_bytes()), &new);
        assert_eq!(c.added, Vec::<String>::new());
        assert_eq!(c.removed, vec!["3.sql"]);
        assert!(c.rehashed.is_empty());
        let c = Changes::between(None, &new);
        assert_eq!(c.added, vec!["1.sql", "2.sql"]);
    }
}
