//! `migguard trace` on a real PostgreSQL (a throwaway cluster from the local
//! server binaries): what each new migration's statements lock, rewrite,
//! build and validate, and how the measurement confirms, drops or adds the
//! lock rules' findings.

mod common;

use common::GitRepo;
use serde_json::Value;

const BASE: &str = "CREATE TABLE orgs (id bigint PRIMARY KEY);\n\
CREATE TABLE users (id bigint PRIMARY KEY, email varchar(100), name text, org_id bigint);\n\
INSERT INTO orgs SELECT g FROM generate_series(1, 10) g;\n\
INSERT INTO users SELECT g, 'u' || g, 'n', 1 FROM generate_series(1, 1000) g;\n";

/// A new migration whose line 2 rewrites `users`.
const REWRITE: (&str, &str) = (
    "20240201000000_types.sql",
    "SET lock_timeout = '5s';\nALTER TABLE users ALTER COLUMN org_id TYPE text;\n",
);

/// A repository whose base commits `base` under `migrations/`, with `new`
/// staged there as new migrations.
fn repo(base: &[(&str, &str)], new: &[(&str, &str)]) -> GitRepo {
    let g = GitRepo::new();
    for (name, sql) in base {
        g.write(&format!("migrations/{name}"), sql);
    }
    g.commit_all("base");
    for (name, sql) in new {
        g.write(&format!("migrations/{name}"), sql);
    }
    g.stage_all();
    g
}

