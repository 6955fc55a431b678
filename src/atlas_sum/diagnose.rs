//! Explaining why an `atlas.sum` differs from the one Atlas would write.
//!
//! The comparison is byte-exact: the file is correct only when it is exactly
//! what `atlas migrate hash` writes. When it is not, each difference gets its
//! own reason, pointing at the line concerned.
//!
//! Entry hashes are cumulative (each covers every earlier file), so once one
//! file is added, removed or edited, every later hash changes too. We report the
//! first edited file precisely and count the later entries that change with it,
//! rather than calling each of them "edited".

use std::collections::{HashMap, HashSet};

use super::parse::{LineRef, ParsedSum};
use super::HashFile;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriftKind {
    Missing,
    Empty,
    Conflict,
    Malformed,
    Added,
    Removed,
    Duplicate,
    Reordered,
    Edited,
    Header,
    Format,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub kind: DriftKind,
    /// The migration file concerned, when there is one.
    pub file: Option<String>,
    pub line: Option<LineRef>,
    pub message: String,
    pub help: String,
}

const HELP_FIX: &str = "run `migguard fix-sum` (or `atlas migrate hash`) to rewrite atlas.sum from the migration files";

fn drift(
    kind: DriftKind,
    file: Option<&str>,
    line: Option<&LineRef>,
    message: String,
    help: &str,
) -> Drift {
    Drift {
        kind,
        file: file.map(str::to_string),
        line: line.cloned(),
        message,
        help: help.to_string(),
    }
}

/// Compares the `atlas.sum` on disk (`actual`, `None` when absent) with the one
/// computed from the migration files. `ignored` lists files in scope that carry
/// `atlas:sum ignore` (they have no entry on purpose).
pub fn diagnose(
    expected: &HashFile,
    actual: Option<&[u8]>,
    ignored: &HashSet<String>,
) -> Vec<Drift> {
    let Some(bytes) = actual else {
        // Like `atlas migrate validate`: no sum file is fine only with no migrations.
        let files = expected.entries.len() + ignored.len();
        if files == 0 {
            return Vec::new();
        }
        return vec![drift(
            DriftKind::Missing,
            None,
            None,
            format!(
                "atlas.sum is missing, but the directory holds {files} migration file(s): nothing protects their history"
            ),
            "run `migguard fix-sum` to create atlas.sum, and commit it with the migrations",
        )];
    };
    let want = expected.marshal();
    if bytes == want.as_bytes() {
        return Vec::new();
    }
    let parsed = ParsedSum::parse(bytes);
    if !parsed.conflicts.is_empty() {
        return parsed
            .conflicts
            .iter()
            .map(|c| {
                let lines = match c.end_line {
                    Some(end) => format!("lines {}-{}", c.start.number, end),
                    None => format!("from line {}", c.start.number),
                };
                let names = if c.names.is_empty() {
                    String::new()
                } else {
                    format!(" (entries inside: {})", c.names.join(", "))
                };
                drift(
                    DriftKind::Conflict,
                    c.names.first().map(String::as_str),
                    Some(&c.start),
                    format!("atlas.sum holds unresolved merge-conflict markers, {lines}{names}"),
                    "do not merge atlas.sum by hand: run `migguard fix-sum` to rewrite it from the merged migration files",
                )
            })
            .collect();
    }
    let mut out = Vec::new();
    let Some((header, header_line)) = parsed.header.as_ref() else {
        out.push(drift(
            DriftKind::Empty,
            None,
            None,
            "atlas.sum is empty: it has no header line and no entries".into(),
            HELP_FIX,
        ));
        return out;
    };
    for (text, line) in &parsed.malformed {
        let shown: String = text.chars().take(60).collect();
        out.push(drift(
            DriftKind::Malformed,
            None,
            Some(line),
            format!(
                "line {} is not a `name h1:hash` entry: {shown:?}",
                line.number
            ),
            HELP_FIX,
        ));
    }
    entry_drifts(expected, &parsed, ignored, &mut out);
    if *header != parsed.entries_sum() {
        out.push(drift(
            DriftKind::Header,
            None,
            Some(header_line),
            "the header checksum does not match the entries below it: atlas.sum was edited by hand"
                .into(),
            HELP_FIX,
        ));
    }
    if out.is_empty() {
        out.push(format_drift(&parsed, bytes, header_line));
    }
    out
}

