//! Settings: `.migguard.yaml`, else `atlas.hcl`, else the usual layouts;
//! command-line flags override all three.

mod atlas_hcl;
mod file;
mod globs;

use std::path::{Component, Path, PathBuf};

pub use atlas_hcl::AtlasHcl;
pub use file::{Config, EntConfig, GeneratedConfig, FILE_NAME};
pub use globs::{GeneratedGlobs, Globs};

use crate::error::{display_path, Error, Result};
use crate::migrations::DirFormat;

/// Where migration directories usually live, checked when neither
/// `.migguard.yaml` nor `--dir` names one (beside every folder holding an
/// `atlas.sum` and every `atlas.hcl` env directory).
pub const COMMON_LAYOUTS: [&str; 6] = [
    "migrations",
    "db/migrations",
    "sql/migrations",
    "database/migrations",
    "ent/migrate/migrations",
    "tools/migrate/migrations",
];

/// What the command line overrides.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// The repository root when the caller knows it (from git).
    pub root: Option<PathBuf>,
    pub config: Option<PathBuf>,
    pub dir: Option<PathBuf>,
    pub dir_format: Option<DirFormat>,
    /// Files git tracks (repository paths), when the caller has a repository:
    /// discovery finds `atlas.sum` and `atlas.hcl` files among them instead
    /// of walking the disk.
    pub tracked: Option<Vec<String>>,
    /// Leave `.migguard.yaml` unread (`init` describes the layout itself).
    pub ignore_config: bool,
}

/// One migration directory to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationDir {
    /// Absolute; symlinks not resolved.
    pub path: PathBuf,
    /// The configured format (flag, config, atlas.hcl); `None`: detected.
    pub format: Option<DirFormat>,
    /// Where the directory came from, for messages.
    pub origin: String,
    /// Whether an `atlas.sum` belongs here: configured directories and those
    /// that hold one. A folder of SQL files found only by its common name is
    /// not an Atlas directory and never gets "atlas.sum is missing".
    pub sum_expected: bool,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// The repository root (canonical), or the current folder outside git.
    pub root: PathBuf,
    pub config: Config,
    pub config_path: Option<PathBuf>,
    /// Every migration directory of the run, sorted by path.
    pub dirs: Vec<MigrationDir>,
    /// The directory this view of the settings is about (see `for_dir`).
    pub migrations_dir: PathBuf,
    /// `None` when nothing names the format: it is then detected from the files.
    pub dir_format: Option<DirFormat>,
    /// Where the directory setting came from, for messages.
    pub dir_origin: String,
    /// Whether an `atlas.sum` belongs in this directory.
    pub sum_expected: bool,
    /// Tables exempt from conventions: `conventions.exempt_tables`, else the
    /// tables every atlas.hcl read excludes (an exclude that does not compile
    /// is left out with a note); compiled when the settings load.
    pub exempt_tables: Globs,
    /// What discovery could not use, for the summary.
    pub notes: Vec<String>,
}

