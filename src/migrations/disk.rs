//! Reading a migration directory from disk, never outside the repository.
//!
//! A symlink (the directory itself, or a file in it) is followed only when its
//! target stays inside the boundary (the repository root, or the directory
//! itself when it lies outside any repository): a pull request must not make
//! migguard read `/etc/passwd` into a report.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

#[derive(Debug)]
pub struct DiskDir {
    pub path: PathBuf,
    boundary: PathBuf,
    /// Every regular file (or allowed symlink to one), relative, sorted.
    pub names: Vec<String>,
}

impl DiskDir {
    /// Lists `path`. `boundary` is the canonical folder nothing may resolve
    /// outside of; `recursive` descends into non-hidden sub-folders (Flyway).
    pub fn open(path: &Path, boundary: &Path, recursive: bool) -> Result<DiskDir> {
        let meta = fs::symlink_metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::file(
                path,
                "the migration directory does not exist (set it with --dir or `migrations.dir` in .migguard.yaml)",
            ),
            _ => Error::read(path, e),
        })?;
        if meta.file_type().is_symlink() {
            resolve_inside(path, boundary)?;
        }
        let meta = fs::metadata(path).map_err(|e| Error::read(path, e))?;
        if !meta.is_dir() {
            return Err(Error::file(
                path,
                "the migration directory is a file, not a directory",
            ));
        }
        let mut dir = DiskDir {
            path: path.to_path_buf(),
            boundary: boundary.to_path_buf(),
            names: Vec::new(),
        };
        dir.scan(path, "", recursive)?;
        dir.names.sort_unstable();
        Ok(dir)
    }

    fn scan(&mut self, folder: &Path, prefix: &str, recursive: bool) -> Result<()> {
        let entries = fs::read_dir(folder).map_err(|e| Error::read(folder, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::read(folder, e))?;
            let full = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                if entry.file_name().as_encoded_bytes().ends_with(b".sql") {
                    return Err(Error::file(&full, "the file name is not valid UTF-8"));
                }
                continue;
            };
            let mut file_type = entry.file_type().map_err(|e| Error::read(&full, e))?;
            if file_type.is_symlink() {
                // Only what a migration tool would read needs to be safe to read.
                if !name.ends_with(".sql") && name != crate::atlas_sum::FILE_NAME && !recursive {
                    continue;
                }
                resolve_inside(&full, &self.boundary)?;
                file_type = fs::metadata(&full)
                    .map_err(|e| Error::read(&full, e))?
                    .file_type();
            }
            let rel = format!("{prefix}{name}");
            if file_type.is_dir() {
                if recursive && !name.starts_with('.') {
                    self.scan(&full, &format!("{rel}/"), recursive)?;
                } else if name.ends_with(".sql") && prefix.is_empty() {
                    return Err(Error::file(
                        &full,
                        "a directory named like a migration file; Atlas would fail to read it",
                    ));
                }
            } else {
                self.names.push(rel);
            }
        }
        Ok(())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.names
            .binary_search_by(|n| n.as_str().cmp(name))
            .is_ok()
    }

    /// Reads a listed file.
    pub fn read(&self, name: &str) -> Result<Vec<u8>> {
        let full = self.path.join(name);
        fs::read(&full).map_err(|e| Error::read(&full, e))
    }

    /// Reads a file if the directory holds it.
    pub fn read_optional(&self, name: &str) -> Result<Option<Vec<u8>>> {
        if self.contains(name) {
            self.read(name).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// Canonicalises a symlink and checks its target stays inside `boundary`.
fn resolve_inside(link: &Path, boundary: &Path) -> Result<PathBuf> {
    let target = fs::canonicalize(link).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::file(link, "a symlink whose target does not exist"),
        _ => Error::read(link, e),
    })?;
    if !target.starts_with(boundary) {
        return Err(Error::file(
            link,
            format!(
                "refusing to follow a symlink to {}: it points outside the repository ({})",
                target.display(),
                boundary.display()
            ),
        ));
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_files_and_refuses_outside_symlinks() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.sql"), "x").unwrap();
        let repo = tempfile::tempdir().unwrap();
        let root = repo.path().canonicalize().unwrap();
        let dir = root.join("migrations");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("1_a.sql"), "A;").unwrap();
        std::fs::write(root.join("shared.sql"), "S;").unwrap();
        std::os::unix::fs::symlink(root.join("shared.sql"), dir.join("2_b.sql")).unwrap();
        let d = DiskDir::open(&dir, &root, false).unwrap();
        assert_eq!(d.names, ["1_a.sql", "2_b.sql"]);
        assert_eq!(d.read("2_b.sql").unwrap(), b"S;");

        std::os::unix::fs::symlink(outside.path().join("secret.sql"), dir.join("3_c.sql")).unwrap();
        let err = DiskDir::open(&dir, &root, false).unwrap_err().to_string();
        assert!(err.contains("refusing to follow a symlink"), "{err}");
    }

    #[test]
    fn missing_and_file_directories_are_errors() {
        let repo = tempfile::tempdir().unwrap();
        let root = repo.path().canonicalize().unwrap();
        let err = DiskDir::open(&root.join("nope"), &root, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not exist"), "{err}");
        std::fs::write(root.join("file"), "").unwrap();
        let err = DiskDir::open(&root.join("file"), &root, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is a file"), "{err}");
    }
}
