//! `--format human`: miette diagnostics, with the rule as the code, the line
//! underlined and the help line, then a one-line summary.

use std::fmt;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError,
    MietteSpanContents, SourceCode, SourceSpan, SpanContents,
};

use super::Report;
use crate::findings::{Finding, Severity};

struct FindingDiagnostic<'a> {
    finding: &'a Finding,
    source: Option<Window>,
    /// The header line's text, already wrapped (see [`wrap`]).
    message: String,
    /// The help text, already wrapped.
    help: &'a str,
}

/// The lines of a file miette shows for one finding, numbered as in the
/// file: miette reads only them, however large the file.
struct Window {
    name: String,
    text: String,
    /// 0-based line of the file where `text` starts.
    first_line: usize,
}

impl SourceCode for Window {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let c = self.text.read_span(span, before, after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            c.data(),
            *c.span(),
            c.line() + self.first_line,
            c.column(),
            c.line_count(),
        )))
    }
}

impl fmt::Debug for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.finding.message)
    }
}

impl fmt::Display for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The header line's text: without a source snippet, the path would appear
/// nowhere, so it leads.
fn header(finding: &Finding, has_source: bool) -> String {
    match (has_source, finding.line) {
        (true, _) => finding.message.clone(),
        (false, Some(line)) => format!("{}:{line}: {}", finding.path, finding.message),
        (false, None) => format!("{}: {}", finding.path, finding.message),
    }
}

impl std::error::Error for FindingDiagnostic<'_> {}

impl Diagnostic for FindingDiagnostic<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        match self.finding.code {
            Some(code) => Some(Box::new(format!("{} ({code})", self.finding.rule))),
            None => Some(Box::new(self.finding.rule)),
        }
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.finding.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Info => miette::Severity::Advice,
            _ => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        (!self.help.is_empty()).then(|| Box::new(self.help) as Box<dyn fmt::Display>)
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