impl Settings {
    pub fn load(cwd: &Path, overrides: &Overrides, known_rules: &[&str]) -> Result<Settings> {
        let cwd = cwd.canonicalize().map_err(|e| Error::read(cwd, e))?;
        let root = match &overrides.root {
            Some(r) => r.clone(),
            None => find_root(&cwd).unwrap_or_else(|| cwd.clone()),
        };
        let config_path = match &overrides.config {
            _ if overrides.ignore_config => None,
            Some(p) => Some(cwd.join(p)),
            None => Some(root.join(FILE_NAME)).filter(|p| p.is_file()),
        };
        let config = match &config_path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| Error::read(p, e))?;
                Config::parse(p, &text, known_rules)?
            }
            None => Config::default(),
        };
        let config_shown = display_path(config_path.as_deref().unwrap_or(Path::new(FILE_NAME)));
        if let Some(p) = &config_path {
            check_paths(&root, &config, &display_path(p))?;
        }
        let mut notes = Vec::new();
        // atlas.hcl files: the root's (an error in it is exit 2), then those
        // in sub-folders that git tracks (one that cannot be read is noted).
        let hcl_path = root.join("atlas.hcl");
        let mut hcls: Vec<(String, AtlasHcl)> = Vec::new();
        if hcl_path.is_file() {
            let text = std::fs::read_to_string(&hcl_path).map_err(|e| Error::read(&hcl_path, e))?;
            hcls.push((String::new(), AtlasHcl::parse(&hcl_path, &text)?));
        }
        let tracked: &[String] = overrides.tracked.as_deref().unwrap_or(&[]);
        for file in tracked.iter().filter(|p| p.ends_with("/atlas.hcl")) {
            let folder = file.trim_end_matches("/atlas.hcl").to_string();
            if skipped_folder(&folder) {
                continue;
            }
            let full = root.join(file);
            let Ok(text) = std::fs::read_to_string(&full) else {
                continue;
            };
            match AtlasHcl::parse(&full, &text) {
                Ok(a) => hcls.push((folder, a)),
                Err(e) => notes.push(format!("{file} not used: {e}")),
            }
        }
        let hcl_excluded_tables: Vec<String> = {
            let mut all = Vec::new();
            for (folder, a) in &hcls {
                for t in a.excluded_tables() {
                    if let Err((glob, why)) = Globs::compile(std::slice::from_ref(&t)) {
                        notes.push(format!(
                            "{}atlas.hcl: exclude `{glob}` is not a glob migguard can read ({why}): not used for conventions.exempt_tables",
                            if folder.is_empty() { String::new() } else { format!("{folder}/") }
                        ));
                    } else if !all.contains(&t) {
                        all.push(t);
                    }
                }
            }
            all
        };
        let exempt_tables = match &config.conventions.exempt {
            Some(globs) => globs.clone(),
            None => Globs::compile(&hcl_excluded_tables).unwrap_or_default(),
        };
        // Every env directory of every atlas.hcl, resolved against its folder.
        let mut hcl_dirs: Vec<MigrationDir> = Vec::new();
        for (folder, a) in &hcls {
            let shown = if folder.is_empty() {
                "atlas.hcl".to_string()
            } else {
                format!("{folder}/atlas.hcl")
            };
            for env in &a.envs {
                let rel = if folder.is_empty() {
                    env.dir.clone()
                } else {
                    format!("{folder}/{}", env.dir)
                };
                let path = inside_root(&root, &rel, &shown)?;
                if let Some(f) = &env.unknown_format {
                    notes.push(format!(
                        "{} (env {:?} of {shown}) not checked: migguard does not read the `{f}` format",
                        rel_of(&root, &path),
                        env.name.as_deref().unwrap_or("")
                    ));
                    continue;
                }
                hcl_dirs.push(MigrationDir {
                    path,
                    format: env.format,
                    origin: format!("{shown} (env {:?})", env.name.as_deref().unwrap_or("")),
                    sum_expected: true,
                });
            }
        }
        let hcl_format = |path: &Path| {
            hcl_dirs
                .iter()
                .find(|d| lexically_normal(&d.path) == lexically_normal(path))
                .and_then(|d| d.format)
        };
        let config_format = config.migrations.format();
        let mut dirs: Vec<MigrationDir> = Vec::new();
        if let Some(dir) = &overrides.dir {
            let path = lexically_normal(&cwd.join(dir));
            let configured = config
                .migrations
                .dirs()
                .find(|(d, _)| lexically_normal(&root.join(d)) == path)
                .and_then(|(_, f)| f);
            dirs.push(MigrationDir {
                format: overrides
                    .dir_format
                    .or(configured)
                    .or(config_format)
                    .or_else(|| hcl_format(&path)),
                path,
                origin: "--dir".to_string(),
                sum_expected: true,
            });
        } else if config.migrations.dirs().next().is_some() {
            for (dir, format) in config.migrations.dirs() {
                let path = inside_root(&root, dir, &config_shown)?;
                dirs.push(MigrationDir {
                    format: overrides
                        .dir_format
                        .or(format)
                        .or(config_format)
                        .or_else(|| hcl_format(&path)),
                    path,
                    origin: format!("migrations.dir in {config_shown}"),
                    sum_expected: true,
                });
            }
        } else {
            dirs.extend(hcl_dirs.iter().cloned());
            // Folders that hold an atlas.sum: from git's index, else the disk
            // at the usual places.
            let mut sum_folders: Vec<String> = tracked
                .iter()
                .filter_map(|p| {
                    if p == crate::atlas_sum::FILE_NAME {
                        Some(String::new())
                    } else {
                        p.strip_suffix("/atlas.sum").map(str::to_string)
                    }
                })
                .filter(|f| !skipped_folder(f))
                .collect();
            for l in COMMON_LAYOUTS {
                if root.join(l).join(crate::atlas_sum::FILE_NAME).is_file() {
                    sum_folders.push(l.to_string());
                }
            }
            for folder in sum_folders {
                dirs.push(MigrationDir {
                    path: lexically_normal(&root.join(&folder)),
                    format: None,
                    origin: "holds atlas.sum".to_string(),
                    sum_expected: true,
                });
            }
            for l in COMMON_LAYOUTS {
                let path = root.join(l);
                // Only a folder that holds SQL files itself (not a parent of
                // per-dialect directories).
                let tracked_sql = tracked.iter().any(|p| {
                    p.strip_prefix(l)
                        .and_then(|r| r.strip_prefix('/'))
                        .is_some_and(|r| !r.contains('/') && r.ends_with(".sql"))
                });
                let disk_sql = || {
                    std::fs::read_dir(&path).is_ok_and(|entries| {
                        entries
                            .filter_map(|e| e.ok())
                            .any(|e| e.file_name().to_str().is_some_and(|n| n.ends_with(".sql")))
                    })
                };
                let fallback = path.is_dir() && dirs.is_empty();
                if tracked_sql || disk_sql() || fallback {
                    dirs.push(MigrationDir {
                        path,
                        format: None,
                        origin: "detected by its name".to_string(),
                        sum_expected: false,
                    });
                }
            }
            for d in &mut dirs {
                d.format = overrides.dir_format.or(d.format).or(config_format);
            }
        }
        // One entry per folder: the first source wins, but any source that
        // expects an atlas.sum or names the format adds that.
        let mut unique: Vec<MigrationDir> = Vec::new();
        for d in dirs {
            let key = lexically_normal(&d.path);
            match unique.iter_mut().find(|u| lexically_normal(&u.path) == key) {
                Some(u) => {
                    u.sum_expected |= d.sum_expected;
                    u.format = u.format.or(d.format);
                }
                None => unique.push(d),
            }
        }
        unique.sort_by(|a, b| a.path.cmp(&b.path));
        let Some(first) = unique.first().cloned() else {
            return Err(Error::Usage(format!(
                "no migration directory found in {} (looked for folders holding atlas.sum, atlas.hcl env directories, and {}); pass --dir PATH or set `migrations.dir` in {FILE_NAME}",
                root.display(),
                COMMON_LAYOUTS.join(", ")
            )));
        };
        Ok(Settings {
            root,
            config,
            config_path,
            migrations_dir: first.path.clone(),
            dir_format: first.format,
            dir_origin: first.origin.clone(),
            sum_expected: first.sum_expected,
            dirs: unique,
            exempt_tables,
            notes,
        })
    }

    /// The settings of a repository at `root` configured by `config` alone
    /// (no discovery, no `atlas.hcl`): its first directory, else
    /// `migrations`. For checks on files in memory.
    pub fn from_config(root: &Path, config: Config) -> Settings {
        let (dir, format) = match config.migrations.dirs().next() {
            Some((d, f)) => (d.clone(), f),
            None => ("migrations".to_string(), config.migrations.format()),
        };
        let dir = MigrationDir {
            path: root.join(&dir),
            format,
            origin: FILE_NAME.to_string(),
            sum_expected: true,
        };
        Settings {
            root: root.to_path_buf(),
            config_path: None,
            migrations_dir: dir.path.clone(),
            dir_format: dir.format,
            dir_origin: dir.origin.clone(),
            sum_expected: dir.sum_expected,
            dirs: vec![dir],
            exempt_tables: config.conventions.exempt.clone().unwrap_or_default(),
            notes: Vec::new(),
            config,
        }
    }

    /// The settings seen from one of the run's directories.
    pub fn for_dir(&self, dir: &MigrationDir) -> Settings {
        let mut s = self.clone();
        s.migrations_dir = dir.path.clone();
        s.dir_format = dir.format;
        s.dir_origin = dir.origin.clone();
        s.sum_expected = dir.sum_expected;
        s
    }

    /// The folder no read may leave: the repository root when the migration
    /// directory is inside it, else the directory itself.
    pub fn boundary(&self) -> PathBuf {
        if lexically_normal(&self.migrations_dir).starts_with(&self.root) {
            self.root.clone()
        } else {
            self.migrations_dir
                .canonicalize()
                .unwrap_or_else(|_| self.migrations_dir.clone())
        }
    }

    /// A path as reported: relative to the root with `/`, else as given.
    pub fn rel(&self, path: &Path) -> String {
        let normal = lexically_normal(path);
        match normal.strip_prefix(&self.root) {
            Ok(rel) if !rel.as_os_str().is_empty() => rel.to_string_lossy().replace('\\', "/"),
            Ok(_) => ".".to_string(),
            Err(_) => display_path(path),
        }
    }
}

