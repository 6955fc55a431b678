//! Splitting a migration file into statements the way PostgreSQL reads it.
//!
//! A `;` ends a statement only outside line comments (`--`), block comments
//! (`/* ... */`, which nest in PostgreSQL), single-quoted strings (`''` escapes
//! a quote), escape strings (`E'...'`, where `\` escapes), quoted identifiers
//! (`"..."`, `""` escapes) and dollar-quoted bodies (`$$ ... $$`,
//! `$tag$ ... $tag$`). A file that starts with Atlas's
//! `-- atlas:delimiter X` directive ends statements with `X` instead.
//! Every statement keeps its byte span so findings point at the right line.

use std::ops::Range;

use crate::atlas_sum::leading_directive;

/// One statement: `span` covers its text (no leading comments or whitespace,
/// no delimiter); `comments_start` is where the comments before it begin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub span: Range<usize>,
    pub comments_start: usize,
}

/// Atlas's custom delimiter for this file, if it declares one.
pub fn atlas_delimiter(src: &str) -> Option<String> {
    let d = leading_directive(src.as_bytes())?;
    if d.name != "delimiter" || d.prefix != "-- " || d.arg.is_empty() {
        return None;
    }
    Some(d.arg.replace("\\n", "\n").replace("\\t", "\t"))
}

pub fn split(src: &str) -> Vec<Piece> {
    match atlas_delimiter(src) {
        Some(delim) => {
            // The directive line is not a statement.
            let start = src.find('\n').map(|i| i + 1).unwrap_or(src.len());
            split_with(src, start, &delim)
        }
        None => split_with(src, 0, ";"),
    }
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// The `$tag$` opening at `i`, if any (a tag never starts with a digit, so
/// `$1` is a parameter, not a quote).
fn dollar_tag(b: &[u8], i: usize) -> Option<usize> {
    if b[i] != b'$' || (i > 0 && is_ident_char(b[i - 1]) && b[i - 1] != b'$') {
        return None;
    }
    let mut j = i + 1;
    if j < b.len() && b[j].is_ascii_digit() {
        return None;
    }
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] >= 0x80) {
        j += 1;
    }
    (j < b.len() && b[j] == b'$').then_some(j + 1 - i)
}

fn split_with(src: &str, from: usize, delim: &str) -> Vec<Piece> {
    let b = src.as_bytes();
    let d = delim.as_bytes();
    let Some(&d0) = d.first() else {
        return Vec::new();
    };
    // Whether a word may hold the delimiter (`-- atlas:delimiter GO`): then
    // every byte of a word is checked for it.
    let d_in_word = is_ident_char(d0);
    let mut out = Vec::new();
    let mut i = from;
    // Start of the current piece's comments, and of its first real token.
    let mut comments_start = from;
    let mut start: Option<usize> = None;
    let mut last_token_end = from;
    let push = |out: &mut Vec<Piece>, start: Option<usize>, end: usize, comments_start: usize| {
        if let Some(s) = start {
            out.push(Piece {
                span: s..end,
                comments_start,
            });
        }
    };
    // Where the first `needle` at or after `at` is, or the end.
    let find = |needle: u8, at: usize| memchr::memchr(needle, &b[at..]).map_or(b.len(), |p| at + p);
    while i < b.len() {
        let c = b[i];
        if c == d0 && b[i..].starts_with(d) {
            push(&mut out, start, last_token_end, comments_start);
            i += d.len();
            start = None;
            comments_start = i;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            i = find(b'\n', i);
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0usize;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            continue;
        }
        // A token: the statement starts here if it has not yet.
        if start.is_none() {
            start = Some(i);
        }
        let escape_string = (c == b'E' || c == b'e')
            && b.get(i + 1) == Some(&b'\'')
            && (i == 0 || !is_ident_char(b[i - 1]));
        if escape_string {
            i += 2;
            while i < b.len() {
                match memchr::memchr2(b'\\', b'\'', &b[i..]) {
                    None => i = b.len(),
                    Some(p) if b[i + p] == b'\\' => i += p + 2,
                    Some(p) if b.get(i + p + 1) == Some(&b'\'') => i += p + 2,
                    Some(p) => {
                        i += p + 1;
                        break;
                    }
                }
            }
        } else if c == b'\'' || c == b'"' {
            // `''` (or `""`) inside is the quote itself, written twice.
            i += 1;
            while i < b.len() {
                i = find(c, i);
                if i < b.len() && b.get(i + 1) == Some(&c) {
                    i += 2;
                    continue;
                }
                i += 1;
                break;
            }
        } else if let Some(len) = dollar_tag(b, i) {
            let tag = &b[i..i + len];
            let body = i + len;
            i = match memchr::memmem::find(&b[body..], tag) {
                Some(p) => body + p + len,
                None => b.len(),
            };
        } else {
            i += 1;
            // Consume the rest of a word at once.
            while i < b.len() && is_ident_char(b[i]) && !(d_in_word && b[i..].starts_with(d)) {
                i += 1;
            }
        }
        last_token_end = i.min(b.len());
    }
    push(&mut out, start, last_token_end, comments_start);
    out
}

