//! `migguard init`: writes a commented `.migguard.yaml` for the layout it finds.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{current_dir, print};
use crate::config::{find_root, AtlasHcl, FILE_NAME};
use crate::error::{Error, ExitStatus, Result};
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
    /// Every migration directory discovery finds (path, format), and
    /// whether the root atlas.hcl's first env names it.
    pub dirs: Vec<(String, String, bool)>,
    /// ent's default layout: generated code in the ent folder itself, beside
    /// `schema/` (that folder).
    pub ent_generated_beside: Option<String>,
    /// In-repo packages the schemas import mixins from (via go.mod).
    pub mixin_packages: Vec<String>,
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

pub fn detect(root: &Path, tracked: Option<Vec<String>>) -> Result<Layout> {
    let mut layout = Layout::default();
    let hcl = root.join("atlas.hcl");
    if hcl.is_file() {
        let text = std::fs::read_to_string(&hcl).map_err(|e| Error::read(&hcl, e))?;
        layout.atlas_hcl = Some(AtlasHcl::parse(&hcl, &text)?);
    }
    let dirs = folders(root, 8);
    // The directories a zero-config run would check (atlas.hcl files at the
    // root and in sub-folders, folders holding atlas.sum, usual names).
    let overrides = crate::config::Overrides {
        root: Some(root.to_path_buf()),
        tracked,
        ignore_config: true,
        ..Default::default()
    };
    let root_hcl_dir = layout
        .atlas_hcl
        .as_ref()
        .and_then(|a| a.dir.as_ref())
        .map(|d| crate::config::lexically_normal(&root.join(d)));
    if let Ok(settings) =
        crate::config::Settings::load(root, &overrides, &crate::rules::known_names())
    {
        for d in &settings.dirs {
            let rel = settings.rel(&d.path);
            let format = match d.format {
                Some(f) => f,
                None => match crate::migrations::DiskDir::open(&d.path, root, false) {
                    Ok(disk) => crate::config::detect_format_from(
                        disk.names.iter().map(String::as_str),
                        |n| disk.read(n).ok(),
                    ),
                    Err(_) => continue,
                },
            };
            let from_root_hcl =
                root_hcl_dir.as_ref() == Some(&crate::config::lexically_normal(&d.path));
            layout
                .dirs
                .push((rel, format.name().to_string(), from_root_hcl));
        }
    }
    if let Some((dir, format, false)) = layout.dirs.first().cloned() {
        if layout.dirs.len() == 1 {
            layout.migrations_dir = Some(dir);
            layout.format = Some(format);
        }
    }
    // The soft-delete convention, over the tables of every directory.
    let mut total = 0;
    let mut best: std::collections::BTreeMap<&'static str, usize> = Default::default();
    let mut any = false;
    for (dir, format, _) in &layout.dirs {
        if let Some((n, found)) = soft_delete_of(root, dir, Some(format)) {
            any = true;
            total += n;
            if let Some((k, col)) = found {
                *best.entry(col).or_insert(0) += k;
            }
        }
    }
    if any {
        let top = best.iter().max_by_key(|(_, n)| **n).map(|(c, n)| (*n, *c));
        layout.soft_delete = Some((total, top));
    }
    layout.ent_schema = dirs
        .iter()
        .find(|d| d.as_str() == "ent/schema" || d.ends_with("/ent/schema"))
        .cloned();
    if let Some(schema) = layout.ent_schema.clone() {
        let ent = schema.trim_end_matches("/schema").to_string();
        layout.entc = Some(format!("{ent}/entc.go")).filter(|p| root.join(p).is_file());
        // Where ent writes: entc.go's `Target`, else the usual folders,
        // else (ent's default) the ent folder itself.
        let target = layout
            .entc
            .as_ref()
            .and_then(|p| std::fs::read(root.join(p)).ok())
            .and_then(|src| crate::ent::entc_target(&src))
            .map(|t| {
                let joined = crate::config::lexically_normal(&root.join(&ent).join(&t));
                joined
                    .strip_prefix(root)
                    .map(|r| r.to_string_lossy().replace('\\', "/"))
                    .unwrap_or_default()
            })
            .filter(|t| !t.is_empty() && root.join(t).is_dir());
        layout.ent_generated = target.or_else(|| {
            ["db", "gen", "generated"]
                .iter()
                .map(|g| format!("{ent}/{g}"))
                .find(|g| root.join(g).is_dir())
        });
        if layout.ent_generated.is_none() && generated_by_ent(&root.join(&ent)) {
            layout.ent_generated_beside = Some(ent.clone());
        }
        layout.mixin_packages = mixin_packages(root, &schema)?;
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

/// Whether a folder holds Go files ent generated (its `Code generated by
/// ent` header), as ent's default layout puts them beside `schema/`.
fn generated_by_ent(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.filter_map(|e| e.ok()).any(|e| {
            let p = e.path();
            p.extension().is_some_and(|x| x == "go")
                && std::fs::read(&p).is_ok_and(|b| {
                    b.split(|c| *c == b'\n')
                        .take(5)
                        .any(|l| l.starts_with(b"// Code generated by ent"))
                })
        })
    })
}