/// Folders discovery never treats as the team's own migrations.
fn skipped_folder(folder: &str) -> bool {
    folder
        .split('/')
        .any(|c| matches!(c, "vendor" | "node_modules" | "third_party") || c.starts_with('.'))
}

fn rel_of(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(r) => r.to_string_lossy().replace('\\', "/"),
        Err(_) => display_path(path),
    }
}

/// The migration format when nothing configures it, from the names and the
/// contents of a few files (`read` gives a file's bytes, `None` if it cannot):
/// golang-migrate (`.up.sql` / `.down.sql`), Flyway (`V<version>__<name>.sql`,
/// `U...` undo, `B...` baseline, `R__...` repeatable), goose (`-- +goose Up`),
/// dbmate (`-- migrate:up`), else Atlas's own.
pub fn detect_format_from<'a>(
    names: impl IntoIterator<Item = &'a str>,
    mut read: impl FnMut(&str) -> Option<Vec<u8>>,
) -> DirFormat {
    let mut sql: Vec<&str> = names
        .into_iter()
        .filter(|n| !n.contains('/') && n.ends_with(".sql"))
        .collect();
    if sql
        .iter()
        .any(|n| n.ends_with(".up.sql") || n.ends_with(".down.sql"))
    {
        return DirFormat::GolangMigrate;
    }
    if !sql.is_empty() && sql.iter().all(|n| flyway_name(n)) {
        return DirFormat::Flyway;
    }
    sql.sort_unstable();
    // The oldest and the newest files: a directory keeps one format.
    let sample: Vec<&str> = sql
        .iter()
        .take(2)
        .chain(sql.iter().rev().take(2))
        .copied()
        .collect();
    for name in sample {
        let Some(bytes) = read(name) else { continue };
        if let Some(f) = format_of_content(&bytes) {
            return f;
        }
    }
    DirFormat::Atlas
}

