//! `migguard trace`: what each new migration really does to the tables that
//! exist, measured on PostgreSQL. The migrations before it are applied on a
//! scratch database; then each new migration runs the way its tool runs it
//! (in one transaction, or statement by statement outside one), and after
//! every statement the catalog says which existing relations its own
//! backend holds locks on (`pg_locks`), which were rewritten (their
//! `relfilenode` changed), which indexes were built and which constraints
//! validated, and how long it took. The migration is then committed, so the
//! next one sees its effects.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use serde::Serialize;

use super::base::Source;
use crate::error::{Error, Result};
use crate::migrations::TxMode;
use crate::sql::ParsedFile;

/// A migration to apply, or to trace.
pub struct Migration {
    /// Repository path, for reports.
    pub path: String,
    /// What migrating up runs (a goose or dbmate file's up section).
    pub text: String,
    /// How its tool runs it.
    pub tx: TxMode,
    /// Whether to trace it (a new migration) or only apply it.
    pub traced: bool,
}

/// A lock the migration's backend holds, after a statement, on a relation
/// that existed before the migration. In a transaction, locks are held to
/// its end: a statement runs under every lock the ones before it took.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Lock {
    /// `public.users`, or an index name.
    pub relation: String,
    /// PostgreSQL's name (`AccessExclusiveLock`).
    pub mode: String,
    /// What waits for it: `reads and writes`, `writes`, or `nothing`
    /// (only other DDL and maintenance).
    pub blocks: &'static str,
    /// The line of the statement that took it (this one, or an earlier one
    /// of the same transaction).
    pub taken_at: usize,
}

/// What one statement did, measured.
#[derive(Debug, Clone, Serialize)]
pub struct StatementTrace {
    pub line: usize,
    /// The statement's first words.
    pub statement: String,
    /// Locks held after it on relations that existed before the migration
    /// (none are known for a statement that runs outside a transaction:
    /// `in_transaction` is false).
    pub locks: Vec<Lock>,
    pub in_transaction: bool,
    /// Existing tables and indexes whose storage it rewrote.
    pub rewritten: Vec<String>,
    /// Indexes it built on existing tables.
    pub indexes_built: Vec<String>,
    /// Constraints of existing tables it validated (checked every row).
    pub constraints_validated: Vec<String>,
    pub millis: f64,
    /// PostgreSQL's error, when the statement failed (the migration was
    /// rolled back and the trace stops).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// With `trace --contention`: what happened behind a long read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contention: Option<super::contention::Contention>,
}

impl StatementTrace {
    /// Whether it ran under a lock that blocks reads or writes of an
    /// existing relation (its own, or one an earlier statement of the same
    /// transaction took).
    pub fn blocking(&self) -> bool {
        self.locks.iter().any(|l| l.blocks != "nothing")
    }

    /// The locks by which this statement itself made a relation block more
    /// than before it (writes where nothing was blocked, or reads and
    /// writes): a `SHARE` lock on a table already held `ACCESS EXCLUSIVE`
    /// since an earlier statement adds nothing.
    pub fn raised(&self) -> Vec<&Lock> {
        let level = |b: &str| match b {
            "reads and writes" => 2,
            "writes" => 1,
            _ => 0,
        };
        let before = |relation: &str| {
            self.locks
                .iter()
                .filter(|l| l.relation == relation && l.taken_at < self.line)
                .map(|l| level(l.blocks))
                .max()
                .unwrap_or(0)
        };
        self.locks
            .iter()
            .filter(|l| l.taken_at == self.line && level(l.blocks) > before(&l.relation))
            .collect()
    }
}

/// One traced migration.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationTrace {
    pub path: String,
    /// How it ran: `one transaction (atlas)`, `outside a transaction`, ...
    pub ran: String,
    pub statements: Vec<StatementTrace>,
}

/// What a lock mode makes wait, in plain words.
pub fn blocks(mode: &str) -> &'static str {
    match mode {
        "AccessExclusiveLock" => "reads and writes",
        "ExclusiveLock" | "ShareRowExclusiveLock" | "ShareLock" => "writes",
        _ => "nothing",
    }
}

/// The catalog of the relations in user schemas: oid to (name, relfilenode).
type Relations = HashMap<u32, (String, u32)>;

const USER_RELATIONS: &str =
    "SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname), c.relfilenode \
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%' \
     AND c.relkind IN ('r', 'p', 'i', 'I', 'm', 'S')";

