//! Every lock and transaction claim the lock rules make, checked against a
//! real PostgreSQL (a throwaway cluster from the local server binaries):
//! the locks a statement's own backend holds (`pg_locks` joined to
//! `pg_class`, inside a transaction), and what PostgreSQL does with
//! `CONCURRENTLY` and nested transaction control.

mod common;

use postgres::Client;

fn db() -> Option<(migguard::devdb::Cluster, Client)> {
    if migguard::devdb::find_binaries().is_none() {
        common::say("skipped: no PostgreSQL server binaries to check the lock claims on");
        return None;
    }
    let cluster = migguard::devdb::Cluster::start().unwrap();
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
