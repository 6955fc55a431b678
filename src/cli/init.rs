//! `migguard init`: writes a commented `.migguard.yaml` for the layout it finds.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{current_dir, print};
use crate::config::{detect_format, find_root, AtlasHcl, COMMON_LAYOUTS, FILE_NAME};
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::git::Git;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite an existing .migguard.yaml
    #[arg(long)]
    force: bool,
}

/// What `init` found in the repository.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Layout {
    pub atlas_hcl: Option<AtlasHcl>,
    pub migrations_dir: Option<String>,
    pub format: Option<String>,
    /// Folder of the ent schema package, e.g. `openmeter/ent/schema`.
    pub ent_schema: Option<String>,
    /// Generated ent code kept apart from the schema, e.g. `openmeter/ent/db`.
    pub ent_generated: Option<String>,
    pub entc: Option<String>,
    pub go_mod: bool,
    pub go_sum: bool,
    pub views: Option<String>,
    /// Tables in the migrations, and how many carry the most common
    /// soft-delete column (which one), for `conventions:`.
    pub soft_delete: Option<(usize, Option<(usize, &'static str)>)>,
}

const SKIP: [&str; 5] = [".git", "node_modules", "vendor", "target", ".direnv"];

/// Folders (relative, `/`) up to `depth` levels below `root`.
fn folders(root: &Path, depth: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut frontier = vec![(root.to_path_buf(), String::new())];
    for _ in 0..depth {
        let mut next = Vec::new();
        for (dir, rel) in frontier {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| !SKIP.contains(&n.as_str()) && !n.starts_with('.'))
                .collect();
            names.sort();
            for n in names {
                let r = if rel.is_empty() {
                    n.clone()
                } else {
                    format!("{rel}/{n}")
                };
                out.push(r.clone());
                next.push((dir.join(&n), r));
            }
        }
        frontier = next;
    }
    out
}

pub fn detect(root: &Path) -> Result<Layout> {
    let mut layout = Layout::default();
    let hcl = root.join("atlas.hcl");
    if hcl.is_file() {
        let text = std::fs::read_to_string(&hcl).map_err(|e| Error::read(&hcl, e))?;
        layout.atlas_hcl = Some(AtlasHcl::parse(&hcl, &text)?);
    }
    let dirs = folders(root, 5);
    if layout
        .atlas_hcl
        .as_ref()
        .and_then(|a| a.dir.as_ref())
        .is_none()
    {
        layout.migrations_dir = COMMON_LAYOUTS
            .iter()
            .find(|l| root.join(l).is_dir())
            .map(|l| l.to_string());
        if let Some(dir) = &layout.migrations_dir {
            let names: Vec<String> = std::fs::read_dir(root.join(dir))
                .map(|it| {
                    it.filter_map(|e| e.ok()?.file_name().into_string().ok())
                        .collect()
                })
                .unwrap_or_default();
            layout.format = Some(
                detect_format(names.iter().map(String::as_str))
                    .name()
                    .to_string(),
            );
        }
    }
    let migrations = layout
        .migrations_dir
        .clone()
        .or_else(|| layout.atlas_hcl.as_ref().and_then(|a| a.dir.clone()));
    if let Some(dir) = migrations {
        layout.soft_delete = soft_delete_of(root, &dir, layout.format.as_deref());
    }
    layout.ent_schema = dirs
        .iter()
        .find(|d| d.as_str() == "ent/schema" || d.ends_with("/ent/schema"))
        .cloned();
    if let Some(schema) = &layout.ent_schema {
        let ent = schema.trim_end_matches("/schema");
        layout.ent_generated = ["db", "gen", "generated"]
            .iter()
            .map(|g| format!("{ent}/{g}"))
            .find(|g| root.join(g).is_dir());
        layout.entc = Some(format!("{ent}/entc.go")).filter(|p| root.join(p).is_file());
    }
    layout.go_mod = root.join("go.mod").is_file();
    layout.go_sum = root.join("go.sum").is_file();
    layout.views = std::iter::once(String::new())
        .chain(dirs)
        .map(|d| {
            if d.is_empty() {
                "views.sql".to_string()
            } else {
                format!("{d}/views.sql")
            }
        })
        .find(|p| root.join(p).is_file());
    Ok(layout)
}

