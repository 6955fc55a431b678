//! Settings: `.migguard.yaml`, else `atlas.hcl`, else the usual layouts;
//! command-line flags override all three.

mod atlas_hcl;
mod file;

use std::path::{Component, Path, PathBuf};

pub use atlas_hcl::AtlasHcl;
pub use file::{Config, GeneratedConfig, FILE_NAME};

use crate::error::{display_path, Error, Result};
use crate::findings::Severity;
use crate::migrations::DirFormat;

/// Where migration directories usually live, tried in order when neither
/// `.migguard.yaml` nor `atlas.hcl` names one.
pub const COMMON_LAYOUTS: [&str; 3] = [
    "migrations",
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
}

#[derive(Debug)]
pub struct Settings {
    /// The repository root (canonical), or the current folder outside git.
    pub root: PathBuf,
    pub config: Config,
    pub config_path: Option<PathBuf>,
    pub atlas_hcl: Option<AtlasHcl>,
    /// The migration directory (absolute; symlinks not resolved).
    pub migrations_dir: PathBuf,
    /// `None` when nothing names the format: it is then detected from the files.
    pub dir_format: Option<DirFormat>,
    /// Where the directory setting came from, for messages.
    pub dir_origin: String,
}

impl Settings {
    pub fn load(cwd: &Path, overrides: &Overrides, known_rules: &[&str]) -> Result<Settings> {
        let cwd = cwd.canonicalize().map_err(|e| Error::read(cwd, e))?;
        let root = match &overrides.root {
            Some(r) => r.clone(),
            None => find_root(&cwd).unwrap_or_else(|| cwd.clone()),
        };
        let config_path = match &overrides.config {
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
        if let Some(p) = &config_path {
            check_paths(&root, &config, &display_path(p))?;
        }
        let hcl_path = root.join("atlas.hcl");
        let atlas_hcl = if hcl_path.is_file() {
            let text = std::fs::read_to_string(&hcl_path).map_err(|e| Error::read(&hcl_path, e))?;
            Some(AtlasHcl::parse(&hcl_path, &text)?)
        } else {
            None
        };
        let hcl_dir = atlas_hcl.as_ref().and_then(|a| a.dir.clone());
        let (migrations_dir, dir_origin) = if let Some(dir) = &overrides.dir {
            (cwd.join(dir), "--dir".to_string())
        } else if let Some(dir) = &config.migrations.dir {
            let shown = display_path(config_path.as_deref().unwrap_or(Path::new(FILE_NAME)));
            (
                inside_root(&root, dir, &shown)?,
                format!("migrations.dir in {shown}"),
            )
        } else if let Some(dir) = hcl_dir {
            let env = atlas_hcl
                .as_ref()
                .and_then(|a| a.env.clone())
                .unwrap_or_default();
            (
                inside_root(&root, &dir, "atlas.hcl")?,
                format!("atlas.hcl (env {env:?})"),
            )
        } else {
            let found = COMMON_LAYOUTS
                .iter()
                .map(|l| root.join(l))
                .find(|p| p.is_dir());
            match found {
                Some(p) => (p, "detected".to_string()),
                None => {
                    return Err(Error::Usage(format!(
                        "no migration directory found in {} (looked for {}); pass --dir PATH or set `migrations.dir` in {FILE_NAME}",
                        root.display(),
                        COMMON_LAYOUTS.join(", ")
                    )))
                }
            }
        };
        let dir_format = overrides
            .dir_format
            .or(config.migrations.format)
            .or(atlas_hcl.as_ref().and_then(|a| a.format));
        Ok(Settings {
            root,
            config,
            config_path,
            atlas_hcl,
            migrations_dir,
            dir_format,
            dir_origin,
        })
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

    /// The severity of a rule after `rules:` in the config.
    pub fn severity(&self, rule: &str, default: Severity) -> Severity {
        self.config.rules.get(rule).copied().unwrap_or(default)
    }

    /// Tables exempt from conventions: the config's globs, else `atlas.hcl`'s
    /// excluded tables.
    pub fn exempt_tables(&self) -> Vec<String> {
        match &self.config.conventions.exempt_tables {
            Some(globs) => globs.clone(),
            None => self
                .atlas_hcl
                .as_ref()
                .map(AtlasHcl::excluded_tables)
                .unwrap_or_default(),
        }
    }
}

/// The migration format from the file names, when nothing configures it:
/// golang-migrate when `.up.sql` / `.down.sql` files exist, else Atlas's own.
pub fn detect_format<'a>(names: impl IntoIterator<Item = &'a str>) -> DirFormat {
    if names
        .into_iter()
        .any(|n| n.ends_with(".up.sql") || n.ends_with(".down.sql"))
    {
        DirFormat::GolangMigrate
    } else {
        DirFormat::Atlas
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
        return Err(Error::Usage(format!(
            "{origin}: the path `{rel}` leaves the repository; paths in config files are relative to {}",
            root.display()
        )));
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
        paths.extend(g.paths.iter().chain(&g.sources));
    }
    for p in paths {
        inside_root(root, p, origin)?;
        if Path::new(p).components().any(|c| c == Component::ParentDir) {
            return Err(Error::Usage(format!(
                "{origin}: `{p}` uses `..`: paths in config files stay inside the repository"
            )));
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
            detect_format(["1_a.up.sql", "atlas.sum"]),
            DirFormat::GolangMigrate
        );
        assert_eq!(detect_format(["1_a.sql"]), DirFormat::Atlas);
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
