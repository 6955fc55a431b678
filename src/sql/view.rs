//! The SQL of a change set, read lazily: each migration file parsed once
//! (on every core when many are asked at once), the new side's migrations
//! replayed into a schema once, and Atlas's analyzers run once.

use std::cell::OnceCell;
use std::collections::{BTreeMap, HashSet};

use sqlparser::ast::{Query, Statement};
use std::sync::Arc;

use crate::check::{ChangeSet, Mode, Side};
use crate::error::Result;
use crate::memo::Memo;
use crate::sql::coverage::Coverage;
use crate::sql::lint::Lint;
use crate::sql::normalize::normalize_query;
use crate::sql::schema::object_name;
use crate::sql::{Origin, ParsedFile, Replay};

#[derive(Default)]
pub struct SqlView {
    parsed: Memo<(Side, String), Arc<ParsedFile>>,
    /// Files read only for the summary's counts (the down files under
    /// `--all`): their trees are dropped as soon as they are counted.
    counted: Memo<(Side, String), Arc<Counted>>,
    /// Files being counted on a thread of their own (see
    /// [`SqlView::count_in_background`]).
    counting: std::cell::RefCell<Option<Counting>>,
    replay: OnceCell<Arc<Replay>>,
}

/// A file to read: path, bytes, and where the up section ends.
type PendingFile = (String, Arc<[u8]>, usize);
type Pending = Vec<PendingFile>;

/// A thread counting files, and the side they belong to.
type Counting = (Side, std::thread::JoinHandle<Vec<(String, Counted)>>);

/// What the summary keeps of a file no rule reads: its statement count and
/// the statements sqlparser could not read, as (line, first words).
struct Counted {
    stmts: usize,
    unparsed: Vec<(usize, String)>,
}

impl Counted {
    /// One pending file (path, bytes, end of its up section) parsed and
    /// counted, its tree dropped.
    fn read((path, bytes, end): &PendingFile) -> (String, Counted) {
        let file = ParsedFile::parse(&bytes[..*end]);
        let counted = Counted {
            stmts: file.stmts.len(),
            unparsed: unparsed_of(&file),
        };
        (path.clone(), counted)
    }
}

/// The statements of `file` sqlparser could not read, as (line, first
/// words).
fn unparsed_of(file: &ParsedFile) -> Vec<(usize, String)> {
    file.stmts
        .iter()
        .filter(|s| s.is_opaque())
        .map(|s| {
            let text = file.text.get(s.span.clone()).unwrap_or("");
            (s.line, crate::sql::parse::first_words(text, 6))
        })
        .collect()
}

/// How the safety analysis runs (`conventions:` in the config).
#[derive(Debug, Clone, Copy)]
pub struct LintOptions {
    /// `conventions.postgres_version`: major, and minor when given.
    pub postgres_version: u32,
    pub postgres_minor: Option<u32>,
    /// `conventions.lock_timeout_set_by_runner`.
    pub lock_timeout_set_by_runner: bool,
}

impl SqlView {
    /// A SQL file parsed once. For goose and dbmate migrations only the up
    /// section is kept (what replay applies).
    pub fn parsed(
        &self,
        cs: &ChangeSet,
        side: Side,
        path: &str,
    ) -> Result<Option<Arc<ParsedFile>>> {
        if let Some(hit) = self.parsed.get(&(side, path.to_string())) {
            return Ok(Some(hit));
        }
        let Some(bytes) = cs.read(side, path)? else {
            return Ok(None);
        };
        let parsed = Arc::new(ParsedFile::parse(up_section(cs, path, &bytes)));
        self.parsed.insert((side, path.to_string()), parsed.clone());
        Ok(Some(parsed))
    }

    /// Parses many files at once, on every core (the blobs are read first:
    /// git access stays on this thread).
    pub fn parse_all(&self, cs: &ChangeSet, side: Side, paths: &[String]) -> Result<()> {
        let todo = self.pending(cs, side, paths, false)?;
        let results: Vec<(String, ParsedFile)> = crate::par::map(&todo, |(p, b, end)| {
            (p.clone(), ParsedFile::parse(&b[..*end]))
        })?;
        for (p, f) in results {
            self.parsed.insert((side, p), Arc::new(f));
        }
        Ok(())
    }

