//! fix-sum never leaves a mix: killed at any point while it writes, the
//! directory holds the old or the new complete state; two runs never
//! interleave.

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{GitRepo, DIR};

fn migguard() -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("migguard"));
    c.stdout(Stdio::null()).stderr(Stdio::null());
    c
}

/// Delays spread over the run (deterministic, so a failure reproduces).
fn delays(n: usize, max_us: u64) -> Vec<Duration> {
    let mut x: u64 = 0x9e3779b97f4a7c15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Duration::from_micros(x % max_us)
        })
        .collect()
}

fn names(dir: &std::path::Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with(".migguard-"))
        .collect()
}

#[test]
fn fix_sum_killed_mid_write_leaves_old_or_new() {
    let g = GitRepo::new();
    g.write(
        ".migguard.yaml",
        "migrations:\n  dir: tools/migrate/migrations\n  format: golang-migrate\n",
    );
    // Enough data that hashing takes a while.
    let body = "INSERT INTO t VALUES (1);\n".repeat(4000);
    for i in 0..300 {
        g.write(&format!("{DIR}/2024{i:010}_m.up.sql"), &body);
    }
    g.rehash();
    let old = g.repo.read(&format!("{DIR}/atlas.sum"));
    g.write(&format!("{DIR}/2099{:010}_new.up.sql", 0), "SELECT 1;\n");
    let new = common::sum_of_ups(&g.repo).into_bytes();
    let sum = g.repo.join(&format!("{DIR}/atlas.sum"));
    // How long a whole run takes here: kills spread over 1.3 times that.
    std::fs::write(&sum, &old).unwrap();
    let start = std::time::Instant::now();
    assert!(migguard()
        .arg("fix-sum")
        .current_dir(g.repo.path())
        .status()
        .unwrap()
        .success());
    let span = (start.elapsed().as_micros() as u64 * 13 / 10).max(1_000);
    let (mut saw_old, mut saw_new) = (0, 0);
    for delay in delays(40, span) {
        std::fs::write(&sum, &old).unwrap();
        let mut child = migguard()
            .arg("fix-sum")
            .current_dir(g.repo.path())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        let now = std::fs::read(&sum).unwrap();
        assert!(
            now == old || now == new,
            "atlas.sum is neither the old nor the new file after a kill at {delay:?}"
        );
        if now == old {
            saw_old += 1;
        } else {
            saw_new += 1;
        }
    }
    assert!(
        saw_old > 0 && saw_new > 0,
        "kills landed before and after the rename ({saw_old} old, {saw_new} new)"
    );
    // A later run cleans what a killed one left behind.
    assert!(migguard()
        .arg("fix-sum")
        .current_dir(g.repo.path())
        .status()
        .unwrap()
        .success());
    let stray: Vec<String> = names(&g.repo.join(DIR))
        .into_iter()
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
    assert!(std::fs::read_dir(g.repo.join(DIR)).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".tmp")));
}

#[test]
fn renumber_killed_mid_way_leaves_old_or_new() {
    let g = GitRepo::new();
    g.write(
        ".migguard.yaml",
        "migrations:\n  dir: tools/migrate/migrations\n  format: golang-migrate\n",
    );
    g.add_migration(
        "20240101000000_base",
        "CREATE TABLE a (id int, deleted_at timestamptz);\n",
    );
    g.add_migration(
        "20250101000000_newest",
        "CREATE TABLE b (id int, deleted_at timestamptz);\n",
    );
    g.commit_all("main");
    g.git(&["checkout", "-q", "-b", "feature"]);
    for i in 0..150 {
        g.write(
            &format!("{DIR}/2024{i:010}_mine.up.sql"),
            format!("SELECT {i};\n"),
        );
        g.write(
            &format!("{DIR}/2024{i:010}_mine.down.sql"),
            format!("SELECT -{i};\n"),
        );
    }
    g.rehash();
    g.commit_all("branch migrations, older than main's newest");
    let dir = g.repo.join(DIR);
    let old_names = names(&dir);
    let old_sum = g.repo.read(&format!("{DIR}/atlas.sum"));
    // The complete new state, from an uninterrupted run.
    assert!(migguard()
        .args(["fix-sum", "--renumber", "--base", "main"])
        .current_dir(g.repo.path())
        .status()
        .unwrap()
        .success());
    let new_names = names(&dir);
    let new_sum = g.repo.read(&format!("{DIR}/atlas.sum"));
    assert_ne!(old_names, new_names);
    let span = {
        g.git(&["reset", "-q", "--hard"]);
        g.git(&["clean", "-qfd", DIR]);
        let start = std::time::Instant::now();
        assert!(migguard()
            .args(["fix-sum", "--renumber", "--base", "main"])
            .current_dir(g.repo.path())
            .status()
            .unwrap()
            .success());
        (start.elapsed().as_micros() as u64 * 13 / 10).max(1_000)
    };
    let (mut saw_old, mut saw_new) = (0, 0);
    for delay in delays(30, span) {
        g.git(&["reset", "-q", "--hard"]);
        g.git(&["clean", "-qfd", DIR]);
        assert_eq!(names(&dir), old_names);
        let mut child = migguard()
            .args(["fix-sum", "--renumber", "--base", "main"])
            .current_dir(g.repo.path())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        let now = names(&dir);
        let sum = g.repo.read(&format!("{DIR}/atlas.sum"));
        if now == old_names {
            assert_eq!(
                sum, old_sum,
                "old names with another atlas.sum after a kill at {delay:?}"
            );
            saw_old += 1;
        } else {
            assert_eq!(
                now, new_names,
                "a mix of old and new names after a kill at {delay:?}"
            );
            assert_eq!(
                sum, new_sum,
                "new names with another atlas.sum after a kill at {delay:?}"
            );
            saw_new += 1;
        }
    }
    assert!(
        saw_old > 0 && saw_new > 0,
        "kills landed before and after the swap ({saw_old} old, {saw_new} new)"
    );
}

#[test]
fn a_second_run_waits_for_nothing_and_says_why() {
    let g = GitRepo::new();
    g.write(
        ".migguard.yaml",
        "migrations:\n  dir: tools/migrate/migrations\n  format: golang-migrate\n",
    );
    g.add_migration("20240101000000_a", "SELECT 1;\n");
    g.write(&format!("{DIR}/20240201000000_b.up.sql"), "SELECT 2;\n");
    let before = g.repo.read(&format!("{DIR}/atlas.sum"));
    // Another run holds the lock (as a running fix-sum does).
    let parent = std::fs::File::open(g.repo.join("tools/migrate")).unwrap();
    rustix::fs::flock(&parent, rustix::fs::FlockOperation::LockExclusive).unwrap();
    let out = assert_cmd::Command::cargo_bin("migguard")
        .unwrap()
        .arg("fix-sum")
        .current_dir(g.repo.path())
        .assert()
        .code(2);
    let e = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        e.contains("another migguard is rewriting this directory"),
        "{e}"
    );
    assert_eq!(g.repo.read(&format!("{DIR}/atlas.sum")), before);
    // --check only reads: it does not need the lock.
    assert_cmd::Command::cargo_bin("migguard")
        .unwrap()
        .args(["fix-sum", "--check"])
        .current_dir(g.repo.path())
        .assert()
        .code(1);
    drop(parent);
    assert_cmd::Command::cargo_bin("migguard")
        .unwrap()
        .arg("fix-sum")
        .current_dir(g.repo.path())
        .assert()
        .code(0);
}
