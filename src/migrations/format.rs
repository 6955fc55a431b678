//! Atlas's migration directory formats and how each names its files.
//!
//! Follows ariga/atlas `sql/migrate/dir.go` (`LocalFile.Version`, `Desc`) and
//! `sql/sqltool/tool.go` (golang-migrate, goose, dbmate, flyway).

use std::fmt;

/// How a migration tool runs one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxMode {
    /// In a transaction the tool opens for the file (the tool's name).
    Wrapped(&'static str),
    /// As one query: one implicit transaction when it holds more than one
    /// statement (golang-migrate).
    Implicit,
    /// Outside any transaction: the file opted out.
    None,
    /// Not known (flyway, whose mode is a setting).
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DirFormat {
    /// Every `*.sql` file is a migration (Atlas's own format).
    #[default]
    Atlas,
    /// `<version>_<name>.up.sql` with a matching `.down.sql`.
    GolangMigrate,
    /// One `*.sql` file per version with `-- +goose Up` / `-- +goose Down` sections.
    Goose,
    /// `V<version>__<name>.sql`, `U...` undo, `B...` baseline, `R__...` repeatable.
    Flyway,
    /// One `*.sql` file per version with `-- migrate:up` / `-- migrate:down` sections.
    Dbmate,
}

impl DirFormat {
    pub const ALL: [DirFormat; 5] = [
        DirFormat::Atlas,
        DirFormat::GolangMigrate,
        DirFormat::Goose,
        DirFormat::Flyway,
        DirFormat::Dbmate,
    ];

    /// The name Atlas uses (`--dir-format`, `atlas.hcl`'s `format`).
    pub fn name(self) -> &'static str {
        match self {
            DirFormat::Atlas => "atlas",
            DirFormat::GolangMigrate => "golang-migrate",
            DirFormat::Goose => "goose",
            DirFormat::Flyway => "flyway",
            DirFormat::Dbmate => "dbmate",
        }
    }

    pub fn parse(s: &str) -> Option<DirFormat> {
        DirFormat::ALL.into_iter().find(|f| f.name() == s)
    }

    /// Whether `name` (a file directly in the directory) is hashed into
    /// `atlas.sum`. Atlas hashes every top-level `*.sql` file, in byte order,
    /// except for golang-migrate, whose newer Atlas versions hash only the
    /// `*.up.sql` files; `legacy_all_sql` keeps the older scope.
    pub fn in_sum_scope(self, name: &str, legacy_all_sql: bool) -> bool {
        if name.contains('/') || !name.ends_with(".sql") {
            return false;
        }
        match self {
            DirFormat::GolangMigrate if !legacy_all_sql => name.ends_with(".up.sql"),
            _ => true,
        }
    }

    /// Where a goose or dbmate migration's down section starts (the marker
    /// line); `None` for formats that keep downs in files of their own.
    fn down_marker(self, bytes: &[u8]) -> Option<usize> {
        let marker: &[u8] = match self {
            DirFormat::Goose => b"-- +goose Down",
            DirFormat::Dbmate => b"-- migrate:down",
            _ => return None,
        };
        bytes.windows(marker.len()).position(|w| w == marker)
    }

    /// How the format's migration tool runs `text` (a migration's up file)
    /// on PostgreSQL: in a transaction of its own unless the file opts out
    /// (atlas `-- atlas:txmode none` in the file's header, goose
    /// `-- +goose NO TRANSACTION`, dbmate `transaction:false` on its
    /// `-- migrate:up` line); golang-migrate sends the file as one query,
    /// which PostgreSQL runs as one implicit transaction when it holds more
    /// than one statement. Flyway's mode depends on its settings: unknown.
    pub fn tx_mode(self, text: &str) -> TxMode {
        let line_is = |want: &str| text.lines().any(|l| l.trim() == want);
        match self {
            DirFormat::Atlas => {
                let none = crate::sql::lint::file_directives(text, "txmode")
                    .iter()
                    .any(|d| d.trim() == "none");
                if none {
                    TxMode::None
                } else {
                    TxMode::Wrapped("atlas")
                }
            }
            DirFormat::Goose if line_is("-- +goose NO TRANSACTION") => TxMode::None,
            DirFormat::Goose => TxMode::Wrapped("goose"),
            DirFormat::Dbmate => {
                let off = text.lines().any(|l| {
                    let l = l.trim();
                    l.starts_with("-- migrate:up") && l.contains("transaction:false")
                });
                if off {
                    TxMode::None
                } else {
                    TxMode::Wrapped("dbmate")
                }
            }
            DirFormat::GolangMigrate => TxMode::Implicit,
            DirFormat::Flyway => TxMode::Unknown,
        }
    }

    /// How the tool runs a migration's down, from its file's whole text
    /// (dbmate's `transaction:false` is on the `-- migrate:down` line).
    pub fn down_tx_mode(self, text: &str) -> TxMode {
        match self {
            DirFormat::Dbmate => {
                let off = text.lines().any(|l| {
                    let l = l.trim();
                    l.starts_with("-- migrate:down") && l.contains("transaction:false")
                });
                if off {
                    TxMode::None
                } else {
                    TxMode::Wrapped("dbmate")
                }
            }
            _ => self.tx_mode(text),
        }
    }

    /// What migrating up applies from a migration's up file: for goose and
    /// dbmate, the part before the down section.
    pub fn up_part(self, bytes: &[u8]) -> &[u8] {
        match self.down_marker(bytes) {
            Some(i) => &bytes[..i],
            None => bytes,
        }
    }

    /// What migrating down applies from a migration's down file, with every
    /// line where it is in the file (for goose and dbmate, the up section is
    /// blanked out); `None` when a goose or dbmate file has no down section.
    pub fn down_part(self, bytes: &[u8]) -> Option<Vec<u8>> {
        if !matches!(self, DirFormat::Goose | DirFormat::Dbmate) {
            return Some(bytes.to_vec());
        }
        let i = self.down_marker(bytes)?;
        let mut out = bytes.to_vec();
        for c in &mut out[..i] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
        Some(out)
    }

    /// What the format's migration tool does, by default, with a migration
    /// whose version is older than one a database already ran.
    pub fn out_of_order_effect(self) -> &'static str {
        match self {
            DirFormat::GolangMigrate => {
                "golang-migrate silently skips it on databases that already ran a newer one"
            }
            DirFormat::Atlas => {
                "`atlas migrate apply` refuses to run it on databases that already ran a newer one (non-linear history)"
            }
            DirFormat::Goose => {
                "goose refuses to run it on databases that already ran a newer one, unless run with -allow-missing"
            }
            DirFormat::Flyway => {
                "Flyway does not run it on databases that already ran a newer one, unless outOfOrder is set"
            }
            DirFormat::Dbmate => {
                "dbmate runs it after newer ones on databases that already ran them, out of order"
            }
        }
    }

    /// Whether this format reads sub-folders (only Flyway does).
    pub fn recursive(self) -> bool {
        self == DirFormat::Flyway
    }
}

