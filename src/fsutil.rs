//! Writing files so that nothing is ever half-written: a temporary file in the
//! same folder, flushed to disk, then renamed over the target (atomic on
//! POSIX file systems). A crash leaves either the old or the new file.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    // Write through a symlink to its target rather than replacing the link.
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            path.canonicalize().map_err(|e| Error::read(path, e))?
        }
        _ => path.to_path_buf(),
    };
    let folder = target.parent().unwrap_or(Path::new("."));
    let mode = std::fs::metadata(&target).map(|m| m.permissions());
    let mut tmp = tempfile::Builder::new()
        .prefix(".migguard-")
        .suffix(".tmp")
        .tempfile_in(folder)
        .map_err(|e| Error::write(&target, e))?;
    tmp.write_all(bytes).map_err(|e| Error::write(&target, e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::write(&target, e))?;
    let permissions = match mode {
        Ok(p) => p,
        Err(_) => {
            use std::os::unix::fs::PermissionsExt;
            std::fs::Permissions::from_mode(0o644)
        }
    };
    std::fs::set_permissions(tmp.path(), permissions).map_err(|e| Error::write(&target, e))?;
    tmp.persist(&target)
        .map_err(|e| Error::write(&target, e.error))?;
    // Make the rename itself durable.
    if let Ok(dir) = std::fs::File::open(folder) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// An exclusive lock on a folder, held until dropped: two `fix-sum` runs on
/// the same migration directory cannot interleave. The lock is `flock` on the
/// folder itself, so nothing is left behind, and the kernel releases it when
/// the process dies.
pub struct DirLock {
    _dir: std::fs::File,
}

impl DirLock {
    pub fn acquire(dir: &Path) -> Result<DirLock> {
        let file = std::fs::File::open(dir).map_err(|e| Error::read(dir, e))?;
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(DirLock { _dir: file }),
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => Err(Error::file(
                dir,
                "another migguard is rewriting this directory right now (it holds the lock); try again when it has finished",
            )),
            Err(e) => Err(Error::write(dir, e.into())),
        }
    }
}

/// Replaces folder `target` by folder `staged` in one step (Linux
/// `renameat2(RENAME_EXCHANGE)`), then removes the old contents. A crash
/// leaves either the old folder or the new one, never a mix: the staged
/// folder (a sibling named `.migguard-*`) is removed by the next run.
pub fn swap_dirs(staged: &Path, target: &Path) -> Result<()> {
    rustix::fs::renameat_with(
        rustix::fs::CWD,
        staged,
        rustix::fs::CWD,
        target,
        rustix::fs::RenameFlags::EXCHANGE,
    )
    .map_err(|e| Error::write(target, e.into()))?;
    // `staged` now holds the old folder.
    std::fs::remove_dir_all(staged).map_err(|e| Error::write(staged, e))
}

/// Removes `.migguard-*` staging folders an interrupted run left beside `dir`.
pub fn clean_stale_staging(dir: &Path) {
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name().and_then(|n| n.to_str()))
    else {
        return;
    };
    let prefix = format!(".migguard-{name}-");
    if let Ok(entries) = std::fs::read_dir(parent) {
        for e in entries.flatten() {
            if e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(&prefix))
            {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

/// Removes `.migguard-*.tmp` files a killed run left in `dir` (callers hold
/// the directory lock, so no live run is writing them).
pub fn clean_stale_temp_files(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(".migguard-") && n.ends_with(".tmp"))
            {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_keeps_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("atlas.sum");
        std::fs::write(&p, "old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&p, b"new").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
        write_atomic(&dir.path().join("fresh"), b"x").unwrap();
        assert_eq!(
            std::fs::metadata(dir.path().join("fresh"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o644
        );
    }
}