    /// Atlas's analyzers and the lock rules over the new migrations, on a
    /// thread of its own: every migration's up statements of the new side
    /// applied in order, the new ones judged against what exists on the base
    /// side (with `--all`, each migration against all earlier ones). The up
    /// migrations not parsed yet are parsed here, on every core, and the
    /// analysis reads each one as soon as it and all before it are parsed,
    /// so it ends shortly after the parsing instead of starting after it.
    /// Returns the analysis's thread.
    pub fn parse_and_lint(
        &self,
        cs: &ChangeSet,
        options: LintOptions,
    ) -> Result<std::thread::JoinHandle<Lint>> {
        let ups = cs.ups();
        let new: HashSet<&str> = cs.new_migrations().iter().map(String::as_str).collect();
        let order: Vec<(String, bool)> = ups
            .iter()
            .map(|p| (p.clone(), new.contains(p.as_str())))
            .collect();
        let (format, audit) = (cs.format, cs.mode == Mode::All);
        let (sender, parsed) = std::sync::mpsc::channel::<(usize, Option<Arc<ParsedFile>>)>();
        let analysis = std::thread::spawn(move || {
            let mut lint = Lint::default()
                .for_postgres(options.postgres_version, options.lock_timeout_set_by_runner)
                .with_minor(options.postgres_minor);
            let mut waiting = BTreeMap::new();
            let mut next = 0;
            for (i, file) in parsed {
                waiting.insert(i, file);
                while let Some(file) = waiting.remove(&next) {
                    if let Some(file) = file {
                        let (path, is_new): &(String, bool) = &order[next];
                        lint.file_in(path, &file, *is_new, format.tx_mode(&file.text));
                        if audit {
                            lint.finish();
                            lint.settle();
                        }
                    }
                    next += 1;
                }
            }
            lint.finish();
            lint
        });
        // Blobs are read here (git access stays on this thread); a file
        // parsed already or unreadable goes to the analysis at once.
        cs.prefetch(Side::New, &ups)?;
        let mut todo = Vec::new();
        for (i, path) in ups.iter().enumerate() {
            if let Some(hit) = self.parsed.get(&(Side::New, path.clone())) {
                let _ = sender.send((i, Some(hit)));
                continue;
            }
            match cs.read(Side::New, path)? {
                Some(bytes) => {
                    let end = up_section(cs, path, &bytes).len();
                    todo.push((i, path, bytes, end));
                }
                None => {
                    let _ = sender.send((i, None));
                }
            }
        }
        let results = crate::par::map(&todo, |(i, path, bytes, end)| {
            let file = Arc::new(ParsedFile::parse(&bytes[..*end]));
            // The analysis may have ended (a panic there): it is reported
            // when the analysis is joined.
            let _ = sender.send((*i, Some(file.clone())));
            (path.to_string(), file)
        })?;
        for (path, file) in results {
            self.parsed.insert((Side::New, path), file);
        }
        Ok(analysis)
    }

    /// Reads many files for the summary's counts only, on every core: a
    /// file already parsed is counted from its tree; the others are parsed
    /// and only their counts kept (an audit's down files: no rule reads them,
    /// and keeping their trees would only cost memory).
    pub fn count_all(&self, cs: &ChangeSet, side: Side, paths: &[String]) -> Result<()> {
        self.join_counting()?;
        let todo = self.pending(cs, side, paths, true)?;
        self.keep_counted(side, crate::par::map(&todo, Counted::read)?);
        Ok(())
    }

    fn keep_counted(&self, side: Side, results: Vec<(String, Counted)>) {
        for (p, c) in results {
            self.counted.insert((side, p), Arc::new(c));
        }
    }