/// The JSON report of `migguard ARGS --format json` in `g` (exit 0 or 1),
/// with `MIGGUARD_CACHE_DIR` set to `cache` when given.
fn report(g: &GitRepo, args: &[&str], cache: Option<&std::ffi::OsStr>) -> Value {
    let mut cmd = g.migguard();
    if let Some(cache) = cache {
        cmd.env("MIGGUARD_CACHE_DIR", cache);
    }
    let out = cmd.args(args).args(["--format", "json"]).output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `migguard trace` on a repository whose base has `BASE` (atlas format),
/// with `new` staged.
fn trace(new: &[(&str, &str)]) -> Value {
    let base = [("20240101000000_base.sql", BASE)];
    report(&repo(&base, new), &["trace"], None)
}

fn statement(report: &Value, migration: usize, line: u64) -> &Value {
    report["traces"][migration]["statements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["line"] == line)
        .unwrap_or_else(|| panic!("no statement at line {line}: {report:#}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// (rule, line, measured) of each finding.
fn findings(report: &Value) -> Vec<(String, u64, bool)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap_or(0),
                f["measured"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

fn has_lock(st: &Value, relation: &str, mode: &str) -> bool {
    st["locks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["relation"] == relation && l["mode"] == mode)
}

#[test]
fn type_changes_that_rewrite_and_that_do_not() {
    if !common::have_postgres() {
        return;
    }
    let r = trace(&[(
        "20240201000000_types.sql",
        "SET lock_timeout = '5s';\n\
         ALTER TABLE users ALTER COLUMN org_id TYPE text;\n\
         ALTER TABLE users ALTER COLUMN email TYPE text USING email;\n",
    )]);
    let rewrite = statement(&r, 0, 2);
    assert_eq!(
        strings(&rewrite["rewritten"]),
        ["public.users", "public.users_pkey"]
    );
    assert!(has_lock(rewrite, "public.users", "AccessExclusiveLock"));
    assert_eq!(rewrite["locks"][0]["blocks"], "reads and writes");
    let relabel = statement(&r, 0, 3);
    assert!(strings(&relabel["rewritten"]).is_empty(), "{r:#}");
    // The static rule guessed a rewrite for the USING clause; PostgreSQL
    // showed none, so that finding is dropped, and the real one measured.
    assert_eq!(
        findings(&r),
        [("table-rewrite".to_string(), 2, true)],
        "{r:#}"
    );
    assert!(
        notes(&r)
            .iter()
            .any(|n| n.contains("1 lock or rewrite finding(s) dropped")),
        "{r:#}"
    );
}

#[test]
fn index_builds_with_and_without_concurrently() {
    if !common::have_postgres() {
        return;
    }
    let r = trace(&[
        (
            "20240201000000_plain.sql",
            "SET lock_timeout = '5s';\nCREATE INDEX users_email_idx ON users (email);\n",
        ),
        (
            "20240202000000_concurrent.sql",
            "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY users_name_idx ON users (name);\n",
        ),
    ]);
    let plain = statement(&r, 0, 2);
    assert!(has_lock(plain, "public.users", "ShareLock"), "{r:#}");
    assert_eq!(
        strings(&plain["indexes_built"]),
        ["public.users_email_idx on public.users"]
    );
    let concurrent = statement(&r, 1, 3);
    assert_eq!(concurrent["in_transaction"], false);
    assert_eq!(
        strings(&concurrent["indexes_built"]),
        ["public.users_name_idx on public.users"]
    );
    assert_eq!(
        r["traces"][1]["ran"],
        "outside a transaction, statement by statement"
    );
    assert_eq!(findings(&r), [("index-lock".to_string(), 2, true)], "{r:#}");
}

#[test]
fn a_goose_no_transaction_file_runs_statement_by_statement() {
    if !common::have_postgres() {
        return;
    }
    let base = format!("-- +goose Up\n{BASE}-- +goose Down\nDROP TABLE users;\n");
    let g = repo(
        &[("00001_base.sql", &base)],
        &[(
            "00002_index.sql",
            "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n-- +goose Down\nDROP INDEX users_email_idx;\n",
        )],
    );
    let r = report(&g, &["trace"], None);
    assert_eq!(
        r["traces"][0]["ran"], "outside a transaction, statement by statement",
        "{r:#}"
    );
    let st = statement(&r, 0, 3);
    assert_eq!(st["in_transaction"], false);
    assert_eq!(
        strings(&st["indexes_built"]),
        ["public.users_email_idx on public.users"]
    );
    assert!(findings(&r).is_empty(), "{r:#}");
}

#[test]
fn foreign_keys_with_and_without_not_valid() {
    if !common::have_postgres() {
        return;
    }
    let r = trace(&[(
        "20240201000000_fk.sql",
        "SET lock_timeout = '5s';\n\
         ALTER TABLE users ADD CONSTRAINT users_org_fk FOREIGN KEY (org_id) REFERENCES orgs (id) NOT VALID;\n\
         ALTER TABLE users ADD CONSTRAINT users_org_fk2 FOREIGN KEY (org_id) REFERENCES orgs (id);\n",
    )]);
    let not_valid = statement(&r, 0, 2);
    assert!(
        has_lock(not_valid, "public.users", "ShareRowExclusiveLock"),
        "{r:#}"
    );
    assert!(
        has_lock(not_valid, "public.orgs", "ShareRowExclusiveLock"),
        "{r:#}"
    );
    assert!(strings(&not_valid["constraints_validated"]).is_empty());
    let valid = statement(&r, 0, 3);
    assert_eq!(
        strings(&valid["constraints_validated"]),
        ["users_org_fk2 on public.users"]
    );
    assert_eq!(
        findings(&r),
        [("constraint-validation-lock".to_string(), 3, true)],
        "{r:#}"
    );
}

#[test]
fn tables_the_change_creates_are_not_reported() {
    if !common::have_postgres() {
        return;
    }
    let r = trace(&[(
        "20240201000000_new_table.sql",
        "CREATE TABLE items (id bigint, sku text);\n\
         CREATE INDEX items_sku ON items (sku);\n\
         ALTER TABLE items ALTER COLUMN id TYPE text;\n",
    )]);
    for line in 1..=3 {
        let st = statement(&r, 0, line);
        assert!(st["locks"].as_array().unwrap().is_empty(), "{r:#}");
        assert!(strings(&st["rewritten"]).is_empty());
        assert!(strings(&st["indexes_built"]).is_empty());
    }
    assert!(findings(&r).is_empty(), "{r:#}");
}

#[test]
fn a_rewrite_no_rule_predicted_is_a_measured_finding() {
    if !common::have_postgres() {
        return;
    }
    // The rewrite happens inside a DO block, which no static rule reads.
    let r = trace(&[(
        "20240201000000_dynamic.sql",
        "SET lock_timeout = '5s';\n\
         DO $$ BEGIN EXECUTE 'ALTER TABLE users ALTER COLUMN org_id TYPE text'; END $$;\n",
    )]);
    assert_eq!(
        strings(&statement(&r, 0, 2)["rewritten"]),
        ["public.users", "public.users_pkey"]
    );
    assert_eq!(
        findings(&r),
        [("table-rewrite".to_string(), 2, true)],
        "{r:#}"
    );
    let f = &r["findings"][0];
    assert!(f["message"].as_str().unwrap().contains("measured"), "{f:#}");
}

#[test]
fn check_trace_puts_the_measurements_in_the_one_report() {
    if !common::have_postgres() {
        return;
    }
    let g = repo(
        &[("20240101000000_base.sql", BASE)],
        &[(
            "20240201000000_types.sql",
            "ALTER TABLE users ALTER COLUMN org_id TYPE text;\n",
        )],
    );
    let r = report(&g, &["check", "--trace"], None);
    assert_eq!(r["traces"].as_array().unwrap().len(), 1, "{r:#}");
    let measured: Vec<(String, u64, bool)> = findings(&r)
        .into_iter()
        .filter(|(rule, _, _)| rule == "table-rewrite" || rule == "lock-timeout")
        .collect();
    assert_eq!(
        measured,
        [
            ("lock-timeout".to_string(), 1, true),
            ("table-rewrite".to_string(), 1, true)
        ],
        "{r:#}"
    );
    // Without a new migration nothing starts and the summary says so.
    g.commit_all("types");
    let r = report(&g, &["check", "--trace"], None);
    assert!(r["traces"].is_null(), "{r:#}");
    assert!(
        notes(&r)
            .iter()
            .any(|n| n.starts_with("nothing traced in migrations")),
        "{r:#}"
    );
}

/// The notes of a JSON report.
fn notes(report: &Value) -> Vec<String> {
    strings(&report["summary"]["notes"])
}

fn has_note(report: &Value, note: &str) -> bool {
    notes(report).iter().any(|n| n == note)
}

fn trace_in(g: &GitRepo, cache: &std::path::Path) -> Value {
    report(g, &["trace"], Some(cache.as_os_str()))
}

fn base_states(cache: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(cache)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains("-base-"))
        .collect();
    v.sort();
    v
}

#[test]
fn the_base_state_is_cached_extended_and_invalidated() {
    if !common::have_postgres() {
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let g = repo(
        &[
            ("20240101000000_base.sql", BASE),
            (
                "20240102000000_more.sql",
                "CREATE TABLE teams (id bigint PRIMARY KEY);\n",
            ),
        ],
        &[(
            "20240201000000_index.sql",
            "SET lock_timeout = '5s';\nCREATE INDEX users_email_idx ON users (email);\n",
        )],
    );
    let first = trace_in(&g, cache.path());
    assert!(
        has_note(
            &first,
            "trace: the 2 created migration(s) were replayed and their state cached"
        ),
        "{first:#}"
    );
    assert_eq!(base_states(cache.path()).len(), 1);
    // Unchanged base: a hit, and the same measurement.
    let second = trace_in(&g, cache.path());
    assert!(
        has_note(
            &second,
            "trace: the 2 created migration(s) came from the cached base state"
        ),
        "{second:#}"
    );
    assert_eq!(
        first["traces"][0]["statements"][1]["locks"],
        second["traces"][0]["statements"][1]["locks"]
    );
    assert_eq!(findings(&second), [("index-lock".to_string(), 2, true)]);
    // The base grew by one migration: its old prefix is used.
    g.commit_all("index");
    g.write(
        "migrations/20240301000000_check.sql",
        "SET lock_timeout = '5s';\nALTER TABLE users ADD CONSTRAINT users_id_pos CHECK (id > 0);\n",
    );
    g.stage_all();
    let grown = trace_in(&g, cache.path());
    assert!(
        has_note(
            &grown,
            "trace: 2 of the 3 created migration(s) came from the cached base state, 1 were applied and the state cached"
        ),
        "{grown:#}"
    );
    assert_eq!(
        findings(&grown),
        [("constraint-validation-lock".to_string(), 2, true)]
    );
    // A created migration edited: nothing cached matches it any more.
    g.write(
        "migrations/20240101000000_base.sql",
        format!("{BASE}CREATE TABLE extra (id int);\n"),
    );
    g.stage_all();
    let edited = trace_in(&g, cache.path());
    assert!(
        has_note(
            &edited,
            "trace: the 3 created migration(s) were replayed and their state cached"
        ),
        "{edited:#}"
    );
}

#[test]
fn a_corrupted_base_state_is_rebuilt() {
    if !common::have_postgres() {
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let g = repo(&[("20240101000000_base.sql", BASE)], &[REWRITE]);
    trace_in(&g, cache.path());
    let states = base_states(cache.path());
    assert_eq!(states.len(), 1);
    // A state cut short (a disk that filled up): nothing starts from it.
    let bytes = std::fs::read(&states[0]).unwrap();
    std::fs::write(&states[0], &bytes[..bytes.len() / 2]).unwrap();
    let r = trace_in(&g, cache.path());
    assert!(
        has_note(
            &r,
            "trace: the 1 created migration(s) were replayed and their state cached"
        ),
        "{r:#}"
    );
    assert_eq!(findings(&r), [("table-rewrite".to_string(), 2, true)]);
    let again = trace_in(&g, cache.path());
    assert!(
        has_note(
            &again,
            "trace: the 1 created migration(s) came from the cached base state"
        ),
        "{again:#}"
    );
}

#[test]
fn no_cache_folder_means_no_base_state() {
    if !common::have_postgres() {
        return;
    }
    let g = repo(&[("20240101000000_base.sql", BASE)], &[REWRITE]);
    let r = report(&g, &["trace"], Some("".as_ref()));
    assert_eq!(
        findings(&r),
        [("table-rewrite".to_string(), 2, true)],
        "{r:#}"
    );
    assert!(
        has_note(&r, "trace: the 1 created migration(s) were replayed (no cache folder: MIGGUARD_CACHE_DIR is empty)"),
        "{r:#}"
    );
}

#[test]
fn indexes_kept_over_their_storage_or_built_under_an_earlier_lock_add_nothing() {
    if !common::have_postgres() {
        return;
    }
    // Line 3 re-creates users_email_idx over its old file (varchar to text
    // keeps the operator class): nothing is built, and no index-lock finding
    // is measured there. Line 5's build is the static rule's finding, run
    // under the ACCESS EXCLUSIVE lock line 3 took.
    let r = trace(&[(
        "20240201000000_index.sql",
        "SET lock_timeout = '5s';\n\
         CREATE INDEX users_email_idx ON users (email);\n\
         ALTER TABLE users ALTER COLUMN email TYPE text;\n\
         ALTER TABLE users ADD COLUMN nick text;\n\
         CREATE INDEX users_nick_idx ON users (nick);\n",
    )]);
    assert!(
        strings(&statement(&r, 0, 3)["indexes_built"]).is_empty(),
        "{r:#}"
    );
    assert_eq!(
        strings(&statement(&r, 0, 5)["indexes_built"]),
        ["public.users_nick_idx on public.users"]
    );
    assert_eq!(
        findings(&r),
        [
            ("index-lock".to_string(), 2, true),
            ("index-lock".to_string(), 5, true)
        ],
        "{r:#}"
    );
    let line5 = r["findings"][1]["message"].as_str().unwrap();
    assert!(
        line5.contains(
            "AccessExclusiveLock on public.users (blocks reads and writes, held since line 3)"
        ),
        "{line5}"
    );
}

#[test]
fn txmode_none_files_run_statement_by_statement_as_atlas_runs_them() {
    if !common::have_postgres() {
        return;
    }
    // A created migration with a concurrent build applies (it fails as one
    // query), and a new one whose DO block commits runs on its own.
    let g = repo(
        &[
            ("20240101000000_base.sql", BASE),
            (
                "20240102000000_index.sql",
                "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY users_name_idx ON users (name);\nSELECT 1;\n",
            ),
        ],
        &[(
            "20240201000000_backfill.sql",
            "-- atlas:txmode none\n\nSET lock_timeout = '5s';\nDO $$ BEGIN UPDATE users SET name = 'x' WHERE id < 10; COMMIT; END $$;\nALTER TABLE users ADD COLUMN nick text;\n",
        )],
    );
    let r = report(&g, &["trace"], None);
    let st = statement(&r, 0, 4);
    assert!(st["error"].is_null(), "{r:#}");
    assert_eq!(st["in_transaction"], false);
    assert_eq!(statement(&r, 0, 5)["in_transaction"], true);
}

/// The databases of `server` whose names start with `prefix`.
fn databases(client: &mut postgres::Client, prefix: &str) -> Vec<String> {
    client
        .query(
            "SELECT datname::text FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1",
            &[&prefix],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn a_dev_url_server_keeps_base_states_only_when_asked() {
    if !common::have_postgres() {
        return;
    }
    let cluster = migguard::Cluster::start().unwrap();
    let mut admin = cluster.server().connect("postgres").unwrap();
    let url = format!(
        "postgres:///postgres?user=postgres&host={}",
        cluster.socket_dir().display()
    );
    let g = repo(&[("20240101000000_base.sql", BASE)], &[REWRITE]);
    let run = |extra: &[&str]| {
        let mut args = vec!["trace", "--dev-url", url.as_str()];
        args.extend(extra);
        report(&g, &args, None)
    };
    // Not asked: nothing stays on the server.
    let r = run(&[]);
    assert_eq!(
        findings(&r),
        [("table-rewrite".to_string(), 2, true)],
        "{r:#}"
    );
    assert!(
        has_note(&r, "trace: the 1 created migration(s) were replayed (no base-state cache on a --dev-url server without --server-cache)"),
        "{r:#}"
    );
    assert_eq!(databases(&mut admin, "migguard_base"), Vec::<String>::new());
    assert_eq!(
        databases(&mut admin, "migguard_trace"),
        Vec::<String>::new()
    );
    // Four states of other bases, used long ago.
    for i in 1..=4 {
        admin
            .batch_execute(&format!(
                "CREATE DATABASE migguard_base_old{i} TEMPLATE template0"
            ))
            .unwrap();
        admin
            .batch_execute(&format!(
                "COMMENT ON DATABASE migguard_base_old{i} IS 'migguard base state, used {i}'"
            ))
            .unwrap();
    }
    // Asked: a template database keeps the base state, the least recently
    // used one goes, and the next run starts from it.
    let r = run(&["--server-cache"]);
    assert!(
        has_note(
            &r,
            "trace: the 1 created migration(s) were replayed and their state cached"
        ),
        "{r:#}"
    );
    let states = databases(&mut admin, "migguard_base");
    assert_eq!(states.len(), 4, "{states:?}");
    let (old, kept): (Vec<String>, Vec<String>) = states
        .iter()
        .cloned()
        .partition(|d| d.starts_with("migguard_base_old"));
    assert_eq!(
        old,
        [
            "migguard_base_old2",
            "migguard_base_old3",
            "migguard_base_old4"
        ]
    );
    let r = run(&["--server-cache"]);
    assert!(
        has_note(
            &r,
            "trace: the 1 created migration(s) came from the cached base state"
        ),
        "{r:#}"
    );
    assert_eq!(
        findings(&r),
        [("table-rewrite".to_string(), 2, true)],
        "{r:#}"
    );
    // A template some session is connected to cannot be copied: the base
    // is replayed, nothing is dropped, and the named database is untouched.
    admin
        .batch_execute(&format!(
            "ALTER DATABASE \"{}\" ALLOW_CONNECTIONS true",
            kept[0]
        ))
        .unwrap();
    let holder = cluster.server().connect(&kept[0]).unwrap();
    let r = run(&["--server-cache"]);
    assert!(
        has_note(
            &r,
            "trace: the 1 created migration(s) were replayed and their state cached"
        ),
        "{r:#}"
    );
    drop(holder);
    assert_eq!(databases(&mut admin, "migguard_base"), states);
    assert_eq!(
        databases(&mut admin, "migguard_trace"),
        Vec::<String>::new()
    );
    let tables: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 0);
}

/// `migguard trace --contention --contention-wait 1` on `new`, and how long
/// it took.
fn contention(new: &[(&str, &str)]) -> (Value, std::time::Duration) {
    let g = repo(&[("20240101000000_base.sql", BASE)], new);
    let start = std::time::Instant::now();
    let r = report(
        &g,
        &["trace", "--contention", "--contention-wait", "1"],
        None,
    );
    (r, start.elapsed())
}

#[test]
fn a_statement_behind_a_long_read_queues_and_readers_queue_behind_it() {
    if !common::have_postgres() {
        return;
    }
    let (r, took) = contention(&[(
        "20240201000000_nick.sql",
        "ALTER TABLE users ADD COLUMN nick text;\n",
    )]);
    let c = &statement(&r, 0, 1)["contention"];
    assert_eq!(c["table"], "public.users", "{r:#}");
    assert!(c["waited_ms"].as_f64().unwrap() >= 800.0, "{c:#}");
    assert_eq!(c["cancelled"], false, "{c:#}");
    assert_eq!(c["lock_timeout"], Value::Null, "{c:#}");
    assert_eq!(c["reader_queued"], true, "{c:#}");
    assert!(c["reader_waited_ms"].as_f64().unwrap() >= 500.0, "{c:#}");
    // Bounded: the read is held for 1 s, whatever the statement does.
    assert!(took < std::time::Duration::from_secs(20), "{took:?}");
    // The human report says it in words.
    let g = repo(
        &[("20240101000000_base.sql", BASE)],
        &[(
            "20240201000000_nick.sql",
            "ALTER TABLE users ADD COLUMN nick text;\n",
        )],
    );
    let out = g
        .migguard()
        .args(["trace", "--contention", "--contention-wait", "1"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("line 1 behind a long read of public.users: it waited")
            && text.contains(
                "with no lock_timeout it waits, and readers with it, as long as the read lasts"
            ),
        "{text}"
    );
}

#[test]
fn a_lock_timeout_cancels_the_wait_and_the_trace_goes_on() {
    if !common::have_postgres() {
        return;
    }
    let (r, _) = contention(&[(
        "20240201000000_nick.sql",
        "SET lock_timeout = '300ms';\nALTER TABLE users ADD COLUMN nick text;\nCREATE INDEX users_nick ON users (nick);\n",
    )]);
    let c = &statement(&r, 0, 2)["contention"];
    assert_eq!(c["cancelled"], true, "{c:#}");
    assert_eq!(c["lock_timeout"], "300ms", "{c:#}");
    let waited = c["waited_ms"].as_f64().unwrap();
    assert!((250.0..900.0).contains(&waited), "{c:#}");
    // The index build after it runs under line 2's ACCESS EXCLUSIVE lock:
    // readers already wait, nothing more to measure.
    let c3 = &statement(&r, 0, 3)["contention"];
    assert_eq!(c3["blocked_since"], 2, "{r:#}");
}

#[test]
fn a_share_lock_lets_the_read_and_readers_go_on() {
    if !common::have_postgres() {
        return;
    }
    let (r, _) = contention(&[(
        "20240201000000_idx.sql",
        "SET lock_timeout = '1s';\nCREATE INDEX users_email_idx ON users (email);\n",
    )]);
    let c = &statement(&r, 0, 2)["contention"];
    assert_eq!(c["waited_ms"], 0.0, "{c:#}");
    assert_eq!(c["reader_queued"], false, "{c:#}");
    assert_eq!(c["cancelled"], false, "{c:#}");
}

#[test]
fn a_bad_contention_wait_is_exit_2_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("migguard")
        .unwrap()
        .current_dir(dir.path())
        .args(["trace", "--contention", "--contention-wait", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--contention-wait 0: give a number of seconds above 0"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
