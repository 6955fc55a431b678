//! Unit tests for rules, without git: a change given as files in memory
//! (`old` is `HEAD` and the base, `new` the index), the config as YAML, and
//! one rule run through the same path as `migguard check` (severities,
//! ent-over-SQL preference, suppressions). In the spirit of squawk's
//! `lint_errors` / `lint_ok`.

use std::path::Path;

use super::Rule;
use crate::check::{ChangeSet, CheckContext};
use crate::config::{Config, Settings};
use crate::findings::Finding;

/// Files as `(repository path, content)`.
pub type Files<'a> = [(&'a str, &'a str)];

/// What one rule reports on a change, and the summary lines of the run.
pub struct Outcome {
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
}

fn settings(config: &str) -> Settings {
    let config = Config::parse(
        Path::new(crate::config::FILE_NAME),
        config,
        &super::known_names(),
    )
    .unwrap_or_else(|e| panic!("test config does not parse: {e}"));
    Settings::from_config(Path::new("/repo"), config)
}

fn run_on(rule: &Rule, settings: &Settings, cs: ChangeSet) -> Outcome {
    let cs = cs.with_format(settings.dir_format);
    let ctx = CheckContext::new(settings, cs, false);
    let selection = super::Selection::new(&settings.config, &[rule.name.to_string()])
        .unwrap_or_else(|e| panic!("{e}"));
    let findings = crate::check::run_rules(&ctx, &selection)
        .unwrap_or_else(|e| panic!("{} failed: {e}", rule.name));
    Outcome {
        findings,
        notes: ctx.take_notes(),
    }
}

fn dir_of(settings: &Settings) -> String {
    settings.rel(&settings.migrations_dir)
}

/// `rule` on the staged change from `old` to `new`.
pub fn run(rule: &Rule, config: &str, old: &Files, new: &Files) -> Outcome {
    let settings = settings(config);
    let cs = ChangeSet::from_files(&dir_of(&settings), old, new);
    run_on(rule, &settings, cs)
}

/// `rule` over the work tree `files` (`migguard check --all`).
pub fn run_all(rule: &Rule, config: &str, files: &Files) -> Outcome {
    let settings = settings(config);
    let cs = ChangeSet::all_from_files(&dir_of(&settings), files);
    run_on(rule, &settings, cs)
}

/// The findings of `rule` on the change from `old` to `new`.
pub fn findings(rule: &Rule, config: &str, old: &Files, new: &Files) -> Vec<Finding> {
    run(rule, config, old, new).findings
}

/// Asserts that `rule` reports nothing on the change.
pub fn assert_clean(rule: &Rule, config: &str, old: &Files, new: &Files) {
    let found = findings(rule, config, old, new);
    assert!(
        found.is_empty(),
        "{} should be clean, found:\n{}",
        rule.name,
        shown(&found)
    );
}

/// The findings as `path:line: [code] message` lines, for assertions.
pub fn shown(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "{}:{}: {}{}",
                f.path,
                f.line.unwrap_or(0),
                f.code.map(|c| format!("[{c}] ")).unwrap_or_default(),
                f.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A created migration: two tables, a foreign key and an index, that new
/// migrations in rule tests change.
pub const BASE: (&str, &str) = (
    "migrations/20240101000000_base.sql",
    "CREATE TABLE orgs (id bigint PRIMARY KEY);\n\
     CREATE TABLE users (id bigint PRIMARY KEY, email varchar(100), name text, org_id bigint,\n  \
     CONSTRAINT users_org_fk FOREIGN KEY (org_id) REFERENCES orgs (id));\n\
     CREATE INDEX users_name_idx ON users (name);\n",
);

/// Where [`on_new`] puts the new migration.
pub const NEW: &str = "migrations/20240201000000_change.sql";

/// `rule` on a change that adds one migration, `sql`, after [`BASE`].
pub fn on_new(rule: &Rule, sql: &str) -> Vec<Finding> {
    findings(rule, "", &[BASE], &[BASE, (NEW, sql)])
}

/// The `(line, code)` of each finding, for compact assertions.
pub fn codes(findings: &[Finding]) -> Vec<(usize, &'static str)> {
    findings
        .iter()
        .map(|f| (f.line.unwrap_or(0), f.code.unwrap_or("")))
        .collect()
}

/// The `atlas.sum` Atlas writes for migrations given as `(name, content)` in
/// the directory's order.
pub fn sum_of(files: &Files) -> String {
    crate::atlas_sum::HashFile::compute(files.iter().map(|(n, c)| (*n, c.as_bytes()))).marshal()
}

/// A config with a generated views file, and a created migration with a
/// view, for the view rules' tests.
pub const VIEWS_CONFIG: &str = "views:\n  generated: views.sql\n";
pub const VIEW_BASE: (&str, &str) = (
    "migrations/20240101000000_base.sql",
    "CREATE TABLE users (id bigint, name text);\nCREATE VIEW names AS SELECT name FROM users;\n",
);

/// A config that turns the soft-delete convention on, and a created
/// migration whose table follows it, for the soft-delete rules' tests.
pub const SOFT_DELETE_CONFIG: &str = "conventions:\n  soft_delete: true\n";
pub const SOFT_DELETE_BASE: (&str, &str) = (
    "migrations/20240101000000_base.sql",
    "CREATE TABLE users (id bigint PRIMARY KEY, email text, deleted_at timestamptz);\n",
);
