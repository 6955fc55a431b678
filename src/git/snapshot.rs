//! One side of a change: the files of a commit's tree, of the index, or of the
//! work tree, limited to the paths the rules look at (the migration directory,
//! generated paths and their sources), so that a check on a repository of ten
//! thousand files reads only the few trees it needs.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gix::ObjectId;

use super::Git;
use crate::error::{Error, Result};

/// The paths a snapshot loads: folder prefixes (ending in `/`), exact files,
/// or everything (`""`).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    prefixes: Vec<String>,
}

impl Scope {
    pub fn everything() -> Scope {
        Scope {
            prefixes: vec![String::new()],
        }
    }

    /// A folder (everything below it).
    pub fn add_dir(&mut self, dir: &str) {
        let dir = dir.trim_end_matches('/');
        self.prefixes.push(if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        });
    }

    /// One file.
    pub fn add_file(&mut self, path: &str) {
        self.prefixes.push(path.to_string());
    }

    /// What a glob can match: the folder before its first wildcard.
    pub fn add_glob(&mut self, glob: &str) {
        match glob.find(['*', '?', '[', '{']) {
            None => self.add_file(glob),
            Some(i) => match glob[..i].rfind('/') {
                Some(slash) => self.add_dir(&glob[..slash]),
                None => self.add_dir(""),
            },
        }
    }

    pub fn covers(&self, path: &str) -> bool {
        self.prefixes.iter().any(|p| {
            p.is_empty() || path == p || (p.ends_with('/') && path.starts_with(p.as_str()))
        })
    }

    /// Whether anything below folder `dir` (ending in `/`) may be covered.
    fn enters(&self, dir: &str) -> bool {
        self.prefixes.iter().any(|p| {
            p.is_empty() || p.starts_with(dir) || (p.ends_with('/') && dir.starts_with(p.as_str()))
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRef {
    /// A blob in the object database.
    Blob { id: ObjectId, symlink: bool },
    /// A file of the work tree.
    Disk { symlink: bool },
}

#[derive(Clone)]
enum Origin {
    Empty,
    Tree(ObjectId),
    Index(Arc<gix::index::File>),
    /// The work tree's root, and its folders as they resolve (symlinks
    /// followed), found once per folder.
    Disk(PathBuf, Arc<std::sync::Mutex<HashMap<PathBuf, PathBuf>>>),
    /// Files given as bytes (tests and fuzzing: no repository), by blob id.
    Memory(Arc<HashMap<ObjectId, Arc<[u8]>>>),
}

#[derive(Clone)]
pub struct Snapshot {
    /// Repository-relative path to file.
    pub files: BTreeMap<String, FileRef>,
    origin: Origin,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("files", &self.files.len())
            .finish()
    }
}

fn tree_error(e: impl std::fmt::Display) -> Error {
    Error::Git(format!("cannot read a git tree: {e}"))
}

/// Where `full` (a file that is not a symlink) resolves: its folder
/// resolved (cached in `dirs`), then its name.
fn resolved_in(
    dirs: &std::sync::Mutex<HashMap<PathBuf, PathBuf>>,
    full: &Path,
) -> std::io::Result<PathBuf> {
    let (Some(parent), Some(name)) = (full.parent(), full.file_name()) else {
        return full.canonicalize();
    };
    let mut dirs = dirs.lock().unwrap_or_else(|e| e.into_inner());
    let dir = match dirs.get(parent) {
        Some(d) => d.clone(),
        None => {
            let d = parent.canonicalize()?;
            dirs.insert(parent.to_path_buf(), d.clone());
            d
        }
    };
    Ok(dir.join(name))
}

impl Snapshot {
    /// No files: the side before the first commit.
    pub fn empty() -> Snapshot {
        Snapshot {
            files: BTreeMap::new(),
            origin: Origin::Empty,
        }
    }

    /// Files given as `(path, content)`, with the blob ids git would give
    /// them, so that changes, renames and "same file" compare exactly as for
    /// a commit. Reading needs no repository.
    pub fn from_files<'f>(files: impl IntoIterator<Item = (&'f str, &'f [u8])>) -> Snapshot {
        let mut refs = BTreeMap::new();
        let mut blobs = HashMap::new();
        for (path, bytes) in files {
            // Hashing only fails on a detected SHA-1 collision attack; such
            // a file gets the null id (compared as changed, read by path).
            let id = gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::objs::Kind::Blob, bytes)
                .unwrap_or_else(|_| ObjectId::null(gix::hash::Kind::Sha1));
            blobs.insert(id, Arc::from(bytes));
            refs.insert(path.to_string(), FileRef::Blob { id, symlink: false });
        }
        Snapshot {
            files: refs,
            origin: Origin::Memory(Arc::new(blobs)),
        }
    }

    pub fn from_tree(git: &Git, tree: ObjectId, scope: &Scope) -> Result<Snapshot> {
        let mut files = BTreeMap::new();
        walk_tree(git, tree, "", scope, &mut files)?;
        Ok(Snapshot {
            files,
            origin: Origin::Tree(tree),
        })
    }

    /// The index: what `git commit` would record. Unmerged and intent-to-add
    /// entries are left out; sparse-index folders are expanded from their trees.
    pub fn from_index(git: &Git, scope: &Scope) -> Result<Snapshot> {
        let Some(index) = git.index()? else {
            return Ok(Snapshot {
                files: BTreeMap::new(),
                origin: Origin::Empty,
            });
        };
        let mut files = BTreeMap::new();
        for entry in index.entries() {
            if entry.stage_raw() != 0
                || entry
                    .flags
                    .contains(gix::index::entry::Flags::INTENT_TO_ADD)
            {
                continue;
            }
            let Ok(path) = std::str::from_utf8(entry.path(&index)) else {
                continue;
            };
            let mode = entry.mode;
            if mode.is_sparse() {
                let dir = format!("{}/", path.trim_end_matches('/'));
                if scope.enters(&dir) {
                    walk_tree(git, entry.id, &dir, scope, &mut files)?;
                }
                continue;
            }
            if mode == gix::index::entry::Mode::COMMIT || !scope.covers(path) {
                continue;
            }
            files.insert(
                path.to_string(),
                FileRef::Blob {
                    id: entry.id,
                    symlink: mode == gix::index::entry::Mode::SYMLINK,
                },
            );
        }
        Ok(Snapshot {
            files,
            origin: Origin::Index(index),
        })
    }

    /// The work tree as it is on disk (for `--all`).
    pub fn from_disk(root: &Path, scope: &Scope) -> Result<Snapshot> {
        let mut files = BTreeMap::new();
        for prefix in &scope.prefixes {
            let full = root.join(prefix);
            if prefix.is_empty() || prefix.ends_with('/') {
                walk_disk(&full, prefix, &mut files)?;
            } else if let Ok(meta) = std::fs::symlink_metadata(&full) {
                if !meta.is_dir() {
                    files.insert(
                        prefix.clone(),
                        FileRef::Disk {
                            symlink: meta.file_type().is_symlink(),
                        },
                    );
                }
            }
        }
        Ok(Snapshot {
            files,
            origin: Origin::Disk(root.to_path_buf(), Default::default()),
        })
    }

    /// The blob ids of `paths` on this side (for prefetching in a partial
    /// clone).
    pub fn blob_ids<'p>(&self, paths: impl IntoIterator<Item = &'p str>) -> Vec<ObjectId> {
        paths
            .into_iter()
            .filter_map(|p| match self.files.get(p) {
                Some(FileRef::Blob { id, .. }) => Some(*id),
                _ => None,
            })
            .collect()
    }

    /// The files directly in `dir` on this side, also when `dir` is outside
    /// the scope the snapshot was loaded with (a Go package found by
    /// following an import); read them with `read`, which looks such paths
    /// up on demand.
    pub fn list_dir_anywhere(&self, git: Option<&Git>, dir: &str) -> Result<Vec<String>> {
        let mut scope = Scope::default();
        scope.add_dir(dir);
        let narrow = match (&self.origin, git) {
            (Origin::Empty, _) => return Ok(Vec::new()),
            (Origin::Memory(_), _) | (_, None) => return Ok(self.list_dir(dir, false)),
            (Origin::Tree(tree), Some(git)) => Snapshot::from_tree(git, *tree, &scope)?,
            (Origin::Index(_), Some(git)) => Snapshot::from_index(git, &scope)?,
            (Origin::Disk(root, _), Some(_)) => Snapshot::from_disk(root, &scope)?,
        };
        Ok(narrow.list_dir(dir, false))
    }

    pub fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// Files directly in folder `dir` (and below it when `recursive`), as
    /// names relative to `dir`.
    pub fn list_dir(&self, dir: &str, recursive: bool) -> Vec<String> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{}/", dir.trim_end_matches('/'))
        };
        self.files
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .map(|(p, _)| p[prefix.len()..].to_string())
            .filter(|rel| recursive || !rel.contains('/'))
            .collect()
    }

    /// Whether `path` is the same file in both snapshots (same blob).
    pub fn same_as(&self, other: &Snapshot, path: &str) -> bool {
        matches!((self.files.get(path), other.files.get(path)), (Some(a @ FileRef::Blob { .. }), Some(b)) if a == b)
    }

    /// Reads a file; `None` when this side does not have it. Symlinks are
    /// followed only to targets inside the repository.
    pub fn read(&self, git: Option<&Git>, path: &str) -> Result<Option<Vec<u8>>> {
        self.read_following(git, path, 0)
    }

    fn read_following(
        &self,
        git: Option<&Git>,
        path: &str,
        depth: usize,
    ) -> Result<Option<Vec<u8>>> {
        let entry = match self.files.get(path) {
            Some(e) => Some(*e),
            None => self.lookup(git, path)?,
        };
        match entry {
            None => Ok(None),
            Some(FileRef::Disk { symlink }) => {
                let Origin::Disk(root, dirs) = &self.origin else {
                    return Ok(None);
                };
                let full = root.join(path);
                let target = if symlink {
                    full.canonicalize().map_err(|e| Error::read(&full, e))?
                } else {
                    // A plain file resolves where its folder resolves: each
                    // folder is resolved once, not once per file.
                    resolved_in(dirs, &full).map_err(|e| Error::read(&full, e))?
                };
                if !target.starts_with(root) {
                    return Err(Error::file(
                        &full,
                        format!(
                            "refusing to follow a symlink to {}: it points outside the repository",
                            target.display()
                        ),
                    ));
                }
                std::fs::read(&full)
                    .map(Some)
                    .map_err(|e| Error::read(&full, e))
            }
            Some(FileRef::Blob { id, .. }) if matches!(self.origin, Origin::Memory(_)) => {
                let Origin::Memory(blobs) = &self.origin else {
                    return Ok(None);
                };
                Ok(blobs.get(&id).map(|b| b.to_vec()))
            }
            Some(FileRef::Blob { id, symlink }) => {
                let git = git
                    .ok_or_else(|| Error::Git("reading a git object needs a repository".into()))?;
                let bytes = git.read_blob(id, path)?;
                if !symlink {
                    return Ok(Some(bytes));
                }
                let target = String::from_utf8_lossy(&bytes).to_string();
                let parent = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                let joined =
                    crate::config::lexically_normal(&Path::new("/").join(parent).join(&target));
                let inside = !Path::new(&target).is_absolute() && !escapes(parent, &target);
                if !inside || depth > 8 {
                    return Err(Error::file(
                        path,
                        format!("refusing to follow a symlink to {target}: it points outside the repository"),
                    ));
                }
                let resolved = joined.to_string_lossy().trim_start_matches('/').to_string();
                self.read_following(Some(git), &resolved, depth + 1)
            }
        }
    }

    /// Finds a path outside the loaded scope (a symlink target).
    fn lookup(&self, git: Option<&Git>, path: &str) -> Result<Option<FileRef>> {
        match (&self.origin, git) {
            (Origin::Tree(tree), Some(git)) => {
                let tree = git.repo.find_tree(*tree).map_err(tree_error)?;
                let entry = tree.lookup_entry_by_path(path).map_err(tree_error)?;
                Ok(entry
                    .filter(|e| e.mode().is_blob_or_symlink())
                    .map(|e| FileRef::Blob {
                        id: e.object_id(),
                        symlink: e.mode().is_link(),
                    }))
            }
            (Origin::Index(index), _) => {
                Ok(index.entry_by_path(path.into()).map(|e| FileRef::Blob {
                    id: e.id,
                    symlink: e.mode == gix::index::entry::Mode::SYMLINK,
                }))
            }
            (Origin::Disk(root, _), _) => {
                let full = root.join(path);
                Ok(full.is_file().then(|| FileRef::Disk {
                    symlink: std::fs::symlink_metadata(&full)
                        .is_ok_and(|m| m.file_type().is_symlink()),
                }))
            }
            _ => Ok(None),
        }
    }
}

