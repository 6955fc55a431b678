//! Computing `atlas.sum` exactly as Atlas does.
//!
//! Mirrors ariga/atlas `sql/migrate/dir.go`: `NewHashFile`, `HashFile.Sum` and
//! `HashFile.MarshalText`. One running SHA-256 covers every file in order: its
//! name always, its bytes unless its first line is an `atlas:sum ignore`
//! directive; each file that is not ignored gets the running digest as its entry.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// One `name h1:hash` line of `atlas.sum`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumEntry {
    pub name: String,
    pub hash: String,
}

/// The entries of an `atlas.sum`, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HashFile {
    pub entries: Vec<SumEntry>,
}

impl HashFile {
    /// Hashes `files` (name, bytes) in the order given; the caller orders them
    /// as the directory format does.
    pub fn compute<'a, I>(files: I) -> HashFile
    where
        I: IntoIterator<Item = (&'a str, &'a [u8])>,
    {
        let mut running = Sha256::new();
        let mut entries = Vec::new();
        for (name, bytes) in files {
            running.update(name.as_bytes());
            if is_sum_ignored(bytes) {
                continue;
            }
            running.update(bytes);
            // Atlas calls h.Sum(nil), which digests a copy and keeps the state.
            let digest = running.clone().finalize();
            entries.push(SumEntry {
                name: name.to_string(),
                hash: STANDARD.encode(digest),
            });
        }
        HashFile { entries }
    }

    /// The header checksum: SHA-256 over every entry's name and hash text.
    pub fn sum(&self) -> String {
        let mut sha = Sha256::new();
        for e in &self.entries {
            sha.update(e.name.as_bytes());
            sha.update(e.hash.as_bytes());
        }
        STANDARD.encode(sha.finalize())
    }

    /// The exact text `atlas migrate hash` writes.
    pub fn marshal(&self) -> String {
        let mut out = String::with_capacity(64 + self.entries.len() * 96);
        out.push_str("h1:");
        out.push_str(&self.sum());
        out.push('\n');
        for e in &self.entries {
            out.push_str(&e.name);
            out.push_str(" h1:");
            out.push_str(&e.hash);
            out.push('\n');
        }
        out
    }

    pub fn get(&self, name: &str) -> Option<&SumEntry> {
        self.entries.iter().find(|e| e.name == name)
    }
}

/// A directive as Atlas's `reDirective` (`^([ -~]*)atlas:(\w+)(?: +([ -~]*))*`)
/// matches it at the very start of a file: `name` and its argument text.
#[derive(Debug, PartialEq, Eq)]
pub struct Directive<'a> {
    /// What precedes `atlas:` on the line (`-- ` for SQL comments).
    pub prefix: &'a str,
    pub name: &'a str,
    pub arg: &'a str,
}

/// Finds the directive Atlas would see at the start of `content`.
///
/// The regular expression only spans printable ASCII, so it is confined to the
/// run of bytes 0x20..=0x7E that starts the file (the first line, up to any tab,
/// `\r` or non-ASCII byte). Its greedy prefix makes it take the *last*
/// `atlas:<word>` in that run; the argument is everything after the spaces that
/// follow the word, or empty when no space follows.
pub fn leading_directive(content: &[u8]) -> Option<Directive<'_>> {
    let run_len = content
        .iter()
        .position(|b| !(0x20..=0x7e).contains(b))
        .unwrap_or(content.len());
    let run = &content[..run_len];
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let start = (0..run.len()).rev().find(|&i| {
        run[i..].starts_with(b"atlas:") && run.get(i + 6).is_some_and(|b| is_word(*b))
    })?;
    let name_start = start + 6;
    let name_end = name_start
        + run[name_start..]
            .iter()
            .take_while(|b| is_word(**b))
            .count();
    let arg = if run.get(name_end) == Some(&b' ') {
        let spaces = run[name_end..].iter().take_while(|b| **b == b' ').count();
        &run[name_end + spaces..]
    } else {
        &run[name_end..name_end]
    };
    // The run is ASCII, so both slices are valid UTF-8.
    Some(Directive {
        prefix: std::str::from_utf8(&run[..start]).ok()?,
        name: std::str::from_utf8(&run[name_start..name_end]).ok()?,
        arg: std::str::from_utf8(arg).ok()?,
    })
}