fn relations(client: &mut postgres::Client) -> std::result::Result<Relations, postgres::Error> {
    let rows = client.query(USER_RELATIONS, &[])?;
    Ok(rows
        .iter()
        .map(|r| {
            let oid: u32 = r.get(0);
            let name: String = r.get(1);
            let node: u32 = r.get(2);
            (oid, (name, node))
        })
        .collect())
}

/// Locks this backend holds on relations, as (oid, mode).
fn own_locks(
    client: &mut postgres::Client,
) -> std::result::Result<BTreeSet<(u32, String)>, postgres::Error> {
    let rows = client.query(
        "SELECT relation, mode FROM pg_locks \
         WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted AND relation IS NOT NULL",
        &[],
    )?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Validated constraints of user tables, as (table oid, name).
fn validated(
    client: &mut postgres::Client,
) -> std::result::Result<BTreeSet<(u32, String)>, postgres::Error> {
    let rows = client.query(
        "SELECT conrelid, conname::text FROM pg_constraint \
         WHERE convalidated AND conrelid <> 0 AND contype IN ('c', 'f')",
        &[],
    )?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Indexes and the table each belongs to.
fn index_tables(
    client: &mut postgres::Client,
) -> std::result::Result<HashMap<u32, u32>, postgres::Error> {
    let rows = client.query("SELECT indexrelid, indrelid FROM pg_index", &[])?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Statements PostgreSQL refuses inside a transaction block: they run on
/// their own, where their locks cannot be read afterwards.
fn needs_own_transaction(sql: &str) -> bool {
    let words: Vec<String> = sql
        .split_whitespace()
        .take(6)
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let has = |w: &str| words.iter().any(|x| x == w);
    has("CONCURRENTLY")
        || words.first().is_some_and(|w| w == "VACUUM")
        || (words.first().is_some_and(|w| w == "CREATE") && has("DATABASE"))
}

/// Whether `result` is PostgreSQL refusing to run a statement inside a
/// transaction block (25001) or refusing its COMMIT or ROLLBACK there
/// (2D000).
fn refuses_transaction(result: &std::result::Result<(), postgres::Error>) -> bool {
    use postgres::error::SqlState;
    result
        .as_ref()
        .err()
        .and_then(|e| e.code())
        .is_some_and(|c| {
            *c == SqlState::ACTIVE_SQL_TRANSACTION
                || *c == SqlState::INVALID_TRANSACTION_TERMINATION
        })
}

fn first_words(sql: &str) -> String {
    let mut s = crate::sql::parse::first_words(sql, 8);
    if sql.split_whitespace().nth(8).is_some() {
        s.push_str(" ...");
    }
    s
}

fn db_error(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => d.message().to_string(),
        None => e.to_string(),
    }
}

/// A trace and where its database came from.
pub struct TraceRun {
    pub traces: Vec<MigrationTrace>,
    /// What the summary says about the base state (cached or replayed).
    pub note: Option<String>,
}

/// Applies every migration in order and traces the ones marked `traced`.
/// The created migrations (the ones before the first traced one) come
/// from the cached base state of their longest prefix there is (see
/// [`super::base`]); the rest of them are applied and their state cached
/// for next time.
pub fn run(
    source: &Source,
    migrations: &[Migration],
    contention: Option<std::time::Duration>,
) -> Result<TraceRun> {
    let prefix = migrations.iter().take_while(|m| !m.traced).count();
    let keys = super::base_keys(
        migrations[..prefix]
            .iter()
            .map(|m| (m.path.as_str(), m.text.as_bytes())),
    );
    super::trace("apply the created migrations");
    let (db, mut client) = super::base::prepare(source, &keys, "trace", |client, range| {
        run_on(client, &migrations[range]).map(|_| true)
    })?;
    // With --contention, a copy from before the new migrations, to run
    // them again behind long reads.
    let copy = match contention {
        Some(_) => {
            drop(client);
            let copy = db.copy("contention")?;
            client = db.connect()?;
            Some(copy)
        }
        None => None,
    };
    super::trace("trace");
    let mut traces = run_on(&mut client, &migrations[prefix..])?;
    if let (Some(copy), Some(bound)) = (&copy, contention) {
        super::trace("contention");
        let mut again = copy.connect()?;
        super::contention::measure(
            &mut again,
            &|| copy.connect(),
            &migrations[prefix..],
            &mut traces,
            bound,
        )?;
    }
    Ok(TraceRun {
        traces,
        note: db.note("trace", "created migration(s)", prefix),
    })
}

/// Applies `migrations` in order on `client`, tracing the ones marked
/// `traced`. A migration that is only applied and fails is an error naming
/// it; a traced one that fails ends the trace with its statement's error
/// recorded.
fn run_on(client: &mut postgres::Client, migrations: &[Migration]) -> Result<Vec<MigrationTrace>> {
    let mut out = Vec::new();
    for m in migrations {
        if !m.traced {
            apply(client, m).map_err(|e| {
                Error::Database(format!(
                    "{} does not apply on PostgreSQL, so the migrations after it cannot be traced: {}",
                    m.path,
                    db_error(&e)
                ))
            })?;
            continue;
        }
        let t = trace_one(client, m)
            .map_err(|e| Error::Database(format!("tracing {}: {}", m.path, db_error(&e))))?;
        let failed = t.statements.iter().any(|s| s.error.is_some());
        out.push(t);
        if failed {
            break;
        }
    }
    Ok(out)
}

/// The statements of a migration that run, with their lines.
pub(super) fn statements(file: &ParsedFile) -> Vec<(usize, &str)> {
    file.stmts
        .iter()
        .map(|s| (s.line, file.stmt_text(s)))
        .filter(|(_, sql)| !sql.trim().is_empty())
        .collect()
}

/// Whether the tool runs a file of `statements` statements in one
/// transaction (otherwise each statement runs on its own).
pub(super) fn wrapped(tx: TxMode, statements: usize) -> bool {
    match tx {
        TxMode::Wrapped(_) | TxMode::Unknown => true,
        TxMode::Implicit => statements > 1,
        TxMode::None => false,
    }
}

/// Applies a migration the way its tool does: as one transaction, or
/// statement by statement (an atlas `txmode none` file with `CREATE INDEX
/// CONCURRENTLY` fails as one query).
fn apply(client: &mut postgres::Client, m: &Migration) -> std::result::Result<(), postgres::Error> {
    let file = ParsedFile::parse(m.text.as_bytes());
    let stmts = statements(&file);
    if wrapped(m.tx, stmts.len()) {
        return client.batch_execute(&m.text);
    }
    for (_, sql) in stmts {
        client.batch_execute(sql)?;
    }
    Ok(())
}

fn trace_one(
    client: &mut postgres::Client,
    m: &Migration,
) -> std::result::Result<MigrationTrace, postgres::Error> {
    let file = ParsedFile::parse(m.text.as_bytes());
    let stmts = statements(&file);
    let wrapped = wrapped(m.tx, stmts.len());
    let ran = match m.tx {
        TxMode::Wrapped(tool) => format!("in one transaction ({tool})"),
        TxMode::Unknown => "in one transaction (assumed)".to_string(),
        TxMode::Implicit if wrapped => {
            "in one implicit transaction (golang-migrate sends the file as one query)".to_string()
        }
        _ => "outside a transaction, statement by statement".to_string(),
    };
    // What exists before the migration: only these are reported.
    let before = relations(client)?;
    let mut nodes: HashMap<u32, u32> = before.iter().map(|(o, (_, n))| (*o, *n)).collect();
    let mut valid = validated(client)?;
    let mut statements = Vec::new();
    if wrapped {
        client.batch_execute("BEGIN")?;
    }
    // When each lock held now was taken (by line).
    let mut taken: HashMap<(u32, String), usize> = HashMap::new();
    for (line, sql) in stmts {
        let mut alone = !wrapped && needs_own_transaction(sql);
        if !wrapped && !alone {
            client.batch_execute("BEGIN")?;
        }
        let mut start = Instant::now();
        let mut result = client.batch_execute(sql);
        // A statement the tool runs on its own that refuses the transaction
        // migguard opened to read its locks (a DO block that commits, and
        // whatever the word list above misses): nothing of it happened, so
        // it runs again on its own, as the tool runs it.
        if !wrapped && !alone && refuses_transaction(&result) {
            client.batch_execute("ROLLBACK")?;
            alone = true;
            start = Instant::now();
            result = client.batch_execute(sql);
        }
        // Milliseconds to the microsecond.
        let millis = (start.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0;
        let mut st = StatementTrace {
            line,
            statement: first_words(sql),
            locks: Vec::new(),
            in_transaction: !alone,
            rewritten: Vec::new(),
            indexes_built: Vec::new(),
            constraints_validated: Vec::new(),
            millis,
            error: None,
            contention: None,
        };
        if let Err(e) = result {
            st.error = Some(db_error(&e));
            statements.push(st);
            let _ = client.batch_execute("ROLLBACK");
            return Ok(MigrationTrace {
                path: m.path.clone(),
                ran,
                statements,
            });
        }
        if !alone {
            let now = own_locks(client)?;
            let mut locks: Vec<Lock> = now
                .into_iter()
                .filter_map(|(oid, mode)| {
                    let (name, _) = before.get(&oid)?;
                    let at = *taken.entry((oid, mode.clone())).or_insert(line);
                    Some(Lock {
                        relation: name.clone(),
                        blocks: blocks(&mode),
                        mode,
                        taken_at: at,
                    })
                })
                .collect();
            locks.sort();
            st.locks = locks;
        }
        let after = relations(client)?;
        for (oid, (name, node)) in &after {
            match nodes.get(oid) {
                Some(old) if old != node && before.contains_key(oid) => {
                    st.rewritten.push(name.clone())
                }
                _ => {}
            }
        }
        let tables = index_tables(client)?;
        // An index PostgreSQL re-creates over its old storage (a type change
        // that keeps the operator class) is a new object, but nothing was
        // built: its file is one that existed before the statement.
        let old_files: BTreeSet<u32> = nodes.values().copied().collect();
        for (oid, (name, node)) in &after {
            if !before.contains_key(oid) && !nodes.contains_key(oid) && !old_files.contains(node) {
                if let Some(table) = tables.get(oid).filter(|t| before.contains_key(t)) {
                    st.indexes_built
                        .push(format!("{name} on {}", before[table].0));
                }
            }
        }
        let now_valid = validated(client)?;
        for (table, name) in now_valid.difference(&valid) {
            if let Some((t, _)) = before.get(table) {
                st.constraints_validated.push(format!("{name} on {t}"));
            }
        }
        st.rewritten.sort();
        st.indexes_built.sort();
        st.constraints_validated.sort();
        valid = now_valid;
        nodes = after.iter().map(|(o, (_, n))| (*o, *n)).collect();
        if !wrapped && !alone {
            client.batch_execute("COMMIT")?;
            taken.clear();
        }
        statements.push(st);
    }
    if wrapped {
        client.batch_execute("COMMIT")?;
    }
    Ok(MigrationTrace {
        path: m.path.clone(),
        ran,
        statements,
    })
}

/// The traces as tables a person reads at a glance: per migration, each
/// statement's line, the existing objects it locked with the mode and what
/// waits for it, whether it rewrote one, and its time.
pub fn render_text(traces: &[MigrationTrace]) -> String {
    let mut out = String::new();
    for t in traces {
        out.push_str(&format!("{} (ran {})\n", t.path, t.ran));
        let mut rows: Vec<[String; 6]> = vec![[
            "line".into(),
            "statement".into(),
            "locks held".into(),
            "blocks".into(),
            "rewrite".into(),
            "time".into(),
        ]];
        for s in &t.statements {
            let locked = if s.error.is_some() {
                "failed (see below)".to_string()
            } else if !s.in_transaction {
                "not observable (runs outside a transaction)".to_string()
            } else if s.locks.is_empty() {
                "-".to_string()
            } else {
                strongest(&s.locks)
                    .iter()
                    .map(|l| {
                        let mode = l.mode.trim_end_matches("Lock");
                        if l.taken_at == s.line {
                            format!("{} {mode}", l.relation)
                        } else {
                            format!("{} {mode} (since line {})", l.relation, l.taken_at)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let blocks: BTreeSet<&str> = s.locks.iter().map(|l| l.blocks).collect();
            let blocks = if s.error.is_some() {
                "-"
            } else if blocks.contains("reads and writes") {
                "reads and writes"
            } else if blocks.contains("writes") {
                "writes"
            } else if s.in_transaction {
                "nothing"
            } else {
                "-"
            };
            let mut rewrite = if s.rewritten.is_empty() {
                "no".to_string()
            } else {
                format!("yes: {}", s.rewritten.join(", "))
            };
            if !s.indexes_built.is_empty() {
                rewrite.push_str(&format!("; built {}", s.indexes_built.join(", ")));
            }
            if !s.constraints_validated.is_empty() {
                rewrite.push_str(&format!(
                    "; validated {}",
                    s.constraints_validated.join(", ")
                ));
            }
            rows.push([
                s.line.to_string(),
                s.statement.clone(),
                locked,
                blocks.to_string(),
                rewrite,
                format!("{:.1} ms", s.millis),
            ]);
        }
        let widths: Vec<usize> = (0..6)
            .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
            .collect();
        for r in &rows {
            let cells: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            out.push_str("  ");
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
        for s in t.statements.iter().filter(|s| s.error.is_some()) {
            out.push_str(&format!(
                "  line {} failed on PostgreSQL: {}; the migration was rolled back and nothing after it was traced\n",
                s.line,
                s.error.as_deref().unwrap_or("")
            ));
        }
        out.push_str(&super::contention::render(t));
        out.push('\n');
    }
    out
}

/// PostgreSQL's table lock modes, weakest first.
const STRENGTH: [&str; 8] = [
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
];

/// The strongest lock held on each relation (what other sessions wait on).
fn strongest(locks: &[Lock]) -> Vec<&Lock> {
    let rank = |m: &str| STRENGTH.iter().position(|s| *s == m).unwrap_or(0);
    let mut best: BTreeMap<&str, &Lock> = BTreeMap::new();
    for l in locks {
        match best.get(l.relation.as_str()) {
            Some(b) if rank(&b.mode) >= rank(&l.mode) => {}
            _ => {
                best.insert(&l.relation, l);
            }
        }
    }
    best.into_values().collect()
}

/// Traces by path, for matching findings to statements.
pub fn by_statement(traces: &[MigrationTrace]) -> BTreeMap<(String, usize), &StatementTrace> {
    traces
        .iter()
        .flat_map(|t| {
            t.statements
                .iter()
                .map(move |s| ((t.path.clone(), s.line), s))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_modes_in_plain_words() {
        assert_eq!(blocks("AccessExclusiveLock"), "reads and writes");
        assert_eq!(blocks("ShareLock"), "writes");
        assert_eq!(blocks("ShareRowExclusiveLock"), "writes");
        assert_eq!(blocks("ShareUpdateExclusiveLock"), "nothing");
        assert_eq!(blocks("RowExclusiveLock"), "nothing");
        assert_eq!(blocks("AccessShareLock"), "nothing");
    }

    #[test]
    fn only_locks_that_block_more_than_before_are_raised_by_a_statement() {
        let lock = |relation: &str, mode: &str, taken_at| Lock {
            relation: relation.into(),
            mode: mode.into(),
            blocks: blocks(mode),
            taken_at,
        };
        let st = StatementTrace {
            line: 5,
            statement: String::new(),
            locks: vec![
                lock("public.a", "AccessExclusiveLock", 3),
                lock("public.a", "ShareLock", 5),
                lock("public.b", "ShareLock", 5),
                lock("public.c", "RowExclusiveLock", 5),
            ],
            in_transaction: true,
            rewritten: Vec::new(),
            indexes_built: Vec::new(),
            constraints_validated: Vec::new(),
            millis: 0.0,
            error: None,
            contention: None,
        };
        let raised: Vec<&str> = st.raised().iter().map(|l| l.relation.as_str()).collect();
        assert_eq!(raised, ["public.b"]);
        assert!(st.blocking());
    }

    #[test]
    fn the_table_shows_the_strongest_lock_per_relation() {
        let lock = |relation: &str, mode: &str, taken_at| Lock {
            relation: relation.into(),
            mode: mode.into(),
            blocks: blocks(mode),
            taken_at,
        };
        let locks = [
            lock("public.t", "ShareLock", 1),
            lock("public.t", "AccessExclusiveLock", 2),
            lock("public.t_pkey", "AccessShareLock", 2),
        ];
        let s: Vec<(&str, &str)> = strongest(&locks)
            .iter()
            .map(|l| (l.relation.as_str(), l.mode.as_str()))
            .collect();
        assert_eq!(
            s,
            [
                ("public.t", "AccessExclusiveLock"),
                ("public.t_pkey", "AccessShareLock")
            ]
        );
    }

    #[test]
    fn statements_that_need_their_own_transaction() {
        assert!(needs_own_transaction(
            "CREATE INDEX CONCURRENTLY i ON t (a)"
        ));
        assert!(needs_own_transaction(
            "create unique index concurrently i on t (a)"
        ));
        assert!(needs_own_transaction("VACUUM t"));
        assert!(!needs_own_transaction("CREATE INDEX i ON t (a)"));
    }
}
