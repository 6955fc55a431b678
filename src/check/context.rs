//! Everything the rules read: the change set and the lazy views of it, one
//! per domain (SQL parsed and replayed, the new `atlas.sum`, the ent
//! schemas), each computed on first use and shared by every rule.

use std::cell::{OnceCell, RefCell};
use std::sync::Arc;

use super::{ChangeSet, Side, SoftDelete};
use crate::atlas_sum::view::SumView;
use crate::atlas_sum::DirSum;
use crate::config::{Globs, Settings};
use crate::ent::view::EntView;
use crate::ent::World;
use crate::error::Result;
use crate::sql::lint::Lint;
use crate::sql::view::{LintOptions, SqlView};
use crate::sql::{ParsedFile, Replay};

pub struct CheckContext<'a> {
    pub settings: &'a Settings,
    /// What is compared.
    pub cs: ChangeSet<'a>,
    pub sql: SqlView,
    pub sum: SumView,
    pub ent: EntView<'a>,
    /// `--regenerate` was given.
    pub regenerate: bool,
    /// What the summary should say beside the findings (a repair, a squash).
    notes: RefCell<Vec<String>>,
    pub(super) soft_delete: OnceCell<Arc<SoftDelete>>,
    lint: OnceCell<Arc<Lint>>,
    /// The safety analysis running on a thread of its own, when started
    /// early ([`CheckContext::parse_ups_and_start_lint`]).
    lint_running: RefCell<Option<std::thread::JoinHandle<Lint>>>,
}

impl<'a> CheckContext<'a> {
    pub fn new(settings: &'a Settings, cs: ChangeSet<'a>, regenerate: bool) -> CheckContext<'a> {
        CheckContext {
            settings,
            cs,
            sql: SqlView::default(),
            sum: SumView::default(),
            ent: EntView::new(&settings.config.ent),
            regenerate,
            notes: RefCell::new(Vec::new()),
            soft_delete: OnceCell::new(),
            lint: OnceCell::new(),
            lint_running: RefCell::new(None),
        }
    }

    /// Adds a line to the report's summary.
    pub fn note(&self, text: String) {
        self.notes.borrow_mut().push(text);
    }

    /// The summary lines rules added.
    pub fn take_notes(&self) -> Vec<String> {
        std::mem::take(&mut self.notes.borrow_mut())
    }

    /// A file's bytes on one side, read once.
    pub fn read(&self, side: Side, path: &str) -> Result<Option<Arc<[u8]>>> {
        self.cs.read(side, path)
    }

    /// A SQL file of one side, parsed once.
    pub fn parsed(&self, side: Side, path: &str) -> Result<Option<Arc<ParsedFile>>> {
        self.sql.parsed(&self.cs, side, path)
    }

    /// Parses many files at once, on every core.
    pub fn parse_all(&self, side: Side, paths: &[String]) -> Result<()> {
        self.sql.parse_all(&self.cs, side, paths)
    }

    /// Every migration's up statements of the new side, applied in order.
    pub fn replay(&self) -> Result<Arc<Replay>> {
        self.sql.replay(&self.cs)
    }

    /// The views a generated views file creates on one side; `None` when
    /// the side has no such file.
    pub fn views_of(&self, side: Side, path: &str) -> Result<Option<crate::sql::view::Views>> {
        Ok(self
            .parsed(side, path)?
            .map(|file| crate::sql::view::views_of(&file, path)))
    }

    /// The new side's `atlas.sum`, as it is and as Atlas would write it.
    pub fn new_sum(&self) -> Result<Arc<DirSum>> {
        self.sum
            .new_side(&self.cs, self.settings.dir_format.is_some())
    }

    /// The ent schema package and mixin packages of one side, read once;
    /// `None` when `ent.schema` is not configured or the side has no schema.
    pub fn ent_world(&self, side: Side) -> Result<Option<Arc<World>>> {
        self.ent.ent_world(&self.cs, side)
    }

    /// Tables exempt from conventions (`conventions.exempt_tables`, else
    /// `atlas.hcl`'s excluded tables), compiled when the settings loaded.
    pub fn exempt_tables(&self) -> &Globs {
        &self.settings.exempt_tables
    }

    /// `--all`: parses every up migration on every core with the safety
    /// analysis running beside, on a thread of its own, reading each
    /// migration as soon as it is parsed; the rules that do not need it run
    /// after, while it ends. [`CheckContext::atlas_lint`] collects it. A
    /// directory named for another database is only parsed.
    pub fn parse_ups_and_start_lint(&self) -> Result<()> {
        if self.lint.get().is_some()
            || self.lint_running.borrow().is_some()
            || crate::migrations::other_dialect_named_by(&self.cs.dir).is_some()
        {
            return self.parse_all(Side::New, &self.cs.ups());
        }
        let analysis = self.sql.parse_and_lint(&self.cs, self.lint_options())?;
        *self.lint_running.borrow_mut() = Some(analysis);
        Ok(())
    }

    fn lint_options(&self) -> LintOptions {
        let conventions = &self.settings.config.conventions;
        LintOptions {
            postgres_version: conventions.postgres_version.map_or(15, |v| v.major),
            postgres_minor: conventions.postgres_version.and_then(|v| v.minor),
            lock_timeout_set_by_runner: conventions.lock_timeout_set_by_runner.unwrap_or(false),
        }
    }

    /// Atlas's analyzers and the lock rules over the new migrations, once
    /// per run, shared by the rules that report their codes; the summary
    /// says how many diagnostics `atlas:nolint` directives skipped.
    pub fn atlas_lint(&self) -> Result<Arc<Lint>> {
        if let Some(l) = self.lint.get() {
            return Ok(l.clone());
        }
        // The safety rules speak PostgreSQL's locks, rewrites and failure
        // modes: a directory named for another database is not judged.
        let lint = if let Some(db) = crate::migrations::other_dialect_named_by(&self.cs.dir) {
            self.note(format!(
                "migration-safety rules not run in {}: its path names {db}, and they judge PostgreSQL migrations only",
                self.cs.dir
            ));
            Lint::default()
        } else {
            let running = self.lint_running.borrow_mut().take();
            let analysis = match running {
                Some(handle) => handle,
                None => self.sql.parse_and_lint(&self.cs, self.lint_options())?,
            };
            let lint = analysis
                .join()
                .map_err(|p| crate::par::panicked("the safety analysis thread", p))?;
            if lint.skipped > 0 {
                self.note(format!(
                    "{} finding(s) skipped by -- atlas:nolint directives in {}",
                    lint.skipped,
                    self.cs.dir_shown()
                ));
            }
            lint
        };
        Ok(self.lint.get_or_init(|| Arc::new(lint)).clone())
    }
}

