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
        let mut shown = finding.clone();
        let source = finding.span.as_ref().and_then(|span| {
            let text = report.sources.get(&finding.path)?;
            if span.end > text.len() || !text.is_char_boundary(span.start) {
                return None;
            }
            let (text, span) = windowed(text, span.clone(), MAX_LINE);
            shown.span = Some(span);
            Some(NamedSource::new(&finding.path, text))
        });
        let diag = FindingDiagnostic {
            finding: &shown,
            source,
        };
        if handler.render_report(&mut out, &diag).is_err() {
            out.push_str(&format!("{}: {}\n", finding.path, finding.message));
        }
    }
    if report.verbose && !report.unparsed_list.is_empty() {
        out.push_str("statements not parsed (no rule could read them):\n");
        for (path, line, words) in &report.unparsed_list {
            out.push_str(&cut(&format!("  {path}:{line}: {words}\n"), MAX_LINE));
        }
    }
    if !quiet || !report.findings.is_empty() {
        out.push_str(&summary(report));
    }
    out
}

/// The widest source line shown (miette adds a gutter of about ten columns,
/// keeping every output line within 160).
const MAX_LINE: usize = 140;

fn cut(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    if s.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// The source as shown for one finding: when the underlined line or its
/// neighbours are wider than `width`, only those three lines are kept (the
/// lines before them left empty, so line numbers stay true), each cut to
/// `width` characters around the underlined part. Returns the text and the
/// span in it.
fn windowed(
    text: &str,
    span: std::ops::Range<usize>,
    width: usize,
) -> (String, std::ops::Range<usize>) {
    let line_start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[span.start..]
        .find('\n')
        .map_or(text.len(), |i| span.start + i);
    let prev = (line_start > 0).then(|| {
        let end = line_start - 1;
        let start = text[..end].rfind('\n').map_or(0, |i| i + 1);
        start..end
    });
    let next = (line_end < text.len()).then(|| {
        let start = line_end + 1;
        let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        start..end
    });
    let wide = |r: &std::ops::Range<usize>| text[r.clone()].chars().count() > width;
    if !wide(&(line_start..line_end))
        && !prev.as_ref().is_some_and(wide)
        && !next.as_ref().is_some_and(wide)
    {
        return (text.to_string(), span);
    }
    let line_no = text[..line_start].matches('\n').count();
    let mut out = String::new();
    let skipped = if prev.is_some() { line_no - 1 } else { line_no };
    out.push_str(&"\n".repeat(skipped));
    if let Some(p) = prev {
        out.push_str(&cut(&text[p], width));
        out.push('\n');
    }
    // The underlined line: a window of `width` characters that starts a
    // little before the span.
    let line = &text[line_start..line_end];
    let col = span.start - line_start;
    let span_end = span.end.min(line_end) - line_start;
    let mut from = col.saturating_sub(width / 4);
    while !line.is_char_boundary(from) {
        from -= 1;
    }
    let mut to = from;
    for (chars, (i, c)) in line[from..].char_indices().enumerate() {
        if chars + 2 >= width {
            break;
        }
        to = from + i + c.len_utf8();
    }
    if from == to {
        to = line.len();
    }
    let lead = if from > 0 { "…" } else { "" };
    let tail = if to < line.len() { "…" } else { "" };
    let base = out.len() + lead.len();
    out.push_str(lead);
    out.push_str(&line[from..to]);
    out.push_str(tail);
    let start = base + (col - from).min(to - from);
    let end = base + (span_end.max(col) - from).min(to - from);
    if let Some(n) = next {
        out.push('\n');
        out.push_str(&cut(&text[n], width));
    }
    (out, start..end.max(start))
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
    let mut out = String::new();
    if report.dirs.len() > 1 || report.dirs.iter().any(|d| d.format_from == "detected") {
        for d in &report.dirs {
            out.push_str(&format!(
                "migguard: directory {} ({} format, {})\n",
                d.path, d.format, d.format_from
            ));
        }
    }
    for note in &report.notes {
        out.push_str(&format!("migguard: note: {note}\n"));
    }
    if errors + warnings == 0 {
        out.push_str(&format!("migguard: no findings ({files})\n"));
    } else {
        out.push_str(&format!(
            "migguard: {errors} error{}, {warnings} warning{} ({files})\n",
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_around_the_span() {
        let long = format!(
            "CREATE TABLE t ({}\"target\" int);",
            "\"c\" int, ".repeat(100)
        );
        let text = format!("-- one\n{long}\nSELECT 1;\n");
        let at = text.find("\"target\"").unwrap();
        let (shown, span) = windowed(&text, at..at + 8, 140);
        assert_eq!(&shown[span.clone()], "\"target\"");
        assert!(shown.lines().all(|l| l.chars().count() <= 142), "{shown}");
        assert_eq!(shown.lines().count(), 3);
        assert!(shown.lines().nth(1).unwrap().starts_with('…'));
        // Short lines are left alone.
        let (same, s) = windowed("a\nbb\n", 2..4, 140);
        assert_eq!((same.as_str(), s), ("a\nbb\n", 2..4));
    }
}