    /// Starts counting `paths` on a thread of its own (the blobs are read
    /// first, here), so an audit's down files are parsed while the rules run
    /// on this thread; [`SqlView::count_all`] collects the result.
    pub fn count_in_background(&self, cs: &ChangeSet, side: Side, paths: &[String]) -> Result<()> {
        self.join_counting()?;
        let todo = self.pending(cs, side, paths, true)?;
        if todo.is_empty() {
            return Ok(());
        }
        let handle = std::thread::spawn(move || todo.iter().map(Counted::read).collect());
        *self.counting.borrow_mut() = Some((side, handle));
        Ok(())
    }

    /// The files of `paths` not parsed yet (nor counted, with
    /// `skip_counted`), with their bytes and where their up section ends.
    fn pending(
        &self,
        cs: &ChangeSet,
        side: Side,
        paths: &[String],
        skip_counted: bool,
    ) -> Result<Pending> {
        cs.prefetch(side, paths)?;
        let mut todo = Vec::new();
        for p in paths {
            let key = (side, p.clone());
            if self.parsed.contains(&key) || (skip_counted && self.counted.contains(&key)) {
                continue;
            }
            if let Some(bytes) = cs.read(side, p)? {
                let end = up_section(cs, p, &bytes).len();
                todo.push((p.clone(), bytes, end));
            }
        }
        Ok(todo)
    }

    /// Waits for the background count, if one runs, and keeps its result.
    fn join_counting(&self) -> Result<()> {
        let Some((side, handle)) = self.counting.borrow_mut().take() else {
            return Ok(());
        };
        let results = handle
            .join()
            .map_err(|p| crate::par::panicked("a parsing thread", p))?;
        self.keep_counted(side, results);
        Ok(())
    }

    /// Every migration's up statements of the new side, applied in order.
    pub fn replay(&self, cs: &ChangeSet) -> Result<Arc<Replay>> {
        if let Some(r) = self.replay.get() {
            return Ok(r.clone());
        }
        let ups = cs.ups();
        self.parse_all(cs, Side::New, &ups)?;
        let files: Vec<(String, Arc<ParsedFile>)> = ups
            .into_iter()
            .filter_map(|p| self.parsed.get(&(Side::New, p.clone())).map(|f| (p, f)))
            .collect();
        let replay = Arc::new(Replay::run(
            files.iter().map(|(p, f)| (p.as_str(), f.as_ref())),
        ));
        Ok(self.replay.get_or_init(|| replay).clone())
    }

    /// What the safety analysis could read of the new migrations (with
    /// `--all`, of every migration). Nothing for a directory of another
    /// database, which the safety rules do not judge.
    pub fn coverage(&self, cs: &ChangeSet) -> Result<Coverage> {
        let mut coverage = Coverage::default();
        if crate::migrations::other_dialect_named_by(&cs.dir).is_some() {
            return Ok(coverage);
        }
        let paths = if cs.mode == Mode::All {
            cs.ups()
        } else {
            cs.new_migrations().to_vec()
        };
        self.parse_all(cs, Side::New, &paths)?;
        for path in &paths {
            if let Some(file) = self.parsed(cs, Side::New, path)? {
                coverage.add(path, &file);
            }
        }
        coverage.unanalysed.sort();
        Ok(coverage)
    }

    /// SQL files parsed so far, their statements, and how many statements
    /// sqlparser could not read.
    pub fn statement_counts(&self) -> (usize, usize, usize) {
        let parsed = self.parsed.entries();
        let (n, o) = parsed.iter().fold((0, 0), |(n, o), (_, f)| {
            (n + f.stmts.len(), o + f.opaque_count())
        });
        let counted: Vec<_> = self
            .counted
            .entries()
            .into_iter()
            .filter(|(k, _)| !self.parsed.contains(k))
            .collect();
        let (cn, co) = counted
            .iter()
            .fold((0, 0), |(n, o), (_, c)| (n + c.stmts, o + c.unparsed.len()));
        (parsed.len() + counted.len(), n + cn, o + co)
    }

