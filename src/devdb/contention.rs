//! `migguard trace --contention`: the lock queue, measured. For each traced
//! statement that took a lock of `SHARE` or stronger on an existing table,
//! the migrations run again on a copy of the database from before them,
//! and at that statement:
//! 1. a second session holds `ACCESS SHARE` on the table in an open
//!    transaction (a long read);
//! 2. the statement runs as the migration runs it, with the file's
//!    `lock_timeout` (or none);
//! 3. once it waits (or ends), a third session's plain `SELECT` on the table
//!    is timed.
//!
//! The read is held for at most the bound (default 2 s), and the reader
//! gives up at the bound too, so each statement costs at most about twice
//! the bound. Then the read ends, the statement goes on (or, cancelled by
//! its `lock_timeout`, runs again so the migrations after it can be
//! traced), and so does the next statement.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::trace::{statements, wrapped, Migration, MigrationTrace};
use crate::error::{Error, Result};
use crate::sql::ParsedFile;

/// What happened to one statement behind a long read.
#[derive(Debug, Clone, Serialize)]
pub struct Contention {
    /// The table the long read held.
    pub table: String,
    /// How long the read was held at most (the bound).
    pub bound_ms: f64,
    /// The file's `lock_timeout` in effect for the statement (`None`: no
    /// timeout).
    pub lock_timeout: Option<String>,
    /// How long the statement waited in the lock queue (0: it did not).
    pub waited_ms: f64,
    /// The statement's `lock_timeout` cancelled it (the migration would
    /// have failed here; readers were released then).
    pub cancelled: bool,
    /// Whether a plain `SELECT` queued behind the statement, and for how
    /// long (up to the bound, when it gave up).
    pub reader_queued: bool,
    pub reader_waited_ms: f64,
    /// The reader was still waiting at the bound.
    pub reader_gave_up: bool,
    /// Readers were already blocked before the statement: an earlier
    /// statement of its transaction holds `ACCESS EXCLUSIVE` on the table
    /// since this line (nothing was measured).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_since: Option<usize>,
}

/// A statement to measure: its table, and the line of an earlier lock of
/// its transaction that already blocks readers of that table.
struct Target {
    table: String,
    blocked_since: Option<usize>,
}