/// goose or dbmate, from a file's section markers.
pub fn format_of_content(bytes: &[u8]) -> Option<DirFormat> {
    for line in bytes.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let trimmed = line.trim_ascii();
        if let Some(rest) = trimmed.strip_prefix(b"-- +goose") {
            let cmd = rest.trim_ascii();
            if [
                &b"Up"[..],
                b"Down",
                b"StatementBegin",
                b"StatementEnd",
                b"NO TRANSACTION",
            ]
            .contains(&cmd)
            {
                return Some(DirFormat::Goose);
            }
        }
        if let Some(rest) = trimmed.strip_prefix(b"-- migrate:") {
            if rest.starts_with(b"up") || rest.starts_with(b"down") {
                return Some(DirFormat::Dbmate);
            }
        }
    }
    None
}

/// `V1__init.sql`, `V1_2__x.sql`, `U1__undo.sql`, `B1__base.sql`, `R__views.sql`.
fn flyway_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".sql") else {
        return false;
    };
    let Some((head, _)) = stem.split_once("__") else {
        return false;
    };
    match head.as_bytes() {
        [b'R'] => true,
        [b'V' | b'U' | b'B', rest @ ..] => {
            !rest.is_empty()
                && rest[0].is_ascii_digit()
                && rest
                    .iter()
                    .all(|c| c.is_ascii_digit() || *c == b'.' || *c == b'_')
        }
        _ => false,
    }
}