    /// Statements of the new side that sqlparser could not read, as
    /// (path, line, first words), sorted.
    pub fn unparsed_statements(&self) -> Vec<(String, usize, String)> {
        let parsed = self
            .parsed
            .entries()
            .into_iter()
            .filter(|((side, _), _)| *side == Side::New)
            .map(|((_, path), f)| (path, unparsed_of(&f)));
        let counted = self
            .counted
            .entries()
            .into_iter()
            .filter(|(k, _)| k.0 == Side::New && !self.parsed.contains(k))
            .map(|((_, path), c)| (path, c.unparsed.clone()));
        let mut out: Vec<(String, usize, String)> = parsed
            .chain(counted)
            .flat_map(|(path, list)| {
                list.into_iter()
                    .map(move |(line, words)| (path.clone(), line, words))
            })
            .collect();
        out.sort();
        out
    }
}

/// The views a file creates: name to normalised query and place (a
/// generated views file such as `views.sql`).
pub type Views = BTreeMap<String, (Query, Origin)>;

/// The views `file` (at `path`) creates, last definition kept.
pub fn views_of(file: &ParsedFile, path: &str) -> Views {
    let mut out = BTreeMap::new();
    for stmt in &file.stmts {
        for ast in &stmt.ast {
            if let Statement::CreateView(cv) = ast {
                out.insert(
                    object_name(&cv.name),
                    (
                        normalize_query(&cv.query),
                        Origin {
                            path: path.to_string(),
                            line: stmt.line,
                            span: stmt.span.clone(),
                        },
                    ),
                );
            }
        }
    }
    out
}

fn up_section<'b>(cs: &ChangeSet, path: &str, bytes: &'b [u8]) -> &'b [u8] {
    if cs.dir_name(path).is_some() {
        cs.format.up_part(bytes)
    } else {
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The diagnostics as comparable lines.
    fn lines(lint: &Lint) -> Vec<String> {
        lint.diags
            .iter()
            .map(|d| format!("{}:{} {} {}", d.path, d.line, d.code, d.message))
            .collect()
    }

    #[test]
    fn the_analysis_fed_while_parsing_equals_feeding_the_files_in_order() {
        // Forty tables, each created by one migration and indexed, altered
        // and dropped by later ones: the audit judges each migration against
        // all earlier ones, so the order the files reach it matters.
        let mut files = Vec::new();
        for i in 0..40 {
            files.push((
                format!("db/migrations/{:03}_t{i}.up.sql", i * 2 + 1),
                format!("CREATE TABLE t{i} (id bigint PRIMARY KEY, a text);\n"),
            ));
            files.push((
                format!("db/migrations/{:03}_i{i}.up.sql", i * 2 + 2),
                format!(
                    "CREATE INDEX t{i}_a ON t{i} (a);\nALTER TABLE t{i} ALTER COLUMN a SET NOT NULL;\n{}",
                    if i % 3 == 0 { format!("DROP TABLE t{i};\n") } else { String::new() }
                ),
            ));
        }
        let files: Vec<(&str, &str)> = files
            .iter()
            .map(|(p, c)| (p.as_str(), c.as_str()))
            .collect();
        let cs = ChangeSet::all_from_files("db/migrations", &files);
        let options = LintOptions {
            postgres_version: 15,
            postgres_minor: None,
            lock_timeout_set_by_runner: false,
        };
        // The reference: each file parsed and fed to the analysis in order,
        // on this thread.
        let mut after = Lint::default();
        for path in cs.ups() {
            let bytes = cs.read(Side::New, &path).unwrap().unwrap();
            let file = ParsedFile::parse(&bytes);
            after.file_in(&path, &file, true, cs.format.tx_mode(&file.text));
            after.finish();
            after.settle();
        }
        after.finish();
        let view = SqlView::default();
        let fed = view.parse_and_lint(&cs, options).unwrap().join().unwrap();
        assert!(
            lines(&after).iter().any(|l| l.contains("002_i0.up.sql:1 ")),
            "{:#?}",
            lines(&after)
        );
        assert!(
            lines(&after).iter().any(|l| l.contains("DS102")),
            "{:#?}",
            lines(&after)
        );
        assert_eq!(lines(&fed), lines(&after));
        // The parsed files are kept for the rules that read them next.
        assert!(view
            .parsed
            .contains(&(Side::New, "db/migrations/079_t39.up.sql".to_string())));
    }
}
