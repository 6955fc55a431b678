//! `--format json`: one document on stdout, as the contract specifies.

use serde::Serialize;

use super::Report;
use crate::findings::Severity;

#[derive(Serialize)]
struct Doc<'a> {
    version: u32,
    mode: &'static str,
    base: Option<&'a str>,
    findings: Vec<FindingDoc<'a>>,
    /// What `trace` measured, per new migration (absent without a trace).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    traces: &'a [crate::devdb::trace::MigrationTrace],
    summary: Summary<'a>,
}

#[derive(Serialize)]
struct FindingDoc<'a> {
    rule: &'a str,
    /// Atlas's code, for the rules that mirror Atlas's analyzers.
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    severity: Severity,
    path: &'a str,
    line: Option<usize>,
    column: Option<usize>,
    message: &'a str,
    help: &'a str,
    /// PostgreSQL showed it (`migguard trace`, `check --trace`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    measured: bool,
}

#[derive(Serialize)]
struct Summary<'a> {
    errors: usize,
    warnings: usize,
    infos: usize,
    files: usize,
    sql_files: usize,
    statements: usize,
    unparsed_statements: usize,
    /// Statements of the new migrations the safety analysis read.
    analysed: usize,
    /// Statements of the new migrations it could not read (DO blocks,
    /// function bodies, dynamic SQL, unparsed), and which.
    not_analysed: usize,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    not_analysed_statements: &'a [crate::sql::coverage::Unanalysed],
    directories: &'a [super::DirSummary],
    by_rule: std::collections::BTreeMap<&'static str, usize>,
    notes: &'a [String],
}

pub fn render(report: &Report) -> String {
    let doc = Doc {
        version: 1,
        mode: report.mode.name(),
        base: report.base.as_deref(),
        traces: &report.traces,
        findings: report
            .findings
            .iter()
            .map(|f| FindingDoc {
                rule: f.rule,
                code: f.code,
                severity: f.severity,
                path: &f.path,
                line: f.line,
                column: f.column,
                message: &f.message,
                help: &f.help,
                measured: f.measured,
            })
            .collect(),
        summary: Summary {
            errors: report.count(Severity::Error),
            warnings: report.count(Severity::Warn),
            infos: report.count(Severity::Info),
            files: report.files,
            sql_files: report.sql_files,
            statements: report.statements,
            unparsed_statements: report.unparsed,
            analysed: report.coverage.analysed,
            not_analysed: report.coverage.unanalysed.len(),
            not_analysed_statements: &report.coverage.unanalysed,
            directories: &report.dirs,
            by_rule: report.by_rule(),
            notes: &report.notes,
        },
    };
    let mut out =
        serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    out.push('\n');
    out
}