/// A finding as one line, where miette cannot draw it.
fn plain(f: &Finding) -> String {
    format!("{}: {}\n", f.path, f.message)
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
    // Messages and help are wrapped by `wrap` before miette sees them:
    // miette's own wrapping (textwrap) also breaks words after hyphens, which
    // cuts file names and rule names in two, and it took an eighth of an
    // audit's instructions.
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(WIDTH)
        .with_wrap_lines(false);
    // What trace measured comes first: the findings below refer to it.
    let mut out = crate::devdb::trace::render_text(&report.traces);
    // Line ranges per file and wrapped help texts, each made once: an
    // audit shows hundreds of findings in the same large files, and its
    // thousand findings share a few dozen help texts.
    let mut line_index: rustc_hash::FxHashMap<&str, Vec<std::ops::Range<usize>>> =
        rustc_hash::FxHashMap::default();
    let mut helps: rustc_hash::FxHashMap<&str, String> = rustc_hash::FxHashMap::default();
    for finding in &report.findings {
        if finding.span.is_some() {
            if let Some(text) = report.sources.get(&finding.path) {
                line_index
                    .entry(finding.path.as_str())
                    .or_insert_with(|| line_ranges(text));
            }
        }
        helps
            .entry(finding.help.as_str())
            .or_insert_with(|| wrap(&finding.help, HELP_WIDTH));
    }
    // Each finding renders on its own, so an audit's thousand findings are
    // drawn on every core; the output keeps the findings' order.
    let render_one = |finding: &Finding| {
        let mut shown = finding.clone();
        let source = finding.span.as_ref().and_then(|span| {
            let text = report.sources.get(&finding.path)?;
            if span.end > text.len() || !text.is_char_boundary(span.start) {
                return None;
            }
            let lines = line_index.get(finding.path.as_str())?;
            let (text, span, first_line) = windowed_in(text, lines, span.clone(), MAX_LINE);
            shown.span = Some(span);
            Some(Window {
                name: finding.path.clone(),
                text,
                first_line,
            })
        });
        let message = wrap(&header(finding, source.is_some()), MESSAGE_WIDTH);
        let help = helps.get(finding.help.as_str()).map_or("", String::as_str);
        let diag = FindingDiagnostic {
            finding: &shown,
            source,
            message,
            help,
        };
        let mut one = String::new();
        if handler.render_report(&mut one, &diag).is_err() {
            one = plain(finding);
        }
        one
    };
    // A panic while drawing (a bug) still shows every finding, plainly.
    let plain_all = || report.findings.iter().map(plain).collect();
    let rendered: Vec<String> = if report.findings.len() < 64 {
        report.findings.iter().map(render_one).collect()
    } else {
        crate::par::map(&report.findings, render_one).unwrap_or_else(|_| plain_all())
    };
    for one in rendered {
        out.push_str(&one);
    }
    if report.verbose && !report.coverage.unanalysed.is_empty() {
        out.push_str("statements the safety rules could not analyse (review them by hand):\n");
        for u in &report.coverage.unanalysed {
            out.push_str(&cut(
                &format!("  {}:{}: {}: {}\n", u.path, u.line, u.reason, u.statement),
                MAX_LINE,
            ));
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

/// The terminal width miette draws for.
const WIDTH: usize = 100;
/// What is left for a message and for help: miette draws within its width
/// less two, after an indent of four columns (`  × `) and of eight
/// (`  help: `).
const MESSAGE_WIDTH: usize = WIDTH - 2 - 4;
const HELP_WIDTH: usize = WIDTH - 2 - 8;

/// `text` wrapped to lines of at most `width` columns (miette adds its
/// indent, four columns before a message and eight before help, within its
/// width less two), first fit: words break only at ASCII spaces, the spaces
/// between words on a line are kept as written, a word wider than a line is
/// cut into pieces of `width` columns, spaces at a line's end are dropped,
/// and the text's own line breaks are kept.
fn wrap(text: &str, width: usize) -> String {
    let width = width.max(1);
    wrap_plain(text, width).unwrap_or_else(|| wrap_any(text, width))
}

/// [`wrap`] for the common text (every message and help line in practice):
/// ASCII, one line, words separated by single spaces, no space at either
/// end. A line then is the longest prefix that ends at a word's end and fits,
/// found by looking back from the width for a space. `None` for any other
/// text, or a word wider than a line: [`wrap_any`] handles those.
fn wrap_plain(text: &str, width: usize) -> Option<String> {
    let b = text.as_bytes();
    if !b.is_ascii()
        || b.first() == Some(&b' ')
        || b.last() == Some(&b' ')
        || memchr::memchr(b'\n', b).is_some()
        || memchr::memmem::find(b, b"  ").is_some()
    {
        return None;
    }
    let mut out = String::with_capacity(text.len() + text.len() / width + 1);
    let mut rest = text;
    while rest.len() > width {
        let at = memchr::memrchr(b' ', &rest.as_bytes()[..=width]).filter(|&i| i > 0)?;
        out.push_str(&rest[..at]);
        out.push('\n');
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// [`wrap`] for any text.
fn wrap_any(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / width + 1);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let body = line.trim_start_matches(' ');
        // The spaces written before the next word: a line's own indent first.
        let mut gap = &line[..line.len() - body.len()];
        let mut used = 0;
        let mut rest = body;
        while !rest.is_empty() {
            let end = rest.find(' ').unwrap_or(rest.len());
            let (word, after) = rest.split_at(end);
            let next = after.trim_start_matches(' ');
            for piece in pieces(word, width) {
                let w = columns(piece);
                if used > 0 && used + gap.len() + w > width {
                    out.push('\n');
                    used = 0;
                } else {
                    out.push_str(gap);
                    used += gap.len();
                }
                out.push_str(piece);
                used += w;
                gap = "";
            }
            gap = &after[..after.len() - next.len()];
            rest = next;
        }
    }
    out
}

/// The columns `s` takes on a terminal.
fn columns(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        textwrap::core::display_width(s)
    }
}

/// `word` cut into pieces of at most `width` columns (one piece when it fits).
fn pieces(word: &str, width: usize) -> impl Iterator<Item = &str> {
    let mut rest = word;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        if columns(rest) <= width {
            return Some(std::mem::take(&mut rest));
        }
        let mut used = 0;
        let mut end = rest.len();
        for (at, c) in rest.char_indices() {
            let w = columns(c.encode_utf8(&mut [0; 4]));
            if used + w > width && at > 0 {
                end = at;
                break;
            }
            used += w;
        }
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
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

/// The source as shown for one finding: when a line miette would show (the
/// underlined lines and one line around them) is wider than `width`, only
/// those lines are kept (the lines before them left empty, so line numbers
/// stay true), each cut to `width` characters: the first underlined line
/// around the underlined part, the others at their end. Returns the text and
/// the span in it.
#[cfg(test)]
fn windowed(
    text: &str,
    span: std::ops::Range<usize>,
    width: usize,
) -> (String, std::ops::Range<usize>) {
    let (shown, span, first) = windowed_in(text, &line_ranges(text), span, width);
    let pad = "\n".repeat(first);
    (
        format!("{pad}{shown}"),
        span.start + first..span.end + first,
    )
}

/// Byte ranges of every line of `text`, without the line break.
fn line_ranges(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut lines: Vec<std::ops::Range<usize>> = Vec::new();
    let mut start = 0;
    for piece in text.split_inclusive('\n') {
        let end = start + piece.trim_end_matches('\n').len();
        lines.push(start..end);
        start += piece.len();
    }
    if lines.is_empty() || text.ends_with('\n') {
        lines.push(text.len()..text.len());
    }
    lines
}

/// [`windowed`] with the file's line ranges given, without the empty lines
/// before: only the lines miette shows, the span in them, and the 0-based
/// line of the file they start at.
fn windowed_in(
    text: &str,
    lines: &[std::ops::Range<usize>],
    span: std::ops::Range<usize>,
    width: usize,
) -> (String, std::ops::Range<usize>, usize) {
    let line_of = |at: usize| lines.partition_point(|l| l.end < at).min(lines.len() - 1);
    let first = line_of(span.start);
    let last = line_of(span.end.saturating_sub(1).max(span.start));
    let shown = first.saturating_sub(1)..=(last + 1).min(lines.len() - 1);
    let wide = |l: &std::ops::Range<usize>| text[l.clone()].chars().count() > width;
    if !lines[shown.clone()].iter().any(wide) {
        let from = lines[*shown.start()].start;
        let to = lines[*shown.end()].end;
        return (
            text[from..to].to_string(),
            span.start - from..span.end - from,
            *shown.start(),
        );
    }
    let mut out = String::new();
    let (mut new_start, mut new_end) = (0, 0);
    for i in shown.clone() {
        let l = lines[i].clone();
        let line = &text[l.clone()];
        // Where in `line` the kept part starts, and the part kept.
        let from = if i == first {
            let mut from = (span.start - l.start).saturating_sub(width / 4);
            while !line.is_char_boundary(from) {
                from -= 1;
            }
            from
        } else {
            0
        };
        let mut to = line.len();
        for (chars, (k, _)) in line[from..].char_indices().enumerate() {
            if chars + 2 >= width {
                to = from + k;
                break;
            }
        }
        let lead = if from > 0 { "…" } else { "" };
        let base = out.len() + lead.len();
        out.push_str(lead);
        out.push_str(&line[from..to]);
        if to < line.len() {
            out.push('…');
        }
        let place = |at: usize| base + (at.clamp(l.start, l.end) - l.start).clamp(from, to) - from;
        if i == first {
            new_start = place(span.start);
        }
        if i == last {
            new_end = place(span.end);
        }
        if i != *shown.end() {
            out.push('\n');
        }
    }
    (out, new_start..new_end.max(new_start), *shown.start())
}

fn summary(report: &Report) -> String {
    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warn);
    let infos = report.count(Severity::Info);
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
    for d in &report.dirs {
        out.push_str(&format!(
            "migguard: directory {} ({} format, {})\n",
            d.path, d.format, d.format_from
        ));
    }
    let by_rule = report.by_rule();
    if by_rule.len() > 1 || (report.mode == super::Mode::All && !by_rule.is_empty()) {
        let parts: Vec<String> = by_rule.iter().map(|(r, n)| format!("{r} {n}")).collect();
        out.push_str(&format!(
            "migguard: findings by rule: {}\n",
            parts.join(", ")
        ));
    }
    for note in &report.notes {
        out.push_str(&format!("migguard: note: {note}\n"));
    }
    let coverage = &report.coverage;
    let unanalysed = coverage.unanalysed.len();
    if coverage.analysed + unanalysed > 0 {
        let mut line = format!(
            "migguard: {} statement{} of the {} analysed",
            coverage.analysed,
            if coverage.analysed == 1 { "" } else { "s" },
            if report.mode == super::Mode::All {
                "migrations"
            } else {
                "new migrations"
            }
        );
        if unanalysed > 0 {
            line.push_str(&format!(
                ", {unanalysed} not ({}; --verbose lists them)",
                coverage.reasons()
            ));
        }
        out.push_str(&line);
        out.push('\n');
    }
    if errors + warnings + infos == 0 && coverage.analysed == 0 && unanalysed > 0 {
        // Nothing was read: no finding is not a clean bill.
        out.push_str(&format!(
            "migguard: no findings, but nothing in the new migrations could be analysed: review them by hand ({files})\n"
        ));
    } else if errors + warnings + infos == 0 {
        out.push_str(&format!("migguard: no findings ({files})\n"));
    } else if errors + warnings == 0 {
        out.push_str(&format!(
            "migguard: no errors or warnings, {infos} info finding{} ({files})\n",
            if infos == 1 { "" } else { "s" }
        ));
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
    fn text_wraps_at_spaces_only_and_keeps_every_character() {
        let text = "the file 20250123130012_billing-sequence-numbers.up.sql is not-yet applied";
        let wrapped = wrap(text, 30);
        // A word wider than a line is cut where the line ends; hyphens are
        // not break points.
        assert_eq!(
            wrapped,
            "the file\n20250123130012_billing-sequenc\ne-numbers.up.sql is not-yet\napplied"
        );
        assert!(wrapped.lines().all(|l| columns(l) <= 30), "{wrapped}");
        // Nothing is lost or added but the breaks: spaces inside a line as
        // written, a line's own indent and line breaks kept.
        let text = "a  b\n  indented line\n\nlast";
        assert_eq!(wrap(text, 80), text);
        let wrapped = wrap("aaaa bbbb cccc", 9);
        assert_eq!(wrapped, "aaaa bbbb\ncccc");
        assert_eq!(wrap("aaaa bbbb ", 9), "aaaa bbbb");
        // Columns, not bytes: a wide character takes two.
        assert_eq!(wrap("ab 日本", 5), "ab\n日本");
        assert_eq!(wrap("日本語", 4), "日本\n語");
        assert_eq!(wrap("", 10), "");
    }

    #[test]
    fn the_plain_text_path_wraps_as_the_general_one() {
        // Texts of words from 1 to 12 letters, some with hyphens or
        // punctuation, wrapped at every width from 1 to 40: where the fast
        // path takes a text, it must give what the general one gives.
        let mut seed = 7u64;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let mut taken = 0;
        for _ in 0..300 {
            let words: Vec<String> = (0..1 + next(20))
                .map(|_| {
                    (0..1 + next(12))
                        .map(|_| b"abcdefgh-._:\"'"[next(14) as usize] as char)
                        .collect()
                })
                .collect();
            let text = words.join(" ");
            for width in 1..=40 {
                if let Some(fast) = wrap_plain(&text, width) {
                    taken += 1;
                    assert_eq!(fast, wrap_any(&text, width), "{text:?} at {width}");
                }
            }
        }
        assert!(taken > 3000, "the fast path took only {taken} texts");
        // What it leaves to the general path.
        assert_eq!(wrap_plain("a  b", 80), None);
        assert_eq!(wrap_plain(" a", 80), None);
        assert_eq!(wrap_plain("a\nb", 80), None);
        assert_eq!(wrap_plain("日本", 80), None);
        assert_eq!(wrap_plain("abcdef gh", 3), None);
    }

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
        // A statement over several lines: every shown line is cut.
        let wide = "x".repeat(300);
        let text = format!("a\nCREATE TABLE t (\n  {wide},\n  {wide}\n);\nb\n");
        let at = text.find("CREATE").unwrap();
        let end = text.find(");").unwrap() + 2;
        let (shown, span) = windowed(&text, at..end, 140);
        assert!(shown.lines().all(|l| l.chars().count() <= 142), "{shown}");
        assert_eq!(shown.lines().count(), 6, "{shown}");
        assert!(
            shown[span.clone()].starts_with("CREATE TABLE t ("),
            "{shown}"
        );
        assert!(shown[span].ends_with(");"), "{shown}");
        // Short lines are left alone.
        let (same, s) = windowed("a\nbb\n", 2..4, 140);
        assert_eq!((same.as_str(), s), ("a\nbb\n", 2..4));
    }
}
