//! Every lock and transaction claim the lock rules make, checked against a
//! real PostgreSQL (a throwaway cluster from the local server binaries):
//! the locks a statement's own backend holds (`pg_locks` joined to
//! `pg_class`, inside a transaction), and what PostgreSQL does with
//! `CONCURRENTLY` and nested transaction control.

mod common;

use postgres::Client;

fn db() -> Option<(migguard::Cluster, Client)> {
    if migguard::find_binaries().is_none() {
        common::say("skipped: no PostgreSQL server binaries to check the lock claims on");
        return None;
    }
    let cluster = migguard::Cluster::start().unwrap();
    let mut client = cluster.server().connect("postgres").unwrap();
    client
        .batch_execute(
            "CREATE TABLE t (a int, b int);\nINSERT INTO t SELECT g, g FROM generate_series(1, 1000) g;\nCREATE INDEX t_b ON t (b);",
        )
        .unwrap();
    Some((cluster, client))
}

/// The lock modes this backend holds on relation `rel` after `sql`, run in
/// a transaction that is then rolled back.
fn locks_after(client: &mut Client, sql: &str, rel: &str) -> Vec<String> {
    let mut tx = client.transaction().unwrap();
    tx.batch_execute(sql).unwrap();
    let rows = tx
        .query(
            "SELECT l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE l.pid = pg_backend_pid() AND c.relname = $1 ORDER BY 1",
            &[&rel],
        )
        .unwrap();
    tx.rollback().unwrap();
    rows.iter().map(|r| r.get::<_, String>(0)).collect()
}

#[test]
fn index_lock_claims() {
    let Some((_cluster, mut c)) = db() else {
        return;
    };
    // PG101: CREATE INDEX holds SHARE on the table: writes wait, reads go on.
    let held = locks_after(&mut c, "CREATE INDEX t_a ON t (a)", "t");
    assert!(held.contains(&"ShareLock".to_string()), "{held:?}");
    assert!(
        !held.contains(&"AccessExclusiveLock".to_string()),
        "{held:?}"
    );
    // The same for a unique index.
    let held = locks_after(&mut c, "CREATE UNIQUE INDEX t_a ON t (a)", "t");
    assert!(held.contains(&"ShareLock".to_string()), "{held:?}");
    // PG102: DROP INDEX takes ACCESS EXCLUSIVE on the table.
    let held = locks_after(&mut c, "DROP INDEX t_b", "t");
    assert!(
        held.contains(&"AccessExclusiveLock".to_string()),
        "{held:?}"
    );
}

#[test]
fn concurrently_claims() {
    let Some((_cluster, mut c)) = db() else {
        return;
    };
    // PG103: refused inside a transaction block...
    let mut tx = c.transaction().unwrap();
    let e = tx
        .batch_execute("CREATE INDEX CONCURRENTLY t_a ON t (a)")
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("cannot run inside a transaction block")
            || format!("{e:?}").contains("cannot run inside a transaction block"),
        "{e:?}"
    );
    tx.rollback().unwrap();
    // ...and in a multi-statement query (golang-migrate sends a file as one).
    let e = c
        .batch_execute("SELECT 1;\nCREATE INDEX CONCURRENTLY t_a ON t (a);")
        .unwrap_err();
    assert!(format!("{e:?}").contains("cannot"), "{e:?}");
    // Alone in its query it runs.
    c.batch_execute("CREATE INDEX CONCURRENTLY t_a ON t (a);")
        .unwrap();
    c.batch_execute("DROP INDEX CONCURRENTLY t_a;").unwrap();
}

#[test]
fn transaction_control_claims() {
    let Some((_cluster, mut c)) = db() else {
        return;
    };
    // TX201: inside the tool's transaction, BEGIN is only a warning and
    // COMMIT ends that transaction early: the tool's ROLLBACK cannot undo
    // what ran before it.
    let mut tx = c.transaction().unwrap();
    tx.batch_execute("BEGIN;\nCREATE TABLE half (a int);\nCOMMIT;\nCREATE TABLE other (a int);")
        .unwrap();
    tx.rollback().unwrap();
    let half: i64 = c
        .query_one("SELECT count(*) FROM pg_class WHERE relname = 'half'", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        half, 1,
        "COMMIT inside the tool's transaction committed early"
    );
    let other: i64 = c
        .query_one("SELECT count(*) FROM pg_class WHERE relname = 'other'", &[])
        .unwrap()
        .get(0);
    assert_eq!(other, 1, "what followed ran outside any transaction");
}

