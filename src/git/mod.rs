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
    /// The index, read once (discovery and the staged snapshot share it).
    index: std::cell::OnceCell<std::sync::Arc<gix::index::File>>,
}

fn git_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Git(format!("{what}: {e}"))
}

impl Git {
    /// Finds the repository from `cwd`, honouring the variables git sets for
    /// hooks. A bare repository has no work tree to check: exit 2.
    pub fn discover(cwd: &Path) -> Result<Git> {
        let repo = gix::ThreadSafeRepository::discover_with_environment_overrides(cwd)
            .map_err(|e| {
                Error::Git(format!(
                    "not a git repository (or any parent up to the root): {} ({e}); `migguard validate` works without git",
                    cwd.display()
                ))
            })?
            .to_thread_local();
        let workdir = repo
            .workdir()
            .ok_or_else(|| {
                Error::Git(format!(
                    "{} is a bare repository: `migguard check` needs a work tree (clone it, or run `migguard validate --dir` on a checkout)",
                    repo.git_dir().display()
                ))
            })?
            .to_path_buf();
        let workdir = workdir
            .canonicalize()
            .map_err(|e| Error::read(&workdir, e))?;
        Ok(Git {
            repo,
            workdir,
            index: std::cell::OnceCell::new(),
        })
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
            Error::Git(format!(
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
            Ok(None) => Err(Error::Git(format!(
                "`{rev}` and HEAD have no common ancestor{}. Fetch the full history (in CI: actions/checkout with `fetch-depth: 0`).",
                self.shallow_note()
            ))),
            Err(e) => Err(Error::Git(format!(
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

    /// A blob's bytes. In a partial clone (`git clone --filter=blob:none`) a
    /// blob the clone has not downloaded yet is fetched from the promisor
    /// remote, as git itself would; `path` names the file in errors.
    pub fn read_blob(&self, id: ObjectId, path: &str) -> Result<Vec<u8>> {
        match self.repo.find_object(id) {
            Ok(object) => Ok(object.detach().data),
            Err(first) => {
                let Some(remote) = self.promisor_remote() else {
                    return Err(git_error(
                        &format!("cannot read {path} (object {id})"),
                        first,
                    ));
                };
                self.fetch_promised(&remote, &[id]).map_err(|why| {
                    Error::Git(format!(
                        "cannot read {path}: object {id} is missing from this partial clone and fetching it from `{remote}` failed ({why}); check that the remote is reachable, or clone without `--filter`"
                    ))
                })?;
                self.repo
                    .find_object(id)
                    .map(|o| o.detach().data)
                    .map_err(|e| {
                        Error::Git(format!(
                            "cannot read {path}: object {id} is still missing after fetching it from `{remote}` ({e}); clone without `--filter`"
                        ))
                    })
            }
        }
    }

    /// The remote a partial clone fetches missing objects from
    /// (`extensions.partialClone`, or a remote with `promisor = true`).
    fn promisor_remote(&self) -> Option<String> {
        let config = self.repo.config_snapshot();
        if let Some(name) = config.string("extensions.partialClone") {
            return Some(name.to_string());
        }
        self.repo.remote_names().into_iter().find_map(|name| {
            config
                .boolean(format!("remote.{name}.promisor").as_str())
                .filter(|p| *p)
                .map(|_| name.to_string())
        })
    }

    /// Downloads every blob of `ids` that a partial clone lacks, in one
    /// fetch; does nothing in a full clone.
    pub fn prefetch(&self, ids: impl IntoIterator<Item = ObjectId>) -> Result<()> {
        let missing: Vec<ObjectId> = ids
            .into_iter()
            .filter(|id| !self.repo.has_object(id))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let Some(remote) = self.promisor_remote() else {
            // Reading them will name the file that is missing.
            return Ok(());
        };
        self.fetch_promised(&remote, &missing).map_err(|why| {
            Error::Git(format!(
                "{} object(s) are missing from this partial clone (first {}) and fetching them from `{remote}` failed ({why}); check that the remote is reachable, or clone without `--filter`",
                missing.len(),
                missing[0]
            ))
        })
    }

    /// The fetch git runs for a partial clone's missing objects (gix cannot
    /// fetch yet): `git fetch REMOTE --filter=blob:none --stdin` with the ids.
    fn fetch_promised(&self, remote: &str, ids: &[ObjectId]) -> std::result::Result<(), String> {
        use std::io::Write as _;
        let mut child = std::process::Command::new("git")
            .arg("-C")
            .arg(&self.workdir)
            .args([
                "-c",
                "fetch.negotiationAlgorithm=noop",
                "fetch",
                remote,
                "--no-tags",
                "--no-write-fetch-head",
                "--recurse-submodules=no",
                "--filter=blob:none",
                "--stdin",
            ])
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            for id in ids {
                writeln!(stdin, "{id}").map_err(|e| format!("cannot write to git: {e}"))?;
            }
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("git did not finish: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            let said: Vec<&str> = err
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            Err(if said.is_empty() {
                format!("git fetch exited with {}", out.status)
            } else {
                said.join(" ")
            })
        }
    }

    /// The paths the index tracks that `keep` accepts (for discovering
    /// migration directories without walking the disk). An unreadable or
    /// missing index gives none.
    pub fn tracked_paths(&self, keep: impl Fn(&str) -> bool) -> Vec<String> {
        let Ok(Some(index)) = self.index() else {
            return Vec::new();
        };
        index
            .entries()
            .iter()
            .filter(|e| e.stage_raw() == 0)
            .filter_map(|e| std::str::from_utf8(e.path(&index)).ok())
            .filter(|p| keep(p))
            .map(str::to_string)
            .collect()
    }

    /// The index (`GIT_INDEX_FILE` honoured), read once; `None` when the
    /// repository has none yet.
    pub fn index(&self) -> Result<Option<std::sync::Arc<gix::index::File>>> {
        if let Some(index) = self.index.get() {
            return Ok(Some(index.clone()));
        }
        if !self.repo.index_path().exists() {
            return Ok(None);
        }
        // Like git, which verifies the index's trailing checksum only in
        // fsck: hashing a 10,000-entry index costs more than decoding it.
        let index = gix::index::File::at(
            self.repo.index_path(),
            self.repo.object_hash(),
            true,
            gix::index::decode::Options::default(),
        )
        .map_err(|e| {
            Error::Git(format!(
                "cannot read the git index {}: {e}",
                self.repo.index_path().display()
            ))
        })?;
        Ok(Some(
            self.index
                .get_or_init(|| std::sync::Arc::new(index))
                .clone(),
        ))
    }

    /// A path of the work tree relative to its root, `/`-separated.
    pub fn relative(&self, path: &Path) -> Option<String> {
        let normal = crate::config::lexically_normal(path);
        let rel = normal.strip_prefix(&self.workdir).ok()?;
        Some(rel.to_string_lossy().replace('\\', "/"))
    }
}