fn entry_drifts(
    expected: &HashFile,
    parsed: &ParsedSum,
    ignored: &HashSet<String>,
    out: &mut Vec<Drift>,
) {
    let expected_index: HashMap<&str, usize> = expected
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.name.as_str(), i))
        .collect();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut listed = Vec::new();
    for entry in &parsed.entries {
        if !seen.insert(entry.name.as_str()) {
            out.push(drift(
                DriftKind::Duplicate,
                Some(&entry.name),
                Some(&entry.line),
                format!("{} is listed more than once", entry.name),
                HELP_FIX,
            ));
            continue;
        }
        if expected_index.contains_key(entry.name.as_str()) {
            listed.push(entry);
        } else if ignored.contains(&entry.name) {
            out.push(drift(
                DriftKind::Removed,
                Some(&entry.name),
                Some(&entry.line),
                format!(
                    "{} starts with `atlas:sum ignore` and must not be listed",
                    entry.name
                ),
                HELP_FIX,
            ));
        } else {
            out.push(drift(
                DriftKind::Removed,
                Some(&entry.name),
                Some(&entry.line),
                format!(
                    "{} is listed in atlas.sum but is not in the migration directory (removed or renamed)",
                    entry.name
                ),
                "restore the migration if it was applied anywhere; otherwise run `migguard fix-sum`",
            ));
        }
    }
    // Added: in the directory, not in atlas.sum. Point at the line it belongs before.
    for e in &expected.entries {
        if seen.contains(e.name.as_str()) {
            continue;
        }
        let anchor = parsed
            .entries
            .iter()
            .find(|p| p.name.as_str() > e.name.as_str())
            .or(parsed.entries.last())
            .map(|p| &p.line)
            .or(parsed.header.as_ref().map(|h| &h.1));
        out.push(drift(
            DriftKind::Added,
            Some(&e.name),
            anchor,
            format!(
                "{} is not listed in atlas.sum (a migration added without rehashing)",
                e.name
            ),
            HELP_FIX,
        ));
    }
    // Reordered: listed entries must follow Atlas's order.
    let moved = super::compare::moved(listed.iter().map(|e| e.name.as_str()), |n| {
        expected_index.get(n).copied()
    });
    for (name, prev) in moved {
        let Some(entry) = listed.iter().find(|e| e.name == name) else {
            continue;
        };
        out.push(drift(
            DriftKind::Reordered,
            Some(&entry.name),
            Some(&entry.line),
            format!(
                "{} is listed after {prev}, but Atlas orders it before: entries are out of order",
                entry.name
            ),
            HELP_FIX,
        ));
    }
    // Edited: the first entry whose hash differs while everything before it
    // (names and hashes) matches; later hashes change because of it.
    let common = parsed
        .entries
        .iter()
        .zip(&expected.entries)
        .take_while(|(p, e)| p.name == e.name && p.hash == e.hash)
        .count();
    if let (Some(p), Some(e)) = (parsed.entries.get(common), expected.entries.get(common)) {
        if p.name == e.name {
            let knock_on = super::compare::rehashed(
                parsed.entries[common + 1..]
                    .iter()
                    .map(|p| (p.name.as_str(), p.hash.as_str())),
                |n| expected.get(n).map(|e| e.hash.as_str()),
            );
            let tail = if knock_on > 0 {
                format!(" ({knock_on} later entr{} change with it: each hash covers every earlier file)", if knock_on == 1 { "y" } else { "ies" })
            } else {
                String::new()
            };
            out.push(drift(
                DriftKind::Edited,
                Some(&e.name),
                Some(&p.line),
                format!("{} was edited after atlas.sum was written: its hash differs{tail}", e.name),
                "if the edit is intended and the migration was never applied, run `migguard fix-sum`; otherwise revert it and add a new migration",
            ));
        }
    }
}

