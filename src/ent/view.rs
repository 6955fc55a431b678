//! The ent view of a change set, read lazily: which schema files the change
//! can affect, each Go blob parsed once for every side, and the schema and
//! mixin packages of a side resolved into a `World` once.

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::{GoFile, Package, World};
use crate::check::{ChangeSet, Mode, Side};
use crate::config::EntConfig;
use crate::error::Result;
use crate::git::FileRef;
use crate::memo::Memo;

pub struct EntView<'c> {
    config: &'c EntConfig,
    worlds: Memo<Side, Option<Arc<World>>>,
    /// Parsed Go files by blob: the base and the change share most of them.
    go_files: Memo<gix::ObjectId, Arc<GoFile>>,
    matters: OnceCell<bool>,
    focus: OnceCell<Option<HashSet<String>>>,
}

impl<'c> EntView<'c> {
    pub fn new(config: &'c EntConfig) -> EntView<'c> {
        EntView {
            config,
            worlds: Memo::default(),
            go_files: Memo::default(),
            matters: OnceCell::new(),
            focus: OnceCell::new(),
        }
    }

    /// The ent schema package and mixin packages of one side, read once;
    /// `None` when `ent.schema` is not configured or the side has no schema.
    pub fn ent_world(&self, cs: &ChangeSet, side: Side) -> Result<Option<Arc<World>>> {
        self.worlds.get_or_try(side, || self.load_world(cs, side))
    }

    fn load_world(&self, cs: &ChangeSet, side: Side) -> Result<Option<Arc<World>>> {
        let world = match &self.config.schema {
            None => None,
            Some(schema) => {
                let mut packages = Vec::new();
                let dirs = std::iter::once(schema.clone())
                    .chain(self.config.mixin_packages.iter().cloned());
                let focus = self.ent_focus(cs)?;
                for (i, dir) in dirs.enumerate() {
                    let dir = dir.trim_end_matches('/').to_string();
                    let paths: Vec<String> = cs
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
                    packages.push(Package::from_files(&dir, self.go_files(cs, side, &paths)?));
                }
                if !packages.is_empty() {
                    self.load_imported_packages(cs, side, schema, &mut packages)?;
                }
                (!packages.is_empty()).then(|| Arc::new(World::new(packages)))
            }
        };
        Ok(world)
    }

    /// Adds the in-repo packages the loaded ones build mixins from, found as
    /// Go finds them: an import path under the module of the nearest
    /// `go.mod` is the folder below it. Followed from each loaded package
    /// (mixins of mixins), at most 32 packages of at most 200 files.
    fn load_imported_packages(
        &self,
        cs: &ChangeSet,
        side: Side,
        schema: &str,
        packages: &mut Vec<Package>,
    ) -> Result<()> {
        let go_mod = crate::ent::find_go_module(schema, |p| {
            Ok::<_, crate::error::Error>(
                cs.read(side, p)?
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
                let paths: Vec<String> = cs
                    .snapshot(side)
                    .list_dir_anywhere(cs.git, &dir)?
                    .into_iter()
                    .filter(|n| n.ends_with(".go") && !n.ends_with("_test.go"))
                    .map(|n| format!("{dir}/{n}"))
                    .collect();
                if paths.is_empty() || paths.len() > 200 {
                    continue;
                }
                packages.push(Package::from_files(&dir, self.go_files(cs, side, &paths)?));
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
    fn ent_focus(&self, cs: &ChangeSet) -> Result<Option<HashSet<String>>> {
        if let Some(hit) = self.focus.get() {
            return Ok(hit.clone());
        }
        let focus = self.compute_ent_focus(cs)?;
        Ok(self.focus.get_or_init(|| focus).clone())
    }

    fn compute_ent_focus(&self, cs: &ChangeSet) -> Result<Option<HashSet<String>>> {
        let ent = self.config;
        let (Some(schema), false) = (&ent.schema, cs.mode == Mode::All) else {
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
        for c in &cs.changes {
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
            .flat_map(|s| cs.snapshot(*s).list_dir(&dir, false))
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
                    if cs.snapshot(side).contains(&path) {
                        for f in self.go_files(cs, side, std::slice::from_ref(&path))? {
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
                let bytes = match cs.read(Side::New, path)? {
                    Some(b) => b,
                    None => match cs.read(Side::Created, path)? {
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
    fn go_files(&self, cs: &ChangeSet, side: Side, paths: &[String]) -> Result<Vec<Arc<GoFile>>> {
        let blob = |p: &str| match cs.snapshot(side).files.get(p) {
            Some(FileRef::Blob { id, .. }) => Some(*id),
            _ => None,
        };
        let mut todo = Vec::new();
        for p in paths {
            let cached = blob(p).is_some_and(|id| self.go_files.contains(&id));
            if !cached {
                if let Some(bytes) = cs.read(side, p)? {
                    todo.push((p.clone(), bytes.to_vec()));
                }
            }
        }
        let mut by_path: HashMap<String, Arc<GoFile>> = HashMap::new();
        for f in GoFile::parse_many(todo)? {
            let f = Arc::new(f);
            if let Some(id) = blob(&f.path) {
                self.go_files.insert(id, f.clone());
            }
            by_path.insert(f.path.clone(), f);
        }
        Ok(paths
            .iter()
            .filter_map(|p| {
                by_path
                    .get(p)
                    .cloned()
                    .or_else(|| blob(p).and_then(|id| self.go_files.get(&id)))
            })
            .collect())
    }

    /// Whether the change can add an ent schema type or a unique index: false
    /// when every changed schema file keeps its types, `Mixin()`,
    /// `Indexes()` and helpers (say, a field was added), so the ent rules can
    /// skip reading the whole package. Only the changed files are parsed here.
    pub fn ent_change_may_matter(&self, cs: &ChangeSet) -> Result<bool> {
        if let Some(known) = self.matters.get() {
            return Ok(*known);
        }
        let matters = self.compute_ent_change_may_matter(cs)?;
        Ok(*self.matters.get_or_init(|| matters))
    }

    fn compute_ent_change_may_matter(&self, cs: &ChangeSet) -> Result<bool> {
        if cs.mode == Mode::All {
            return Ok(true);
        }
        let ent = self.config;
        let Some(schema) = &ent.schema else {
            return Ok(false);
        };
        let under = |p: &str, d: &str| {
            p.strip_prefix(&format!("{}/", d.trim_end_matches('/')))
                .is_some_and(|r| !r.contains('/'))
        };
        let go = |p: &str| p.ends_with(".go") && !p.ends_with("_test.go");
        let mut changed = Vec::new();
        for c in &cs.changes {
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
                let files = if cs.snapshot(side).contains(&path) {
                    self.go_files(cs, side, std::slice::from_ref(&path))?
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
    pub fn touches_ent(&self, cs: &ChangeSet) -> bool {
        if cs.mode == Mode::All {
            return true;
        }
        let ent = self.config;
        let dirs: Vec<String> = ent
            .schema
            .iter()
            .chain(ent.mixin_packages.iter())
            .map(|d| format!("{}/", d.trim_end_matches('/')))
            .collect();
        cs.changes.iter().any(|c| {
            c.paths()
                .any(|p| dirs.iter().any(|d| p.starts_with(d.as_str())))
        })
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