impl fmt::Display for DirFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Atlas's `LocalFile.Version`: the part before the first `_`, without `.sql`.
pub fn local_version(name: &str) -> &str {
    let base = name.rsplit('/').next().unwrap_or(name);
    let stem = base.strip_suffix(".sql").unwrap_or(base);
    stem.split('_').next().unwrap_or(stem)
}

/// Atlas's `LocalFile.Desc`: the part after the first `_`, without `.sql`.
pub fn local_desc(name: &str) -> &str {
    let base = name.rsplit('/').next().unwrap_or(name);
    match base.split_once('_') {
        Some((_, rest)) => rest.strip_suffix(".sql").unwrap_or(rest),
        None => "",
    }
}

/// Flyway's version: after the one-letter prefix, before `__`; repeatable
/// (`R`) migrations have none.
pub fn flyway_version(path: &str) -> &str {
    let base = path.rsplit('/').next().unwrap_or(path);
    if base.starts_with('R') {
        return "";
    }
    let stem = base.strip_suffix(".sql").unwrap_or(base);
    let head = stem.split("__").next().unwrap_or(stem);
    head.get(1..).unwrap_or("")
}

/// Flyway's description: after `__`, without `.sql`.
pub fn flyway_desc(path: &str) -> &str {
    match path.split_once("__") {
        Some((_, rest)) => rest.strip_suffix(".sql").unwrap_or(rest),
        None => "",
    }
}

