//! `migguard parity` on a real PostgreSQL: each run starts its own throwaway
//! cluster from the local binaries (skipped, with the reason printed, when
//! there are none).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{findings, GitRepo, DIR};

use common::{view_repo as repo, VIEW};

fn parity(g: &GitRepo, args: &[&str]) -> (i32, Vec<common::Found>, String) {
    let out = g
        .migguard()
        .args(["parity", "--format", "json"])
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let found = if out.stdout.is_empty() {
        Vec::new()
    } else {
        findings(&out)
    };
    (code, found, stderr)
}

#[test]
fn a_clean_fixture_passes() {
    if !common::have_postgres() {
        return;
    }
    let g = repo(&format!("-- generated\n{VIEW}"));
    let (code, f, err) = parity(&g, &[]);
    assert_eq!((code, f.len()), (0, 0), "{f:?} {err}");
}

#[test]
fn a_changed_view_column_fails() {
    if !common::have_postgres() {
        return;
    }
    let g = repo("CREATE VIEW \"customer_names\" AS SELECT \"id\", \"name\"::varchar AS \"name\" FROM \"customers\" WHERE (\"deleted_at\" IS NULL);\n");
    let (code, f, err) = parity(&g, &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].0, "view-parity");
    assert_eq!(f[0].1, "tools/migrate/views.sql");
    assert!(
        f[0].3.contains("other columns") && f[0].3.contains("name"),
        "{f:?}"
    );
}

#[test]
fn a_changed_view_body_with_the_same_columns_fails() {
    if !common::have_postgres() {
        return;
    }
    let g = repo("CREATE VIEW \"customer_names\" AS SELECT \"id\", \"name\" FROM \"customers\";\n");
    let (code, f, _) = parity(&g, &[]);
    assert_eq!(code, 1);
    assert!(
        f[0].3.contains("same columns but another definition"),
        "{f:?}"
    );
}

#[test]
fn a_broken_migration_is_reported_with_its_line() {
    if !common::have_postgres() {
        return;
    }
    let g = repo(VIEW);
    g.add_migration(
        "20240201000000_broken",
        "ALTER TABLE \"customers\" ADD COLUMN \"email\" text;\n\nALTER TABLE \"no_such_table\" ADD COLUMN \"x\" int;\n",
    );
    let (code, f, _) = parity(&g, &[]);
    assert_eq!(code, 1);
    assert_eq!(f[0].1, format!("{DIR}/20240201000000_broken.up.sql"));
    assert_eq!(f[0].2, Some(3), "{f:?}");
    assert!(f[0].3.contains("no_such_table"), "{f:?}");
}

#[test]
fn an_unreachable_server_is_exit_2_without_the_password() {
    let g = repo(VIEW);
    let (code, _, err) = parity(&g, &["--dev-url", "postgres://u:s3cret@127.0.0.1:1/db"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("127.0.0.1:1"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    let (code, _, err) = parity(&g, &["--dev-url", "docker://postgres/15/dev"]);
    assert_eq!(code, 2);
    assert!(err.contains("--dev-url postgres://"), "{err}");
}

/// Clusters left in `tmp` (the child's own TMPDIR, so tests running in
/// parallel do not see each other's clusters).
fn leftover_clusters(tmp: &std::path::Path) -> BTreeSet<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("migguard-pg-"))
        .collect()
}

#[test]
fn interrupted_runs_remove_their_cluster() {
    if !common::have_postgres() {
        return;
    }
    let g = repo(VIEW);
    g.add_migration("20240201000000_slow", "SELECT pg_sleep(20);\n");
    let tmp = tempfile::tempdir().unwrap();
    // The postgres user must be able to reach the cluster folder inside it.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("migguard"))
        .arg("parity")
        .current_dir(g.repo.path())
        .env("TMPDIR", tmp.path())
        .env(
            "MIGGUARD_CACHE_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/migguard-cache"),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the cluster is up and applying the slow migration.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while leftover_clusters(tmp.path()).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !leftover_clusters(tmp.path()).is_empty(),
        "the cluster never started"
    );
    std::thread::sleep(Duration::from_secs(3));
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !leftover_clusters(tmp.path()).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        leftover_clusters(tmp.path()).is_empty(),
        "the throwaway cluster was left behind"
    );
}

