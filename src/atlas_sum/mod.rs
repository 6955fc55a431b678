//! `atlas.sum`, Atlas's migration directory integrity file: computing it
//! byte-exactly, reading an existing one, and explaining the differences.

pub mod compare;
mod compute;
mod diagnose;
mod parse;
pub mod view;

pub use compute::{is_sum_ignored, leading_directive, HashFile, SumEntry};
pub use diagnose::{diagnose, Drift, DriftKind};
pub use parse::{LineRef, ParsedEntry, ParsedSum};

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
    ///
    /// Which files are hashed: when the format is `configured` (flag,
    /// config, atlas.hcl), the format's scope (golang-migrate: `*.up.sql`,
    /// unless the existing file still lists `.down.sql` files). Otherwise the
    /// existing `atlas.sum` decides (an entry that is not `*.up.sql` means
    /// every `*.sql`), and with no `atlas.sum`, Atlas's own default: every
    /// `*.sql` of the folder.
    pub fn compute<F>(
        format: DirFormat,
        configured: bool,
        names: &[String],
        actual: Option<Vec<u8>>,
        mut read: F,
    ) -> crate::error::Result<DirSum>
    where
        F: FnMut(&str) -> crate::error::Result<Vec<u8>>,
    {
        let parsed = actual.as_deref().map(ParsedSum::parse);
        let up_only = if configured {
            format == DirFormat::GolangMigrate
                && !parsed.as_ref().is_some_and(ParsedSum::lists_down_files)
        } else {
            // Entries that name SQL files (a conflict's second header is
            // read as an entry without a name).
            parsed.as_ref().is_some_and(|p| {
                let mut sql = p
                    .entries
                    .iter()
                    .filter(|e| e.name.ends_with(".sql"))
                    .peekable();
                sql.peek().is_some() && sql.all(|e| e.name.ends_with(".up.sql"))
            })
        };
        let legacy_all_sql = format == DirFormat::GolangMigrate && !up_only;
        let scope_format = if up_only {
            DirFormat::GolangMigrate
        } else if format.recursive() {
            format
        } else {
            DirFormat::Atlas
        };
        let mut scope: Vec<&String> = names
            .iter()
            .filter(|n| scope_format.in_sum_scope(n, false))
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