/// The tables the migrations of `dir` build, and their most common
/// soft-delete column; `None` when the folder cannot be read.
fn soft_delete_of(
    root: &Path,
    dir: &str,
    format: Option<&str>,
) -> Option<(usize, Option<(usize, &'static str)>)> {
    let path = root.join(dir);
    let disk = crate::migrations::DiskDir::open(&path, root, false).ok()?;
    let format = format
        .and_then(crate::migrations::DirFormat::parse)
        .unwrap_or_else(|| {
            crate::config::detect_format_from(disk.names.iter().map(String::as_str), |n| {
                disk.read(n).ok()
            })
        });
    let listing = crate::migrations::Listing::new(format, disk.names.iter().map(String::as_str));
    let parsed: Vec<(String, crate::sql::ParsedFile)> = listing
        .migrations
        .iter()
        .filter_map(|m| {
            let bytes = disk.read(&m.up).ok()?;
            Some((
                m.up.clone(),
                crate::sql::ParsedFile::parse(format.up_part(&bytes)),
            ))
        })
        .collect();
    let replay = crate::sql::Replay::run(parsed.iter().map(|(p, f)| (p.as_str(), f)));
    let tables: Vec<&crate::sql::schema::Table> = replay
        .schema
        .tables
        .values()
        .filter(|t| !t.is_join_table())
        .collect();
    Some((
        tables.len(),
        crate::sql::schema::most_common_soft_delete(tables.iter().copied()),
    ))
}

fn quoted(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
    format!("[{}]", inner.join(", "))
}

/// The commented config for a layout.
pub fn render(layout: &Layout) -> String {
    let mut y = String::from(
        "# migguard configuration (https://github.com/migguard/migguard). Everything is optional.\n\
         # Written by `migguard init`; `migguard rules` lists the rules, `migguard explain RULE` documents one.\n\n\
         # The ref whose migrations count as created (immutable) in `check --staged`.\n\
         # Default: origin/HEAD, then origin/main, then main.\n\
         # base: origin/main\n\n",
    );
    match (&layout.atlas_hcl, &layout.migrations_dir) {
        (Some(hcl), _) if hcl.dir.is_some() => {
            y.push_str(&format!(
                "# The migration directory comes from atlas.hcl (env {:?}: dir {:?}, format {:?}).\n# Uncomment to override it:\n# migrations:\n#   dir: {}\n#   format: {}\n\n",
                hcl.env.clone().unwrap_or_default(),
                hcl.dir.clone().unwrap_or_default(),
                hcl.format.map(|f| f.name()).unwrap_or("atlas"),
                hcl.dir.clone().unwrap_or_default(),
                hcl.format.map(|f| f.name()).unwrap_or("atlas"),
            ));
        }
        (_, Some(dir)) => {
            y.push_str(&format!(
                "migrations:\n  dir: {dir}\n  format: {}        # atlas | golang-migrate | goose | flyway | dbmate\n\n",
                layout.format.as_deref().unwrap_or("atlas")
            ));
        }
        _ => y.push_str("# No migration directory found: set it here.\n# migrations:\n#   dir: migrations\n#   format: golang-migrate\n\n"),
    }
    let mut sources: Vec<String> = Vec::new();
    if let Some(schema) = &layout.ent_schema {
        sources.push(format!("{schema}/**"));
    }
    if let Some(entc) = &layout.entc {
        sources.push(entc.clone());
    }
    if layout.go_mod {
        sources.push("go.mod".into());
    }
    if layout.go_sum {
        sources.push("go.sum".into());
    }
    y.push_str("# Generated files: changed only together with their sources, never by hand.\n");
    let mut entries = Vec::new();
    if let Some(generated) = &layout.ent_generated {
        entries.push(format!(
            "  - paths: [\"{generated}/**\"]\n    sources: {}\n    header: true             # each file carries `Code generated ... DO NOT EDIT.`\n    # command: make generate  # used by `check --regenerate`\n",
            quoted(&sources)
        ));
    }
    if let (Some(views), Some(schema)) = (&layout.views, &layout.ent_schema) {
        entries.push(format!(
            "  - paths: [\"{views}\"]\n    sources: [\"{schema}/**\"]\n"
        ));
    }
    if entries.is_empty() {
        y.push_str("# generated:\n#   - paths: [\"ent/db/**\"]\n#     sources: [\"ent/schema/**\", \"go.mod\", \"go.sum\"]\n#     header: true\n\n");
    } else {
        y.push_str("generated:\n");
        for e in entries {
            y.push_str(&e);
        }
        y.push('\n');
    }
    match &layout.views {
        Some(views) => y.push_str(&format!("views:\n  generated: {views}\n\n")),
        None => y.push_str("# views:\n#   generated: tools/migrate/views.sql\n\n"),
    }
    match &layout.ent_schema {
        Some(schema) => y.push_str(&format!(
            "ent:\n  schema: {schema}\n  # Packages whose mixins the schemas use, e.g. [\"pkg/framework/entutils\"].\n  mixin_packages: []\n\n"
        )),
        None => y.push_str("# ent:\n#   schema: ent/schema\n#   mixin_packages: []\n\n"),
    }
    y.push_str("conventions:\n");
    match layout.soft_delete {
        Some((total, Some((n, col)))) if n * 2 > total => y.push_str(&format!(
            "  # Detected: {n} of {total} tables carry {col}.\n  soft_delete: true\n  soft_delete_column: {col}\n"
        )),
        Some((total, found)) if total > 0 => y.push_str(&format!(
            "  # Detected: {} of {total} tables carry a soft-delete column: not the team's convention.\n  soft_delete: false\n  # soft_delete_column: deleted_at\n",
            found.map_or(0, |(n, _)| n)
        )),
        _ => y.push_str(
            "  # No tables yet: without these lines the convention is detected on each run.\n  # soft_delete: true\n  # soft_delete_column: deleted_at\n",
        ),
    }
    match layout.atlas_hcl.as_ref().map(AtlasHcl::excluded_tables) {
        Some(tables) if !tables.is_empty() => {
            y.push_str(&format!(
                "  # Default: the tables atlas.hcl excludes, {}.\n  # exempt_tables: {}\n\n",
                quoted(&tables),
                quoted(&tables)
            ));
        }
        _ => y.push_str("  exempt_tables: []\n\n"),
    }
    y.push_str("# Severity per rule: error | warn | off.\nrules:\n  missing-down: warn\n");
    y
}

pub fn run(args: &InitArgs) -> Result<i32> {
    let cwd = current_dir()?;
    let root: PathBuf = match Git::discover(&cwd) {
        Ok(git) => git.workdir,
        Err(_) => find_root(&cwd).unwrap_or(cwd),
    };
    let path = root.join(FILE_NAME);
    if path.exists() && !args.force {
        return Err(Error::file(
            &path,
            "already exists: not overwritten (use `migguard init --force` to replace it)",
        ));
    }
    let text = render(&detect(&root)?);
    // Never write a file migguard itself would reject.
    crate::config::Config::parse(&path, &text, &crate::rules::known_names())?;
    write_atomic(&path, text.as_bytes())?;
    print(&format!("wrote {}\n", path.display()));
    Ok(0)
}
