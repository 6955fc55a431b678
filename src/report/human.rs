//! `--format human`: miette diagnostics, with the rule as the code, the line
//! underlined and the help line, then a one-line summary.

use std::fmt;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode,
};

use super::Report;
use crate::findings::{Finding, Severity};

struct FindingDiagnostic<'a> {
    finding: &'a Finding,
    source: Option<NamedSource<String>>,
}

impl fmt::Debug for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.finding.message)
    }
}

impl fmt::Display for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Without a source snippet, the path would appear nowhere.
        match (&self.source, self.finding.line) {
            (Some(_), _) => f.write_str(&self.finding.message),
            (None, Some(line)) => {
                write!(f, "{}:{line}: {}", self.finding.path, self.finding.message)
            }
            (None, None) => write!(f, "{}: {}", self.finding.path, self.finding.message),
        }
    }
}

impl std::error::Error for FindingDiagnostic<'_> {}

impl Diagnostic for FindingDiagnostic<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.finding.rule))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.finding.severity {
            Severity::Error => miette::Severity::Error,
            _ => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        (!self.finding.help.is_empty())
            .then(|| Box::new(&self.finding.help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.finding.span.clone()?;
        self.source.as_ref()?;
        Some(Box::new(std::iter::once(LabeledSpan::new(
            Some(short_label(self.finding)),
            span.start,
            span.len().max(1),
        ))))
    }
}

fn short_label(f: &Finding) -> String {
    f.label.clone().unwrap_or_else(|| f.rule.to_string())
}

pub fn render(report: &Report, color: bool, quiet: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    for finding in &report.findings {
        let source = finding.span.as_ref().and_then(|span| {
            let text = report.sources.get(&finding.path)?;
            (span.end <= text.len()).then(|| NamedSource::new(&finding.path, text.to_string()))
        });
        let diag = FindingDiagnostic { finding, source };
        if handler.render_report(&mut out, &diag).is_err() {
            out.push_str(&format!("{}: {}\n", finding.path, finding.message));
        }
    }
    if !quiet || !report.findings.is_empty() {
        out.push_str(&summary(report));
    }
    out
}

fn summary(report: &Report) -> String {
    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warn);
    let mut files = format!(
        "{} file{} checked",
        report.files,
        if report.files == 1 { "" } else { "s" }
    );
    if report.statements > 0 {
        files.push_str(&format!(
            ", {} SQL statements read, {} not parsed",
            report.statements, report.unparsed
        ));
    }
    if errors + warnings == 0 {
        format!("migguard: no findings ({files})\n")
    } else {
        format!(
            "migguard: {errors} error{}, {warnings} warning{} ({files})\n",
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" }
        )
    }
}