fn format_drift(parsed: &ParsedSum, bytes: &[u8], header_line: &LineRef) -> Drift {
    let detail = if let Some(line) = parsed.first_crlf_line {
        format!("it uses CRLF line endings (first at line {line}); Atlas writes LF")
    } else if !parsed.ends_with_newline {
        "its last line has no newline; Atlas ends every line with one".to_string()
    } else if bytes.starts_with(b"\xef\xbb\xbf") {
        "it starts with a byte-order mark".to_string()
    } else {
        "its lines are not spaced exactly as Atlas writes them (extra spaces or blank lines)"
            .to_string()
    };
    drift(
        DriftKind::Format,
        None,
        Some(header_line),
        format!("atlas.sum lists the right hashes, but not in the exact form `atlas migrate hash` writes: {detail}"),
        HELP_FIX,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hf(files: &[(&str, &str)]) -> HashFile {
        HashFile::compute(files.iter().map(|(n, b)| (*n, b.as_bytes())))
    }

    fn kinds(d: &[Drift]) -> Vec<DriftKind> {
        d.iter().map(|d| d.kind).collect()
    }

    const FILES: &[(&str, &str)] = &[
        ("1_a.sql", "A;\n"),
        ("2_b.sql", "B;\n"),
        ("3_c.sql", "C;\n"),
    ];

    #[test]
    fn exact_file_has_no_drift() {
        let e = hf(FILES);
        assert!(diagnose(&e, Some(e.marshal().as_bytes()), &HashSet::new()).is_empty());
    }

    #[test]
    fn missing_sum_only_matters_with_migrations() {
        assert!(diagnose(&hf(&[]), None, &HashSet::new()).is_empty());
        assert_eq!(
            kinds(&diagnose(&hf(FILES), None, &HashSet::new())),
            vec![DriftKind::Missing]
        );
    }

    #[test]
    fn added_file_is_named_and_placed() {
        let old = hf(&FILES[..2]).marshal();
        let d = diagnose(&hf(FILES), Some(old.as_bytes()), &HashSet::new());
        assert_eq!(kinds(&d), vec![DriftKind::Added]);
        assert_eq!(d[0].file.as_deref(), Some("3_c.sql"));
        assert_eq!(d[0].line.as_ref().unwrap().number, 3);
    }

    #[test]
    fn removed_file_points_at_its_line() {
        let old = hf(FILES).marshal();
        let d = diagnose(&hf(&FILES[..2]), Some(old.as_bytes()), &HashSet::new());
        assert_eq!(kinds(&d), vec![DriftKind::Removed]);
        assert_eq!(d[0].line.as_ref().unwrap().number, 4);
    }

    #[test]
    fn first_edit_is_reported_with_its_knock_on() {
        let old = hf(FILES).marshal();
        let new = hf(&[
            ("1_a.sql", "A;\n"),
            ("2_b.sql", "B2;\n"),
            ("3_c.sql", "C;\n"),
        ]);
        let d = diagnose(&new, Some(old.as_bytes()), &HashSet::new());
        assert_eq!(kinds(&d), vec![DriftKind::Edited]);
        assert_eq!(d[0].file.as_deref(), Some("2_b.sql"));
        assert_eq!(d[0].line.as_ref().unwrap().number, 3);
        assert!(d[0].message.contains("1 later entry"), "{}", d[0].message);
    }

    #[test]
    fn reordered_and_header_are_reported() {
        let e = hf(FILES);
        let lines: Vec<String> = e.marshal().lines().map(String::from).collect();
        let swapped = format!("{}\n{}\n{}\n{}\n", lines[0], lines[2], lines[1], lines[3]);
        let d = diagnose(&e, Some(swapped.as_bytes()), &HashSet::new());
        assert!(kinds(&d).contains(&DriftKind::Reordered), "{d:?}");
        assert!(kinds(&d).contains(&DriftKind::Header), "{d:?}");
    }

    #[test]
    fn wrong_header_alone() {
        let e = hf(FILES);
        let text = e.marshal().replacen("h1:", "h1:X", 1);
        assert_eq!(
            kinds(&diagnose(&e, Some(text.as_bytes()), &HashSet::new())),
            vec![DriftKind::Header]
        );
    }

    #[test]
    fn conflicts_take_precedence() {
        let e = hf(FILES);
        let text = format!("{}<<<<<<< HEAD\n=======\n>>>>>>> b\n", e.marshal());
        let d = diagnose(&e, Some(text.as_bytes()), &HashSet::new());
        assert_eq!(kinds(&d), vec![DriftKind::Conflict]);
        assert_eq!(d[0].line.as_ref().unwrap().number, 5);
    }

    #[test]
    fn formatting_only_differences() {
        let e = hf(FILES);
        let crlf = e.marshal().replace('\n', "\r\n");
        let d = diagnose(&e, Some(crlf.as_bytes()), &HashSet::new());
        assert_eq!(kinds(&d), vec![DriftKind::Format]);
        assert!(d[0].message.contains("CRLF"));
        let no_nl = e.marshal().trim_end().to_string();
        let d = diagnose(&e, Some(no_nl.as_bytes()), &HashSet::new());
        assert_eq!(kinds(&d), vec![DriftKind::Format]);
        assert!(d[0].message.contains("newline"));
    }

    #[test]
    fn malformed_and_duplicate_lines() {
        let e = hf(FILES);
        let text = format!("{}garbage\n3_c.sql h1:zzz\n", e.marshal());
        let d = diagnose(&e, Some(text.as_bytes()), &HashSet::new());
        assert!(kinds(&d).contains(&DriftKind::Malformed), "{d:?}");
        assert!(kinds(&d).contains(&DriftKind::Duplicate), "{d:?}");
    }

    #[test]
    fn empty_file() {
        assert_eq!(
            kinds(&diagnose(&hf(FILES), Some(b""), &HashSet::new())),
            vec![DriftKind::Empty]
        );
    }
}