/// True when Atlas leaves this file's bytes out of the sum (`atlas:sum ignore`).
pub fn is_sum_ignored(content: &[u8]) -> bool {
    matches!(
        leading_directive(content),
        Some(Directive {
            name: "sum",
            arg: "ignore",
            ..
        })
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum_of(files: &[(&str, &str)]) -> String {
        HashFile::compute(files.iter().map(|(n, b)| (*n, b.as_bytes()))).marshal()
    }

    #[test]
    fn empty_directory_has_only_the_header() {
        // SHA-256 of nothing, base64.
        assert_eq!(
            sum_of(&[]),
            "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
        );
    }

    #[test]
    fn entries_are_running_digests() {
        let text = sum_of(&[("1_a.sql", "A;\n"), ("2_b.sql", "B;\n")]);
        let mut h = Sha256::new();
        h.update(b"1_a.sql");
        h.update(b"A;\n");
        let first = STANDARD.encode(h.clone().finalize());
        h.update(b"2_b.sql");
        h.update(b"B;\n");
        let second = STANDARD.encode(h.finalize());
        let mut header = Sha256::new();
        header.update(b"1_a.sql");
        header.update(first.as_bytes());
        header.update(b"2_b.sql");
        header.update(second.as_bytes());
        let expected = format!(
            "h1:{}\n1_a.sql h1:{first}\n2_b.sql h1:{second}\n",
            STANDARD.encode(header.finalize())
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn ignored_file_feeds_its_name_but_gets_no_entry() {
        let with_ignore = HashFile::compute([
            ("1.sql", b"-- atlas:sum ignore\nSELECT 1;".as_slice()),
            ("2.sql", b"B;".as_slice()),
        ]);
        assert_eq!(with_ignore.entries.len(), 1);
        let mut h = Sha256::new();
        h.update(b"1.sql");
        h.update(b"2.sql");
        h.update(b"B;");
        assert_eq!(with_ignore.entries[0].hash, STANDARD.encode(h.finalize()));
    }

    #[test]
    fn directive_follows_atlas_regex() {
        assert!(is_sum_ignored(b"-- atlas:sum ignore\n"));
        assert!(is_sum_ignored(b"-- atlas:sum ignore"));
        assert!(is_sum_ignored(b"-- atlas:sum   ignore\r\nx"));
        assert!(is_sum_ignored(b"SELECT 1; -- atlas:sum ignore\n"));
        // Trailing text or space makes the argument differ.
        assert!(!is_sum_ignored(b"-- atlas:sum ignore \n"));
        assert!(!is_sum_ignored(b"-- atlas:sum ignore me\n"));
        // Only the first line counts, and a BOM hides the directive.
        assert!(!is_sum_ignored(b"\n-- atlas:sum ignore\n"));
        assert!(!is_sum_ignored(b"\xef\xbb\xbf-- atlas:sum ignore\n"));
        // The last directive on the line wins.
        assert!(!is_sum_ignored(b"-- atlas:sum ignore atlas:nolint\n"));
        // A tab is not printable ASCII: the run ends before it.
        assert!(!is_sum_ignored(b"-- atlas:sum\tignore\n"));
        assert_eq!(
            leading_directive(b"-- atlas:delimiter \\n\\n"),
            Some(Directive {
                prefix: "-- ",
                name: "delimiter",
                arg: "\\n\\n"
            })
        );
        assert_eq!(
            leading_directive(b"-- atlas:sum\n"),
            Some(Directive {
                prefix: "-- ",
                name: "sum",
                arg: ""
            })
        );
        assert_eq!(leading_directive(b"-- atlas: sum\n"), None);
    }

    #[test]
    fn bytes_are_hashed_as_stored() {
        let lf = HashFile::compute([("1.sql", b"A;\n".as_slice())]);
        let crlf = HashFile::compute([("1.sql", b"A;\r\n".as_slice())]);
        let invalid = HashFile::compute([("1.sql", b"\xff\xfe;\n".as_slice())]);
        assert_ne!(lf, crlf);
        assert_ne!(lf, invalid);
    }
}
