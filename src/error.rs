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
    /// The command line asks for something impossible (an unknown rule, a
    /// flag combination, a directory outside the repository).
    #[error("{0}")]
    Usage(String),
    /// The repository could not be read (an object, a tree, a ref).
    #[error("{0}")]
    Git(String),
    /// PostgreSQL (a throwaway cluster, a container, `--dev-url`) could not
    /// be started, reached or read.
    #[error("{0}")]
    Database(String),
    /// A process migguard runs (the generate command, initdb, postgres,
    /// git fetch) could not run or failed.
    #[error("{0}")]
    Command(String),
    /// migguard itself failed (a worker thread panicked): a bug to report.
    #[error("internal error: {0} (please report this)")]
    Internal(String),
    /// The pull/merge-request comment could not be posted (the report was
    /// printed already).
    #[error("comment: {0}")]
    Comment(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a command that did its job ended; an `Error` is the other outcome.
/// `cli::main` turns both into the process's exit code, in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Nothing to report at the failing severity: 0.
    Clean,
    /// Findings at the failing severity (or `--check` would change files): 1.
    Findings,
    /// Ctrl-C or SIGTERM: scratch databases and clusters were removed: 130.
    Interrupted,
}

impl ExitStatus {
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Clean => 0,
            ExitStatus::Findings => 1,
            ExitStatus::Interrupted => 130,
        }
    }
}

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
