//! Findings: what rules report. A finding says what is wrong, where, why it
//! matters (message) and how to fix it (help).

use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Off,
    /// Worth knowing; never fails a run.
    Info,
    Warn,
    Error,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Off => "off",
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    /// Relative to the repository root, `/`-separated.
    pub path: String,
    /// 1-based line and column, when the finding has a place.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Byte span in the file, for underlining the source.
    pub span: Option<Range<usize>>,
    pub message: String,
    pub help: String,
    /// A few words under the underlined source (human output).
    pub label: Option<String>,
    /// What the finding is about (a table, a table's unique key), so that an
    /// SQL finding and an ent finding about the same thing are reported once.
    pub subject: Option<String>,
    /// Atlas's code for what was found (`DS103`, `MF101`, ...), for the
    /// rules that mirror Atlas's analyzers.
    pub code: Option<&'static str>,
    /// PostgreSQL showed it (`migguard trace`, `check --trace`): the lock,
    /// rewrite or scan was measured, not guessed.
    pub measured: bool,
}

impl Finding {
    pub fn new(
        rule: &'static str,
        severity: Severity,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            rule,
            severity,
            path: path.into(),
            line: None,
            column: None,
            span: None,
            message: message.into(),
            help: String::new(),
            label: None,
            subject: None,
            code: None,
            measured: false,
        }
    }

    /// Places the finding at `line` and byte `span`; the column is that of
    /// the span's start once the report reads the file ([`column_of`]),
    /// 1 until then.
    pub fn at(mut self, line: usize, span: Range<usize>) -> Finding {
        self.line = Some(line);
        self.column = Some(1);
        self.span = Some(span);
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Finding {
        self.label = Some(label.into());
        self
    }

    pub fn subject(mut self, subject: impl Into<String>) -> Finding {
        self.subject = Some(subject.into());
        self
    }

    pub fn code(mut self, code: &'static str) -> Finding {
        self.code = Some(code);
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Finding {
        self.help = help.into();
        self
    }
}

/// The 1-based column (in characters) of byte `offset` of `text`.
pub fn column_of(text: &[u8], offset: usize) -> usize {
    let offset = offset.min(text.len());
    let start = text[..offset]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    String::from_utf8_lossy(&text[start..offset])
        .chars()
        .count()
        + 1
}

#[cfg(test)]
mod column_tests {
    #[test]
    fn columns_count_characters_from_the_line_start() {
        let text = "ab\n  é x".as_bytes();
        assert_eq!(super::column_of(text, 0), 1);
        assert_eq!(super::column_of(text, 3), 1);
        assert_eq!(super::column_of(text, 5), 3);
        assert_eq!(super::column_of(text, 8), 5);
    }
}