/// Whether a link at folder `parent` pointing to `target` leaves the root.
fn escapes(parent: &str, target: &str) -> bool {
    let mut depth: isize = parent.split('/').filter(|c| !c.is_empty()).count() as isize;
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

fn walk_tree(
    git: &Git,
    tree: ObjectId,
    prefix: &str,
    scope: &Scope,
    out: &mut BTreeMap<String, FileRef>,
) -> Result<()> {
    let tree = git.repo.find_tree(tree).map_err(tree_error)?;
    let decoded = tree.decode().map_err(tree_error)?;
    for entry in &decoded.entries {
        let Ok(name) = std::str::from_utf8(entry.filename) else {
            continue;
        };
        let path = format!("{prefix}{name}");
        if entry.mode.is_tree() {
            let dir = format!("{path}/");
            if scope.enters(&dir) {
                walk_tree(git, entry.oid.to_owned(), &dir, scope, out)?;
            }
        } else if entry.mode.is_blob_or_symlink() && scope.covers(&path) {
            out.insert(
                path,
                FileRef::Blob {
                    id: entry.oid.to_owned(),
                    symlink: entry.mode.is_link(),
                },
            );
        }
    }
    Ok(())
}

fn walk_disk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, FileRef>) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::read(dir, e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if prefix.is_empty() && name == ".git" {
            continue;
        }
        let file_type = entry
            .file_type()
            .map_err(|e| Error::read(entry.path(), e))?;
        let rel = format!("{prefix}{name}");
        if file_type.is_dir() {
            walk_disk(&entry.path(), &format!("{rel}/"), out)?;
        } else {
            out.insert(
                rel,
                FileRef::Disk {
                    symlink: file_type.is_symlink(),
                },
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_matches_prefixes_files_and_globs() {
        let mut s = Scope::default();
        s.add_dir("tools/migrate/migrations");
        s.add_glob("openmeter/ent/db/**");
        s.add_glob("go.mod");
        assert!(s.covers("tools/migrate/migrations/1.sql"));
        assert!(!s.covers("tools/migrate/views.sql"));
        assert!(s.covers("openmeter/ent/db/client.go"));
        assert!(s.covers("go.mod"));
        assert!(!s.covers("go.sum"));
        assert!(s.enters("tools/"));
        assert!(s.enters("openmeter/ent/db/sub/"));
        assert!(!s.enters("docs/"));
        let mut all = Scope::default();
        all.add_glob("**/*.go");
        assert!(all.covers("x/y.go") && all.enters("x/"));
    }

    #[test]
    fn plain_files_under_a_folder_that_leaves_the_repository_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.sql"), "SELECT 'secret';\n").unwrap();
        let repo = tempfile::tempdir().unwrap();
        let root = repo.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("db")).unwrap();
        std::fs::write(root.join("db/1.sql"), "SELECT 1;\n").unwrap();
        std::fs::write(root.join("db/2.sql"), "SELECT 2;\n").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("linked")).unwrap();
        let mut scope = Scope::default();
        scope.add_dir("db");
        scope.add_dir("linked");
        let snap = Snapshot::from_disk(&root, &scope).unwrap();
        // Files of a real folder: the folder is resolved once, both read.
        assert_eq!(
            snap.read(None, "db/1.sql").unwrap().unwrap(),
            b"SELECT 1;\n"
        );
        assert_eq!(
            snap.read(None, "db/2.sql").unwrap().unwrap(),
            b"SELECT 2;\n"
        );
        // A plain file reached through a linked folder resolves outside.
        let err = snap
            .read(None, "linked/secret.sql")
            .unwrap_err()
            .to_string();
        assert!(err.contains("refusing to follow a symlink"), "{err}");
    }

    #[test]
    fn symlink_escapes_are_detected() {
        assert!(escapes("a", "../../x"));
        assert!(!escapes("a/b", "../c"));
        assert!(escapes("", "../x"));
    }
}
