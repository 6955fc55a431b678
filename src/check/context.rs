//! Everything the rules read, built once per run: the three snapshots (old,
//! new, created), the change between old and new, and file contents read on
//! demand and kept, so no rule reads or parses a file twice.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use gix::ObjectId;

use crate::atlas_sum::{DirSum, FILE_NAME};
use crate::config::Settings;
use crate::error::Result;
use crate::git::{Change, ChangeKind, Git, Snapshot};
use crate::migrations::{DirFormat, Listing};
use crate::report::Mode;

/// File contents by side and path (`None`: the side has no such file).
type BlobCache = HashMap<(Side, String), Option<Arc<[u8]>>>;

/// Which snapshot a rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Before the change: `HEAD` (staged) or the merge base (base).
    Old,
    /// After the change: the index (staged) or `HEAD` (base).
    New,
    /// Where migrations count as created (immutable).
    Created,
}

pub struct CheckContext<'a> {
    pub settings: &'a Settings,
    pub git: &'a Git,
    pub mode: Mode,
    /// The commit reported as the base (merge base, or the created ref).
    pub base_commit: Option<ObjectId>,
    /// How the created side was chosen, for messages ("origin/main").
    pub created_label: String,
    pub old: Snapshot,
    pub new: Snapshot,
    pub created: Snapshot,
    pub changes: Vec<Change>,
    /// The migration directory, relative to the repository root.
    pub dir: String,
    pub format: DirFormat,
    /// `--regenerate` was given.
    pub regenerate: bool,
    cache: RefCell<BlobCache>,
    sum: RefCell<Option<Arc<DirSum>>>,
}

impl<'a> CheckContext<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        settings: &'a Settings,
        git: &'a Git,
        mode: Mode,
        base_commit: Option<ObjectId>,
        created_label: String,
        old: Snapshot,
        new: Snapshot,
        created: Snapshot,
        dir: String,
        format: DirFormat,
        regenerate: bool,
    ) -> CheckContext<'a> {
        let changes = if mode == Mode::All {
            Vec::new()
        } else {
            crate::git::diff(&old, &new)
        };
        CheckContext {
            settings,
            git,
            mode,
            base_commit,
            created_label,
            old,
            new,
            created,
            changes,
            dir,
            format,
            regenerate,
            cache: RefCell::new(HashMap::new()),
            sum: RefCell::new(None),
        }
    }

    pub fn snapshot(&self, side: Side) -> &Snapshot {
        match side {
            Side::Old => &self.old,
            Side::New => &self.new,
            Side::Created => &self.created,
        }
    }

    /// A file's bytes on one side, read once.
    pub fn read(&self, side: Side, path: &str) -> Result<Option<Arc<[u8]>>> {
        let key = (side, path.to_string());
        if let Some(hit) = self.cache.borrow().get(&key) {
            return Ok(hit.clone());
        }
        let bytes = self
            .snapshot(side)
            .read(Some(self.git), path)?
            .map(Arc::from);
        self.cache.borrow_mut().insert(key, bytes.clone());
        Ok(bytes)
    }

    /// The repository path of a file in the migration directory.
    pub fn in_dir(&self, name: &str) -> String {
        if self.dir.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.dir)
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

    pub fn dir_names(&self, side: Side) -> Vec<String> {
        self.snapshot(side)
            .list_dir(&self.dir, self.format.recursive())
    }

    pub fn listing(&self, side: Side) -> Listing {
        let names = self.dir_names(side);
        Listing::new(self.format, names.iter().map(String::as_str))
    }

    /// The new side's `atlas.sum`, as it is and as Atlas would write it.
    pub fn new_sum(&self) -> Result<Arc<DirSum>> {
        if let Some(sum) = self.sum.borrow().as_ref() {
            return Ok(sum.clone());
        }
        let names = self.dir_names(Side::New);
        let actual = self
            .read(Side::New, &self.in_dir(FILE_NAME))?
            .map(|b| b.to_vec());
        let sum = DirSum::compute(self.format, &names, actual, |n| {
            Ok(self
                .read(Side::New, &self.in_dir(n))?
                .map(|b| b.to_vec())
                .unwrap_or_default())
        })?;
        let sum = Arc::new(sum);
        *self.sum.borrow_mut() = Some(sum.clone());
        Ok(sum)
    }

    /// Changes that touch the migration directory.
    pub fn dir_changes(&self) -> impl Iterator<Item = &Change> {
        self.changes
            .iter()
            .filter(|c| c.paths().any(|p| self.dir_name(p).is_some()))
    }

    /// Whether `path` was added, modified or renamed into place by the change.
    pub fn touched(&self, path: &str) -> bool {
        self.changes
            .iter()
            .any(|c| c.path == path && c.kind != ChangeKind::Deleted)
    }
}

/// The 1-based line and byte span of line `n` (1-based) of `text`.
pub fn line_span(text: &[u8], n: usize) -> Option<std::ops::Range<usize>> {
    let mut start = 0;
    for (i, line) in text.split_inclusive(|b| *b == b'\n').enumerate() {
        if i + 1 == n {
            let len = line.strip_suffix(b"\n").unwrap_or(line).len();
            let len = if line[..len].ends_with(b"\r") {
                len - 1
            } else {
                len
            };
            return Some(start..start + len);
        }
        start += line.len();
    }
    (n == 1).then_some(0..0)
}

/// The first line (1-based) where `new` differs from `old`.
pub fn first_difference(old: &[u8], new: &[u8]) -> usize {
    let mut o = old.split(|b| *b == b'\n');
    let mut n = new.split(|b| *b == b'\n');
    let mut line = 1;
    loop {
        match (o.next(), n.next()) {
            (Some(a), Some(b)) if a == b => line += 1,
            (None, None) => return 1,
            _ => return line,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_differences() {
        let text = b"a\nbb\r\nccc";
        assert_eq!(line_span(text, 1), Some(0..1));
        assert_eq!(line_span(text, 2), Some(2..4));
        assert_eq!(line_span(text, 3), Some(6..9));
        assert_eq!(line_span(text, 4), None);
        assert_eq!(first_difference(b"a\nb\nc\n", b"a\nB\nc\n"), 2);
        assert_eq!(first_difference(b"a\n", b"a\nb\n"), 2);
    }
}
