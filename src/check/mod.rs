//! `check`: builds the change set, runs every enabled rule on it, applies
//! suppressions and severities, and returns the report.

mod context;
mod suppress;

use std::sync::Arc;

pub use context::{first_difference, line_span, CheckContext, Side};
pub use suppress::{directives, Directive};

use crate::config::{detect_format_from, Settings, FILE_NAME as CONFIG_FILE};
use crate::error::{Error, Result};
use crate::findings::Severity;
use crate::git::{ChangeKind, Git, Scope, Snapshot};
use crate::report::{Mode, Report};
use crate::rules::RULES;

/// What to compare.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--staged`: the index is the new side (the default).
    pub staged: bool,
    /// `--base REV`.
    pub base: Option<String>,
    /// `--all`: whole-tree rules on the work tree, no change set.
    pub all: bool,
    /// `--regenerate`: run the generate command and compare.
    pub regenerate: bool,
}

/// The refs tried, in order, for "created" in `--staged` mode.
pub const DEFAULT_BASE_REFS: [&str; 3] = ["origin/HEAD", "origin/main", "main"];

/// The paths rules read: the migration directory, generated paths and their
/// sources, the views file, the ent schema and the config.
pub fn scope(settings: &Settings, dir: &str) -> Scope {
    let mut scope = Scope::default();
    scope.add_dir(dir);
    for g in &settings.config.generated {
        for glob in g.paths.iter().chain(&g.sources) {
            scope.add_glob(glob);
        }
    }
    if let Some(views) = &settings.config.views.generated {
        scope.add_file(views);
    }
    if let Some(schema) = &settings.config.ent.schema {
        scope.add_dir(schema);
    }
    for package in &settings.config.ent.mixin_packages {
        scope.add_dir(package);
    }
    scope.add_file(CONFIG_FILE);
    scope
}

/// Checks every migration directory of the settings and merges the reports:
/// findings that several directories' runs share (ent, generated code) are
/// reported once.
pub fn run(
    settings: &Settings,
    git: &Git,
    options: &Options,
    runs: &dyn Fn(&str) -> bool,
) -> Result<Report> {
    let mut merged: Option<Report> = None;
    let mut files: std::collections::HashSet<String> = std::collections::HashSet::new();
    for d in &settings.dirs {
        let (report, seen) = run_dir(&settings.for_dir(d), git, options, runs)?;
        files.extend(seen);
        merged = Some(match merged {
            None => report,
            Some(mut m) => {
                for f in report.findings {
                    if !m.findings.contains(&f) {
                        m.findings.push(f);
                    }
                }
                m.sql_files += report.sql_files;
                m.statements += report.statements;
                m.unparsed += report.unparsed;
                for u in report.unparsed_list {
                    if !m.unparsed_list.contains(&u) {
                        m.unparsed_list.push(u);
                    }
                }
                m.sources.extend(report.sources);
                m.dirs.extend(report.dirs);
                for n in report.notes {
                    if !m.notes.contains(&n) {
                        m.notes.push(n);
                    }
                }
                m
            }
        });
    }
    let mut report = merged.unwrap_or_else(|| Report::new(Mode::Staged));
    report.files = files.len();
    let mut notes = settings.notes.clone();
    notes.append(&mut report.notes);
    report.notes = notes;
    report.sort();
    Ok(report)
}

