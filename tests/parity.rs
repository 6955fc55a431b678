//! `migguard parity` on a real PostgreSQL: each run starts its own throwaway
//! cluster from the local binaries (skipped, with the reason printed, when
//! there are none).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{findings, GitRepo, DIR};

fn have_postgres() -> bool {
    let found = migguard::devdb::find_binaries().is_some();
    if !found {
        common::say("skipped: no PostgreSQL binaries (initdb, postgres) on PATH or under /usr/lib/postgresql/*/bin");
    }
    found
}

const VIEW: &str = "CREATE VIEW \"customer_names\" AS SELECT \"id\", \"name\" FROM \"customers\" WHERE (\"deleted_at\" IS NULL);\n";

fn repo(views: &str) -> GitRepo {
    let g = GitRepo::new();
    g.write(
        ".migguard.yaml",
        "migrations:\n  dir: tools/migrate/migrations\n  format: golang-migrate\nviews:\n  generated: tools/migrate/views.sql\n",
    );
    g.add_migration(
        "20240101000000_init",
        &format!("CREATE TABLE \"customers\" (\"id\" character(26) NOT NULL, \"name\" text NOT NULL, \"deleted_at\" timestamptz NULL, PRIMARY KEY (\"id\"));\n{VIEW}"),
    );
    g.write("tools/migrate/views.sql", views);
    g
}

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
    if !have_postgres() {
        return;
    }
    let g = repo(&format!("-- generated\n{VIEW}"));
    let (code, f, err) = parity(&g, &[]);
    assert_eq!((code, f.len()), (0, 0), "{f:?} {err}");
}

#[test]
fn a_changed_view_column_fails() {
    if !have_postgres() {
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
    if !have_postgres() {
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
    if !have_postgres() {
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
    if !have_postgres() {
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
    if !have_postgres() {
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
    if !have_postgres() {
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
