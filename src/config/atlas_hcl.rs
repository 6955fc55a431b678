//! Reading the migration settings out of Atlas's own `atlas.hcl`.
//!
//! Teams already describe their migration directory there, so migguard needs
//! no config of its own: from the first `env` block that has a
//! `migration { dir = ... }`, we take `dir`, `format` and `exclude`, evaluating
//! `${local.x}` references against the `locals` blocks.

use std::path::Path;

use hcl::eval::{Context, Evaluate};
use hcl::{Body, Expression, Value};

use crate::error::{display_path, Error, Result};
use crate::migrations::DirFormat;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AtlasHcl {
    /// The env block the settings came from.
    pub env: Option<String>,
    /// Migration directory, relative to the file's folder (`file://` removed).
    pub dir: Option<String>,
    pub format: Option<DirFormat>,
    /// `exclude` patterns, e.g. `om_migration_backup_*[type=table]`.
    pub exclude: Vec<String>,
    /// Every env block with a migration directory, in file order (the fields
    /// above are the first of them).
    pub envs: Vec<HclEnv>,
}

/// One `env` block's `migration` settings.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HclEnv {
    pub name: Option<String>,
    /// Relative to the atlas.hcl's folder, `file://` and the query removed.
    pub dir: String,
    pub format: Option<DirFormat>,
    /// A format Atlas knows that migguard does not read (`liquibase`).
    pub unknown_format: Option<String>,
    pub exclude: Vec<String>,
}

/// The format names Atlas accepts as bare identifiers (`format = goose`).
const FORMAT_IDENTIFIERS: [&str; 6] = [
    "atlas",
    "golang-migrate",
    "goose",
    "flyway",
    "liquibase",
    "dbmate",
];

impl AtlasHcl {
    /// Table-name globs from `exclude` (patterns without a type or with
    /// `[type=table]`), over every env.
    pub fn excluded_tables(&self) -> Vec<String> {
        let mut all: Vec<&String> = self.exclude.iter().collect();
        for env in &self.envs {
            all.extend(env.exclude.iter().filter(|e| !self.exclude.contains(e)));
        }
        all.into_iter()
            .filter_map(|p| match p.split_once('[') {
                Some((name, selector)) => (selector.trim_end_matches(']').replace(' ', "")
                    == "type=table")
                    .then(|| name.to_string()),
                None => Some(p.clone()),
            })
            .collect()
    }

    pub fn parse(path: &Path, text: &str) -> Result<AtlasHcl> {
        let shown = display_path(path);
        let body: Body = hcl::parse(text).map_err(|e| {
            let (line, column) = match &e {
                hcl::Error::Parse(p) => (p.location().line(), p.location().column()),
                _ => (1, 1),
            };
            Error::Config {
                path: shown.clone(),
                line,
                column,
                message: format!("cannot parse atlas.hcl: {}", first_line(&e.to_string())),
            }
        })?;
        let ctx = locals_context(&body);
        let mut envs: Vec<HclEnv> = Vec::new();
        for env in body.blocks().filter(|b| b.identifier() == "env") {
            let Some(migration) = env.body().blocks().find(|b| b.identifier() == "migration")
            else {
                continue;
            };
            let attr = |key: &str| {
                migration
                    .body()
                    .attributes()
                    .find(|a| a.key() == key)
                    .map(|a| a.expr().clone())
            };
            let Some(dir_expr) = attr("dir") else {
                continue;
            };
            let env_name = env.labels().first().map(|l| l.as_str().to_string());
            let eval = |key: &str, expr: &Expression| -> Result<Value> {
                expr.evaluate(&ctx).map_err(|e| Error::File {
                    path: shown.clone(),
                    message: format!(
                        "cannot evaluate `{key}` of env {:?}'s migration block ({}); set `migrations:` in .migguard.yaml instead",
                        env_name.as_deref().unwrap_or(""),
                        first_line(&e.to_string())
                    ),
                })
            };
            let dir_url = match eval("dir", &dir_expr)? {
                Value::String(s) => s,
                other => {
                    return Err(Error::file(
                        path,
                        format!("`dir` of env {env_name:?} is not a string: {other}"),
                    ));
                }
            };
            let (dir, query_format) = split_dir_url(&dir_url);
            let mut format = query_format;
            if let Some(expr) = attr("format") {
                if let Value::String(s) = eval("format", &expr)? {
                    format = Some(s);
                }
            }
            let (format, unknown_format) = match format {
                Some(f) => match DirFormat::parse(&f) {
                    Some(known) => (Some(known), None),
                    None if FORMAT_IDENTIFIERS.contains(&f.as_str()) => (None, Some(f)),
                    None => {
                        return Err(Error::file(
                            path,
                            format!("env {env_name:?} uses migration format `{f}`, which Atlas does not know (expected one of {})", FORMAT_IDENTIFIERS.join(", ")),
                        ))
                    }
                },
                None => (None, None),
            };
            let exclude = match attr("exclude") {
                Some(expr) => match eval("exclude", &expr)? {
                    Value::Array(items) => items
                        .into_iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect(),
                    Value::String(s) => vec![s],
                    _ => Vec::new(),
                },
                None => Vec::new(),
            };
            envs.push(HclEnv {
                name: env_name,
                dir,
                format,
                unknown_format,
                exclude,
            });
        }
        let Some(first) = envs.first().cloned() else {
            return Ok(AtlasHcl::default());
        };
        Ok(AtlasHcl {
            env: first.name,
            dir: Some(first.dir),
            format: first.format,
            exclude: first.exclude,
            envs,
        })
    }
}