#[test]
fn openmeter_parity_passes() {
    if !common::have_postgres() {
        return;
    }
    let Some(g) = common::openmeter_repo() else {
        return;
    };
    let (code, f, err) = parity(&g, &[]);
    assert_eq!((code, f.len()), (0, 0), "{f:?} {err}");
}

/// The templates in a cache folder.
fn templates(cache: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(cache)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("pg-template-") && !n.contains(".tmp"))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_cluster_template_is_cached_and_a_broken_one_is_made_again() {
    if !common::have_postgres() {
        return;
    }
    let g = repo(VIEW);
    let cache = tempfile::tempdir().unwrap();
    let run = |cache: &std::path::Path| {
        let out = g
            .migguard()
            .args(["parity", "-q"])
            .env("MIGGUARD_CACHE_DIR", cache)
            .env("MIGGUARD_TRACE", "1")
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(0), "{err}");
        err
    };
    // First run: initdb, then the template is saved.
    let err = run(cache.path());
    assert!(
        err.contains("] initdb") && err.contains("save the template"),
        "{err}"
    );
    let saved = templates(cache.path());
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert!(saved[0].join("PG_VERSION").is_file());
    // Second run: copied, no initdb.
    let err = run(cache.path());
    assert!(err.contains("copy the cached template"), "{err}");
    assert!(!err.contains("] initdb"), "{err}");
    // A template that cannot start is thrown away and made again.
    std::fs::write(saved[0].join("global/pg_control"), b"garbage").unwrap();
    let err = run(cache.path());
    assert!(
        err.contains("copy the cached template") && err.contains("] initdb"),
        "{err}"
    );
    assert_eq!(
        std::fs::metadata(saved[0].join("global/pg_control"))
            .unwrap()
            .len(),
        8192,
        "the template was not made again"
    );
    // An empty MIGGUARD_CACHE_DIR turns the cache off.
    let off = tempfile::tempdir().unwrap();
    let out = g
        .migguard()
        .args(["parity", "-q"])
        .env("MIGGUARD_CACHE_DIR", "")
        .env("HOME", off.path())
        .env("XDG_CACHE_HOME", off.path())
        .env("MIGGUARD_TRACE", "1")
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("save the template"), "{err}");
    assert_eq!(std::fs::read_dir(off.path()).unwrap().count(), 0);
}

// --- parity --roundtrip --base REV ---------------------------------------

/// The repository of `repo(VIEW)` committed and tagged `base`, then a new
/// migration with the given up and down.
fn with_new_migration(up: &str, down: Option<&str>) -> GitRepo {
    let g = repo(VIEW);
    g.commit_all("base");
    g.git(&["tag", "base"]);
    g.add_migration("20240201000000_emails", up);
    match down {
        Some(down) => g.write(&format!("{DIR}/20240201000000_emails.down.sql"), down),
        None => {
            g.repo
                .remove(&format!("{DIR}/20240201000000_emails.down.sql"));
            &g
        }
    };
    g
}

const NEW_DOWN: &str = "tools/migrate/migrations/20240201000000_emails.down.sql";
const NEW_UP: &str = "tools/migrate/migrations/20240201000000_emails.up.sql";

const EMAILS_UP: &str = "ALTER TABLE \"customers\" ADD COLUMN \"email\" text NULL;\n\
CREATE INDEX \"customers_name_idx\" ON \"customers\" (\"name\");\n\
ALTER TABLE \"customers\" ADD CONSTRAINT \"customers_name_check\" CHECK (\"name\" <> '');\n\
CREATE TABLE \"emails\" (\"id\" bigint GENERATED BY DEFAULT AS IDENTITY, \"customer_id\" character(26) NOT NULL REFERENCES \"customers\" (\"id\"), \"deleted_at\" timestamptz NULL, PRIMARY KEY (\"id\"));\n";

