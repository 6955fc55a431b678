//! Parsing each statement with sqlparser (PostgreSQL dialect). A statement it
//! cannot read (`DO $$ ... $$`, `ALTER SEQUENCE ... INCREMENT`, ...) is kept
//! as opaque text with its span: it never stops the run.

use std::ops::Range;

use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Tokenizer;

use super::split::split;

#[derive(Debug, Clone)]
pub struct Stmt {
    /// Byte span of the statement's text in `ParsedFile::text`.
    pub span: Range<usize>,
    /// Where the comments before it start.
    pub comments_start: usize,
    /// 1-based line of the statement's first token.
    pub line: usize,
    /// The parsed statement(s); empty when sqlparser could not read it.
    pub ast: Vec<Statement>,
}

impl Stmt {
    pub fn is_opaque(&self) -> bool {
        self.ast.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct ParsedFile {
    /// The file as text (invalid UTF-8 replaced; line breaks are kept, so lines
    /// match the bytes).
    pub text: String,
    pub stmts: Vec<Stmt>,
}

/// Files larger than this are hashed but not parsed: no migration is this
/// large, and a hostile one must not stall a pre-commit hook.
pub const MAX_PARSED_BYTES: usize = 16 << 20;

impl ParsedFile {
    pub fn parse(bytes: &[u8]) -> ParsedFile {
        if bytes.len() > MAX_PARSED_BYTES {
            // One opaque statement: counted as not parsed, never read.
            return ParsedFile {
                text: String::new(),
                stmts: vec![Stmt {
                    span: 0..0,
                    comments_start: 0,
                    line: 1,
                    ast: Vec::new(),
                }],
            };
        }
        // Valid UTF-8 (every real migration) is checked by the fast path.
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(bytes).into_owned(),
        };
        // Line numbers counted incrementally: pieces come in order.
        let (mut line, mut counted) = (1usize, 0usize);
        let stmts = split(&text)
            .into_iter()
            .map(|piece| {
                line += text.as_bytes()[counted..piece.span.start]
                    .iter()
                    .filter(|&&c| c == b'\n')
                    .count();
                counted = piece.span.start;
                let ast = parse_sql(&text[piece.span.clone()]);
                Stmt {
                    line,
                    span: piece.span,
                    comments_start: piece.comments_start,
                    ast,
                }
            })
            .collect();
        ParsedFile { text, stmts }
    }

    pub fn opaque_count(&self) -> usize {
        self.stmts.iter().filter(|s| s.is_opaque()).count()
    }

    pub fn stmt_text(&self, stmt: &Stmt) -> &str {
        &self.text[stmt.span.clone()]
    }
}

/// The first `n` words of `text`, joined by single spaces: how messages and
/// summaries name a statement.
pub fn first_words(text: &str, n: usize) -> String {
    text.split_whitespace()
        .take(n)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The statements of `sql` (one piece of a file), or none when sqlparser
/// cannot read it. What `Parser::try_with_sql` does, with the token buffer
/// sized up front: sqlparser makes a token of every space, so a statement
/// has up to about a token per two bytes, and growing the buffer one
/// doubling at a time copied it over and over.
fn parse_sql(sql: &str) -> Vec<Statement> {
    let dialect = PostgreSqlDialect {};
    let mut tokens = Vec::with_capacity(sql.len() / 2 + 8);
    if Tokenizer::new(&dialect, sql)
        .tokenize_with_location_into_buf(&mut tokens)
        .is_err()
    {
        return Vec::new();
    }
    Parser::new(&dialect)
        .with_recursion_limit(64)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_it_can_and_keeps_the_rest() {
        let f = ParsedFile::parse(
            b"CREATE TABLE \"a\" (\"id\" bigint NOT NULL, PRIMARY KEY (\"id\"));\nDO $$ BEGIN RAISE NOTICE 'x'; END $$;\nALTER SEQUENCE s INCREMENT BY 2;\n",
        );
        assert_eq!(f.stmts.len(), 3);
        assert!(!f.stmts[0].is_opaque());
        assert_eq!(f.stmts[1].line, 2);
        assert!(f.opaque_count() >= 1);
    }

    #[test]
    fn invalid_utf8_keeps_lines() {
        let f = ParsedFile::parse(b"SELECT '\xff';\nSELECT 2;\n");
        assert_eq!(f.stmts[1].line, 2);
    }
}
