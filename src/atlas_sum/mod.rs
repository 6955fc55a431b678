//! `atlas.sum`, Atlas's migration directory integrity file: computing it
//! byte-exactly, reading an existing one, and explaining the differences.

mod compute;
mod diagnose;
mod parse;

pub use compute::{is_sum_ignored, leading_directive, Directive, HashFile, SumEntry};
pub use diagnose::{diagnose, Drift, DriftKind};
pub use parse::{ConflictBlock, LineRef, ParsedEntry, ParsedSum};

/// The file name Atlas uses, inside the migration directory.
pub const FILE_NAME: &str = "atlas.sum";

use std::collections::HashSet;

use crate::migrations::DirFormat;

/// A migration directory's `atlas.sum` as it is and as Atlas would write it.
#[derive(Debug, Clone)]
pub struct DirSum {
    pub expected: HashFile,
    /// The file's bytes, `None` when there is no `atlas.sum`.
    pub actual: Option<Vec<u8>>,
    /// Files in scope whose first line is `atlas:sum ignore`.
    pub ignored: HashSet<String>,
    /// A golang-migrate directory whose `atlas.sum` still hashes `.down.sql`.
    pub legacy_all_sql: bool,
    /// How many files were hashed.
    pub files_hashed: usize,
}

impl DirSum {
    /// Computes the expected `atlas.sum` from the directory's file `names`,
    /// reading each file in scope with `read`.
    pub fn compute<F>(
        format: DirFormat,
        names: &[String],
        actual: Option<Vec<u8>>,
        mut read: F,
    ) -> crate::error::Result<DirSum>
    where
        F: FnMut(&str) -> crate::error::Result<Vec<u8>>,
    {
        let legacy_all_sql = format == DirFormat::GolangMigrate
            && actual
                .as_deref()
                .is_some_and(|b| ParsedSum::parse(b).lists_down_files());
        let mut scope: Vec<&String> = names
            .iter()
            .filter(|n| format.in_sum_scope(n, legacy_all_sql))
            .collect();
        scope.sort_unstable();
        let files = scope
            .iter()
            .map(|n| Ok((n.as_str(), read(n)?)))
            .collect::<crate::error::Result<Vec<_>>>()?;
        let ignored = files
            .iter()
            .filter(|(_, b)| is_sum_ignored(b))
            .map(|(n, _)| n.to_string())
            .collect();
        let expected = HashFile::compute(files.iter().map(|(n, b)| (*n, b.as_slice())));
        Ok(DirSum {
            expected,
            actual,
            ignored,
            legacy_all_sql,
            files_hashed: files.len(),
        })
    }

    pub fn drifts(&self) -> Vec<Drift> {
        diagnose(&self.expected, self.actual.as_deref(), &self.ignored)
    }

    pub fn is_exact(&self) -> bool {
        match self.actual.as_deref() {
            Some(bytes) => bytes == self.expected.marshal().as_bytes(),
            None => self.files_hashed == 0,
        }
    }
}