/// The nearest folder at or above `start` that holds `.git` (a folder, or a
/// file in worktrees and submodules).
pub fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|p| p.join(".git").exists())
        .map(Path::to_path_buf)
}

/// Joins a path from a config file to the root, refusing absolute paths and
/// `..` that would leave the repository: a config in a pull request must not
/// point migguard at files outside it.
pub fn inside_root(root: &Path, rel: &str, origin: &str) -> Result<PathBuf> {
    let path = Path::new(rel);
    let joined = lexically_normal(&root.join(path));
    if path.is_absolute() || !joined.starts_with(root) {
        return Err(Error::file(
            origin,
            format!(
                "the path `{rel}` leaves the repository; paths in config files are relative to {}",
                root.display()
            ),
        ));
    }
    Ok(joined)
}

/// Every path and glob of the config stays inside the repository.
fn check_paths(root: &Path, config: &Config, origin: &str) -> Result<()> {
    let mut paths: Vec<&String> = Vec::new();
    paths.extend(config.views.generated.iter());
    paths.extend(config.ent.schema.iter());
    paths.extend(config.ent.mixin_packages.iter());
    for g in &config.generated {
        paths.extend(g.paths.iter().chain(&g.sources).chain(&g.exclude));
    }
    for p in paths {
        inside_root(root, p, origin)?;
        if Path::new(p).components().any(|c| c == Component::ParentDir) {
            return Err(Error::file(
                origin,
                format!("`{p}` uses `..`: paths in config files stay inside the repository"),
            ));
        }
    }
    Ok(())
}

/// Resolves `.` and `..` without touching the file system.
pub fn lexically_normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats_from_names() {
        assert_eq!(
            detect_format_from(["1_a.up.sql", "atlas.sum"], |_| None),
            DirFormat::GolangMigrate
        );
        assert_eq!(detect_format_from(["1_a.sql"], |_| None), DirFormat::Atlas);
        assert_eq!(
            detect_format_from(
                [
                    "V1__init.sql",
                    "V1_1__more.sql",
                    "U1__init.sql",
                    "R__views.sql"
                ],
                |_| None
            ),
            DirFormat::Flyway
        );
        assert_eq!(
            detect_format_from(["V1__init.sql", "2_other.sql"], |_| None),
            DirFormat::Atlas
        );
    }

    #[test]
    fn detects_formats_from_contents() {
        let goose =
            b"-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n-- +goose StatementEnd\n".to_vec();
        let dbmate = b"-- migrate:up\nCREATE TABLE t (id int);\n\n-- migrate:down\n".to_vec();
        assert_eq!(
            detect_format_from(["1_a.sql", "2_b.sql"], |_| Some(goose.clone())),
            DirFormat::Goose
        );
        assert_eq!(
            detect_format_from(["20240101_a.sql"], |_| Some(dbmate.clone())),
            DirFormat::Dbmate
        );
        assert_eq!(
            detect_format_from(["1.sql"], |_| Some(
                b"-- +goose is a bird\nSELECT 1;".to_vec()
            )),
            DirFormat::Atlas
        );
    }

    #[test]
    fn config_paths_stay_inside() {
        let root = Path::new("/repo");
        assert_eq!(
            inside_root(root, "db/m", "x").unwrap(),
            PathBuf::from("/repo/db/m")
        );
        assert_eq!(
            inside_root(root, "./db/../m", "x").unwrap(),
            PathBuf::from("/repo/m")
        );
        assert!(inside_root(root, "../elsewhere", "x").is_err());
        assert!(inside_root(root, "/etc", "x").is_err());
    }
}