/// Whether `sql` (rolled back afterwards) gives table `rel` a new file:
/// PostgreSQL rewrote it.
fn rewrites(client: &mut Client, sql: &str, rel: &str) -> bool {
    let mut tx = client.transaction().unwrap();
    let node = |tx: &mut postgres::Transaction| -> u32 {
        tx.query_one(
            "SELECT relfilenode::int4 FROM pg_class WHERE relname = $1",
            &[&rel],
        )
        .unwrap()
        .get::<_, i32>(0) as u32
    };
    let before = node(&mut tx);
    tx.batch_execute(sql).unwrap();
    let after = node(&mut tx);
    tx.rollback().unwrap();
    before != after
}

#[test]
fn table_rewrite_claims() {
    let Some((_cluster, mut c)) = db() else {
        return;
    };
    c.batch_execute(
        "CREATE TABLE r (id int PRIMARY KEY, v varchar(10), n numeric(10,2), s text);\nINSERT INTO r SELECT g, 'x', 1, 's' FROM generate_series(1, 100) g;",
    )
    .unwrap();
    // PG301, and what is not reported, exactly as type_change_rewrites says.
    for (sql, claimed) in [
        ("ALTER TABLE r ALTER COLUMN id TYPE bigint", true),
        ("ALTER TABLE r ALTER COLUMN v TYPE varchar(20)", false),
        ("ALTER TABLE r ALTER COLUMN v TYPE varchar", false),
        ("ALTER TABLE r ALTER COLUMN v TYPE text", false),
        ("ALTER TABLE r ALTER COLUMN s TYPE varchar", false),
        ("ALTER TABLE r ALTER COLUMN v TYPE varchar(5)", true),
        ("ALTER TABLE r ALTER COLUMN s TYPE varchar(5)", true),
        ("ALTER TABLE r ALTER COLUMN n TYPE numeric(12,2)", false),
        ("ALTER TABLE r ALTER COLUMN n TYPE numeric", false),
        ("ALTER TABLE r ALTER COLUMN n TYPE numeric(10,3)", true),
        ("ALTER TABLE r ALTER COLUMN s TYPE text USING s || ''", true),
    ] {
        assert_eq!(rewrites(&mut c, sql, "r"), claimed, "{sql}");
        let (old, new, using) = {
            let col = sql.split("COLUMN ").nth(1).unwrap();
            let old = match &col[..1] {
                "i" => "integer",
                "v" => "character varying(10)",
                "n" => "numeric(10,2)",
                _ => "text",
            };
            let rest = col.split(" TYPE ").nth(1).unwrap();
            let (new, using) = match rest.split_once(" USING ") {
                Some((n, _)) => (n, true),
                None => (rest, false),
            };
            (old, new.to_lowercase(), using)
        };
        assert_eq!(
            migguard::type_change_rewrites(old, &new, using),
            claimed,
            "the rule's verdict on {sql}"
        );
    }
    // PG302: volatile defaults, stored generated and identity columns
    // rewrite; constant and stable defaults do not (PostgreSQL 11+).
    for (sql, claimed) in [
        ("ALTER TABLE r ADD COLUMN x float8 DEFAULT random()", true),
        (
            "ALTER TABLE r ADD COLUMN x uuid DEFAULT gen_random_uuid()",
            true,
        ),
        ("ALTER TABLE r ADD COLUMN x bigserial", true),
        (
            "ALTER TABLE r ADD COLUMN x int GENERATED ALWAYS AS (id * 2) STORED",
            true,
        ),
        (
            "ALTER TABLE r ADD COLUMN x int GENERATED BY DEFAULT AS IDENTITY",
            true,
        ),
        ("ALTER TABLE r ADD COLUMN x int DEFAULT 0", false),
        (
            "ALTER TABLE r ADD COLUMN x timestamptz DEFAULT now()",
            false,
        ),
        ("ALTER TABLE r ADD COLUMN x text", false),
    ] {
        assert_eq!(rewrites(&mut c, sql, "r"), claimed, "{sql}");
    }
    // PG307.
    assert!(rewrites(&mut c, "ALTER TABLE r SET UNLOGGED", "r"));
}

