//! Git access through gix (never a `git` subprocess): the repository as git
//! sees it while a hook runs (`GIT_DIR`, `GIT_WORK_TREE`, `GIT_INDEX_FILE`),
//! revisions and merge bases, and snapshots of one side of a change.

mod changes;
mod snapshot;

use std::path::{Path, PathBuf};

use gix::ObjectId;

pub use changes::{diff, Change, ChangeKind};
pub use snapshot::{FileRef, Scope, Snapshot};

use crate::error::{Error, Result};

pub struct Git {
    pub repo: gix::Repository,
    /// The work tree (canonical).
    pub workdir: PathBuf,
}

fn git_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Usage(format!("{what}: {e}"))
}

impl Git {
    /// Finds the repository from `cwd`, honouring the variables git sets for
    /// hooks. A bare repository has no work tree to check: exit 2.
    pub fn discover(cwd: &Path) -> Result<Git> {
        let repo = gix::ThreadSafeRepository::discover_with_environment_overrides(cwd)
            .map_err(|e| {
                Error::Usage(format!(
                    "not a git repository (or any parent up to the root): {} ({e}); `migguard validate` works without git",
                    cwd.display()
                ))
            })?
            .to_thread_local();
        let workdir = repo
            .workdir()
            .ok_or_else(|| {
                Error::Usage(format!(
                    "{} is a bare repository: `migguard check` needs a work tree (clone it, or run `migguard validate --dir` on a checkout)",
                    repo.git_dir().display()
                ))
            })?
            .to_path_buf();
        let workdir = workdir
            .canonicalize()
            .map_err(|e| Error::read(&workdir, e))?;
        Ok(Git { repo, workdir })
    }

    /// The commit `HEAD` points at; `None` in a repository with no commits yet.
    pub fn head_commit(&self) -> Result<Option<ObjectId>> {
        let head = self
            .repo
            .head()
            .map_err(|e| git_error("cannot read HEAD", e))?;
        Ok(head.id().map(|id| id.detach()))
    }

    /// Resolves a revision to a commit; `None` when it does not exist.
    pub fn resolve_commit(&self, rev: &str) -> Option<ObjectId> {
        let id = self.repo.rev_parse_single(rev).ok()?;
        let commit = id.object().ok()?.peel_to_commit().ok()?;
        Some(commit.id)
    }

    /// Like `resolve_commit`, but a missing revision is exit 2 with the advice
    /// a shallow CI clone needs.
    pub fn require_commit(&self, rev: &str) -> Result<ObjectId> {
        self.resolve_commit(rev).ok_or_else(|| {
            Error::Usage(format!(
                "base revision `{rev}` not found in this repository{}. Fetch it (in CI: actions/checkout with `fetch-depth: 0`, or `git fetch origin {}`).",
                self.shallow_note(),
                rev.strip_prefix("origin/").unwrap_or(rev)
            ))
        })
    }

    fn shallow_note(&self) -> &'static str {
        if self.repo.is_shallow().unwrap_or(false) {
            " (this is a shallow clone)"
        } else {
            ""
        }
    }

    /// `merge-base(a, b)`; exit 2 when history does not reach one (a shallow
    /// clone, or unrelated histories).
    pub fn merge_base(&self, a: ObjectId, b: ObjectId, rev: &str) -> Result<ObjectId> {
        match self.repo.merge_base(a, b) {
            Ok(Some(id)) => Ok(id.detach()),
            Ok(None) => Err(Error::Usage(format!(
                "`{rev}` and HEAD have no common ancestor{}. Fetch the full history (in CI: actions/checkout with `fetch-depth: 0`).",
                self.shallow_note()
            ))),
            Err(e) => Err(Error::Usage(format!(
                "cannot compute merge-base of `{rev}` and HEAD{} ({e}). Fetch the full history (in CI: actions/checkout with `fetch-depth: 0`).",
                self.shallow_note()
            ))),
        }
    }

    pub fn tree_of(&self, commit: ObjectId) -> Result<ObjectId> {
        let commit = self
            .repo
            .find_commit(commit)
            .map_err(|e| git_error("cannot read commit", e))?;
        commit
            .tree_id()
            .map(|id| id.detach())
            .map_err(|e| git_error("cannot read commit tree", e))
    }

    pub fn read_blob(&self, id: ObjectId) -> Result<Vec<u8>> {
        let object = self
            .repo
            .find_object(id)
            .map_err(|e| git_error(&format!("cannot read object {id}"), e))?;
        Ok(object.detach().data)
    }

    /// A path of the work tree relative to its root, `/`-separated.
    pub fn relative(&self, path: &Path) -> Option<String> {
        let normal = crate::config::lexically_normal(path);
        let rel = normal.strip_prefix(&self.workdir).ok()?;
        Some(rel.to_string_lossy().replace('\\', "/"))
    }
}
