//! `check`: builds the change set, runs every enabled rule on it, applies
//! suppressions and severities, and returns the report.

mod change_set;
mod context;
mod conventions;
pub mod measure;
pub mod sizing;
mod suppress;

use std::sync::Arc;

pub use change_set::{ChangeSet, Mode, Side};
pub use context::{first_difference, line_span, CheckContext};
pub use conventions::SoftDelete;

use crate::config::{Settings, FILE_NAME as CONFIG_FILE};
use crate::devdb::trace::{Migration, TraceRun};
use crate::error::Result;
use crate::findings::Severity;
use crate::git::{ChangeKind, Git, Scope};
use crate::report::Report;
use crate::rules::{Selection, RULES};

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
/// Runs the new migrations of a plan on PostgreSQL and says what each
/// statement did (`migguard trace`, `check --trace`).
pub type Tracer<'t> = dyn Fn(&[Migration]) -> Result<TraceRun> + 't;

pub fn run(
    settings: &Settings,
    git: &Git,
    options: &Options,
    selection: &Selection,
    tracer: Option<&Tracer>,
) -> Result<Report> {
    let mut merged: Option<Report> = None;
    let mut files: std::collections::HashSet<String> = std::collections::HashSet::new();
    for d in &settings.dirs {
        let (report, seen) = run_dir(&settings.for_dir(d), git, options, selection, tracer)?;
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
                m.coverage.merge(report.coverage);
                m.sources.extend(report.sources);
                m.dirs.extend(report.dirs);
                m.traces.extend(report.traces);
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
    selection: &Selection,
    tracer: Option<&Tracer>,
) -> Result<(Report, Vec<String>)> {
    crate::devdb::trace("check: reading the change set");
    let cs = ChangeSet::from_git(settings, git, options)?;
    crate::devdb::trace("check: change set read");
    let mut ctx = CheckContext::new(settings, cs, options.regenerate);
    if ctx.cs.mode == Mode::All {
        // The files no rule reads (the down files) are counted on a thread
        // of their own, beside the rest of the run; the migrations every
        // SQL rule reads are parsed on every core, with the safety analysis
        // (each migration judged against all earlier ones) following the
        // parsing on a thread of its own, and ending while the whole-tree
        // rules run on this one.
        let ups: std::collections::HashSet<String> = ctx.cs.ups().into_iter().collect();
        let others: Vec<String> = audit_sql_files(&ctx)
            .into_iter()
            .filter(|p| !ups.contains(p))
            .collect();
        ctx.sql.count_in_background(&ctx.cs, Side::New, &others)?;
        ctx.parse_ups_and_start_lint()?;
    }
    let mut findings = rule_findings(&ctx, selection)?;
    let mut traces = Vec::new();
    if let Some(tracer) = tracer {
        match measure::plan(&ctx)? {
            Some(plan) => {
                let run = tracer(&plan)?;
                if let Some(note) = run.note {
                    ctx.note(note);
                }
                traces = run.traces;
                findings = measure::merge(&ctx, selection, findings, &traces)?;
            }
            None => ctx.note(format!(
                "nothing traced in {}: no new migration of a PostgreSQL directory",
                ctx.cs.dir_shown()
            )),
        }
    }
    let findings = apply_suppressions(&ctx, selection, findings)?;
    let findings = sizing::apply(&ctx, findings)?;
    crate::devdb::trace("check: suppressions and sizes applied");
    let (mut report, seen) = report_of(&ctx, findings)?;
    crate::devdb::trace("check: report made");
    report.traces = traces;
    // The parsed SQL is freed on another thread, while the report is drawn
    // (thousands of syntax trees under --all; freeing them has no effect
    // beyond memory, so the process may end before it is done).
    let parsed = std::mem::take(&mut ctx.sql);
    std::thread::spawn(move || drop(parsed));
    Ok((report, seen))
}

/// Every enabled rule's findings on the context, the ent ones preferred and
/// suppressions applied (what `run` does without a trace; for unit tests).
#[cfg(test)]
pub fn run_rules(
    ctx: &CheckContext,
    selection: &Selection,
) -> Result<Vec<crate::findings::Finding>> {
    let findings = rule_findings(ctx, selection)?;
    apply_suppressions(ctx, selection, findings)
}

/// Every enabled rule's findings, the ent ones preferred; not suppressed yet.
fn rule_findings(
    ctx: &CheckContext,
    selection: &Selection,
) -> Result<Vec<crate::findings::Finding>> {
    let mode = ctx.cs.mode;
    let mut findings = Vec::new();
    for rule in RULES {
        let severity = selection.severity(rule);
        let Some(check) = rule.check else {
            continue;
        };
        if severity == Severity::Off || (rule.needs_change && mode == Mode::All) {
            continue;
        }
        check(ctx, severity, &mut findings)?;
        crate::devdb::trace(rule.name);
    }
    Ok(prefer_ent(findings))
}

/// Every SQL file of the directory, which `--all` reads.
fn audit_sql_files(ctx: &CheckContext) -> Vec<String> {
    ctx.cs
        .dir_names(Side::New)
        .iter()
        .filter(|n| n.ends_with(".sql"))
        .map(|n| ctx.cs.in_dir(n))
        .collect()
}

/// The report of one directory's run, and the files it examined.
fn report_of(
    ctx: &CheckContext,
    findings: Vec<crate::findings::Finding>,
) -> Result<(Report, Vec<String>)> {
    let mode = ctx.cs.mode;
    let format = ctx.cs.format;
    let mut report = Report::new(mode);
    report.base = ctx.cs.base_commit.map(|c| c.to_string());
    if mode == Mode::All {
        // --all reads every SQL file of the directory (ups and downs); the
        // files no rule parsed are only counted.
        ctx.sql
            .count_all(&ctx.cs, Side::New, &audit_sql_files(ctx))?;
    }
    report.dirs.push(crate::report::DirSummary::new(
        &ctx.cs.dir,
        format,
        ctx.settings.dir_format.is_some(),
    ));
    let seen: Vec<String> = ctx.cs.new.files.keys().cloned().collect();
    (report.sql_files, report.statements, report.unparsed) = ctx.sql.statement_counts();
    report.unparsed_list = ctx.sql.unparsed_statements();
    report.coverage = ctx.sql.coverage(&ctx.cs)?;
    let mut findings = findings;
    for f in &mut findings {
        let Some(bytes) = ctx.read(Side::New, &f.path)? else {
            continue;
        };
        if let Some(span) = &f.span {
            f.column = Some(crate::findings::column_of(&bytes, span.start));
        }
        if !report.sources.contains_key(&f.path) {
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
    selection: &Selection,
    findings: Vec<crate::findings::Finding>,
) -> Result<Vec<crate::findings::Finding>> {
    let mut paths: Vec<String> = findings.iter().map(|f| f.path.clone()).collect();
    let commented = |p: &str| p.ends_with(".sql") || p.ends_with(".go");
    if ctx.cs.mode == Mode::All {
        paths.extend(
            ctx.cs
                .dir_names(Side::New)
                .iter()
                .map(|n| ctx.cs.in_dir(n))
                .filter(|p| commented(p)),
        );
    } else {
        paths.extend(
            ctx.cs
                .changes
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
        selection.by_name(name)
    }))
}
