//! Errors that stop migguard from doing its job (exit code 2).
//!
//! Findings are not errors: they are the job. An `Error` means migguard could
//! not check at all (bad config, unreadable file, missing directory), and its
//! message names the file (and line, where there is one) and what to do.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}:{line}:{column}: {message}")]
    Config {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
    /// The pull/merge-request comment could not be posted (the report was
    /// printed already).
    #[error("comment: {0}")]
    Comment(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn file(path: impl AsRef<Path>, message: impl Into<String>) -> Error {
        Error::File {
            path: display_path(path.as_ref()),
            message: message.into(),
        }
    }

    pub fn read(path: impl AsRef<Path>, source: std::io::Error) -> Error {
        Error::Read {
            path: display_path(path.as_ref()),
            source,
        }
    }

    pub fn write(path: impl AsRef<Path>, source: std::io::Error) -> Error {
        Error::Write {
            path: display_path(path.as_ref()),
            source,
        }
    }
}

/// A path as shown to users: relative to the current directory when it is
/// below it, with `/` separators.
pub fn display_path(path: &Path) -> String {
    let shown: PathBuf = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| path.to_path_buf());
    shown.to_string_lossy().replace('\\', "/")
}
