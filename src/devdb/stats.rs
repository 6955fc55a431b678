//! `migguard stats`: table statistics from the database named by
//! `--dev-url` (production, or better a read replica): per table its
//! `reltuples` estimate and total size, the server version and the time.
//! Read-only catalog queries on the named database: no row is read, nothing
//! is written, and a read-only role is enough.

use super::Server;
use crate::check::sizing::{StatsFile, TableStats};
use crate::error::{Error, Result};

const TABLES: &str = "SELECT n.nspname::text, c.relname::text, \
     CASE WHEN c.reltuples < 0 THEN NULL ELSE c.reltuples::float8 END, \
     pg_total_relation_size(c.oid)::int8 \
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind IN ('r', 'p', 'm') \
     AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%' \
     ORDER BY 1, 2";

/// The statistics of the database `server`'s URL names.
pub fn collect(server: &Server) -> Result<StatsFile> {
    let mut client = server.admin()?;
    let err = |e: postgres::Error| {
        Error::Database(format!("cannot read the catalog of {}: {e}", server.shown))
    };
    let server_version: String = client
        .query_one("SHOW server_version", &[])
        .map_err(err)?
        .get(0);
    let taken_at: String = client
        .query_one(
            "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
            &[],
        )
        .map_err(err)?
        .get(0);
    let tables = client
        .query(TABLES, &[])
        .map_err(err)?
        .iter()
        .map(|r| TableStats {
            schema: r.get(0),
            name: r.get(1),
            rows: r.get(2),
            bytes: r.get(3),
        })
        .collect();
    Ok(StatsFile {
        version: 1,
        server_version,
        taken_at,
        tables,
    })
}
