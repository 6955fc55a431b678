//! The change set: what a check compares. Four snapshots (old, new,
//! created, history), the changes between old and new, and the migration
//! directory with its format. Built once, from git (`from_git`) or from files
//! in memory (`from_files`, for unit tests); every rule and view reads it.

use std::cell::OnceCell;
use std::sync::Arc;

use gix::ObjectId;

use super::Options;
use crate::config::{detect_format_from, Settings};
use crate::error::{Error, Result};
use crate::git::{Change, Git, Snapshot};
use crate::memo::Memo;
use crate::migrations::{DirFormat, Listing};

/// What the run checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The index against `HEAD` (pre-commit).
    Staged,
    /// `HEAD` (or the index) against the merge base with a ref (CI).
    Base,
    /// The work tree on its own (`--all`): no change.
    All,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Staged => "staged",
            Mode::Base => "base",
            Mode::All => "all",
        }
    }
}

/// Which snapshot a rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Before the change: `HEAD` (staged) or the merge base (base).
    Old,
    /// After the change: the index (staged) or `HEAD` (base).
    New,
    /// Where migrations count as created (immutable).
    Created,
    /// The history `atlas.sum` must extend: the merge base with the base ref.
    History,
}

/// The refs tried, in order, for "created" in `--staged` mode.
pub const DEFAULT_BASE_REFS: [&str; 3] = ["origin/HEAD", "origin/main", "main"];

pub struct ChangeSet<'g> {
    /// The repository blobs are read from; `None` for files in memory.
    pub git: Option<&'g Git>,
    pub mode: Mode,
    /// The commit reported as the base (merge base, or the created ref).
    pub base_commit: Option<ObjectId>,
    /// How the created side was chosen, for messages ("origin/main").
    pub created_label: String,
    pub old: Snapshot,
    pub new: Snapshot,
    pub created: Snapshot,
    pub history: Snapshot,
    pub changes: Vec<Change>,
    /// The migration directory, relative to the repository root.
    pub dir: String,
    pub format: DirFormat,
    blobs: Memo<(Side, String), Option<Arc<[u8]>>>,
    listings: Memo<Side, Arc<Listing>>,
    new_migrations: OnceCell<Vec<String>>,
}

