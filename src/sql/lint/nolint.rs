//! `-- atlas:nolint` and the other file directives, read as Atlas reads
//! them.

use super::*;

/// `-- atlas:nolint [CODE|ANALYZER ...]` directives of one file, as Atlas
/// reads them: file directives are the comment lines the file starts with,
/// followed by a blank line; statement directives are the comments right
/// before a statement. A bare file directive skips the whole file.
#[derive(Debug)]
pub(super) struct Nolint {
    file_rules: Vec<String>,
    file_ignored: bool,
}

/// The arguments of an `atlas:nolint` directive in one comment line
/// (`Some("")` for a bare one), the way Atlas's directive pattern
/// `^([ -~]*)atlas:(\w+)(?: +([ -~]*))*` reads it.
pub(super) fn nolint_args(comment: &str) -> Option<String> {
    directive_args(comment, "nolint")
}

/// The arguments of an `atlas:NAME` directive in one comment line.
pub(super) fn directive_args(comment: &str, want: &str) -> Option<String> {
    let at = comment.rfind("atlas:")?;
    if !comment[..at].bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return None;
    }
    let after = &comment[at + "atlas:".len()..];
    let name_len = after
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(after.len());
    if &after[..name_len] != want {
        return None;
    }
    let rest = &after[name_len..];
    let trimmed = rest.trim_start_matches(' ');
    if trimmed.len() == rest.len() {
        return Some(String::new());
    }
    let end = trimmed
        .find(|c: char| !(' '..='~').contains(&c))
        .unwrap_or(trimmed.len());
    Some(trimmed[..end].to_string())
}

/// The arguments of every `atlas:NAME` file directive of `text`: the
/// comment lines the file starts with, when a blank line follows them (how
/// Atlas reads `atlas:nolint`, `atlas:txmode`, ...).
pub fn file_directives(text: &str, name: &str) -> Vec<String> {
    let mut directives = Vec::new();
    let mut content = text;
    let mut comments = Vec::new();
    while content.starts_with('#') || content.starts_with("--") {
        match content.find('\n') {
            Some(i) => {
                comments.push(content[..i].trim());
                content = &content[i + 1..];
            }
            None => {
                comments.push(content);
                content = "";
                break;
            }
        }
    }
    // File comments are separated from the statements by a blank line.
    if content.trim_start_matches([' ', '\t']).starts_with('\n')
        || content.trim_start_matches([' ', '\t']).starts_with("\r\n")
    {
        directives.extend(comments.iter().filter_map(|c| directive_args(c, name)));
    }
    directives
}

impl Nolint {
    pub(super) fn of_file(text: &str) -> Nolint {
        let directives = file_directives(text, "nolint");
        let file_ignored = directives.len() == 1 && directives[0].is_empty();
        Nolint {
            file_rules: directives
                .iter()
                .flat_map(|d| d.split(' ').map(str::to_string))
                .collect(),
            file_ignored,
        }
    }

    /// The rules skipped on `stmt`: the file's, then its own.
    pub(super) fn rules_for(&self, text: &str, stmt: &Stmt) -> Vec<String> {
        let mut rules = self.file_rules.clone();
        let comments = text.get(stmt.comments_start..stmt.span.start).unwrap_or("");
        for line in comments.lines().map(str::trim) {
            if !(line.starts_with("--") || line.starts_with('#') || line.starts_with("/*")) {
                continue;
            }
            if let Some(args) = nolint_args(line) {
                rules.extend(args.split(' ').map(str::to_string));
            }
        }
        rules
    }

    pub(super) fn skips(&self, rules: &[String], code: &str, analyzer: Analyzer) -> bool {
        self.file_ignored
            || (rules.len() == 1 && rules[0].is_empty())
            || rules
                .iter()
                .any(|r| (!code.is_empty() && r == code) || r == analyzer.name())
    }
}