/// Atlas's `flywayVersionCompare`: dot- or underscore-separated numbers,
/// non-numeric parts counting as 0.
pub fn flyway_version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn parts(s: &str) -> Vec<i64> {
        s.split(['.', '_'])
            .map(|p| p.parse::<i64>().unwrap_or(0))
            .collect()
    }
    parts(a).cmp(&parts(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_and_down_sections() {
        let goose = b"-- +goose Up\nCREATE TABLE t (id int);\n-- +goose Down\nDROP TABLE t;\n";
        assert_eq!(
            DirFormat::Goose.up_part(goose),
            b"-- +goose Up\nCREATE TABLE t (id int);\n"
        );
        let down = DirFormat::Goose.down_part(goose).unwrap();
        assert_eq!(
            String::from_utf8(down).unwrap().lines().nth(3),
            Some("DROP TABLE t;")
        );
        let dbmate = b"-- migrate:up\nCREATE TABLE t (id int);\n";
        assert_eq!(DirFormat::Dbmate.down_part(dbmate), None);
        assert_eq!(DirFormat::Dbmate.up_part(dbmate), dbmate);
        assert_eq!(
            DirFormat::GolangMigrate.down_part(b"DROP TABLE t;"),
            Some(b"DROP TABLE t;".to_vec())
        );
    }

    #[test]
    fn names_round_trip() {
        for f in DirFormat::ALL {
            assert_eq!(DirFormat::parse(f.name()), Some(f));
        }
        assert_eq!(DirFormat::parse("liquibase"), None);
    }

    #[test]
    fn sum_scope_per_format() {
        assert!(DirFormat::Atlas.in_sum_scope("1.sql", false));
        assert!(!DirFormat::Atlas.in_sum_scope("atlas.sum", false));
        assert!(!DirFormat::Atlas.in_sum_scope("notes.sql.txt", false));
        assert!(DirFormat::GolangMigrate.in_sum_scope("1_a.up.sql", false));
        assert!(!DirFormat::GolangMigrate.in_sum_scope("1_a.down.sql", false));
        assert!(DirFormat::GolangMigrate.in_sum_scope("1_a.down.sql", true));
        assert!(DirFormat::Flyway.in_sum_scope("U1__a.sql", false));
        assert!(!DirFormat::Flyway.in_sum_scope("v3/V3__a.sql", false));
    }

    #[test]
    fn versions_and_descriptions() {
        assert_eq!(
            local_version("20240826120919_init.up.sql"),
            "20240826120919"
        );
        assert_eq!(local_desc("20240826120919_init.up.sql"), "init.up");
        assert_eq!(local_version("1.sql"), "1");
        assert_eq!(local_desc("1.sql"), "");
        assert_eq!(local_desc("2_second_migration.sql"), "second_migration");
        assert_eq!(flyway_version("V3_1__fourth.sql"), "3_1");
        assert_eq!(flyway_version("v3/V3_1__fourth.sql"), "3_1");
        assert_eq!(flyway_version("R__views.sql"), "");
        assert_eq!(flyway_desc("V1__initial.sql"), "initial");
        assert!(flyway_version_cmp("3_1", "3") == std::cmp::Ordering::Greater);
        assert!(flyway_version_cmp("10", "9") == std::cmp::Ordering::Greater);
    }
}

/// Orders two versions as the format's migration tool does: Flyway's dotted
/// numbers; otherwise numbers when both are numeric (golang-migrate parses
/// versions as integers), else text.
pub fn compare_versions(format: DirFormat, a: &str, b: &str) -> std::cmp::Ordering {
    if format == DirFormat::Flyway {
        return flyway_version_cmp(a, b);
    }
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if numeric(a) && numeric(b) {
        let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
        return a.len().cmp(&b.len()).then_with(|| a.cmp(b));
    }
    a.cmp(b)
}

#[cfg(test)]
mod version_tests {
    use super::*;
    use std::cmp::Ordering::*;

    #[test]
    fn versions_compare_like_the_tools() {
        assert_eq!(compare_versions(DirFormat::GolangMigrate, "9", "10"), Less);
        assert_eq!(
            compare_versions(DirFormat::GolangMigrate, "20240101000000", "20240101000000"),
            Equal
        );
        assert_eq!(compare_versions(DirFormat::Atlas, "0010", "9"), Greater);
        assert_eq!(compare_versions(DirFormat::Flyway, "1.10", "1.9"), Greater);
        assert_eq!(compare_versions(DirFormat::Atlas, "b", "a"), Greater);
    }
}