#[test]
fn roundtrip_passes_on_a_correct_down() {
    if !common::have_postgres() {
        return;
    }
    let g = with_new_migration(
        EMAILS_UP,
        Some("DROP TABLE \"emails\";\nALTER TABLE \"customers\" DROP CONSTRAINT \"customers_name_check\";\nDROP INDEX \"customers_name_idx\";\nALTER TABLE \"customers\" DROP COLUMN \"email\";\n"),
    );
    // The base's own migration has a down that undoes nothing: it is not
    // new, so it is not checked.
    let (code, f, err) = parity(&g, &["--roundtrip", "--base", "base"]);
    assert_eq!((code, f.len()), (0, 0), "{f:?} {err}");
}

#[test]
fn roundtrip_fails_on_a_down_that_forgets_to_drop_an_index() {
    if !common::have_postgres() {
        return;
    }
    let g = with_new_migration(
        EMAILS_UP,
        Some("DROP TABLE \"emails\";\nALTER TABLE \"customers\" DROP CONSTRAINT \"customers_name_check\";\nALTER TABLE \"customers\" DROP COLUMN \"email\";\n"),
    );
    let (code, f, err) = parity(&g, &["--roundtrip", "--base", "base"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].0.as_str(), f[0].1.as_str()),
        ("down-roundtrip", NEW_DOWN)
    );
    assert!(
        f[0].3
            .contains("index public.customers_name_idx is left behind by the down")
            && f[0]
                .3
                .contains("CREATE INDEX customers_name_idx ON public.customers USING btree (name)"),
        "{f:?}"
    );
    // Only the index: the rest was undone.
    assert!(
        !f[0].3.contains("public.emails") && !f[0].3.contains("customers_name_check"),
        "{f:?}"
    );
}

#[test]
fn roundtrip_lists_what_the_down_changes_or_removes() {
    if !common::have_postgres() {
        return;
    }
    let g = with_new_migration(
        "ALTER TABLE \"customers\" ALTER COLUMN \"name\" SET DEFAULT 'x';\n",
        Some("ALTER TABLE \"customers\" ALTER COLUMN \"name\" DROP NOT NULL;\nALTER TABLE \"customers\" DROP CONSTRAINT \"customers_pkey\";\n"),
    );
    let (code, f, err) = parity(
        &g,
        &["--roundtrip", "--base", "base", "--rule", "down-roundtrip"],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(f.len(), 1, "{f:?}");
    let m = &f[0].3;
    assert!(
        m.contains("column public.customers.name was `text NOT NULL`, is `text DEFAULT 'x'::text`"),
        "{m}"
    );
    assert!(
        m.contains("constraint customers_pkey on public.customers is removed by the down"),
        "{m}"
    );
    assert!(
        m.contains("index public.customers_pkey is removed by the down"),
        "{m}"
    );
}

#[test]
fn roundtrip_reports_a_failing_down_a_missing_down_and_a_second_up_that_fails() {
    if !common::have_postgres() {
        return;
    }
    // A down PostgreSQL refuses: its line.
    let g = with_new_migration(
        "CREATE TABLE \"notes\" (\"id\" int PRIMARY KEY, \"deleted_at\" timestamptz);\n",
        Some("-- undo\nDROP TABLE \"note\";\n"),
    );
    let (code, f, err) = parity(&g, &["--roundtrip", "--base", "base"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].1.as_str(), f[0].2), (NEW_DOWN, Some(2)), "{f:?}");
    assert!(f[0].3.contains("\"note\" does not exist"), "{f:?}");

    // No down at all.
    let g = with_new_migration("CREATE TABLE \"notes\" (\"id\" int PRIMARY KEY);\n", None);
    let (code, f, _) = parity(&g, &["--roundtrip", "--base", "base"]);
    assert_eq!(code, 1);
    assert_eq!(
        (f[0].0.as_str(), f[0].1.as_str()),
        ("down-roundtrip", NEW_UP)
    );
    assert!(f[0].3.contains("no down migration"), "{f:?}");

    // A down that undoes the catalog but not the data the up relies on:
    // the up fails the second time.
    let g = with_new_migration(
        "INSERT INTO \"customers\" (\"id\", \"name\") VALUES ('c1', 'n');\n",
        Some("SELECT 1;\n"),
    );
    let (code, f, err) = parity(&g, &["--roundtrip", "--base", "base"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].1.as_str(), f[0].2), (NEW_UP, Some(1)), "{f:?}");
    assert!(
        f[0].3.contains("applies once but not again") && f[0].3.contains("customers_pkey"),
        "{f:?}"
    );
}