impl<'g> ChangeSet<'g> {
    fn assemble(
        git: Option<&'g Git>,
        mode: Mode,
        dir: String,
        sides: [Snapshot; 4],
        format: Option<DirFormat>,
    ) -> ChangeSet<'g> {
        let [old, new, created, history] = sides;
        let changes = if mode == Mode::All {
            Vec::new()
        } else {
            crate::git::diff(&old, &new)
        };
        let format = format.unwrap_or_else(|| {
            let names = new.list_dir(&dir, false);
            let prefix = if dir.is_empty() {
                String::new()
            } else {
                format!("{dir}/")
            };
            detect_format_from(names.iter().map(String::as_str), |n| {
                new.read(git, &format!("{prefix}{n}")).ok().flatten()
            })
        });
        ChangeSet {
            git,
            mode,
            base_commit: None,
            created_label: "HEAD".into(),
            old,
            new,
            created,
            history,
            changes,
            dir,
            format,
            blobs: Memo::default(),
            listings: Memo::default(),
            new_migrations: OnceCell::new(),
        }
    }

    /// The change `options` name in `git`, for the migration directory of
    /// `settings`: `--all` (the work tree), `--base REV` (the merge base
    /// against `HEAD` or the index), or the index against `HEAD` with the
    /// created side read from the base ref (`base:` or `origin/HEAD`,
    /// `origin/main`, `main`).
    pub fn from_git(settings: &Settings, git: &'g Git, options: &Options) -> Result<ChangeSet<'g>> {
        let dir = git.relative(&settings.migrations_dir).ok_or_else(|| {
            Error::Usage(format!(
                "the migration directory {} is outside the repository {}",
                settings.migrations_dir.display(),
                git.workdir.display()
            ))
        })?;
        let scope = super::scope(settings, &dir);
        let head = git.head_commit()?;
        let head_tree = || -> Result<Snapshot> {
            match head {
                Some(h) => Snapshot::from_tree(git, git.tree_of(h)?, &scope),
                None => Ok(Snapshot::empty()),
            }
        };
        let format = settings.dir_format;
        if options.all {
            let disk = Snapshot::from_disk(&git.workdir, &scope)?;
            let sides = [disk.clone(), disk, Snapshot::empty(), Snapshot::empty()];
            let mut cs = ChangeSet::assemble(Some(git), Mode::All, dir, sides, format);
            cs.created_label = "the work tree".into();
            return Ok(cs);
        }
        if let Some(rev) = &options.base {
            let head = head.ok_or_else(|| {
                Error::Git("HEAD has no commit yet: `--base` compares committed history".into())
            })?;
            let rev_commit = git.require_commit(rev)?;
            let merge_base = git.merge_base(rev_commit, head, rev)?;
            let old = Snapshot::from_tree(git, git.tree_of(merge_base)?, &scope)?;
            let new = if options.staged {
                Snapshot::from_index(git, &scope)?
            } else {
                head_tree()?
            };
            // The merge base is old, created and history at once (snapshots
            // share their file maps' contents cheaply: paths and ids).
            let sides = [old.clone(), new, old.clone(), old];
            let mut cs = ChangeSet::assemble(Some(git), Mode::Base, dir, sides, format);
            cs.base_commit = Some(merge_base);
            cs.created_label = format!("{rev} (merge base {})", &merge_base.to_string()[..12]);
            return Ok(cs);
        }
        let old = head_tree()?;
        let new = Snapshot::from_index(git, &scope)?;
        let candidates: Vec<&str> = match &settings.config.base {
            Some(b) => vec![b.as_str()],
            None => DEFAULT_BASE_REFS.to_vec(),
        };
        let created_ref = candidates
            .iter()
            .find_map(|r| git.resolve_commit(r).map(|c| (*r, c)));
        let (label, created, base_commit) = match created_ref {
            Some((name, commit)) if Some(commit) != head => (
                name.to_string(),
                Snapshot::from_tree(git, git.tree_of(commit)?, &scope)?,
                Some(commit),
            ),
            _ => ("HEAD".to_string(), old.clone(), head),
        };
        // atlas.sum extends the history shared with the base ref: its merge
        // base with HEAD (a branch behind the base has not "removed" records).
        let history = match (base_commit, head) {
            (Some(b), Some(h)) if b != h => match git.repo.merge_base(b, h) {
                Ok(Some(mb)) => Snapshot::from_tree(git, git.tree_of(mb.detach())?, &scope)?,
                _ => created.clone(),
            },
            _ => created.clone(),
        };
        let sides = [old, new, created, history];
        let mut cs = ChangeSet::assemble(Some(git), Mode::Staged, dir, sides, format);
        cs.base_commit = base_commit;
        cs.created_label = label;
        Ok(cs)
    }

    /// A staged change given as files in memory, `(path, content)`: `old`
    /// is `HEAD` and also the created and history sides, `new` the index.
    /// The format is detected from the new side's files, as with no config.
    pub fn from_files(dir: &str, old: &[(&str, &str)], new: &[(&str, &str)]) -> ChangeSet<'static> {
        let snap = |files: &[(&str, &str)]| {
            Snapshot::from_files(files.iter().map(|(p, c)| (*p, c.as_bytes())))
        };
        let old = snap(old);
        let sides = [old.clone(), snap(new), old.clone(), old];
        ChangeSet::assemble(None, Mode::Staged, dir.to_string(), sides, None)
    }

    /// The work tree given as files in memory, audited on its own (`--all`).
    pub fn all_from_files(dir: &str, files: &[(&str, &str)]) -> ChangeSet<'static> {
        let snap = Snapshot::from_files(files.iter().map(|(p, c)| (*p, c.as_bytes())));
        let sides = [snap.clone(), snap, Snapshot::empty(), Snapshot::empty()];
        let mut cs = ChangeSet::assemble(None, Mode::All, dir.to_string(), sides, None);
        cs.created_label = "the work tree".into();
        cs
    }

    /// The change with its directory's format named (as by the config or
    /// `atlas.hcl`) instead of detected; before anything is read.
    pub fn with_format(mut self, format: Option<DirFormat>) -> Self {
        if let Some(f) = format {
            self.format = f;
        }
        self
    }

    pub fn snapshot(&self, side: Side) -> &Snapshot {
        match side {
            Side::Old => &self.old,
            Side::New => &self.new,
            Side::Created => &self.created,
            Side::History => &self.history,
        }
    }

    /// A file's bytes on one side, read once.
    pub fn read(&self, side: Side, path: &str) -> Result<Option<Arc<[u8]>>> {
        self.blobs.get_or_try((side, path.to_string()), || {
            Ok(self.snapshot(side).read(self.git, path)?.map(Arc::from))
        })
    }

    /// Fetches the blobs of `paths` in one go where they are missing (a
    /// partial clone); nothing to do for the work tree or files in memory.
    pub fn prefetch(&self, side: Side, paths: &[String]) -> Result<()> {
        match self.git {
            Some(git) => git.prefetch(
                self.snapshot(side)
                    .blob_ids(paths.iter().map(String::as_str)),
            ),
            None => Ok(()),
        }
    }

    /// The repository path of a file in the migration directory.
    pub fn in_dir(&self, name: &str) -> String {
        if self.dir.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.dir)
        }
    }

    /// The directory as shown in the summary (`.` for the root).
    pub fn dir_shown(&self) -> &str {
        if self.dir.is_empty() {
            "."
        } else {
            &self.dir
        }
    }

    /// The name inside the migration directory of a repository path, if it is
    /// one of the directory's files.
    pub fn dir_name<'p>(&self, path: &'p str) -> Option<&'p str> {
        let rest = if self.dir.is_empty() {
            Some(path)
        } else {
            path.strip_prefix(&self.dir)?.strip_prefix('/')
        };
        rest.filter(|r| self.format.recursive() || !r.contains('/'))
    }

    /// Whether a file of the directory is a migration (not `atlas.sum`, not
    /// notes): every `*.sql` the format reads.
    pub fn is_migration(&self, name: &str) -> bool {
        name.ends_with(".sql")
    }

    /// The names of the directory's files on one side.
    pub fn dir_names(&self, side: Side) -> Vec<String> {
        self.snapshot(side)
            .list_dir(&self.dir, self.format.recursive())
    }

    /// The directory's migrations on one side, in the order the format
    /// applies them; listed once per side.
    pub fn listing(&self, side: Side) -> Arc<Listing> {
        self.listings.get_or(side, || {
            let names = self.dir_names(side);
            Arc::new(Listing::new(self.format, names.iter().map(String::as_str)))
        })
    }

    /// The up files of the new side's migrations, as repository paths.
    pub fn ups(&self) -> Vec<String> {
        self.listing(Side::New)
            .migrations
            .iter()
            .map(|m| self.in_dir(&m.up))
            .collect()
    }

    /// Migration files (up files) on the new side that are not created: the
    /// change's new migrations (every migration with `--all`).
    pub fn new_migrations(&self) -> &[String] {
        self.new_migrations.get_or_init(|| {
            let created = self.listing(Side::Created);
            let created: std::collections::HashSet<&str> =
                created.migrations.iter().map(|m| m.up.as_str()).collect();
            self.listing(Side::New)
                .migrations
                .iter()
                .filter(|m| self.mode == Mode::All || !created.contains(m.up.as_str()))
                .map(|m| self.in_dir(&m.up))
                .collect()
        })
    }

    /// Changes that touch the migration directory.
    pub fn dir_changes(&self) -> impl Iterator<Item = &Change> {
        self.changes
            .iter()
            .filter(|c| c.paths().any(|p| self.dir_name(p).is_some()))
    }

    /// Whether the change touches the migration directory or `path`.
    pub fn touches_sql(&self, path: Option<&str>) -> bool {
        self.mode == Mode::All
            || self.dir_changes().next().is_some()
            || path.is_some_and(|p| self.changes.iter().any(|c| c.paths().any(|x| x == p)))
    }
}
