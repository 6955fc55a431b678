//! Migration directories: Atlas's formats, which files are migrations, their
//! versions and order, and reading a directory from disk safely.

mod disk;
mod format;
mod listing;
pub mod renumber;

pub use disk::DiskDir;

/// The database other than PostgreSQL a directory's path names, the way
/// teams that keep one directory per dialect lay them out
/// (`migrations/mysql`, `migrations/sqlite3`): `None` for the rest.
pub fn other_dialect_named_by(dir: &str) -> Option<&'static str> {
    dir.split('/')
        .find_map(|part| match part.to_ascii_lowercase().as_str() {
            "mysql" | "mariadb" => Some("MySQL"),
            "sqlite" | "sqlite3" => Some("SQLite"),
            "mssql" | "sqlserver" => Some("SQL Server"),
            "clickhouse" => Some("ClickHouse"),
            _ => None,
        })
}
pub use format::{compare_versions, local_version, DirFormat, TxMode};
pub use listing::Listing;

#[cfg(test)]
mod dialect_tests {
    use super::other_dialect_named_by;

    #[test]
    fn directories_named_for_another_database() {
        assert_eq!(other_dialect_named_by("migrations/mysql"), Some("MySQL"));
        assert_eq!(
            other_dialect_named_by("backend/internal/data/migrations/sqlite3"),
            Some("SQLite")
        );
        assert_eq!(other_dialect_named_by("migrations/postgres"), None);
        assert_eq!(other_dialect_named_by("db/migrations"), None);
        assert_eq!(other_dialect_named_by("mysql_tools/migrations"), None);
    }
}
