//! Base states: a database that holds what a prefix of the migrations
//! builds, started from a cached copy when one exists, so a check whose
//! migrations are unchanged or only appended to applies only the new ones.
//!
//! States are keyed by [`super::base_keys`] (a running digest over each
//! migration's name and bytes: entry `i` keys the state after the first
//! `i + 1`). Where they are kept depends on the PostgreSQL in use:
//! - the throwaway local cluster (the default): a copy of the stopped
//!   cluster's folder in the cache folder (`MIGGUARD_CACHE_DIR`, else
//!   `~/.cache/migguard`), see `Cluster::start_with_base`;
//! - a server named by `--dev-url`, only with `--server-cache`: template
//!   databases named `migguard_base_<key>` on that server, cloned with
//!   `CREATE DATABASE ... TEMPLATE`.
//!
//! Either way the last [`super::cluster::BASE_STATES`] used are kept.

use super::{Cluster, Scratch, Server, BASE_DB};
use crate::error::{Error, Result};

/// Which PostgreSQL a database-backed check uses.
#[derive(Clone)]
pub enum Source {
    /// A throwaway local cluster per database, base states cached on disk.
    Local,
    /// Scratch databases on a server; `cache`: keep base states there as
    /// template databases (opt-in).
    Server { server: Box<Server>, cache: bool },
}

/// Prefix of the names of the template databases a server keeps base
/// states in.
const SERVER_PREFIX: &str = "migguard_base_";

/// A database that holds the first `cached` migrations of its keys.
pub struct BaseDb {
    inner: Inner,
    /// How many migrations the database held when it was started.
    pub cached: usize,
}

enum Inner {
    Cluster(Cluster),
    Server { db: Scratch, cache: bool },
}

impl BaseDb {
    /// A database started from the cached state of the longest prefix of
    /// `keys` there is (or empty). `label` names a scratch database.
    pub fn start(source: &Source, keys: &[String], label: &str) -> Result<BaseDb> {
        match source {
            Source::Local => {
                let (cluster, cached) = Cluster::start_with_base(keys)?;
                Ok(BaseDb {
                    inner: Inner::Cluster(cluster),
                    cached,
                })
            }
            Source::Server { server, cache } => {
                let (db, cached) = if *cache {
                    server_start(server, keys, label)?
                } else {
                    (server.scratch(label)?, 0)
                };
                Ok(BaseDb {
                    inner: Inner::Server { db, cache: *cache },
                    cached,
                })
            }
        }
    }

    pub fn connect(&self) -> Result<postgres::Client> {
        match &self.inner {
            Inner::Cluster(c) => c.server().connect(BASE_DB).map_err(|e| {
                Error::Database(format!("cannot connect to the throwaway cluster: {e}"))
            }),
            Inner::Server { db, .. } => db.connect(),
        }
    }

    /// A copy of the database as it is now (every connection to it must be
    /// closed), for a second run from the same state; dropped with the
    /// guard.
    pub fn copy(&self, label: &str) -> Result<Scratch> {
        let (server, template) = match &self.inner {
            Inner::Cluster(c) => (c.server(), BASE_DB.to_string()),
            Inner::Server { db, .. } => ((*db.server).clone(), db.name.clone()),
        };
        let mut admin = server.admin()?;
        server
            .scratch_with(&mut admin, label, &template)?
            .map_err(|e| Error::Database(format!("cannot copy the traced database: {e}")))
    }

    /// Whether [`BaseDb::save`] keeps anything.
    pub fn caching(&self) -> bool {
        self.no_cache().is_none()
    }

    /// Why nothing is cached, when nothing is.
    fn no_cache(&self) -> Option<&'static str> {
        match &self.inner {
            Inner::Cluster(_) if !super::cluster::caching() => {
                Some("no cache folder: MIGGUARD_CACHE_DIR is empty")
            }
            Inner::Server { cache: false, .. } => {
                Some("no base-state cache on a --dev-url server without --server-cache")
            }
            _ => None,
        }
    }

    /// What the summary says about where the `n` migrations `what` names
    /// came from (nothing when there are none).
    pub fn note(&self, command: &str, what: &str, n: usize) -> Option<String> {
        (n > 0).then(|| note(command, what, n, self.cached, self.no_cache()))
    }

    /// Keeps the database as it is now as the base state `key`. Every
    /// connection to it must be closed.
    pub fn save(&mut self, key: &str) -> Result<()> {
        match &mut self.inner {
            Inner::Cluster(c) => c.save_base(key),
            Inner::Server { db, cache: true } => {
                server_save(&db.server, &db.name, key);
                Ok(())
            }
            Inner::Server { .. } => Ok(()),
        }
    }
}

