//! Everything the rules read, built once per run: the three snapshots (old,
//! new, created), the change between old and new, and file contents read on
//! demand and kept, so no rule reads or parses a file twice.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use gix::ObjectId;

use crate::atlas_sum::{DirSum, FILE_NAME};
use crate::config::Settings;
use crate::ent::{GoFile, Package, World};
use crate::error::Result;
use crate::git::FileRef;
use crate::git::{Change, Git, Snapshot};
use crate::migrations::{DirFormat, Listing};
use crate::report::Mode;
use crate::sql::{ParsedFile, Replay};

/// File contents by side and path (`None`: the side has no such file).
type BlobCache = HashMap<(Side, String), Option<Arc<[u8]>>>;
/// Parsed SQL by side and path.
type ParseCache = HashMap<(Side, String), Arc<ParsedFile>>;

/// Which snapshot a rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Before the change: `HEAD` (staged) or the merge base (base).
    Old,
    /// After the change: the index (staged) or `HEAD` (base).
    New,
    /// Where migrations count as created (immutable).
    Created,
    /// The history `atlas.sum` must extend: the merge base with the base ref.
    History,
}

pub struct CheckContext<'a> {
    pub settings: &'a Settings,
    pub git: &'a Git,
    pub mode: Mode,
    /// The commit reported as the base (merge base, or the created ref).
    pub base_commit: Option<ObjectId>,
    /// How the created side was chosen, for messages ("origin/main").
    pub created_label: String,
    pub old: Snapshot,
    pub new: Snapshot,
    pub created: Snapshot,
    pub history: Snapshot,
    pub changes: Vec<Change>,
    /// The migration directory, relative to the repository root.
    pub dir: String,
    pub format: DirFormat,
    /// `--regenerate` was given.
    pub regenerate: bool,
    cache: RefCell<BlobCache>,
    parsed: RefCell<ParseCache>,
    sum: RefCell<Option<Arc<DirSum>>>,
    replay: RefCell<Option<Arc<Replay>>>,
    ent: RefCell<HashMap<Side, Option<Arc<World>>>>,
    /// Parsed Go files by blob: the base and the change share most of them.
    go_files: RefCell<HashMap<gix::ObjectId, Arc<GoFile>>>,
    ent_matters: RefCell<Option<bool>>,
    ent_focus: RefCell<Option<Option<HashSet<String>>>>,
    /// What the summary should say beside the findings (a repair, a squash).
    notes: RefCell<Vec<String>>,
    soft_delete: std::cell::OnceCell<Arc<SoftDelete>>,
    atlas_lint: std::cell::OnceCell<Arc<crate::sql::lint::Lint>>,
    /// Listings per side and the new migrations: many rules ask.
    listings: RefCell<HashMap<Side, Arc<Listing>>>,
    new_migrations: std::cell::OnceCell<Vec<String>>,
}

/// The team's soft-delete convention, configured or detected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftDelete {
    /// Whether the soft-delete rules run.
    pub on: bool,
    /// The column, as PostgreSQL stores its name (quoted names keep case).
    pub column: String,
    /// Why, for the summary: "on, 212 of 240 tables have deleted_at".
    pub reason: String,
}

use crate::sql::schema::most_common_soft_delete;