#[test]
fn constraint_and_not_null_claims() {
    let Some((_cluster, mut c)) = db() else {
        return;
    };
    c.batch_execute(
        "CREATE TABLE o (id int PRIMARY KEY);\nINSERT INTO o SELECT generate_series(1, 1000);",
    )
    .unwrap();
    let has = |held: &[String], mode: &str| held.iter().any(|m| m == mode);
    // PG104 / PG105: the index is built under ACCESS EXCLUSIVE.
    let held = locks_after(&mut c, "ALTER TABLE t ADD CONSTRAINT t_a UNIQUE (a)", "t");
    assert!(has(&held, "AccessExclusiveLock"), "{held:?}");
    let held = locks_after(&mut c, "ALTER TABLE t ADD PRIMARY KEY (a)", "t");
    assert!(has(&held, "AccessExclusiveLock"), "{held:?}");
    // PG305: a CHECK scans under ACCESS EXCLUSIVE.
    let held = locks_after(
        &mut c,
        "ALTER TABLE t ADD CONSTRAINT t_pos CHECK (a > 0)",
        "t",
    );
    assert!(has(&held, "AccessExclusiveLock"), "{held:?}");
    // PG306: a foreign key takes SHARE ROW EXCLUSIVE on both tables.
    let fk = "ALTER TABLE t ADD CONSTRAINT t_o FOREIGN KEY (a) REFERENCES o (id)";
    let held = locks_after(&mut c, fk, "t");
    assert!(has(&held, "ShareRowExclusiveLock"), "{held:?}");
    assert!(!has(&held, "AccessExclusiveLock"), "{held:?}");
    let held = locks_after(&mut c, fk, "o");
    assert!(has(&held, "ShareRowExclusiveLock"), "{held:?}");
    // The recipe: VALIDATE alone takes only SHARE UPDATE EXCLUSIVE...
    c.batch_execute(&format!("{fk} NOT VALID")).unwrap();
    let held = locks_after(&mut c, "ALTER TABLE t VALIDATE CONSTRAINT t_o", "t");
    assert!(has(&held, "ShareUpdateExclusiveLock"), "{held:?}");
    assert!(
        !has(&held, "ShareRowExclusiveLock") && !has(&held, "AccessExclusiveLock"),
        "{held:?}"
    );
    // ...but in the ADD's transaction the ADD's lock is still held.
    c.batch_execute("ALTER TABLE t DROP CONSTRAINT t_o")
        .unwrap();
    let held = locks_after(
        &mut c,
        &format!("{fk} NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT t_o"),
        "t",
    );
    assert!(has(&held, "ShareRowExclusiveLock"), "{held:?}");
    // PG303: SET NOT NULL takes ACCESS EXCLUSIVE...
    let held = locks_after(&mut c, "ALTER TABLE t ALTER COLUMN a SET NOT NULL", "t");
    assert!(has(&held, "AccessExclusiveLock"), "{held:?}");
    // ...and scans the rows: a NULL makes it fail. With a validated
    // CHECK (a IS NOT NULL) PostgreSQL trusts the constraint (it cannot
    // hold NULLs), which is what the recipe relies on.
    c.batch_execute("INSERT INTO t VALUES (NULL, 1)").unwrap();
    assert!(c
        .batch_execute("ALTER TABLE t ALTER COLUMN a SET NOT NULL")
        .is_err());
    c.batch_execute("DELETE FROM t WHERE a IS NULL").unwrap();
    c.batch_execute("ALTER TABLE t ADD CONSTRAINT t_a_nn CHECK (a IS NOT NULL)")
        .unwrap();
    c.batch_execute("ALTER TABLE t ALTER COLUMN a SET NOT NULL")
        .unwrap();
}

