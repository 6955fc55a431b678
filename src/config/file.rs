//! `.migguard.yaml`: the schema, and loading it with exact error positions.
//!
//! Every struct rejects unknown keys: a typo such as `migration:` for
//! `migrations:` must fail loudly (exit 2, naming the key and its line), not be
//! ignored while the user believes it applies.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::globs::{GeneratedGlobs, Globs};
use crate::error::{display_path, Error, Result};
use crate::findings::Severity;
use crate::migrations::DirFormat;

pub const FILE_NAME: &str = ".migguard.yaml";

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The ref that marks migrations as created in `--staged` mode.
    pub base: Option<String>,
    /// One migration directory, or a list of them.
    #[serde(default)]
    pub migrations: Migrations,
    #[serde(default)]
    pub generated: Vec<GeneratedConfig>,
    #[serde(default)]
    pub views: ViewsConfig,
    #[serde(default)]
    pub ent: EntConfig,
    #[serde(default)]
    pub conventions: ConventionsConfig,
    #[serde(default)]
    pub safety: SafetyConfig,
    /// Rule name to severity (`error`, `warn`, `info`, `off`).
    #[serde(default)]
    pub rules: BTreeMap<String, Severity>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrationsConfig {
    pub dir: Option<String>,
    pub format: Option<DirFormat>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratedConfig {
    pub paths: Vec<String>,
    /// Hand-written files under `paths` (e.g. `ent/schema/**`).
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default)]
    pub header: bool,
    pub command: Option<String>,
    /// `paths`, `exclude` and `sources`, compiled by `Config::parse`.
    #[serde(skip)]
    pub globs: GeneratedGlobs,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewsConfig {
    pub generated: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntConfig {
    pub schema: Option<String>,
    #[serde(default)]
    pub mixin_packages: Vec<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConventionsConfig {
    /// `true`/`false` turns the soft-delete convention on or off; unset, it
    /// is on when `soft_delete_column` is set, else detected.
    pub soft_delete: Option<bool>,
    pub soft_delete_column: Option<String>,
    pub exempt_tables: Option<Vec<String>>,
    /// `exempt_tables`, compiled by `Config::parse`.
    #[serde(skip)]
    pub exempt: Option<Globs>,
    /// Many-to-many join tables (two foreign keys forming the primary key)
    /// are exempt from the soft-delete rules (default true).
    pub exempt_join_tables: Option<bool>,
    /// The PostgreSQL version the lock and rewrite advice is for (default
    /// 15): a major version (`15`) or a string with the minor (`"14.11"`).
    pub postgres_version: Option<PgVersion>,
    /// The migration runner sets `lock_timeout` itself: `lock-timeout` is
    /// off.
    pub lock_timeout_set_by_runner: Option<bool>,
}

/// `safety:`: table statistics that size the lock and rewrite findings.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetyConfig {
    /// The file `migguard stats` writes (repository-relative).
    pub stats: Option<String>,
    /// Lock findings on tables with fewer rows become info (default 10,000).
    pub small_table_rows: Option<u64>,
    /// Lock findings on tables with more rows become errors (default
    /// 1,000,000).
    pub large_table_rows: Option<u64>,
}

/// `conventions.postgres_version`: the major version, and the minor when
/// it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgVersion {
    pub major: u32,
    pub minor: Option<u32>,
}

impl PgVersion {
    fn parse(s: &str) -> Option<PgVersion> {
        let mut parts = s.trim().split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = match parts.next() {
            Some(m) => Some(m.parse().ok()?),
            None => None,
        };
        parts.next().is_none().then_some(PgVersion { major, minor })
    }
}

impl<'de> Deserialize<'de> for PgVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u32),
            Str(String),
            Float(f64),
        }
        match Raw::deserialize(d)? {
            Raw::Int(major) => Ok(PgVersion { major, minor: None }),
            Raw::Str(s) => PgVersion::parse(&s).ok_or_else(|| {
                D::Error::custom(format!(
                    "postgres_version: `{s}` is not a PostgreSQL version such as 15 or \"14.11\""
                ))
            }),
            Raw::Float(f) => Err(D::Error::custom(format!(
                "postgres_version: write {f} in quotes (\"{f}\"): as a number, 14.10 would read as 14.1"
            ))),
        }
    }
}