/// The 1-based line and byte span of line `n` (1-based) of `text`.
pub fn line_span(text: &[u8], n: usize) -> Option<std::ops::Range<usize>> {
    let mut start = 0;
    for (i, line) in text.split_inclusive(|b| *b == b'\n').enumerate() {
        if i + 1 == n {
            let len = line.strip_suffix(b"\n").unwrap_or(line).len();
            let len = if line[..len].ends_with(b"\r") {
                len - 1
            } else {
                len
            };
            return Some(start..start + len);
        }
        start += line.len();
    }
    (n == 1).then_some(0..0)
}

/// The first line (1-based) where `new` differs from `old`.
pub fn first_difference(old: &[u8], new: &[u8]) -> usize {
    let mut o = old.split(|b| *b == b'\n');
    let mut n = new.split(|b| *b == b'\n');
    let mut line = 1;
    loop {
        match (o.next(), n.next()) {
            (Some(a), Some(b)) if a == b => line += 1,
            (None, None) => return 1,
            _ => return line,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_differences() {
        let text = b"a\nbb\r\nccc";
        assert_eq!(line_span(text, 1), Some(0..1));
        assert_eq!(line_span(text, 2), Some(2..4));
        assert_eq!(line_span(text, 3), Some(6..9));
        assert_eq!(line_span(text, 4), None);
        assert_eq!(first_difference(b"a\nb\nc\n", b"a\nB\nc\n"), 2);
        assert_eq!(first_difference(b"a\n", b"a\nb\n"), 2);
    }
}