#[test]
fn lock_timeout_claims() {
    let Some((_cluster, mut c)) = db() else {
        return;
    };
    let show = |c: &mut Client| -> String { c.query_one("SHOW lock_timeout", &[]).unwrap().get(0) };
    // SET LOCAL outside a transaction block does nothing.
    c.batch_execute("SET LOCAL lock_timeout = '5s'").unwrap();
    assert_eq!(show(&mut c), "0");
    // SET LOCAL ends with its transaction.
    c.batch_execute("BEGIN; SET LOCAL lock_timeout = '5s'; COMMIT;")
        .unwrap();
    assert_eq!(show(&mut c), "0");
    // SET lasts the session; RESET and SET ... = 0 turn it off.
    c.batch_execute("SET lock_timeout = '5s'").unwrap();
    assert_eq!(show(&mut c), "5s");
    c.batch_execute("RESET lock_timeout").unwrap();
    assert_eq!(show(&mut c), "0");
    // ALTER TABLE ADD COLUMN and TRUNCATE take ACCESS EXCLUSIVE...
    for sql in ["ALTER TABLE t ADD COLUMN c int", "TRUNCATE t"] {
        let held = locks_after(&mut c, sql, "t");
        assert!(
            held.iter().any(|m| m == "AccessExclusiveLock"),
            "{sql}: {held:?}"
        );
    }
    // ...and so does DROP TABLE (its pg_class row is gone: by oid).
    let oid: u32 = c
        .query_one("SELECT 't'::regclass::oid", &[])
        .unwrap()
        .get(0);
    let mut tx = c.transaction().unwrap();
    tx.batch_execute("DROP TABLE t").unwrap();
    let modes: Vec<String> = tx
        .query(
            "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND relation = $1",
            &[&oid],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    tx.rollback().unwrap();
    assert!(
        modes.iter().any(|m| m == "AccessExclusiveLock"),
        "{modes:?}"
    );
}

/// The lock mode a statement run by another session waits for on `rel`
/// while this test holds an `ACCESS SHARE` lock on it (for statements that
/// cannot run inside a transaction block, whose own locks cannot be read
/// afterwards): the waiting lock is what the statement asks for.
fn waits_for(cluster: &migguard::Cluster, sql: &str, rel: &str) -> String {
    let mut holder = cluster.server().connect("postgres").unwrap();
    holder
        .batch_execute(&format!("BEGIN; SELECT count(*) FROM {rel}"))
        .unwrap();
    let server = cluster.server();
    let owned = sql.to_string();
    let worker = std::thread::spawn(move || {
        let mut c = server.connect("postgres").unwrap();
        c.batch_execute(&owned)
    });
    let mut watcher = cluster.server().connect("postgres").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mode = loop {
        let rows = watcher
            .query(
                "SELECT l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE NOT l.granted AND c.relname = $1",
                &[&rel],
            )
            .unwrap();
        if let Some(r) = rows.first() {
            break r.get::<_, String>(0);
        }
        assert!(std::time::Instant::now() < deadline, "{sql} never waited");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    holder.batch_execute("COMMIT").unwrap();
    worker.join().unwrap().unwrap();
    mode
}

#[test]
fn maintenance_lock_claims() {
    let Some((cluster, mut c)) = db() else {
        return;
    };
    c.batch_execute(
        "CREATE MATERIALIZED VIEW mv AS SELECT a FROM t;\n\
         CREATE TABLE p (id int, at date) PARTITION BY RANGE (at);\n\
         CREATE TABLE p_2020 PARTITION OF p FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');",
    )
    .unwrap();
    // PG501: REINDEX TABLE holds SHARE on the table (writes wait, reads go
    // on) and ACCESS EXCLUSIVE on the index it rebuilds.
    let held = locks_after(&mut c, "REINDEX TABLE t", "t");
    assert!(held.contains(&"ShareLock".to_string()), "{held:?}");
    assert!(
        !held.contains(&"AccessExclusiveLock".to_string()),
        "{held:?}"
    );
    let held = locks_after(&mut c, "REINDEX TABLE t", "t_b");
    assert!(
        held.contains(&"AccessExclusiveLock".to_string()),
        "{held:?}"
    );
    // PG502: REFRESH MATERIALIZED VIEW holds ACCESS EXCLUSIVE on the view.
    let held = locks_after(&mut c, "REFRESH MATERIALIZED VIEW mv", "mv");
    assert!(
        held.contains(&"AccessExclusiveLock".to_string()),
        "{held:?}"
    );
    // PG503: VACUUM FULL cannot run in a transaction block: it waits for
    // ACCESS EXCLUSIVE behind a reader, and rewrites the table.
    let node = |c: &mut Client| -> i32 {
        c.query_one(
            "SELECT relfilenode::int4 FROM pg_class WHERE relname = 't'",
            &[],
        )
        .unwrap()
        .get(0)
    };
    let before = node(&mut c);
    assert_eq!(
        waits_for(&cluster, "VACUUM FULL t", "t"),
        "AccessExclusiveLock"
    );
    assert_ne!(node(&mut c), before, "VACUUM FULL rewrote t");
    // PG504: CLUSTER rewrites under ACCESS EXCLUSIVE.
    assert!(rewrites(&mut c, "CLUSTER t USING t_b", "t"));
    let held = locks_after(&mut c, "CLUSTER t USING t_b", "t");
    assert!(
        held.contains(&"AccessExclusiveLock".to_string()),
        "{held:?}"
    );
    // PG505: TRUNCATE takes ACCESS EXCLUSIVE.
    let held = locks_after(&mut c, "TRUNCATE t", "t");
    assert!(
        held.contains(&"AccessExclusiveLock".to_string()),
        "{held:?}"
    );
    // PG506: DETACH PARTITION takes ACCESS EXCLUSIVE on the partitioned table.
    let held = locks_after(&mut c, "ALTER TABLE p DETACH PARTITION p_2020", "p");
    assert!(
        held.contains(&"AccessExclusiveLock".to_string()),
        "{held:?}"
    );
    // The recipe: CONCURRENTLY, which must run outside a transaction block
    // and then leaves readers of the partitioned table alone.
    let mut tx = c.transaction().unwrap();
    let e = tx
        .batch_execute("ALTER TABLE p DETACH PARTITION p_2020 CONCURRENTLY")
        .unwrap_err();
    assert!(
        format!("{e:?}").contains("cannot run inside a transaction block"),
        "{e:?}"
    );
    tx.rollback().unwrap();
    let mut reader = cluster.server().connect("postgres").unwrap();
    reader
        .batch_execute("BEGIN; SELECT count(*) FROM p")
        .unwrap();
    let mut other = cluster.server().connect("postgres").unwrap();
    let held: Vec<String> = {
        let mut probe = other.transaction().unwrap();
        probe
            .batch_execute(
                "SET LOCAL lock_timeout = '1s'; LOCK TABLE p IN SHARE UPDATE EXCLUSIVE MODE",
            )
            .unwrap();
        let rows = probe
            .query(
                "SELECT l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE l.pid = pg_backend_pid() AND c.relname = 'p'",
                &[],
            )
            .unwrap();
        rows.iter().map(|r| r.get(0)).collect()
    };
    // The mode DETACH ... CONCURRENTLY takes is granted beside a reader.
    assert_eq!(held, ["ShareUpdateExclusiveLock"]);
    reader.batch_execute("COMMIT").unwrap();
}

#[test]
fn exclusion_constraint_claims() {
    let Some((_cluster, mut c)) = db() else {
        return;
    };
    c.batch_execute("CREATE TABLE bookings (id int, during int4range);\nINSERT INTO bookings SELECT g, int4range(g, g + 1) FROM generate_series(1, 100) g;")
        .unwrap();
    // PG601: ACCESS EXCLUSIVE while the index is built and the rows checked.
    let add = "ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&)";
    let held = locks_after(&mut c, add, "bookings");
    assert!(
        held.contains(&"AccessExclusiveLock".to_string()),
        "{held:?}"
    );
    // ... and there is no NOT VALID for it.
    let e = c.batch_execute(&format!("{add} NOT VALID")).unwrap_err();
    let text = format!("{e:?}");
    assert!(text.contains("cannot be marked NOT VALID"), "{text}");
}

#[test]
fn unclosed_transaction_claims() {
    let Some((cluster, mut c)) = db() else {
        return;
    };
    // TX202: after a file that BEGINs and never ends its transaction (sent
    // as one query, as golang-migrate sends it), the session is still in
    // the transaction and holds its statement's lock...
    c.batch_execute("BEGIN;\nALTER TABLE t ADD COLUMN note text;")
        .unwrap();
    let open: bool = c
        .query_one("SELECT txid_current_if_assigned() IS NOT NULL", &[])
        .unwrap()
        .get(0);
    assert!(open);
    let mut other = cluster.server().connect("postgres").unwrap();
    let held: i64 = other
        .query_one(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 't' AND l.mode = 'AccessExclusiveLock' AND l.granted",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(held, 1);
    // ... and what happens to it is decided by the connection's next
    // command: closing it rolls the change back.
    drop(c);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let columns: i64 = other
        .query_one(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 't' AND column_name = 'note'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(columns, 0);
}

#[test]
fn prefer_jsonb_claims() {
    let Some((_cluster, mut c)) = db() else {
        return;
    };
    c.batch_execute("CREATE TABLE docs (j json, b jsonb);\nINSERT INTO docs VALUES ('{\"a\": 1,  \"a\": 2}', '{\"a\": 1,  \"a\": 2}');")
        .unwrap();
    // PG701: json keeps the text as written; jsonb the parsed value.
    let row = c
        .query_one("SELECT j::text, b::text FROM docs", &[])
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "{\"a\": 1,  \"a\": 2}");
    assert_eq!(row.get::<_, String>(1), "{\"a\": 2}");
    // json has no equality operator: no =, DISTINCT, GROUP BY, UNION...
    for sql in [
        "SELECT j = j FROM docs",
        "SELECT DISTINCT j FROM docs",
        "SELECT j FROM docs GROUP BY j",
        "SELECT j FROM docs UNION SELECT j FROM docs",
    ] {
        let e = c.batch_execute(sql).unwrap_err();
        let text = format!("{e:?}");
        assert!(text.contains("json"), "{sql}: {text}");
    }
    // ... and no GIN index; jsonb has all of them.
    let e = c
        .batch_execute("CREATE INDEX docs_j ON docs USING gin (j)")
        .unwrap_err();
    assert!(
        format!("{e:?}").contains("no default operator class"),
        "{e:?}"
    );
    c.batch_execute(
        "CREATE INDEX docs_b ON docs USING gin (b);\nSELECT DISTINCT b FROM docs;\nSELECT b FROM docs UNION SELECT b FROM docs;",
    )
    .unwrap();
}

#[test]
fn invalid_index_risk_claims() {
    let Some((cluster, mut c)) = db() else {
        return;
    };
    // PG805: a concurrent build waits for a transaction that writes the
    // table; with lock_timeout in effect it is cancelled...
    let mut writer = cluster.server().connect("postgres").unwrap();
    writer
        .batch_execute("BEGIN; INSERT INTO t VALUES (0, 0)")
        .unwrap();
    c.batch_execute("SET lock_timeout = '200ms'").unwrap();
    let e = c
        .batch_execute("CREATE INDEX CONCURRENTLY t_ab ON t (a, b)")
        .unwrap_err();
    assert!(format!("{e:?}").contains("lock timeout"), "{e:?}");
    writer.batch_execute("ROLLBACK").unwrap();
    // ... and leaves an INVALID index behind.
    let valid: bool = c
        .query_one(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_ab'::regclass",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(!valid);
    // PG804: IF NOT EXISTS then keeps it: the migration "succeeds".
    c.batch_execute("SET lock_timeout = 0").unwrap();
    c.batch_execute("CREATE INDEX CONCURRENTLY IF NOT EXISTS t_ab ON t (a, b)")
        .unwrap();
    let valid: bool = c
        .query_one(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_ab'::regclass",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(!valid, "IF NOT EXISTS kept the invalid index");
}

#[test]
fn backfill_and_lock_window_claims() {
    let Some((cluster, mut c)) = db() else {
        return;
    };
    c.batch_execute("CREATE TABLE u (id int PRIMARY KEY, n int);\nINSERT INTO u SELECT g, g FROM generate_series(1, 1000) g;")
        .unwrap();
    // PG802 / PG801: after an ALTER in the same transaction, the UPDATE
    // and the index build run under the ALTER's ACCESS EXCLUSIVE lock
    // (an index build alone takes only SHARE).
    let held = locks_after(
        &mut c,
        "ALTER TABLE u ADD COLUMN m int; UPDATE u SET m = n",
        "u",
    );
    assert!(
        held.contains(&"AccessExclusiveLock".to_string()),
        "{held:?}"
    );
    let held = locks_after(
        &mut c,
        "ALTER TABLE u ADD COLUMN m int; CREATE INDEX u_m ON u (m)",
        "u",
    );
    assert!(
        held.contains(&"AccessExclusiveLock".to_string()),
        "{held:?}"
    );
    // PG308: the same for a validation after another statement's lock.
    c.batch_execute("ALTER TABLE u ADD CONSTRAINT u_pos CHECK (n > 0) NOT VALID")
        .unwrap();
    let held = locks_after(&mut c, "ALTER TABLE u VALIDATE CONSTRAINT u_pos", "u");
    assert!(
        !held.contains(&"AccessExclusiveLock".to_string()),
        "{held:?}"
    );
    let held = locks_after(
        &mut c,
        "ALTER TABLE u ADD COLUMN m int; ALTER TABLE u VALIDATE CONSTRAINT u_pos",
        "u",
    );
    assert!(
        held.contains(&"AccessExclusiveLock".to_string()),
        "{held:?}"
    );
    let held = locks_after(&mut c, "CREATE INDEX u_n ON u (n)", "u");
    assert!(
        !held.contains(&"AccessExclusiveLock".to_string()),
        "{held:?}"
    );
    // PG803: an UPDATE without WHERE locks every row until the transaction
    // ends, and leaves a dead copy of each.
    let size = |c: &mut Client| -> i64 {
        c.query_one("SELECT pg_relation_size('u')", &[])
            .unwrap()
            .get(0)
    };
    let before = size(&mut c);
    let mut tx = c.transaction().unwrap();
    tx.batch_execute("UPDATE u SET n = n + 1").unwrap();
    let mut other = cluster.server().connect("postgres").unwrap();
    for id in [1, 500, 1000] {
        let e = other
            .batch_execute(&format!(
                "SELECT 1 FROM u WHERE id = {id} FOR UPDATE NOWAIT"
            ))
            .unwrap_err();
        assert!(
            format!("{e:?}").contains("could not obtain lock on row"),
            "{e:?}"
        );
    }
    tx.commit().unwrap();
    assert!(size(&mut c) > before, "the table grew by the dead copies");
}

#[test]
fn fk_without_index_claims() {
    let Some((_cluster, mut c)) = db() else {
        return;
    };
    c.batch_execute(
        "CREATE TABLE parents (id int PRIMARY KEY);\n\
         INSERT INTO parents SELECT g FROM generate_series(1, 100) g;\n\
         CREATE TABLE children (id int PRIMARY KEY, parent_id int REFERENCES parents (id));\n\
         INSERT INTO children SELECT g, 1 + g % 50 FROM generate_series(1, 5000) g;\n\
         ANALYZE parents; ANALYZE children;",
    )
    .unwrap();
    // How the referencing rows are found when a parent row is deleted:
    // PostgreSQL's own check, timed and shown by auto_explain would be
    // noisy; the scan counters say it plainly.
    let scans = |c: &mut Client| -> (i64, i64) {
        c.batch_execute("SELECT pg_stat_force_next_flush()")
            .unwrap();
        let row = c
            .query_one(
                "SELECT seq_scan, coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'children'",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    // PG702: without an index, deleting a parent scans the children.
    let (seq, _) = scans(&mut c);
    c.batch_execute("DELETE FROM parents WHERE id = 99")
        .unwrap();
    let (seq_after, _) = scans(&mut c);
    assert!(seq_after > seq, "{seq} -> {seq_after}");
    // With an index that leads with the key, it is used instead.
    c.batch_execute("CREATE INDEX children_parent ON children (parent_id)")
        .unwrap();
    let (seq, idx) = scans(&mut c);
    c.batch_execute("DELETE FROM parents WHERE id = 98")
        .unwrap();
    let (seq_after, idx_after) = scans(&mut c);
    assert_eq!(seq_after, seq);
    assert!(idx_after > idx, "{idx} -> {idx_after}");
}

/// Whether `sql` succeeds in a transaction that is then rolled back.
fn succeeds(client: &mut Client, sql: &str) -> bool {
    let mut tx = client.transaction().unwrap();
    let ok = tx.batch_execute(sql).is_ok();
    tx.rollback().unwrap();
    ok
}

#[test]
fn unique_key_claims() {
    let Some((_cluster, mut c)) = db() else {
        return;
    };
    // u: distinct on (a) apart from two rows with a NULL there, equal in b;
    // distinct on n, but not once n is rounded to an integer.
    // p: distinct on a only where b > 0. d: a deferred key.
    c.batch_execute(
        "CREATE TABLE u (id int PRIMARY KEY, a int CONSTRAINT u_a_key UNIQUE, b int, n numeric(10,2));\n\
         INSERT INTO u SELECT g, g, g % 7, g / 10.0 FROM generate_series(1, 1000) g;\n\
         INSERT INTO u VALUES (1001, NULL, 1, 5000), (1002, NULL, 1, 5001);\n\
         CREATE UNIQUE INDEX u_n ON u (n);\n\
         CREATE TABLE p (a int, b int);\n\
         INSERT INTO p VALUES (1, 1), (1, 0), (1, 0);\n\
         CREATE UNIQUE INDEX p_a ON p (a) WHERE b > 0;\n\
         CREATE TABLE d (a int CONSTRAINT d_a_key UNIQUE DEFERRABLE INITIALLY DEFERRED, b int);\n\
         INSERT INTO d VALUES (1, 1);",
    )
    .unwrap();
    // MF101 stays quiet on a unique index over every column of a key that
    // holds, or held until a drop earlier in the transaction: the drop
    // keeps ACCESS EXCLUSIVE on the table until the transaction ends ...
    let held = locks_after(&mut c, "ALTER TABLE u DROP CONSTRAINT u_a_key", "u");
    assert!(held.iter().any(|m| m == "AccessExclusiveLock"), "{held:?}");
    let held = locks_after(&mut c, "DROP INDEX u_n", "u");
    assert!(held.iter().any(|m| m == "AccessExclusiveLock"), "{held:?}");
    // ... and the wider index cannot fail, NULLs in the key included.
    assert!(succeeds(&mut c, "CREATE UNIQUE INDEX u_ab ON u (a, b)"));
    let widen =
        "ALTER TABLE u DROP CONSTRAINT u_a_key;\nCREATE UNIQUE INDEX u_ab ON u (b, a) WHERE b > 0;";
    assert!(succeeds(&mut c, widen));
    let widen_n = "DROP INDEX u_n;\nCREATE UNIQUE INDEX u_nb ON u (n, b);";
    assert!(succeeds(&mut c, widen_n));
    // A NULLS NOT DISTINCT index can: the NULL rows now clash.
    assert!(!succeeds(
        &mut c,
        "CREATE UNIQUE INDEX u_ab ON u (a, b) NULLS NOT DISTINCT"
    ));
    // So can one after a write of the transaction, or after a type change
    // that rounds values together, between the drop and the index.
    assert!(!succeeds(
        &mut c,
        "ALTER TABLE u DROP CONSTRAINT u_a_key;\nINSERT INTO u VALUES (2000, 5, 5, 0);\nCREATE UNIQUE INDEX u_ab ON u (a, b);"
    ));
    assert!(!succeeds(
        &mut c,
        "DROP INDEX u_n;\nALTER TABLE u ALTER COLUMN n TYPE numeric(10,0);\nCREATE UNIQUE INDEX u_nb ON u (n, b);"
    ));
    // A partial key proves the rows it left out only where they hold a
    // NULL in the new index: q's rows outside q_ab have b NULL.
    c.batch_execute(
        "CREATE TABLE q (a int, b int, deleted_at timestamptz);\n\
         INSERT INTO q VALUES (1, NULL, NULL), (1, NULL, NULL), (1, 1, NULL), (1, 1, now());\n\
         CREATE UNIQUE INDEX q_ab ON q (a, b) WHERE ((b IS NOT NULL) AND (deleted_at IS NULL));",
    )
    .unwrap();
    let live =
        "DROP INDEX q_ab;\nCREATE UNIQUE INDEX q_ab2 ON q (a, b) WHERE (deleted_at IS NULL);";
    assert!(succeeds(&mut c, live));
    assert!(!succeeds(
        &mut c,
        &live.replace("(a, b)", "(a, b) NULLS NOT DISTINCT")
    ));
    assert!(!succeeds(
        &mut c,
        "DROP INDEX q_ab;\nCREATE UNIQUE INDEX q_ab2 ON q (a, b);"
    ));
    // A column added with no default is NULL in every row: any unique
    // index holding it succeeds (u's b repeats); with a default it can fail.
    assert!(succeeds(
        &mut c,
        "ALTER TABLE u ADD COLUMN x text;\nCREATE UNIQUE INDEX u_bx ON u (b, x);"
    ));
    assert!(!succeeds(
        &mut c,
        "ALTER TABLE u ADD COLUMN x text DEFAULT 'x';\nCREATE UNIQUE INDEX u_bx ON u (b, x);"
    ));
    // A NOT NULL column without a default fails on a table with rows, so
    // after it succeeded the table was empty.
    assert!(!succeeds(
        &mut c,
        "ALTER TABLE u ADD COLUMN k text NOT NULL"
    ));
    c.batch_execute("CREATE TABLE e (a int);").unwrap();
    assert!(succeeds(
        &mut c,
        "ALTER TABLE e ADD COLUMN k text NOT NULL;\nCREATE UNIQUE INDEX e_a ON e (a);"
    ));
    // A partial unique index says nothing of the other rows, and a
    // DEFERRABLE key lets duplicates stand until commit.
    assert!(!succeeds(&mut c, "CREATE UNIQUE INDEX p_ab ON p (a, b)"));
    assert!(succeeds(&mut c, "CREATE UNIQUE INDEX d_ab ON d (a, b)"));
    assert!(!succeeds(
        &mut c,
        "INSERT INTO d VALUES (1, 1);\nCREATE UNIQUE INDEX d_ab ON d (a, b);"
    ));
}
