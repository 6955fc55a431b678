//! Suppression comments, always with a reason:
//!
//! - SQL: `-- migguard:ignore RULE[,RULE] reason` on the line(s) before a
//!   statement; `-- migguard:ignore-file RULE reason` in the file's leading
//!   comments.
//! - Go: `// migguard:ignore RULE reason` before the declaration.
//!
//! An ignore without a reason suppresses nothing and is itself reported.

use std::sync::Arc;

use crate::findings::{Finding, Severity};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// 1-based line of the comment.
    pub line: usize,
    pub span: std::ops::Range<usize>,
    pub file_level: bool,
    pub rules: Vec<String>,
    pub reason: String,
    /// Last line the directive covers (the statement or declaration after it).
    pub covers_to: usize,
}

fn comment_body(line: &str) -> Option<&str> {
    let t = line.trim_start();
    ["--", "//", "#"]
        .iter()
        .find_map(|m| t.strip_prefix(m))
        .map(str::trim)
}

fn is_blank_or_comment(line: &str) -> bool {
    line.trim().is_empty() || comment_body(line).is_some()
}

/// Reads every `migguard:ignore` directive of a file.
pub fn directives(path: &str, text: &[u8]) -> Vec<Directive> {
    // Most files have none: one scan for the marker decides.
    if memchr::memmem::find(text, b"migguard:ignore").is_none() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(text);
    let lines: Vec<&str> = text.split('\n').collect();
    let leading_end = lines
        .iter()
        .position(|l| !is_blank_or_comment(l))
        .unwrap_or(lines.len());
    let sql = path.ends_with(".sql");
    let mut offset = 0;
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let start = offset;
        offset += line.len() + 1;
        let Some(body) = comment_body(line) else {
            continue;
        };
        let (file_level, rest) = if let Some(rest) = body.strip_prefix("migguard:ignore-file") {
            (true, rest)
        } else if let Some(rest) = body.strip_prefix("migguard:ignore") {
            (false, rest)
        } else {
            continue;
        };
        if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
            continue;
        }
        let rest = rest.trim();
        let (rules, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let misplaced = file_level && i >= leading_end;
        let covers_to = if misplaced {
            // An ignore-file after the first statement suppresses nothing.
            0
        } else if file_level {
            usize::MAX
        } else {
            // The statement (SQL, up to its `;`) or line (Go) after the comment.
            let first = (i + 1..lines.len())
                .find(|&j| !is_blank_or_comment(lines[j]))
                .unwrap_or(lines.len());
            if sql {
                (first..lines.len())
                    .find(|&j| lines[j].contains(';'))
                    .unwrap_or(lines.len().saturating_sub(1))
                    + 1
            } else {
                first + 1
            }
        };
        out.push(Directive {
            line: i + 1,
            span: start..start + line.trim_end_matches('\r').len(),
            file_level: file_level && i < leading_end,
            rules: rules
                .split(',')
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty())
                .collect(),
            reason: reason.trim().to_string(),
            covers_to,
        });
    }
    out
}

impl Directive {
    fn suppresses(&self, f: &Finding) -> bool {
        if self.reason.is_empty() || !self.rules.iter().any(|r| r == f.rule) {
            return false;
        }
        if self.file_level {
            return true;
        }
        // Its own line too: adding the comment is itself part of an edit.
        f.line
            .is_some_and(|l| l >= self.line && l <= self.covers_to)
    }
}

/// Drops suppressed findings and adds one for each ignore without a reason.
/// `files` are the files to read directives from, with their content;
/// `severity` gives the configured severity of a rule (`None`: not a rule).
pub fn apply(
    findings: Vec<Finding>,
    files: &[(String, Arc<[u8]>)],
    severity: impl Fn(&str) -> Option<(&'static str, Severity)>,
) -> Vec<Finding> {
    let parsed: Vec<(&str, Vec<Directive>)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), directives(p, t)))
        .filter(|(_, ds)| !ds.is_empty())
        .collect();
    let by_path: std::collections::HashMap<&str, &[Directive]> =
        parsed.iter().map(|(p, ds)| (*p, ds.as_slice())).collect();
    let mut out: Vec<Finding> = findings
        .into_iter()
        .filter(|f| {
            !by_path
                .get(f.path.as_str())
                .is_some_and(|ds| ds.iter().any(|d| d.suppresses(f)))
        })
        .collect();
    for (path, ds) in &parsed {
        for d in ds.iter().filter(|d| d.reason.is_empty()) {
            for rule in &d.rules {
                let Some((name, sev)) = severity(rule) else {
                    continue;
                };
                if sev == Severity::Off {
                    continue;
                }
                out.push(
                    Finding::new(
                        name,
                        sev,
                        *path,
                        format!("`migguard:ignore {rule}` gives no reason, so it suppresses nothing: an ignore must say why"),
                    )
                    .at(d.line, d.span.clone())
                    .help(format!("write the reason after the rule: `-- migguard:ignore {rule} <why this is safe>`")),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(rule: &'static str, line: Option<usize>) -> Finding {
        let mut f = Finding::new(rule, Severity::Error, "m/1.sql", "x");
        f.line = line;
        f
    }

    fn sev(rule: &str) -> Option<(&'static str, Severity)> {
        match rule {
            "migration-edited" => Some(("migration-edited", Severity::Error)),
            "non-linear" => Some(("non-linear", Severity::Error)),
            _ => None,
        }
    }

    #[test]
    fn statement_ignores_cover_their_statement_only() {
        let sql = b"CREATE TABLE a (id int);\n-- migguard:ignore migration-edited,non-linear typo fix, never applied\nCREATE TABLE b (\n  id int\n);\nCREATE TABLE c (id int);\n";
        let files = vec![("m/1.sql".to_string(), Arc::from(&sql[..]))];
        let kept = apply(
            vec![
                f("migration-edited", Some(4)),
                f("non-linear", Some(3)),
                f("migration-edited", Some(6)),
                f("migration-edited", Some(1)),
            ],
            &files,
            sev,
        );
        let lines: Vec<_> = kept.iter().map(|f| f.line).collect();
        assert_eq!(lines, vec![Some(6), Some(1)]);
    }

    #[test]
    fn file_ignores_need_to_lead_the_file() {
        let sql = b"-- header\n-- migguard:ignore-file non-linear backfill that must run before X\n\nSELECT 1;\n-- migguard:ignore-file migration-edited too late\n";
        let files = vec![("m/1.sql".to_string(), Arc::from(&sql[..]))];
        let kept = apply(
            vec![f("non-linear", None), f("migration-edited", Some(4))],
            &files,
            sev,
        );
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].rule, "migration-edited");
    }

    #[test]
    fn an_ignore_without_reason_is_reported_and_suppresses_nothing() {
        let sql = b"-- migguard:ignore migration-edited\nSELECT 1;\n";
        let files = vec![("m/1.sql".to_string(), Arc::from(&sql[..]))];
        let kept = apply(vec![f("migration-edited", Some(2))], &files, sev);
        assert_eq!(kept.len(), 2);
        assert!(kept[1].message.contains("gives no reason"));
        assert_eq!(kept[1].line, Some(1));
    }

    #[test]
    fn go_ignores_cover_the_next_declaration_line() {
        let go = b"package schema\n\n// migguard:ignore missing-soft-delete lookup table, rows never deleted\ntype Currency struct {\n\tent.Schema\n}\n";
        let ds = directives("s/currency.go", go);
        assert_eq!(ds.len(), 1);
        assert_eq!(ds[0].covers_to, 4);
        assert!(!ds[0].file_level);
    }
}