/// `file://tools/migrate/migrations?format=golang-migrate` to the path and the
/// format given in the query (older Atlas versions).
fn split_dir_url(url: &str) -> (String, Option<String>) {
    let rest = url.strip_prefix("file://").unwrap_or(url);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let format = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("format="))
        .map(str::to_string);
    (path.to_string(), format)
}

/// Evaluates `locals` blocks in order, several passes so that a local may use
/// another defined after it; what cannot be evaluated is left out.
fn locals_context(body: &Body) -> Context<'static> {
    let attrs: Vec<(String, Expression)> = body
        .blocks()
        .filter(|b| b.identifier() == "locals")
        .flat_map(|b| {
            b.body()
                .attributes()
                .map(|a| (a.key().to_string(), a.expr().clone()))
        })
        .collect();
    // `variable "x" { default = ... }` blocks: `var.x` is their default.
    let mut vars = hcl::Map::<String, Value>::new();
    for block in body.blocks().filter(|b| b.identifier() == "variable") {
        let (Some(name), Some(default)) = (
            block.labels().first(),
            block.body().attributes().find(|a| a.key() == "default"),
        ) else {
            continue;
        };
        if let Ok(v) = default.expr().evaluate(&Context::new()) {
            vars.insert(name.as_str().to_string(), v);
        }
    }
    let base = |ctx: &mut Context<'static>| {
        for f in FORMAT_IDENTIFIERS {
            ctx.declare_var(f, Value::String(f.to_string()));
        }
        ctx.declare_var("var", Value::Object(vars.clone()));
    };
    let mut known = hcl::Map::<String, Value>::new();
    for _ in 0..4 {
        let mut ctx = Context::new();
        base(&mut ctx);
        ctx.declare_var("local", Value::Object(known.clone()));
        let before = known.len();
        for (key, expr) in &attrs {
            if !known.contains_key(key) {
                if let Ok(v) = expr.evaluate(&ctx) {
                    known.insert(key.clone(), v);
                }
            }
        }
        if known.len() == before {
            break;
        }
    }
    let mut ctx = Context::new();
    base(&mut ctx);
    ctx.declare_var("local", Value::Object(known));
    ctx
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENMETER_STYLE: &str = r#"
env "local" {
  src = "${local.schema_src}"
  migration {
    dir = "${local.migrations_dir}"
    format = "${local.migrations_format}"
    exclude = "${local.migration_exclude}"
  }
  dev = "docker://postgres/15/dev?search_path=public"
  lint { latest = 100 }
}
locals {
  schema_src = "ent://app/ent/schema"
  migrations_dir = "file://${local.base}/migrations"
  base = "tools/migrate"
  migrations_format = "golang-migrate"
  migration_exclude = ["locks[type=table]", "backup_*[type=table]", "fn_*[type=function]"]
}
lint {
  non_linear { error = true }
}
"#;

    #[test]
    fn reads_env_migration_with_locals() {
        let a = AtlasHcl::parse(Path::new("atlas.hcl"), OPENMETER_STYLE).unwrap();
        assert_eq!(a.env.as_deref(), Some("local"));
        assert_eq!(a.dir.as_deref(), Some("tools/migrate/migrations"));
        assert_eq!(a.format, Some(DirFormat::GolangMigrate));
        assert_eq!(a.excluded_tables(), vec!["locks", "backup_*"]);
    }

    #[test]
    fn query_format_and_plain_values() {
        let a = AtlasHcl::parse(
            Path::new("atlas.hcl"),
            "env \"dev\" {\n  migration {\n    dir = \"file://db/migrations?format=goose\"\n  }\n}\n",
        )
        .unwrap();
        assert_eq!(a.dir.as_deref(), Some("db/migrations"));
        assert_eq!(a.format, Some(DirFormat::Goose));
    }

    #[test]
    fn bare_identifiers_several_envs_and_variables() {
        let text = r#"
variable "dir" {
  type = string
  default = "file://db/pg"
}
env "pg" {
  migration {
    dir = var.dir
    format = golang-migrate
  }
}
env "lite" {
  migration {
    dir = "file://db/lite"
    format = goose
  }
}
env "lb" {
  migration {
    dir = "file://db/lb"
    format = liquibase
  }
}
"#;
        let a = AtlasHcl::parse(Path::new("atlas.hcl"), text).unwrap();
        assert_eq!(a.dir.as_deref(), Some("db/pg"));
        assert_eq!(a.format, Some(DirFormat::GolangMigrate));
        let dirs: Vec<(&str, Option<DirFormat>)> =
            a.envs.iter().map(|e| (e.dir.as_str(), e.format)).collect();
        assert_eq!(
            dirs,
            vec![
                ("db/pg", Some(DirFormat::GolangMigrate)),
                ("db/lite", Some(DirFormat::Goose)),
                ("db/lb", None)
            ]
        );
        assert_eq!(a.envs[2].unknown_format.as_deref(), Some("liquibase"));
    }

    #[test]
    fn no_env_means_nothing_configured() {
        assert_eq!(
            AtlasHcl::parse(Path::new("atlas.hcl"), "lint {}\n").unwrap(),
            AtlasHcl::default()
        );
    }

    #[test]
    fn errors_name_file_and_line() {
        let err = AtlasHcl::parse(
            Path::new("atlas.hcl"),
            "env \"x\" {\n  migration {\n    dir = \n}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("atlas.hcl:"), "{err}");
        let err = AtlasHcl::parse(
            Path::new("atlas.hcl"),
            "env \"x\" {\n  migration {\n    dir = var.nowhere\n  }\n}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("cannot evaluate `dir`"), "{err}");
    }
}