/// The statements of `traces` to measure: those that took a lock of
/// `SHARE` or stronger (one that blocks writes, or reads and writes) on an
/// existing relation.
fn targets(traces: &[MigrationTrace]) -> BTreeMap<(String, usize), Target> {
    let mut out = BTreeMap::new();
    for t in traces {
        for s in t.statements.iter().filter(|s| s.error.is_none()) {
            // The strongest lock it took itself that blocks someone.
            let Some(lock) = s
                .locks
                .iter()
                .filter(|l| l.taken_at == s.line && l.blocks != "nothing")
                .max_by_key(|l| l.blocks.len())
            else {
                continue;
            };
            let blocked_since = s
                .locks
                .iter()
                .filter(|l| {
                    l.relation == lock.relation
                        && l.taken_at < s.line
                        && l.mode == "AccessExclusiveLock"
                })
                .map(|l| l.taken_at)
                .min();
            out.insert(
                (t.path.clone(), s.line),
                Target {
                    table: lock.relation.clone(),
                    blocked_since,
                },
            );
        }
    }
    out
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Runs the traced migrations again on `client` (a copy of the database
/// from before them), measuring the contention of each statement `traces`
/// shows taking a blocking lock; `connect` opens the other sessions. The
/// results are added to `traces`.
pub fn measure(
    client: &mut postgres::Client,
    connect: &dyn Fn() -> Result<postgres::Client>,
    migrations: &[Migration],
    traces: &mut [MigrationTrace],
    bound: Duration,
) -> Result<()> {
    let targets = targets(traces);
    if targets.is_empty() {
        return Ok(());
    }
    let db_err = |e: postgres::Error| Error::Database(format!("contention run: {e}"));
    let mut results: BTreeMap<(String, usize), Contention> = BTreeMap::new();
    for m in migrations.iter().filter(|m| m.traced) {
        let file = ParsedFile::parse(m.text.as_bytes());
        let stmts = statements(&file);
        let in_tx = wrapped(m.tx, stmts.len());
        // The file's own lock_timeout, not one an earlier file set on the
        // connection.
        client.batch_execute("RESET lock_timeout").map_err(db_err)?;
        if in_tx {
            client.batch_execute("BEGIN").map_err(db_err)?;
        }
        for (line, sql) in stmts {
            let Some(target) = targets.get(&(m.path.clone(), line)) else {
                if client.batch_execute(sql).is_err() {
                    // The trace saw where it fails; nothing more to measure.
                    let _ = client.batch_execute("ROLLBACK");
                    return attach(traces, results);
                }
                continue;
            };
            let c = contend(client, connect, sql, target, in_tx, bound)?;
            results.insert((m.path.clone(), line), c);
        }
        if in_tx {
            client.batch_execute("COMMIT").map_err(db_err)?;
        }
    }
    attach(traces, results)
}

fn attach(
    traces: &mut [MigrationTrace],
    mut results: BTreeMap<(String, usize), Contention>,
) -> Result<()> {
    for t in traces.iter_mut() {
        for s in t.statements.iter_mut() {
            s.contention = results.remove(&(t.path.clone(), s.line));
        }
    }
    Ok(())
}

/// One statement behind a long read; leaves the statement applied.
fn contend(
    client: &mut postgres::Client,
    connect: &dyn Fn() -> Result<postgres::Client>,
    sql: &str,
    target: &Target,
    in_tx: bool,
    bound: Duration,
) -> Result<Contention> {
    let db_err = |e: postgres::Error| Error::Database(format!("contention run: {e}"));
    let lock_timeout: String = client
        .query_one("SHOW lock_timeout", &[])
        .map_err(db_err)?
        .get(0);
    let mut result = Contention {
        table: target.table.clone(),
        bound_ms: millis(bound),
        lock_timeout: (lock_timeout != "0").then_some(lock_timeout),
        waited_ms: 0.0,
        cancelled: false,
        reader_queued: false,
        reader_waited_ms: 0.0,
        reader_gave_up: false,
        blocked_since: target.blocked_since,
    };
    if target.blocked_since.is_some() {
        client.batch_execute(sql).map_err(db_err)?;
        return Ok(result);
    }
    // 1. The long read. It cannot start when this transaction already
    // blocks readers some other way: then the statement just runs.
    let mut holder = connect()?;
    let held = holder.batch_execute(&format!(
        "SET lock_timeout = '200ms'; BEGIN; LOCK TABLE {} IN ACCESS SHARE MODE",
        target.table
    ));
    if held.is_err() {
        drop(holder);
        client.batch_execute(sql).map_err(db_err)?;
        return Ok(result);
    }
    if in_tx {
        client
            .batch_execute("SAVEPOINT migguard_contention")
            .map_err(db_err)?;
    }
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .map_err(db_err)?
        .get(0);
    let mut watcher = connect()?;
    let mut reader = connect()?;
    let started = Instant::now();
    let deadline = started + bound;
    let (ran, waited) = std::thread::scope(
        |scope| -> Result<(std::result::Result<(), postgres::Error>, Option<Duration>)> {
            // 2. The statement, on its own thread: it may wait.
            let runner_client: &mut postgres::Client = &mut *client;
            let runner = scope.spawn(move || {
                let r = runner_client.batch_execute(sql);
                (r, started.elapsed())
            });
            // Until it waits for a lock, or ends.
            let waiting = loop {
                let waits: i64 = watcher
                    .query_one(
                        "SELECT count(*) FROM pg_locks WHERE pid = $1 AND NOT granted",
                        &[&pid],
                    )
                    .map_err(db_err)?
                    .get(0);
                if waits > 0 {
                    break true;
                }
                if runner.is_finished() || Instant::now() >= deadline {
                    break false;
                }
                std::thread::sleep(Duration::from_millis(5));
            };
            // 3. A plain read, while the statement waits.
            if waiting && !runner.is_finished() {
                let left = deadline
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(10));
                let start = Instant::now();
                let read = reader.batch_execute(&format!(
                    "SET statement_timeout = {}; SELECT 1 FROM {} LIMIT 1",
                    left.as_millis(),
                    target.table
                ));
                let took = start.elapsed();
                result.reader_waited_ms = millis(took);
                result.reader_gave_up = read.is_err();
                result.reader_queued = read.is_err() || took >= Duration::from_millis(50);
            }
            // The long read lasts until the bound (or until the statement
            // gave up on its own), then ends: the statement gets its lock.
            while !runner.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            let finished_first = runner.is_finished();
            let _ = holder.batch_execute("ROLLBACK");
            let released = started.elapsed();
            let (ran, ended) = runner
                .join()
                .map_err(|_| Error::Internal("the contention runner panicked".into()))?;
            // Queued until it gave up (its lock_timeout), or until the read
            // ended and it got its lock.
            let waited = waiting.then_some(if finished_first { ended } else { released });
            Ok((ran, waited))
        },
    )?;
    let timed_out = ran.as_ref().err().and_then(|e| e.code())
        == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE);
    result.waited_ms = waited.map_or(0.0, millis);
    match ran {
        Ok(()) => {
            if in_tx {
                client
                    .batch_execute("RELEASE SAVEPOINT migguard_contention")
                    .map_err(db_err)?;
            }
        }
        Err(_) if timed_out => {
            // The migration would have failed here; run the statement again
            // so the migrations after it can be measured.
            result.cancelled = true;
            if in_tx {
                client
                    .batch_execute("ROLLBACK TO SAVEPOINT migguard_contention")
                    .map_err(db_err)?;
            }
            client.batch_execute(sql).map_err(db_err)?;
        }
        Err(e) => return Err(db_err(e)),
    }
    Ok(result)
}
/// The contention results of a migration's trace, as lines under its table.
pub fn render(t: &MigrationTrace) -> String {
    let mut out = String::new();
    for s in &t.statements {
        let Some(c) = &s.contention else {
            continue;
        };
        let secs = c.bound_ms / 1000.0;
        let mut line = format!("  line {} behind a long read of {}: ", s.line, c.table);
        if let Some(since) = c.blocked_since {
            line.push_str(&format!(
                "readers already wait for the ACCESS EXCLUSIVE lock line {since} took in this transaction"
            ));
        } else if c.cancelled {
            line.push_str(&format!(
                "its lock_timeout ({}) cancelled it after {:.0} ms, so the migration would fail here and readers were released",
                c.lock_timeout.as_deref().unwrap_or("?"),
                c.waited_ms
            ));
        } else if c.waited_ms > 0.0 {
            line.push_str(&format!(
                "it waited {:.0} ms in the lock queue",
                c.waited_ms
            ));
            if c.reader_gave_up {
                line.push_str(&format!(
                    ", and a SELECT queued behind it was still waiting when it gave up after {secs:.1} s"
                ));
            } else if c.reader_queued {
                line.push_str(&format!(
                    ", and a SELECT queued behind it for {:.0} ms",
                    c.reader_waited_ms
                ));
            } else {
                line.push_str(", and readers went on");
            }
            match &c.lock_timeout {
                Some(t) => line.push_str(&format!(
                    "; its lock_timeout ({t}) did not end the wait within the {secs:.1} s read"
                )),
                None => line.push_str(
                    "; with no lock_timeout it waits, and readers with it, as long as the read lasts",
                ),
            }
        } else {
            line.push_str("it did not wait, and readers went on");
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}
