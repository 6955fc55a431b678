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