#[test]
fn roundtrip_reads_goose_sections() {
    if !common::have_postgres() {
        return;
    }
    let g = GitRepo::new();
    g.write(
        ".migguard.yaml",
        "migrations:\n  dir: db\n  format: goose\n",
    );
    g.write(
        "db/001_init.sql",
        "-- +goose Up\nCREATE TABLE \"t\" (\"id\" int PRIMARY KEY, \"name\" text);\n-- +goose Down\nDROP TABLE \"t\";\n",
    );
    g.commit_all("base");
    g.write(
        "db/002_idx.sql",
        "-- +goose Up\nCREATE INDEX \"t_name\" ON \"t\" (\"name\");\n-- +goose Down\n-- +goose StatementBegin\nSELECT 1;\n-- +goose StatementEnd\n",
    );
    let (code, f, err) = parity(&g, &["--roundtrip", "--base", "HEAD"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].1, "db/002_idx.sql");
    assert!(
        f[0].3.contains("index public.t_name is left behind"),
        "{f:?}"
    );
    g.write(
        "db/002_idx.sql",
        "-- +goose Up\nCREATE INDEX \"t_name\" ON \"t\" (\"name\");\n-- +goose Down\nDROP INDEX \"t_name\";\n",
    );
    let (code, f, err) = parity(&g, &["--roundtrip", "--base", "HEAD"]);
    assert_eq!((code, f.len()), (0, 0), "{f:?} {err}");
}

