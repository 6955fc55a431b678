//! `--format github`: workflow commands that GitHub Actions shows as
//! annotations on the pull request's diff.

use super::Report;
use crate::findings::Severity;

/// Escapes per the workflow-command rules: data escapes `%`, CR and LF;
/// properties also `:` and `,`.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let level = match f.severity {
            Severity::Error => "error",
            Severity::Info => "notice",
            _ => "warning",
        };
        let mut props = format!("file={}", escape_property(&f.path));
        if let Some(line) = f.line {
            props.push_str(&format!(",line={line}"));
        }
        if let Some(col) = f.column {
            props.push_str(&format!(",col={col}"));
        }
        let title = match f.code {
            Some(code) => format!("{} ({code})", f.rule),
            None => f.rule.to_string(),
        };
        props.push_str(&format!(",title={}", escape_property(&title)));
        let mut message = f.message.clone();
        if !f.help.is_empty() {
            message.push_str("\nhelp: ");
            message.push_str(&f.help);
        }
        out.push_str(&format!("::{level} {props}::{}\n", escape_data(&message)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Mode;
    use crate::findings::Finding;

    #[test]
    fn annotations_are_escaped() {
        let mut r = Report::new(Mode::All);
        r.findings.push(
            Finding::new(
                "sum-drift",
                Severity::Error,
                "db/a,b.sum",
                "50% wrong\nreally",
            )
            .at(3, 0..1)
            .help("fix: it"),
        );
        assert_eq!(
            render(&r),
            "::error file=db/a%2Cb.sum,line=3,col=1,title=sum-drift::50%25 wrong%0Areally%0Ahelp: fix: it\n"
        );
    }
}
