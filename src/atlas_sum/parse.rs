//! Reading an existing `atlas.sum`, leniently and with positions.
//!
//! Atlas's own reader (`HashFile.UnmarshalText`) stops at the first problem with
//! "checksum file format invalid". We keep going, so every problem gets a
//! finding that points at its line: the header, each `name h1:hash` entry,
//! malformed lines, and merge-conflict markers.

use std::ops::Range;

/// One line of the file: 1-based number, byte span (without the line ending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRef {
    pub number: usize,
    pub span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEntry {
    pub name: String,
    pub hash: String,
    pub line: LineRef,
    /// True when the line sits inside a `<<<<<<<` ... `>>>>>>>` block.
    pub in_conflict: bool,
}

/// A `<<<<<<<` ... `>>>>>>>` block left by git.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictBlock {
    pub start: LineRef,
    /// Line number of the closing `>>>>>>>`, when present.
    pub end_line: Option<usize>,
    /// Entry names that appear inside the block.
    pub names: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedSum {
    /// The first line with its `h1:` prefix removed (as Atlas does), if any.
    pub header: Option<(String, LineRef)>,
    pub entries: Vec<ParsedEntry>,
    /// Lines that are neither entries nor conflict markers.
    pub malformed: Vec<(String, LineRef)>,
    pub conflicts: Vec<ConflictBlock>,
    /// First line that ends with `\r\n`, if any.
    pub first_crlf_line: Option<usize>,
    pub ends_with_newline: bool,
}

fn marker(line: &str) -> Option<u8> {
    ["<<<<<<<", "|||||||", "=======", ">>>>>>>"]
        .iter()
        .find(|m| line.starts_with(**m))
        .map(|m| m.as_bytes()[0])
}

impl ParsedSum {
    pub fn parse(bytes: &[u8]) -> ParsedSum {
        let mut out = ParsedSum {
            ends_with_newline: bytes.is_empty() || bytes.ends_with(b"\n"),
            ..ParsedSum::default()
        };
        let mut open: Option<ConflictBlock> = None;
        let mut offset = 0usize;
        for (idx, raw) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
            let number = idx + 1;
            let mut content = raw.strip_suffix(b"\n").unwrap_or(raw);
            if let Some(stripped) = content.strip_suffix(b"\r") {
                content = stripped;
                if raw.ends_with(b"\n") && out.first_crlf_line.is_none() {
                    out.first_crlf_line = Some(number);
                }
            }
            let line = LineRef {
                number,
                span: offset..offset + content.len(),
            };
            offset += raw.len();
            let text = String::from_utf8_lossy(content).into_owned();
            if let Some(kind) = marker(&text) {
                match kind {
                    b'<' => {
                        if let Some(block) = open.take() {
                            out.conflicts.push(block);
                        }
                        open = Some(ConflictBlock {
                            start: line,
                            end_line: None,
                            names: Vec::new(),
                        });
                    }
                    b'>' => match open.take() {
                        Some(mut block) => {
                            block.end_line = Some(number);
                            out.conflicts.push(block);
                        }
                        None => out.conflicts.push(ConflictBlock {
                            start: line,
                            end_line: Some(number),
                            names: Vec::new(),
                        }),
                    },
                    _ => {
                        if open.is_none() {
                            open = Some(ConflictBlock {
                                start: line,
                                end_line: None,
                                names: Vec::new(),
                            });
                        }
                    }
                }
                continue;
            }
            if number == 1 {
                let sum = text.strip_prefix("h1:").unwrap_or(&text).to_string();
                out.header = Some((sum, line));
                continue;
            }
            match text.split_once("h1:") {
                // A second header (two files' lines kept after a merge) is
                // not an entry: an entry without a name would be reported
                // as a file called "".
                Some((name, _)) if name.trim().is_empty() && open.is_none() => {
                    out.malformed.push((text.clone(), line));
                }
                Some((name, hash)) => {
                    let name = name.trim().to_string();
                    if let Some(block) = open.as_mut() {
                        block.names.push(name.clone());
                    }
                    out.entries.push(ParsedEntry {
                        name,
                        hash: hash.to_string(),
                        line,
                        in_conflict: open.is_some(),
                    });
                }
                None => out.malformed.push((text, line)),
            }
        }
        if let Some(block) = open.take() {
            out.conflicts.push(block);
        }
        out
    }

    /// The checksum Atlas computes over this file's own entries, to compare
    /// with its header.
    pub fn entries_sum(&self) -> String {
        let hf = super::HashFile {
            entries: self
                .entries
                .iter()
                .map(|e| super::SumEntry {
                    name: e.name.clone(),
                    hash: e.hash.clone(),
                })
                .collect(),
        };
        hf.sum()
    }

    /// Whether any entry names a `.down.sql` file: the mark of an `atlas.sum`
    /// written by an Atlas version that hashed every `*.sql` of a golang-migrate
    /// directory.
    pub fn lists_down_files(&self) -> bool {
        self.entries.iter().any(|e| e.name.ends_with(".down.sql"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_header_entries_and_positions() {
        let p = ParsedSum::parse(b"h1:abc=\n1.sql h1:x=\n2.sql h1:y=\n");
        assert_eq!(p.header.as_ref().unwrap().0, "abc=");
        assert_eq!(p.entries.len(), 2);
        assert_eq!(p.entries[1].name, "2.sql");
        assert_eq!(p.entries[1].line.number, 3);
        assert_eq!(p.entries[1].line.span, 20..31);
        assert!(p.malformed.is_empty() && p.conflicts.is_empty());
        assert!(p.ends_with_newline && p.first_crlf_line.is_none());
    }

    #[test]
    fn finds_conflicts_malformed_lines_and_crlf() {
        let text = "h1:abc=\r\n<<<<<<< HEAD\r\n1.sql h1:x=\r\n=======\r\n2.sql h1:y=\r\n>>>>>>> main\r\ngarbage";
        let p = ParsedSum::parse(text.as_bytes());
        assert_eq!(p.conflicts.len(), 1);
        assert_eq!(p.conflicts[0].start.number, 2);
        assert_eq!(p.conflicts[0].end_line, Some(6));
        assert_eq!(p.conflicts[0].names, vec!["1.sql", "2.sql"]);
        assert!(p.entries.iter().all(|e| e.in_conflict));
        assert_eq!(p.malformed.len(), 1);
        assert_eq!(p.malformed[0].1.number, 7);
        assert_eq!(p.first_crlf_line, Some(1));
        assert!(!p.ends_with_newline);
    }

    #[test]
    fn detects_legacy_down_entries() {
        let p = ParsedSum::parse(b"h1:a\n1_x.down.sql h1:b\n1_x.up.sql h1:c\n");
        assert!(p.lists_down_files());
    }
}
