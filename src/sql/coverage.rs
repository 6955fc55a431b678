//! What the safety analysis could and could not read in the new migrations.
//!
//! A statement is analysed when the rules see what it does. They do not
//! when its effect is code they cannot read: a `DO` block, a function or
//! procedure body (`CREATE FUNCTION`, `CREATE PROCEDURE`, a `CALL`), a
//! prepared statement run by `EXECUTE`, or a statement the parser could
//! not read at all. The summary counts both, so a run that analysed
//! nothing never reads as "all clear".

use serde::Serialize;
use sqlparser::ast::Statement;

use super::ParsedFile;

/// A statement of a new migration the rules could not analyse.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Unanalysed {
    pub path: String,
    pub line: usize,
    /// Why: `DO block`, `function body`, `procedure call`, `dynamic SQL`,
    /// `not parsed`.
    pub reason: &'static str,
    /// The statement's first words.
    pub statement: String,
}

/// The statements of the new migrations: how many were analysed, and the
/// ones that were not.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    pub analysed: usize,
    pub unanalysed: Vec<Unanalysed>,
}

impl Coverage {
    /// Counts the statements of `file`, a new migration at `path`.
    pub fn add(&mut self, path: &str, file: &ParsedFile) {
        for stmt in &file.stmts {
            let text = file.stmt_text(stmt);
            let reason = if stmt.is_opaque() {
                Some(unparsed_reason(text))
            } else {
                stmt.ast.iter().find_map(reason)
            };
            match reason {
                Some(reason) => self.unanalysed.push(Unanalysed {
                    path: path.to_string(),
                    line: stmt.line,
                    reason,
                    statement: super::parse::first_words(text, 6),
                }),
                None => self.analysed += 1,
            }
        }
    }

    /// Another directory's counts added to these.
    pub fn merge(&mut self, other: Coverage) {
        self.analysed += other.analysed;
        for u in other.unanalysed {
            if !self.unanalysed.contains(&u) {
                self.unanalysed.push(u);
            }
        }
        self.unanalysed.sort();
    }

    /// `2 DO blocks, 1 not parsed`: the unanalysed statements by reason.
    pub fn reasons(&self) -> String {
        let mut by: std::collections::BTreeMap<&str, usize> = Default::default();
        for u in &self.unanalysed {
            *by.entry(u.reason).or_default() += 1;
        }
        by.iter()
            .map(|(r, n)| match (*r, *n) {
                ("DO block", n) if n > 1 => format!("{n} DO blocks"),
                ("function body", n) if n > 1 => format!("{n} function bodies"),
                ("procedure call", n) if n > 1 => format!("{n} procedure calls"),
                (r, n) => format!("{n} {r}"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Why a parsed statement's effect is not analysed, if it is not.
fn reason(stmt: &Statement) -> Option<&'static str> {
    match stmt {
        Statement::CreateFunction(_) | Statement::CreateProcedure { .. } => Some("function body"),
        Statement::Call(_) => Some("procedure call"),
        Statement::Execute { .. } => Some("dynamic SQL"),
        _ => None,
    }
}

/// Why a statement the parser could not read is not analysed: what it is,
/// from its first words, when they say.
fn unparsed_reason(text: &str) -> &'static str {
    let words: Vec<String> = text
        .split_whitespace()
        .take(5)
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let starts = |w: &[&str]| words.len() >= w.len() && words.iter().zip(w).all(|(a, b)| a == b);
    if starts(&["DO"]) {
        "DO block"
    } else if starts(&["CREATE", "FUNCTION"])
        || starts(&["CREATE", "PROCEDURE"])
        || starts(&["CREATE", "OR", "REPLACE", "FUNCTION"])
        || starts(&["CREATE", "OR", "REPLACE", "PROCEDURE"])
    {
        "function body"
    } else {
        "not parsed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coverage(sql: &str) -> Coverage {
        let mut c = Coverage::default();
        c.add("m.sql", &ParsedFile::parse(sql.as_bytes()));
        c
    }

    #[test]
    fn code_the_rules_cannot_read_is_counted_apart() {
        let c = coverage(
            "ALTER TABLE t ADD COLUMN a int;\n\
             DO $$ BEGIN EXECUTE 'ALTER TABLE t ADD b int'; END $$;\n\
             CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n\
             CREATE OR REPLACE PROCEDURE p() LANGUAGE sql AS $$ UPDATE t SET a = 1 $$;\n\
             CALL p();\n\
             EXECUTE stmt;\n\
             CREATE INDEX i ON t (a);\n\
             ALTER TABLE t FROBNICATE;\n",
        );
        assert_eq!(c.analysed, 2);
        let got: Vec<(usize, &str)> = c.unanalysed.iter().map(|u| (u.line, u.reason)).collect();
        assert_eq!(
            got,
            [
                (2, "DO block"),
                (3, "function body"),
                (4, "function body"),
                (5, "procedure call"),
                (6, "dynamic SQL"),
                (8, "not parsed")
            ]
        );
        assert_eq!(
            c.reasons(),
            "1 DO block, 1 dynamic SQL, 2 function bodies, 1 not parsed, 1 procedure call"
        );
        assert_eq!(
            c.unanalysed[0].statement,
            "DO $$ BEGIN EXECUTE 'ALTER TABLE"
        );
    }

    #[test]
    fn plain_ddl_is_all_analysed() {
        let c = coverage("CREATE TABLE t (id int);\nCREATE INDEX i ON t (id);\n");
        assert_eq!((c.analysed, c.unanalysed.len()), (2, 0));
        assert_eq!(c.reasons(), "");
    }
}