/// `migrations:` as one mapping (`dir`, `format`) or a list of them.
#[derive(Debug, Default, Clone)]
pub struct Migrations(pub Vec<MigrationsConfig>);

impl Migrations {
    /// The format set for every directory (the single form without `dir`).
    pub fn format(&self) -> Option<DirFormat> {
        match self.0.as_slice() {
            [one] => one.format,
            _ => None,
        }
    }

    /// The directories listed, with their formats.
    pub fn dirs(&self) -> impl Iterator<Item = (&String, Option<DirFormat>)> {
        self.0
            .iter()
            .filter_map(|m| m.dir.as_ref().map(|d| (d, m.format)))
    }
}

impl<'de> Deserialize<'de> for Migrations {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Migrations;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping with `dir` and `format`, or a list of them")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<Migrations, A::Error> {
                let one = MigrationsConfig::deserialize(
                    serde::de::value::MapAccessDeserializer::new(map),
                )?;
                Ok(Migrations(vec![one]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> std::result::Result<Migrations, A::Error> {
                let many = Vec::<MigrationsConfig>::deserialize(
                    serde::de::value::SeqAccessDeserializer::new(seq),
                )?;
                Ok(Migrations(many))
            }
            fn visit_unit<E>(self) -> std::result::Result<Migrations, E> {
                Ok(Migrations::default())
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for DirFormat {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DirFormat::parse(&s).ok_or_else(|| {
            let names: Vec<&str> = DirFormat::ALL.iter().map(|f| f.name()).collect();
            serde::de::Error::custom(format!(
                "unknown migration format `{s}`, expected one of {}",
                names.join(", ")
            ))
        })
    }
}

impl Config {
    /// Parses `text` (the content of `path`). `known_rules` are the valid keys
    /// of `rules:`.
    pub fn parse(path: &Path, text: &str, known_rules: &[&str]) -> Result<Config> {
        let shown = display_path(path);
        // An empty file (or one with only comments) is an empty config.
        let value: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(text).map_err(|e| yaml_error(&shown, &e))?;
        if value.is_null() {
            return Ok(Config::default());
        }
        let mut config: Config =
            serde_yaml_ng::from_str(text).map_err(|e| yaml_error(&shown, &e))?;
        config.compile_globs(&shown, text)?;
        for name in config.rules.keys() {
            if !known_rules.contains(&name.as_str()) {
                let (line, column) = key_position(text, name);
                return Err(Error::Config {
                    path: shown,
                    line,
                    column,
                    message: format!(
                        "rules: unknown rule `{name}` (`migguard rules` lists them: {})",
                        known_rules.join(", ")
                    ),
                });
            }
        }
        Ok(config)
    }
}

impl Config {
    /// Compiles every glob of the config; a bad one is an error at the line
    /// that writes it.
    fn compile_globs(&mut self, shown: &str, text: &str) -> Result<()> {
        let compile = |globs: &[String]| {
            Globs::compile(globs).map_err(|(glob, why)| {
                let (line, column) = value_position(text, &glob);
                Error::Config {
                    path: shown.to_string(),
                    line,
                    column,
                    message: format!("invalid glob `{glob}`: {why}"),
                }
            })
        };
        for g in &mut self.generated {
            g.globs = GeneratedGlobs {
                paths: compile(&g.paths)?,
                exclude: compile(&g.exclude)?,
                sources: compile(&g.sources)?,
            };
        }
        if let Some(tables) = &self.conventions.exempt_tables {
            self.conventions.exempt = Some(compile(tables)?);
        }
        Ok(())
    }
}

/// Where a value is written (the first line that holds it), for messages
/// about a value serde accepted.
fn value_position(text: &str, value: &str) -> (usize, usize) {
    text.lines()
        .enumerate()
        .find_map(|(i, line)| line.find(value).map(|c| (i + 1, c + 1)))
        .unwrap_or((1, 1))
}

fn yaml_error(path: &str, e: &serde_yaml_ng::Error) -> Error {
    let (line, column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((1, 1));
    let mut message = e.to_string();
    // The location is already in our prefix.
    if let Some(idx) = message.find(" at line ") {
        message.truncate(idx);
    }
    Error::Config {
        path: path.to_string(),
        line,
        column,
        message,
    }
}

/// Where `key:` is written, for messages about a key serde accepted.
fn key_position(text: &str, key: &str) -> (usize, usize) {
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        for candidate in [key.to_string(), format!("\"{key}\""), format!("'{key}'")] {
            if trimmed.starts_with(&candidate)
                && trimmed[candidate.len()..].trim_start().starts_with(':')
            {
                return (i + 1, line.len() - trimmed.len() + 1);
            }
        }
    }
    (1, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &[&str] = &["sum-drift", "missing-down"];

    fn parse(text: &str) -> Result<Config> {
        Config::parse(Path::new(".migguard.yaml"), text, RULES)
    }

    #[test]
    fn postgres_versions_with_and_without_the_minor() {
        let v = |text: &str| parse(&format!("conventions:\n  postgres_version: {text}\n"));
        let got = |text: &str| v(text).unwrap().conventions.postgres_version.unwrap();
        assert_eq!(
            got("15"),
            PgVersion {
                major: 15,
                minor: None
            }
        );
        assert_eq!(
            got("\"14.11\""),
            PgVersion {
                major: 14,
                minor: Some(11)
            }
        );
        // As a number, 14.10 would be 14.1: refused with the way out.
        let e = v("14.10").unwrap_err().to_string();
        assert!(e.contains("in quotes"), "{e}");
        let e = v("\"fourteen\"").unwrap_err().to_string();
        assert!(e.contains("not a PostgreSQL version"), "{e}");
    }

    #[test]
    fn full_contract_example_parses() {
        let c = parse(
            r#"
base: origin/main
migrations:
  dir: tools/migrate/migrations
  format: golang-migrate        # atlas | golang-migrate | goose | flyway | dbmate
generated:
  - paths: ["openmeter/ent/db/**"]
    sources: ["openmeter/ent/schema/**", "go.mod"]
    header: true
    command: make generate
  - paths: ["tools/migrate/views.sql"]
    sources: ["openmeter/ent/schema/**"]
views:
  generated: tools/migrate/views.sql
ent:
  schema: openmeter/ent/schema
  mixin_packages: ["pkg/framework/entutils"]
conventions:
  soft_delete_column: deleted_at
  exempt_tables: ["distributed_locks", "om_migration_backup_*"]
rules:
  missing-down: off
"#,
        )
        .unwrap();
        assert_eq!(c.migrations.format(), Some(DirFormat::GolangMigrate));
        assert_eq!(c.generated.len(), 2);
        assert!(c.generated[0].header);
        assert_eq!(c.rules["missing-down"], Severity::Off);
    }

    #[test]
    fn globs_compile_when_the_config_loads_and_a_bad_one_names_its_line() {
        let c = parse("generated:\n  - paths: [\"ent/db/**\"]\n    exclude: [\"ent/db/x.go\"]\n")
            .unwrap();
        assert!(c.generated[0].globs.is_generated("ent/db/client.go"));
        assert!(!c.generated[0].globs.is_generated("ent/db/x.go"));
        let err =
            parse("generated:\n  - paths: [\"ent/db/**\"]\n    sources: [\"ent/schema/[\"]\n")
                .unwrap_err()
                .to_string();
        assert!(
            err.starts_with(".migguard.yaml:3:16: invalid glob `ent/schema/[`"),
            "{err}"
        );
        let err = parse("conventions:\n  exempt_tables: [\"locks_{\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(".migguard.yaml:2:"), "{err}");
    }

    #[test]
    fn empty_and_comment_only_files_are_defaults() {
        assert!(parse("").unwrap().migrations.dirs().next().is_none());
        assert!(parse("# nothing\n").unwrap().rules.is_empty());
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let err = parse("base: main\nmigrations:\n  dri: x\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(".migguard.yaml:3:"), "{err}");
        assert!(err.contains("unknown field `dri`"), "{err}");
    }

    #[test]
    fn unknown_rule_and_bad_values() {
        let err = parse("rules:\n  sum-drfit: warn\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(".migguard.yaml:2:3:"), "{err}");
        assert!(err.contains("sum-drfit"), "{err}");
        let err = parse("migrations:\n  format: sqitch\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown migration format `sqitch`"), "{err}");
        let err = parse("rules:\n  sum-drift: loud\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("loud"), "{err}");
        let err = parse("generated: yes\n").unwrap_err().to_string();
        assert!(err.starts_with(".migguard.yaml:1:"), "{err}");
    }
}