/// Starts a database from the base state of the longest cached prefix of
/// `keys`, applies the rest of their migrations with `apply(client,
/// range)`, and when anything was applied and `apply` says all of it
/// applied, saves the state of all of them. Returns the database (its
/// `cached` says how many came from the cache) and a connection to it.
pub fn prepare(
    source: &Source,
    keys: &[String],
    label: &str,
    apply: impl FnOnce(&mut postgres::Client, std::ops::Range<usize>) -> Result<bool>,
) -> Result<(BaseDb, postgres::Client)> {
    let mut db = BaseDb::start(source, keys, label)?;
    let mut client = db.connect()?;
    let complete = apply(&mut client, db.cached..keys.len())?;
    if complete && keys.len() > db.cached && db.caching() {
        drop(client);
        db.save(&keys[keys.len() - 1])?;
        client = db.connect()?;
    }
    Ok((db, client))
}

fn note(command: &str, what: &str, n: usize, cached: usize, no_cache: Option<&str>) -> String {
    if let Some(why) = no_cache {
        format!("{command}: the {n} {what} were replayed ({why})")
    } else if cached == 0 {
        format!("{command}: the {n} {what} were replayed and their state cached")
    } else if cached == n {
        format!("{command}: the {n} {what} came from the cached base state")
    } else {
        format!(
            "{command}: {cached} of the {n} {what} came from the cached base state, {} were applied and the state cached",
            n - cached
        )
    }
}

fn server_name(key: &str) -> String {
    format!("{SERVER_PREFIX}{key}")
}

/// A scratch database cloned from the longest cached prefix's template on
/// `server`, or an empty one. A template that cannot be cloned for any
/// reason but another session using it is dropped.
fn server_start(server: &Server, keys: &[String], label: &str) -> Result<(Scratch, usize)> {
    let names: Vec<String> = keys.iter().map(|k| server_name(k)).collect();
    let mut admin = server.admin()?;
    let present: std::collections::HashSet<String> = admin
        .query(
            "SELECT datname::text FROM pg_database WHERE datname = ANY($1)",
            &[&names],
        )
        .map(|rows| rows.iter().map(|r| r.get(0)).collect())
        .unwrap_or_default();
    for (i, name) in names.iter().enumerate().rev() {
        if !present.contains(name) {
            continue;
        }
        match server.scratch_with(&mut admin, label, name)? {
            Ok(db) => {
                mark_used(&mut admin, name);
                return Ok((db, i + 1));
            }
            Err(e) if in_use(&e) => continue,
            Err(_) => {
                let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\""));
            }
        }
    }
    Ok((server.scratch(label)?, 0))
}

fn in_use(e: &postgres::Error) -> bool {
    e.code() == Some(&postgres::error::SqlState::OBJECT_IN_USE)
}

fn mark_used(admin: &mut postgres::Client, name: &str) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let _ = admin.batch_execute(&format!(
        "COMMENT ON DATABASE \"{name}\" IS 'migguard base state, used {now}'"
    ));
}

/// Clones scratch database `from` into the template of `key` (nothing
/// happens when it cannot be: another run saved it first, or the role may
/// not create databases) and drops all but the most recently used states.
fn server_save(server: &Server, from: &str, key: &str) {
    super::trace("save the base state on the server");
    let Ok(mut admin) = server.admin() else {
        return;
    };
    let name = server_name(key);
    // Nobody connects to a state (a session on it would stop it from
    // being copied).
    if admin
        .batch_execute(&format!("CREATE DATABASE \"{name}\" TEMPLATE \"{from}\""))
        .and_then(|()| {
            admin.batch_execute(&format!(
                "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"
            ))
        })
        .is_ok()
    {
        mark_used(&mut admin, &name);
    }
    let Ok(rows) = admin.query(
        "SELECT datname::text, coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database \
         WHERE starts_with(datname, $1)",
        &[&SERVER_PREFIX],
    ) else {
        return;
    };
    let mut states: Vec<(u64, String)> = rows
        .iter()
        .map(|r| {
            let comment: String = r.get(1);
            let used = comment
                .rsplit(' ')
                .next()
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            (used, r.get(0))
        })
        .collect();
    states.sort_by(|a, b| b.cmp(a));
    for (_, name) in states.into_iter().skip(super::cluster::BASE_STATES) {
        let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\""));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_says_where_the_migrations_came_from() {
        let n = |cached, why| note("trace", "created migration(s)", 5, cached, why);
        assert_eq!(
            n(0, Some("why")),
            "trace: the 5 created migration(s) were replayed (why)"
        );
        assert!(n(0, None).ends_with("replayed and their state cached"));
        assert!(n(5, None).ends_with("came from the cached base state"));
        assert_eq!(
            n(3, None),
            "trace: 3 of the 5 created migration(s) came from the cached base state, 2 were applied and the state cached"
        );
    }
}