impl<'a> CheckContext<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        settings: &'a Settings,
        git: &'a Git,
        mode: Mode,
        base_commit: Option<ObjectId>,
        created_label: String,
        old: Snapshot,
        new: Snapshot,
        created: Snapshot,
        history: Snapshot,
        dir: String,
        format: DirFormat,
        regenerate: bool,
    ) -> CheckContext<'a> {
        let changes = if mode == Mode::All {
            Vec::new()
        } else {
            crate::git::diff(&old, &new)
        };
        CheckContext {
            settings,
            git,
            mode,
            base_commit,
            created_label,
            old,
            new,
            created,
            history,
            changes,
            dir,
            format,
            regenerate,
            cache: RefCell::new(HashMap::new()),
            parsed: RefCell::new(HashMap::new()),
            sum: RefCell::new(None),
            replay: RefCell::new(None),
            ent: RefCell::new(HashMap::new()),
            go_files: RefCell::new(HashMap::new()),
            ent_matters: RefCell::new(None),
            ent_focus: RefCell::new(None),
            notes: RefCell::new(Vec::new()),
            soft_delete: std::cell::OnceCell::new(),
            atlas_lint: std::cell::OnceCell::new(),
            listings: RefCell::new(HashMap::new()),
            new_migrations: std::cell::OnceCell::new(),
        }
    }

    /// Atlas's analyzers over the new migrations: every migration's up
    /// statements of the new side applied in order, the new ones judged
    /// against what exists on the base side. Once per run, shared by the
    /// four rules that report its codes; the summary says how many
    /// diagnostics `atlas:nolint` directives skipped.
    pub fn atlas_lint(&self) -> Result<Arc<crate::sql::lint::Lint>> {
        if let Some(l) = self.atlas_lint.get() {
            return Ok(l.clone());
        }
        // The safety rules speak PostgreSQL's locks, rewrites and failure
        // modes: a directory named for another database is not judged.
        if let Some(db) = crate::migrations::other_dialect_named_by(&self.dir) {
            self.note(format!(
                "migration-safety rules not run in {}: its path names {db}, and they judge PostgreSQL migrations only",
                self.dir
            ));
            let none = crate::sql::lint::Lint::default();
            return Ok(self.atlas_lint.get_or_init(|| Arc::new(none)).clone());
        }
        let new: HashSet<String> = self.new_migrations().into_iter().collect();
        let ups: Vec<String> = self
            .listing(Side::New)
            .migrations
            .iter()
            .map(|m| self.in_dir(&m.up))
            .collect();
        self.parse_all(Side::New, &ups)?;
        let conventions = &self.settings.config.conventions;
        let mut lint = crate::sql::lint::Lint::default().for_postgres(
            conventions.postgres_version.unwrap_or(15),
            conventions.lock_timeout_set_by_runner.unwrap_or(false),
        );
        for path in &ups {
            if let Some(file) = self.parsed(Side::New, path)? {
                let tx = self.format.tx_mode(&file.text);
                lint.file_in(path, &file, new.contains(path), tx);
                if self.mode == Mode::All {
                    // An audit: each migration against all earlier ones.
                    lint.settle();
                }
            }
        }
        if lint.skipped > 0 {
            self.note(format!(
                "{} finding(s) skipped by -- atlas:nolint directives in {}",
                lint.skipped,
                if self.dir.is_empty() { "." } else { &self.dir }
            ));
        }
        Ok(self.atlas_lint.get_or_init(|| Arc::new(lint)).clone())
    }

    /// The soft-delete convention: configured (`conventions.soft_delete`,
    /// `conventions.soft_delete_column`), else detected from the tables that
    /// exist before the change: on when at least three quarters of them carry
    /// one soft-delete column (or, with no table yet, of the ent schemas). The
    /// summary says which and why.
    pub fn soft_delete(&self) -> Result<Arc<SoftDelete>> {
        if let Some(hit) = self.soft_delete.get() {
            return Ok(hit.clone());
        }
        let conv = Arc::new(self.compute_soft_delete()?);
        let dir = if self.dir.is_empty() {
            "."
        } else {
            self.dir.as_str()
        };
        self.note(format!("soft-delete convention in {dir}: {}", conv.reason));
        Ok(self.soft_delete.get_or_init(|| conv).clone())
    }

    fn compute_soft_delete(&self) -> Result<SoftDelete> {
        let c = &self.settings.config.conventions;
        let column = c.soft_delete_column.clone();
        match (c.soft_delete, &column) {
            (Some(false), _) => {
                return Ok(SoftDelete {
                    on: false,
                    column: column.unwrap_or_else(|| "deleted_at".into()),
                    reason: "off (conventions.soft_delete: false)".into(),
                })
            }
            (Some(true), _) | (None, Some(_)) => {
                let column = column.unwrap_or_else(|| "deleted_at".into());
                return Ok(SoftDelete {
                    reason: format!("on, column {column} (configured)"),
                    on: true,
                    column,
                });
            }
            (None, None) => {}
        }
        // Tables that exist before the change: every table the replay ends
        // with, less those the change's new migrations create.
        let replay = self.replay()?;
        let new: HashSet<String> = self.new_migrations().into_iter().collect();
        let created_by_change: HashSet<&str> = replay
            .events
            .iter()
            .filter_map(|e| match e {
                crate::sql::Event::TableCreated { table, origin }
                    if self.mode != Mode::All && new.contains(&origin.path) =>
                {
                    Some(table.as_str())
                }
                _ => None,
            })
            .collect();
        let exempt = crate::rules::missing_soft_delete::exempt_set(self)?;
        let tables: Vec<&crate::sql::schema::Table> = replay
            .schema
            .tables
            .iter()
            .filter(|(name, t)| {
                !created_by_change.contains(name.as_str())
                    && !exempt.is_match(name.as_str())
                    && !t.is_join_table()
            })
            .map(|(_, t)| t)
            .collect();
        let (what, total, best) = if !tables.is_empty() {
            let best =
                most_common_soft_delete(&tables, |t, col| t.columns.iter().any(|c| c == col));
            ("tables", tables.len(), best)
        } else if let Some(world) = self.ent_world(Side::Created)? {
            // No table yet: the ent schemas, own fields and mixins'.
            let schemas: Vec<_> = world
                .schema_names()
                .into_iter()
                .filter_map(|n| world.schema(&n))
                .filter(|s| s.kind == crate::ent::Kind::Schema)
                .collect();
            let best = most_common_soft_delete(&schemas, |s, col| s.fields.contains(col));
            ("ent schemas", schemas.len(), best)
        } else {
            ("tables", 0, None)
        };
        let before = if self.mode == Mode::All {
            ""
        } else {
            " before this change"
        };
        Ok(match best {
            Some((n, col)) if crate::sql::schema::is_soft_delete_convention(n, total) => SoftDelete {
                on: true,
                column: col.to_string(),
                reason: format!("on, {n} of {total} {what}{before} have {col} (detected)"),
            },
            Some((n, col)) if total > 0 && n > 0 => SoftDelete {
                on: false,
                column: col.to_string(),
                reason: format!(
                    "off, only {n} of {total} {what}{before} have {col} (detected: the convention needs three quarters; conventions.soft_delete: true enforces it)"
                ),
            },
            None if total > 0 => SoftDelete {
                on: false,
                column: "deleted_at".into(),
                reason: format!("off, none of the {total} {what}{before} has a soft-delete column (detected)"),
            },
            _ => SoftDelete {
                on: false,
                column: "deleted_at".into(),
                reason: format!("off, no table read{before} to detect it from (conventions.soft_delete: true enforces it)"),
            },
        })
    }

    /// Adds a line to the report's summary.
    pub fn note(&self, text: String) {
        self.notes.borrow_mut().push(text);
    }

    /// The summary lines rules added.
    pub fn take_notes(&self) -> Vec<String> {
        std::mem::take(&mut self.notes.borrow_mut())
    }

    pub fn snapshot(&self, side: Side) -> &Snapshot {
        match side {
            Side::Old => &self.old,
            Side::New => &self.new,
            Side::Created => &self.created,
            Side::History => &self.history,
        }
    }

    /// A file's bytes on one side, read once.
    pub fn read(&self, side: Side, path: &str) -> Result<Option<Arc<[u8]>>> {
        let key = (side, path.to_string());
        if let Some(hit) = self.cache.borrow().get(&key) {
            return Ok(hit.clone());
        }
        let bytes = self
            .snapshot(side)
            .read(Some(self.git), path)?
            .map(Arc::from);
        self.cache.borrow_mut().insert(key, bytes.clone());
        Ok(bytes)
    }

    /// The repository path of a file in the migration directory.
    pub fn in_dir(&self, name: &str) -> String {
        if self.dir.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.dir)
        }
    }

    /// The name inside the migration directory of a repository path, if it is
    /// one of the directory's files.
    pub fn dir_name<'p>(&self, path: &'p str) -> Option<&'p str> {
        let rest = if self.dir.is_empty() {
            Some(path)
        } else {
            path.strip_prefix(&self.dir)?.strip_prefix('/')
        };
        rest.filter(|r| self.format.recursive() || !r.contains('/'))
    }

    /// Whether a file of the directory is a migration (not `atlas.sum`, not
    /// notes): every `*.sql` the format reads.
    pub fn is_migration(&self, name: &str) -> bool {
        name.ends_with(".sql")
    }

    pub fn dir_names(&self, side: Side) -> Vec<String> {
        self.snapshot(side)
            .list_dir(&self.dir, self.format.recursive())
    }

    pub fn listing(&self, side: Side) -> Listing {
        if let Some(l) = self.listings.borrow().get(&side) {
            return Listing::clone(l);
        }
        let names = self.dir_names(side);
        let listing = Listing::new(self.format, names.iter().map(String::as_str));
        self.listings
            .borrow_mut()
            .insert(side, Arc::new(listing.clone()));
        listing
    }

    /// The new side's `atlas.sum`, as it is and as Atlas would write it.
    pub fn new_sum(&self) -> Result<Arc<DirSum>> {
        if let Some(sum) = self.sum.borrow().as_ref() {
            return Ok(sum.clone());
        }
        let names = self.dir_names(Side::New);
        let actual = self
            .read(Side::New, &self.in_dir(FILE_NAME))?
            .map(|b| b.to_vec());
        let configured = self.settings.dir_format.is_some();
        let sum = DirSum::compute(self.format, configured, &names, actual, |n| {
            Ok(self
                .read(Side::New, &self.in_dir(n))?
                .map(|b| b.to_vec())
                .unwrap_or_default())
        })?;
        let sum = Arc::new(sum);
        *self.sum.borrow_mut() = Some(sum.clone());
        Ok(sum)
    }

    /// A SQL file parsed once. For goose and dbmate migrations only the up
    /// section is kept (what replay applies).
    pub fn parsed(&self, side: Side, path: &str) -> Result<Option<Arc<ParsedFile>>> {
        if let Some(hit) = self.parsed.borrow().get(&(side, path.to_string())) {
            return Ok(Some(hit.clone()));
        }
        let Some(bytes) = self.read(side, path)? else {
            return Ok(None);
        };
        let parsed = Arc::new(ParsedFile::parse(self.up_section(path, &bytes)));
        self.parsed
            .borrow_mut()
            .insert((side, path.to_string()), parsed.clone());
        Ok(Some(parsed))
    }

    /// Parses many files at once, on every core (the blobs are read first:
    /// git access stays on this thread).
    pub fn parse_all(&self, side: Side, paths: &[String]) -> Result<()> {
        self.git.prefetch(
            self.snapshot(side)
                .blob_ids(paths.iter().map(String::as_str)),
        )?;
        let mut todo = Vec::new();
        for p in paths {
            if self.parsed.borrow().contains_key(&(side, p.clone())) {
                continue;
            }
            if let Some(bytes) = self.read(side, p)? {
                let end = self.up_section(p, &bytes).len();
                todo.push((p.clone(), bytes, end));
            }
        }
        let results: Vec<(String, ParsedFile)> = crate::par::map(&todo, |(p, b, end)| {
            (p.clone(), ParsedFile::parse(&b[..*end]))
        });
        let mut cache = self.parsed.borrow_mut();
        for (p, f) in results {
            cache.insert((side, p), Arc::new(f));
        }
        Ok(())
    }

    fn up_section<'b>(&self, path: &str, bytes: &'b [u8]) -> &'b [u8] {
        if self.dir_name(path).is_some() {
            self.format.up_part(bytes)
        } else {
            bytes
        }
    }

    /// Migration files (up files) on the new side that are not created: the
    /// change's new migrations (every migration with `--all`).
    pub fn new_migrations(&self) -> Vec<String> {
        self.new_migrations
            .get_or_init(|| self.compute_new_migrations())
            .clone()
    }

    fn compute_new_migrations(&self) -> Vec<String> {
        let created: std::collections::HashSet<String> = self
            .listing(Side::Created)
            .migrations
            .into_iter()
            .map(|m| m.up)
            .collect();
        self.listing(Side::New)
            .migrations
            .into_iter()
            .filter(|m| self.mode == Mode::All || !created.contains(&m.up))
            .map(|m| self.in_dir(&m.up))
            .collect()
    }

    /// Every migration's up statements of the new side, applied in order.
    pub fn replay(&self) -> Result<Arc<Replay>> {
        if let Some(r) = self.replay.borrow().as_ref() {
            return Ok(r.clone());
        }
        let ups: Vec<String> = self
            .listing(Side::New)
            .migrations
            .iter()
            .map(|m| self.in_dir(&m.up))
            .collect();
        self.parse_all(Side::New, &ups)?;
        let files: Vec<(String, Arc<ParsedFile>)> = ups
            .into_iter()
            .filter_map(|p| {
                self.parsed
                    .borrow()
                    .get(&(Side::New, p.clone()))
                    .cloned()
                    .map(|f| (p, f))
            })
            .collect();
        let replay = Arc::new(Replay::run(
            files.iter().map(|(p, f)| (p.as_str(), f.as_ref())),
        ));
        *self.replay.borrow_mut() = Some(replay.clone());
        Ok(replay)
    }

    /// Statements parsed so far, and how many of them sqlparser could not read.
    /// SQL files parsed so far, their statements, and how many statements
    /// sqlparser could not read.
    pub fn statement_counts(&self) -> (usize, usize, usize) {
        let parsed = self.parsed.borrow();
        let (n, o) = parsed.values().fold((0, 0), |(n, o), f| {
            (n + f.stmts.len(), o + f.opaque_count())
        });
        (parsed.len(), n, o)
    }

    /// Statements of the new side that sqlparser could not read, as
    /// (path, line, first words), sorted.
    pub fn unparsed_statements(&self) -> Vec<(String, usize, String)> {
        let parsed = self.parsed.borrow();
        let mut out: Vec<(String, usize, String)> = parsed
            .iter()
            .filter(|((side, _), _)| *side == Side::New)
            .flat_map(|((_, path), f)| {
                f.stmts.iter().filter(|s| s.is_opaque()).map(move |s| {
                    let text = f.text.get(s.span.clone()).unwrap_or("");
                    let words: String = text
                        .split_whitespace()
                        .take(6)
                        .collect::<Vec<_>>()
                        .join(" ");
                    (path.clone(), s.line, words)
                })
            })
            .collect();
        out.sort();
        out
    }

    /// Whether the change touches the migration directory or `path`.
    pub fn touches_sql(&self, path: Option<&str>) -> bool {
        self.mode == Mode::All
            || self.dir_changes().next().is_some()
            || path.is_some_and(|p| self.changes.iter().any(|c| c.paths().any(|x| x == p)))
    }

    /// The ent schema package and mixin packages of one side, read once;
    /// `None` when `ent.schema` is not configured or the side has no schema.
    pub fn ent_world(&self, side: Side) -> Result<Option<Arc<World>>> {
        if let Some(hit) = self.ent.borrow().get(&side) {
            return Ok(hit.clone());
        }
        let world = match &self.settings.config.ent.schema {
            None => None,
            Some(schema) => {
                let mut packages = Vec::new();
                let dirs = std::iter::once(schema.clone())
                    .chain(self.settings.config.ent.mixin_packages.iter().cloned());
                let focus = self.ent_focus()?;
                for (i, dir) in dirs.enumerate() {
                    let dir = dir.trim_end_matches('/').to_string();
                    let paths: Vec<String> = self
                        .snapshot(side)
                        .list_dir(&dir, false)
                        .into_iter()
                        .filter(|n| n.ends_with(".go") && !n.ends_with("_test.go"))
                        .map(|n| format!("{dir}/{n}"))
                        .filter(|p| i != 0 || focus.as_ref().is_none_or(|f| f.contains(p)))
                        .collect();
                    if i == 0 && paths.is_empty() && focus.is_none() {
                        break;
                    }
                    packages.push(Package::from_files(&dir, self.go_files(side, &paths)?));
                }
                if !packages.is_empty() {
                    self.load_imported_packages(side, schema, &mut packages)?;
                }
                (!packages.is_empty()).then(|| Arc::new(World::new(packages)))
            }
        };
        self.ent.borrow_mut().insert(side, world.clone());
        Ok(world)
    }

    /// Adds the in-repo packages the loaded ones build mixins from, found as
    /// Go finds them: an import path under the module of the nearest
    /// `go.mod` is the folder below it. Followed from each loaded package
    /// (mixins of mixins), at most 32 packages of at most 200 files.
    fn load_imported_packages(
        &self,
        side: Side,
        schema: &str,
        packages: &mut Vec<Package>,
    ) -> Result<()> {
        let go_mod = crate::ent::find_go_module(schema, |p| {
            Ok::<_, crate::error::Error>(
                self.read(side, p)?
                    .map(|b| String::from_utf8_lossy(&b).into_owned()),
            )
        })?;
        let Some((mod_dir, module)) = go_mod else {
            return Ok(());
        };
        let mut loaded: HashSet<String> = packages.iter().map(|p| p.dir.clone()).collect();
        let mut next = 0;
        while next < packages.len() && packages.len() < 32 {
            let imports = packages[next].mixin_imports();
            next += 1;
            for import in imports {
                let Some(dir) = crate::ent::import_dir(&import, &mod_dir, &module) else {
                    continue;
                };
                if !loaded.insert(dir.clone()) {
                    continue;
                }
                let paths: Vec<String> = self
                    .snapshot(side)
                    .list_dir_anywhere(self.git, &dir)?
                    .into_iter()
                    .filter(|n| n.ends_with(".go") && !n.ends_with("_test.go"))
                    .map(|n| format!("{dir}/{n}"))
                    .collect();
                if paths.is_empty() || paths.len() > 200 {
                    continue;
                }
                packages.push(Package::from_files(&dir, self.go_files(side, &paths)?));
            }
        }
        Ok(())
    }

    /// The schema-package files the ent rules must read for this change, or
    /// `None` for all of them (`--all`, or a mixin package changed).
    ///
    /// A file the change leaves alone is the same on both sides; it matters
    /// only if it declares or uses a name that a changed file uses or
    /// declares (a local mixin, a helper, a schema type that moved). Such files
    /// are found by a whole-word search for those names, then parsed, and their
    /// names followed in turn, until nothing new turns up. Every other file
    /// holds schemas the change cannot affect, so they are never parsed.
    fn ent_focus(&self) -> Result<Option<HashSet<String>>> {
        if let Some(hit) = self.ent_focus.borrow().as_ref() {
            return Ok(hit.clone());
        }
        let focus = self.compute_ent_focus()?;
        *self.ent_focus.borrow_mut() = Some(focus.clone());
        Ok(focus)
    }

    fn compute_ent_focus(&self) -> Result<Option<HashSet<String>>> {
        let ent = &self.settings.config.ent;
        let (Some(schema), false) = (&ent.schema, self.mode == Mode::All) else {
            return Ok(None);
        };
        let dir = format!("{}/", schema.trim_end_matches('/'));
        let mixin_dirs: Vec<String> = ent
            .mixin_packages
            .iter()
            .map(|d| format!("{}/", d.trim_end_matches('/')))
            .collect();
        let go = |p: &str| p.ends_with(".go") && !p.ends_with("_test.go");
        let mut focus: HashSet<String> = HashSet::new();
        for c in &self.changes {
            for p in c.paths().filter(|p| go(p)) {
                if mixin_dirs.iter().any(|d| p.starts_with(d.as_str())) {
                    return Ok(None);
                }
                if p.strip_prefix(dir.as_str())
                    .is_some_and(|r| !r.contains('/'))
                {
                    focus.insert(p.to_string());
                }
            }
        }
        let all: Vec<String> = [Side::New, Side::Created]
            .iter()
            .flat_map(|s| self.snapshot(*s).list_dir(&dir, false))
            .filter(|n| go(n))
            .map(|n| format!("{dir}{n}"))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut names: HashSet<String> = HashSet::new();
        let mut followed: HashSet<String> = HashSet::new();
        loop {
            // Names of the files in focus not followed yet, on both sides.
            for path in focus
                .iter()
                .filter(|p| !followed.contains(*p))
                .cloned()
                .collect::<Vec<_>>()
            {
                for side in [Side::New, Side::Created] {
                    if self.snapshot(side).contains(&path) {
                        for f in self.go_files(side, std::slice::from_ref(&path))? {
                            let (declared, used) = f.names();
                            names.extend(declared);
                            names.extend(used);
                        }
                    }
                }
                followed.insert(path);
            }
            let before = focus.len();
            let rest: Vec<&String> = all.iter().filter(|p| !focus.contains(*p)).collect();
            for path in rest {
                let bytes = match self.read(Side::New, path)? {
                    Some(b) => b,
                    None => match self.read(Side::Created, path)? {
                        Some(b) => b,
                        None => continue,
                    },
                };
                if names.iter().any(|n| mentions(&bytes, n.as_bytes())) {
                    focus.insert(path.clone());
                }
            }
            if focus.len() == before {
                return Ok(Some(focus));
            }
        }
    }

    /// Parsed Go files, each blob parsed once for every side.
    fn go_files(&self, side: Side, paths: &[String]) -> Result<Vec<Arc<GoFile>>> {
        let blob = |p: &str| match self.snapshot(side).files.get(p) {
            Some(FileRef::Blob { id, .. }) => Some(*id),
            _ => None,
        };
        let mut todo = Vec::new();
        for p in paths {
            let cached = blob(p).is_some_and(|id| self.go_files.borrow().contains_key(&id));
            if !cached {
                if let Some(bytes) = self.read(side, p)? {
                    todo.push((p.clone(), bytes.to_vec()));
                }
            }
        }
        let mut by_path: HashMap<String, Arc<GoFile>> = HashMap::new();
        for f in GoFile::parse_many(todo) {
            let f = Arc::new(f);
            if let Some(id) = blob(&f.path) {
                self.go_files.borrow_mut().insert(id, f.clone());
            }
            by_path.insert(f.path.clone(), f);
        }
        Ok(paths
            .iter()
            .filter_map(|p| {
                by_path
                    .get(p)
                    .cloned()
                    .or_else(|| blob(p).and_then(|id| self.go_files.borrow().get(&id).cloned()))
            })
            .collect())
    }

    /// Whether the change can add an ent schema type or a unique index: false
    /// when every changed schema file keeps its types, `Mixin()`,
    /// `Indexes()` and helpers (say, a field was added), so the ent rules can
    /// skip reading the whole package. Only the changed files are parsed here.
    pub fn ent_change_may_matter(&self) -> Result<bool> {
        if let Some(known) = *self.ent_matters.borrow() {
            return Ok(known);
        }
        let matters = self.compute_ent_change_may_matter()?;
        *self.ent_matters.borrow_mut() = Some(matters);
        Ok(matters)
    }

    fn compute_ent_change_may_matter(&self) -> Result<bool> {
        if self.mode == Mode::All {
            return Ok(true);
        }
        let ent = &self.settings.config.ent;
        let Some(schema) = &ent.schema else {
            return Ok(false);
        };
        let under = |p: &str, d: &str| {
            p.strip_prefix(&format!("{}/", d.trim_end_matches('/')))
                .is_some_and(|r| !r.contains('/'))
        };
        let go = |p: &str| p.ends_with(".go") && !p.ends_with("_test.go");
        let mut changed = Vec::new();
        for c in &self.changes {
            for p in c.paths() {
                if !go(p) {
                    continue;
                }
                if ent.mixin_packages.iter().any(|d| under(p, d)) {
                    return Ok(true);
                }
                if under(p, schema) {
                    changed.push(p.to_string());
                }
            }
        }
        let dir = schema.trim_end_matches('/');
        for path in changed {
            let one = |side: Side| -> Result<Package> {
                let files = if self.snapshot(side).contains(&path) {
                    self.go_files(side, std::slice::from_ref(&path))?
                } else {
                    Vec::new()
                };
                Ok(Package::from_files(dir, files))
            };
            if one(Side::Created)?.signature() != one(Side::New)?.signature() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether the change touches the ent schema or mixin packages.
    pub fn touches_ent(&self) -> bool {
        if self.mode == Mode::All {
            return true;
        }
        let ent = &self.settings.config.ent;
        let dirs: Vec<String> = ent
            .schema
            .iter()
            .chain(ent.mixin_packages.iter())
            .map(|d| format!("{}/", d.trim_end_matches('/')))
            .collect();
        self.changes.iter().any(|c| {
            c.paths()
                .any(|p| dirs.iter().any(|d| p.starts_with(d.as_str())))
        })
    }

    /// Changes that touch the migration directory.
    pub fn dir_changes(&self) -> impl Iterator<Item = &Change> {
        self.changes
            .iter()
            .filter(|c| c.paths().any(|p| self.dir_name(p).is_some()))
    }
}

/// Whether `text` contains `word` as a whole Go identifier.
fn mentions(text: &[u8], word: &[u8]) -> bool {
    if word.is_empty() {
        return false;
    }
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    let mut from = 0;
    while let Some(i) = text[from..].windows(word.len()).position(|w| w == word) {
        let start = from + i;
        let end = start + word.len();
        let before = start == 0 || !ident(text[start - 1]);
        let after = end == text.len() || !ident(text[end]);
        if before && after {
            return true;
        }
        from = start + 1;
    }
    false
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