/// The in-repo packages the schema package takes mixins from (the imports
/// it uses where mixins are built) that declare mixins, found through the
/// nearest go.mod as Go finds them.
fn mixin_packages(root: &Path, schema: &str) -> Result<Vec<String>> {
    let read_go = |dir: &str| -> Vec<(String, Vec<u8>)> {
        std::fs::read_dir(root.join(dir))
            .map(|it| {
                it.filter_map(|e| e.ok())
                    .filter_map(|e| {
                        let name = e.file_name().into_string().ok()?;
                        (name.ends_with(".go") && !name.ends_with("_test.go")).then(|| {
                            Some((format!("{dir}/{name}"), std::fs::read(e.path()).ok()?))
                        })?
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let go_mod = crate::ent::find_go_module(schema, |p| {
        Ok::<_, std::convert::Infallible>(std::fs::read_to_string(root.join(p)).ok())
    });
    let Ok(Some((mod_dir, module))) = go_mod else {
        return Ok(Vec::new());
    };
    let schema_pkg = crate::ent::Package::parse(schema, read_go(schema))?;
    let mut out = Vec::new();
    for import in schema_pkg.mixin_imports() {
        let Some(dir) = crate::ent::import_dir(&import, &mod_dir, &module) else {
            continue;
        };
        if dir == schema {
            continue;
        }
        let files = read_go(&dir);
        if !files.is_empty()
            && files.len() <= 200
            && crate::ent::Package::parse(&dir, files)?.has_mixins()
        {
            out.push(dir);
        }
    }
    Ok(out)
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
        crate::sql::schema::most_common_soft_delete(&tables, |t, col| {
            t.columns.iter().any(|c| c == col)
        }),
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
    match (&layout.atlas_hcl, layout.dirs.as_slice()) {
        (Some(hcl), [(_, _, true)]) if hcl.dir.is_some() => {
            y.push_str(&format!(
                "# The migration directory comes from atlas.hcl (env {:?}: dir {:?}, format {:?}).\n# Uncomment to override it:\n# migrations:\n#   dir: {}\n#   format: {}\n\n",
                hcl.env.clone().unwrap_or_default(),
                hcl.dir.clone().unwrap_or_default(),
                hcl.format.map(|f| f.name()).unwrap_or("atlas"),
                hcl.dir.clone().unwrap_or_default(),
                hcl.format.map(|f| f.name()).unwrap_or("atlas"),
            ));
        }
        (_, [(dir, format, _)]) => {
            y.push_str(&format!(
                "migrations:\n  dir: {dir}\n  format: {format}        # atlas | golang-migrate | goose | flyway | dbmate\n\n"
            ));
        }
        (_, []) => y.push_str("# No migration directory found: set it here.\n# migrations:\n#   dir: migrations\n#   format: golang-migrate\n\n"),
        (_, many) => {
            y.push_str("# Every migration directory found (atlas.hcl files, folders holding atlas.sum).\nmigrations:\n");
            for (dir, format, _) in many {
                y.push_str(&format!("  - dir: {dir}\n    format: {format}\n"));
            }
            y.push('\n');
        }
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
    } else if let (Some(ent), Some(schema)) = (&layout.ent_generated_beside, &layout.ent_schema) {
        entries.push(format!(
            "  - paths: [\"{ent}/**\"]             # ent's default layout: generated code beside schema/\n    exclude: [\"{schema}/**\", \"{ent}/entc.go\", \"{ent}/generate.go\"]\n    sources: {}\n    header: true\n    # command: go generate ./{ent}\n",
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
            "ent:\n  schema: {schema}\n  # In-repo packages the schemas take mixins from, found through go.mod\n  # (migguard follows the imports itself; this list only adds to them).\n  mixin_packages: {}\n\n",
            quoted(&layout.mixin_packages)
        )),
        None => y.push_str("# ent:\n#   schema: ent/schema\n#   mixin_packages: []\n\n"),
    }
    y.push_str("conventions:\n");
    match layout.soft_delete {
        Some((total, Some((n, col))))
            if crate::sql::schema::is_soft_delete_convention(n, total) =>
        {
            y.push_str(&format!(
                "  # Detected: {n} of {total} tables carry {col}.\n  soft_delete: true\n  soft_delete_column: {col}\n"
            ))
        }
        Some((total, found)) if total > 0 => y.push_str(&format!(
            "  # Detected: {} of {total} tables carry a soft-delete column: fewer than three quarters, not the team's convention.\n  soft_delete: false\n  # soft_delete_column: deleted_at\n",
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

pub fn run(args: &InitArgs) -> Result<ExitStatus> {
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
    let tracked = Git::discover(&root)
        .ok()
        .map(|git| super::tracked_for_discovery(&git));
    let text = render(&detect(&root, tracked)?);
    // Never write a file migguard itself would reject.
    crate::config::Config::parse(&path, &text, &crate::rules::known_names())?;
    write_atomic(&path, text.as_bytes())?;
    print(&format!("wrote {}\n", path.display()));
    Ok(ExitStatus::Clean)
}