#[test]
fn roundtrip_usage_errors_are_exit_2() {
    let g = with_new_migration("SELECT 1;\n", Some("SELECT 1;\n"));
    let (code, _, err) = parity(&g, &["--roundtrip"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--base"), "{err}");
    let (code, _, err) = parity(&g, &["--roundtrip", "--base", "no-such-ref"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no-such-ref"), "{err}");
    let (code, _, err) = parity(
        &g,
        &["--roundtrip", "--base", "base", "--dir-format", "atlas"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("atlas directory format has none"), "{err}");
}

#[test]
fn openmeter_roundtrips_find_the_downs_that_lose_an_index() {
    if !common::have_postgres() {
        return;
    }
    let Some(g) = common::openmeter_repo() else {
        return;
    };
    // Every migration is new since a commit without them (they stay on disk).
    g.git(&[
        "rm",
        "-r",
        "-q",
        "--cached",
        "--ignore-unmatch",
        "tools/migrate/migrations",
    ]);
    g.git(&["commit", "-q", "--allow-empty", "-m", "no migrations"]);
    let (code, f, err) = parity(
        &g,
        &["--roundtrip", "--base", "HEAD", "--rule", "down-roundtrip"],
    );
    assert_eq!(code, 1, "{err}");
    // billing-profile's up drops the column "key", which takes the index
    // billingprofile_namespace_key with it; its down adds the column back
    // but not the index.
    let lost = f
        .iter()
        .find(|x| x.1.ends_with("20240924164504_billing-profile.down.sql"))
        .unwrap_or_else(|| panic!("{f:?}"));
    assert!(
        lost.3.contains(
            "index public.billingprofile_namespace_key is removed by the down but was there before the up"
        ),
        "{lost:?}"
    );
    assert!(f.iter().all(|x| x.0 == "down-roundtrip"), "{f:?}");
}

#[test]
fn a_broken_new_migration_is_reported_once_when_both_checks_run() {
    if !common::have_postgres() {
        return;
    }
    let g = with_new_migration(
        "ALTER TABLE \"no_such_table\" ADD COLUMN \"x\" int;\n",
        Some("SELECT 1;\n"),
    );
    let (code, f, err) = parity(&g, &["--roundtrip", "--base", "base"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].0.as_str(), f[0].1.as_str(), f[0].2),
        ("view-parity", NEW_UP, Some(1))
    );
    // The round trips alone still report it.
    let (code, f, _) = parity(
        &g,
        &["--roundtrip", "--base", "base", "--rule", "down-roundtrip"],
    );
    assert_eq!(code, 1);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].0.as_str(), f[0].2), ("down-roundtrip", Some(1)));
}

/// An initial migration of thousands of tables runs in one transaction: the
/// throwaway cluster's lock table is sized for it.
#[test]
fn a_2500_table_migration_round_trips_in_one_transaction() {
    if !common::have_postgres() {
        return;
    }
    let g = repo(VIEW);
    g.commit_all("base");
    g.git(&["tag", "base"]);
    let mut up = String::new();
    let mut down = String::new();
    for i in 0..2500 {
        up.push_str(&format!(
            "CREATE TABLE \"t{i}\" (\"id\" bigserial NOT NULL, \"name\" text NULL, PRIMARY KEY (\"id\"));\n"
        ));
        down.push_str(&format!("DROP TABLE \"t{i}\";\n"));
    }
    g.add_migration("20240201000000_big", &up);
    g.write(&format!("{DIR}/20240201000000_big.down.sql"), &down);
    let (code, f, err) = parity(
        &g,
        &["--roundtrip", "--base", "base", "--rule", "down-roundtrip"],
    );
    assert_eq!((code, f.len()), (0, 0), "{f:?} {err}");
}

/// When the up fails during a round trip, the finding says the up failed,
/// with PostgreSQL's DETAIL and HINT.
#[test]
fn a_failing_up_in_a_round_trip_is_blamed_on_the_up() {
    if !common::have_postgres() {
        return;
    }
    let g = with_new_migration(
        "ALTER TABLE \"customers\" ADD COLUMN \"age\" int NULL;\nSELECT nosuchfunction(1);\n",
        Some("ALTER TABLE \"customers\" DROP COLUMN \"age\";\n"),
    );
    let (code, f, err) = parity(
        &g,
        &["--roundtrip", "--base", "base", "--rule", "down-roundtrip"],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].1.as_str(), f[0].2), (NEW_UP, Some(2)));
    assert!(
        f[0].3
            .starts_with("the up migration (before its down ran) fails on PostgreSQL at line 2"),
        "{f:?}"
    );
    assert!(f[0].3.contains("HINT: "), "{f:?}");
}

// --- base states ---------------------------------------------------------

/// The JSON report and exit code of `migguard parity ARGS` in `g` with its
/// cache in `cache`.
fn parity_cached(g: &GitRepo, args: &[&str], cache: &std::path::Path) -> (i32, serde_json::Value) {
    let out = g
        .migguard()
        .args(["parity", "--format", "json"])
        .args(args)
        .env("MIGGUARD_CACHE_DIR", cache)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {err}"));
    (out.status.code().unwrap_or(-1), doc)
}