/// 1-based line of byte `offset`.
#[cfg(test)]
fn line_of(src: &str, offset: usize) -> usize {
    src.as_bytes()[..offset.min(src.len())]
        .iter()
        .filter(|&&c| c == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<&str> {
        split(src).into_iter().map(|p| &src[p.span]).collect()
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        assert_eq!(texts("SELECT 1; SELECT 2;"), ["SELECT 1", "SELECT 2"]);
        assert_eq!(
            texts("SELECT ';'; SELECT \"a;b\";"),
            ["SELECT ';'", "SELECT \"a;b\""]
        );
        assert_eq!(texts("SELECT 'it''s; fine';"), ["SELECT 'it''s; fine'"]);
        assert_eq!(texts("SELECT E'a\\';b';"), ["SELECT E'a\\';b'"]);
        assert_eq!(
            texts("-- a; comment\nSELECT 1; /* x; /* nested; */ y; */ SELECT 2"),
            ["SELECT 1", "SELECT 2"]
        );
        assert_eq!(texts("SELECT 1 -- trailing; comment\n;"), ["SELECT 1"]);
    }

    #[test]
    fn dollar_quotes() {
        let src = "DO $$ BEGIN PERFORM 1; END $$; CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql; SELECT $1;";
        assert_eq!(
            texts(src),
            [
                "DO $$ BEGIN PERFORM 1; END $$",
                "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql",
                "SELECT $1"
            ]
        );
        assert_eq!(texts("SELECT $a$ $b$ ; $a$;"), ["SELECT $a$ $b$ ; $a$"]);
    }

    #[test]
    fn transactions_and_empty_statements() {
        assert_eq!(
            texts("BEGIN;\nSELECT 1;;\nCOMMIT;\n"),
            ["BEGIN", "SELECT 1", "COMMIT"]
        );
        assert!(texts("-- only a comment\n").is_empty());
        assert!(texts("").is_empty());
    }

    #[test]
    fn atlas_delimiter_directive() {
        let src = "-- atlas:delimiter -- end\n\nCREATE FUNCTION f() AS 'a;b';\nSELECT 1;\n-- end\nSELECT 2\n-- end\n";
        assert_eq!(
            texts(src),
            ["CREATE FUNCTION f() AS 'a;b';\nSELECT 1;", "SELECT 2"]
        );
        let src = "-- atlas:delimiter \\n\\n\n\nSELECT 1;\nSELECT 2;\n\nSELECT 3;\n";
        assert_eq!(texts(src), ["SELECT 1;\nSELECT 2;", "SELECT 3;"]);
        // A delimiter made of word characters ends a statement inside a word.
        let src = "-- atlas:delimiter GO\n\nSELECT 1\nGO\nSELECT 'GO' AS xGO\n";
        assert_eq!(texts(src), ["SELECT 1", "SELECT 'GO' AS x"]);
    }

    #[test]
    fn spans_and_lines() {
        let src = "-- lead\nCREATE TABLE a (id int);\n\n  SELECT 1;";
        let p = split(src);
        assert_eq!(line_of(src, p[0].span.start), 2);
        assert_eq!(p[0].comments_start, 0);
        assert_eq!(line_of(src, p[1].span.start), 4);
    }

    #[test]
    fn unterminated_input_never_loops() {
        for src in [
            "SELECT 'open",
            "SELECT $$ open",
            "/* /* open */",
            "SELECT \"open",
            "E'\\",
        ] {
            let p = split(src);
            assert!(p.len() <= 1, "{src}");
        }
        // An open quote runs to the end of the file.
        assert_eq!(texts("SELECT 1; SELECT 'a;b"), ["SELECT 1", "SELECT 'a;b"]);
        assert_eq!(texts("SELECT E'a\\'; b"), ["SELECT E'a\\'; b"]);
        assert_eq!(texts("SELECT \"a\"\"; b"), ["SELECT \"a\"\"; b"]);
        let deep = "/*".repeat(50) + &"*/".repeat(50) + "SELECT 1;";
        assert_eq!(texts(&deep), ["SELECT 1"]);
    }
}