fn run_dir(
    settings: &Settings,
    git: &Git,
    options: &Options,
    runs: &dyn Fn(&str) -> bool,
) -> Result<(Report, Vec<String>)> {
    let dir = git.relative(&settings.migrations_dir).ok_or_else(|| {
        Error::Usage(format!(
            "the migration directory {} is outside the repository {}",
            settings.migrations_dir.display(),
            git.workdir.display()
        ))
    })?;
    let scope = scope(settings, &dir);
    let head = git.head_commit()?;
    let head_tree = |scope: &Scope| -> Result<Snapshot> {
        match head {
            Some(h) => Snapshot::from_tree(git, git.tree_of(h)?, scope),
            None => Ok(Snapshot::empty()),
        }
    };
    let (mode, base_commit, label, old, new, created, history) = if options.all {
        let disk = Snapshot::from_disk(&git.workdir, &scope)?;
        (
            Mode::All,
            None,
            "the work tree".to_string(),
            disk.clone(),
            disk,
            Snapshot::empty(),
            Snapshot::empty(),
        )
    } else if let Some(rev) = &options.base {
        let head = head.ok_or_else(|| {
            Error::Usage("HEAD has no commit yet: `--base` compares committed history".into())
        })?;
        let rev_commit = git.require_commit(rev)?;
        let merge_base = git.merge_base(rev_commit, head, rev)?;
        let old = Snapshot::from_tree(git, git.tree_of(merge_base)?, &scope)?;
        let new = if options.staged {
            Snapshot::from_index(git, &scope)?
        } else {
            head_tree(&scope)?
        };
        let label = format!("{rev} (merge base {})", &merge_base.to_string()[..12]);
        (
            Mode::Base,
            Some(merge_base),
            label,
            old.clone(),
            new,
            old.clone(),
            old,
        )
    } else {
        let old = head_tree(&scope)?;
        let new = Snapshot::from_index(git, &scope)?;
        let candidates: Vec<&str> = match &settings.config.base {
            Some(b) => vec![b.as_str()],
            None => DEFAULT_BASE_REFS.to_vec(),
        };
        let created_ref = candidates
            .iter()
            .find_map(|r| git.resolve_commit(r).map(|c| (*r, c)));
        let (label, created, base_commit) = match created_ref {
            Some((name, commit)) if Some(commit) != head => (
                name.to_string(),
                Snapshot::from_tree(git, git.tree_of(commit)?, &scope)?,
                Some(commit),
            ),
            _ => ("HEAD".to_string(), old.clone(), head),
        };
        // atlas.sum extends the history shared with the base ref: its merge
        // base with HEAD (a branch behind the base has not "removed" records).
        let history = match (base_commit, head) {
            (Some(b), Some(h)) if b != h => match git.repo.merge_base(b, h) {
                Ok(Some(mb)) => Snapshot::from_tree(git, git.tree_of(mb.detach())?, &scope)?,
                _ => created.clone(),
            },
            _ => created.clone(),
        };
        (Mode::Staged, base_commit, label, old, new, created, history)
    };
    let format = match settings.dir_format {
        Some(f) => f,
        None => {
            let names = new.list_dir(&dir, false);
            let prefix = if dir.is_empty() {
                String::new()
            } else {
                format!("{dir}/")
            };
            detect_format_from(names.iter().map(String::as_str), |n| {
                new.read(Some(git), &format!("{prefix}{n}")).ok().flatten()
            })
        }
    };
    let ctx = CheckContext::new(
        settings,
        git,
        mode,
        base_commit,
        label,
        old,
        new,
        created,
        history,
        dir,
        format,
        options.regenerate,
    );

    let mut findings = Vec::new();
    for rule in RULES {
        let severity = settings.severity(rule.name, rule.default_severity);
        let Some(check) = rule.check else {
            continue;
        };
        if severity == Severity::Off || !runs(rule.name) || (rule.needs_change && mode == Mode::All)
        {
            continue;
        }
        check(&ctx, severity, &mut findings)?;
    }
    let findings = prefer_ent(findings);
    let findings = apply_suppressions(&ctx, findings)?;

    let mut report = Report::new(mode);
    report.base = ctx.base_commit.map(|c| c.to_string());
    if mode == Mode::All {
        // --all reads every SQL file of the directory (ups and downs).
        let all: Vec<String> = ctx
            .dir_names(Side::New)
            .iter()
            .filter(|n| n.ends_with(".sql"))
            .map(|n| ctx.in_dir(n))
            .collect();
        ctx.parse_all(Side::New, &all)?;
    }
    report.dirs.push(crate::report::DirSummary::new(
        &ctx.dir,
        format,
        settings.dir_format.is_some(),
    ));
    let seen: Vec<String> = ctx.new.files.keys().cloned().collect();
    (report.sql_files, report.statements, report.unparsed) = ctx.statement_counts();
    report.unparsed_list = ctx.unparsed_statements();
    for f in &findings {
        if report.sources.contains_key(&f.path) {
            continue;
        }
        if let Some(bytes) = ctx.read(Side::New, &f.path)? {
            report.add_source(&f.path, &bytes);
        }
    }
    report.findings = findings;
    report.notes = ctx.take_notes();
    report.sort();
    Ok((report, seen))
}

/// Where an SQL finding and an ent finding describe the same table or index,
/// keeps the ent one: the schema is the source of truth, the SQL follows.
fn prefer_ent(findings: Vec<crate::findings::Finding>) -> Vec<crate::findings::Finding> {
    let ent: std::collections::HashSet<(&'static str, String)> = findings
        .iter()
        .filter(|f| f.path.ends_with(".go"))
        .filter_map(|f| f.subject.clone().map(|s| (f.rule, s)))
        .collect();
    findings
        .into_iter()
        .filter(|f| {
            !(f.path.ends_with(".sql")
                && f.subject
                    .as_ref()
                    .is_some_and(|s| ent.contains(&(f.rule, s.clone()))))
        })
        .collect()
}

/// Reads directives from every file with a finding and every SQL or Go file
/// the change adds or edits (so a reasonless ignore is reported even where
/// no rule fired).
fn apply_suppressions(
    ctx: &CheckContext,
    findings: Vec<crate::findings::Finding>,
) -> Result<Vec<crate::findings::Finding>> {
    let mut paths: Vec<String> = findings.iter().map(|f| f.path.clone()).collect();
    let commented = |p: &str| p.ends_with(".sql") || p.ends_with(".go");
    if ctx.mode == Mode::All {
        paths.extend(
            ctx.dir_names(Side::New)
                .iter()
                .map(|n| ctx.in_dir(n))
                .filter(|p| commented(p)),
        );
    } else {
        paths.extend(
            ctx.changes
                .iter()
                .filter(|c| c.kind != ChangeKind::Deleted && commented(&c.path))
                .map(|c| c.path.clone()),
        );
    }
    paths.sort();
    paths.dedup();
    let mut files: Vec<(String, Arc<[u8]>)> = Vec::new();
    for p in paths {
        if let Some(bytes) = ctx.read(Side::New, &p)? {
            files.push((p, bytes));
        }
    }
    Ok(suppress::apply(findings, &files, |name| {
        crate::rules::find(name)
            .map(|r| (r.name, ctx.settings.severity(r.name, r.default_severity)))
    }))
}