fn notes_of(doc: &serde_json::Value) -> Vec<String> {
    doc["summary"]["notes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn parity_starts_from_the_cached_state_of_the_committed_migrations() {
    if !common::have_postgres() {
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let g = repo(VIEW);
    g.add_migration(
        "20240102000000_teams",
        "CREATE TABLE \"teams\" (\"id\" bigint PRIMARY KEY);\n",
    );
    g.commit_all("base");
    let (code, first) = parity_cached(&g, &[], cache.path());
    assert_eq!(code, 0, "{first:#}");
    assert_eq!(
        notes_of(&first),
        [
            "parity (database A): the 2 committed migration(s) were replayed and their state cached",
            "parity (database B, views left out): the 2 committed migration(s) were replayed and their state cached",
        ]
    );
    let (code, second) = parity_cached(&g, &[], cache.path());
    assert_eq!(code, 0, "{second:#}");
    assert_eq!(
        notes_of(&second),
        [
            "parity (database A): the 2 committed migration(s) came from the cached base state",
            "parity (database B, views left out): the 2 committed migration(s) came from the cached base state",
        ]
    );
    // A migration being written (not committed) is applied on top of the
    // cached state, every run, and judged: it changes the view, the
    // generated file does not.
    g.add_migration(
        "20240201000000_view",
        "DROP VIEW IF EXISTS \"customer_names\";\nCREATE VIEW \"customer_names\" AS SELECT \"id\" FROM \"customers\";\n",
    );
    for _ in 0..2 {
        let (code, doc) = parity_cached(&g, &[], cache.path());
        assert_eq!(code, 1, "{doc:#}");
        assert!(
            notes_of(&doc)[0]
                .ends_with("the 2 committed migration(s) came from the cached base state"),
            "{doc:#}"
        );
        let messages: Vec<&str> = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["message"].as_str())
            .collect();
        assert_eq!(messages.len(), 1, "{doc:#}");
        assert!(messages[0].contains("other columns"), "{doc:#}");
    }
}

#[test]
fn an_atlas_txmode_none_file_applies_statement_by_statement() {
    if !common::have_postgres() {
        return;
    }
    let g = GitRepo::new();
    g.write(
        ".migguard.yaml",
        "migrations:\n  dir: migrations\n  format: atlas\nviews:\n  generated: views.sql\n",
    );
    g.write(
        "migrations/20240101000000_init.sql",
        "CREATE TABLE users (id bigint PRIMARY KEY, email text);\nCREATE VIEW user_emails AS SELECT id, email FROM users;\n",
    );
    // As one query, PostgreSQL would refuse the concurrent build inside
    // the implicit transaction; Atlas runs this file statement by statement.
    g.write(
        "migrations/20240102000000_index.sql",
        "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\nCREATE INDEX CONCURRENTLY users_id_email_idx ON users (id, email);\n",
    );
    g.write(
        "views.sql",
        "CREATE VIEW user_emails AS SELECT id, email FROM users;\n",
    );
    let (code, f, err) = parity(&g, &[]);
    assert_eq!((code, f.len()), (0, 0), "{f:?} {err}");
    // A statement that fails there is named by its own line.
    g.write(
        "migrations/20240102000000_index.sql",
        "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\nCREATE INDEX CONCURRENTLY users_x_idx ON users (x);\n",
    );
    let (code, f, err) = parity(&g, &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].2, Some(4), "{f:?}");
    assert!(f[0].3.contains("column \"x\" does not exist"), "{f:?}");
}

#[test]
fn round_trips_start_from_the_cached_state_of_the_base() {
    if !common::have_postgres() {
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let g = with_new_migration(
        EMAILS_UP,
        Some("DROP TABLE \"emails\";\nALTER TABLE \"customers\" DROP CONSTRAINT \"customers_name_check\";\nALTER TABLE \"customers\" DROP COLUMN \"email\";\n"),
    );
    let args = ["--roundtrip", "--base", "base"];
    let mut seen = Vec::new();
    for _ in 0..2 {
        let (code, doc) = parity_cached(&g, &args, cache.path());
        assert_eq!(code, 1, "{doc:#}");
        let rules: Vec<&str> = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["rule"].as_str())
            .collect();
        assert_eq!(rules, ["down-roundtrip"], "{doc:#}");
        seen.push(
            notes_of(&doc)
                .into_iter()
                .find(|n| n.starts_with("parity --roundtrip"))
                .unwrap_or_else(|| panic!("{doc:#}")),
        );
    }
    assert_eq!(
        seen,
        [
            "parity --roundtrip: the 1 migration(s) on the base were replayed and their state cached",
            "parity --roundtrip: the 1 migration(s) on the base came from the cached base state",
        ]
    );
}
