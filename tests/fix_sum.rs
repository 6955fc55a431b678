//! `migguard fix-sum`: rewriting atlas.sum as `atlas migrate hash` would.

mod common;

use common::{golang_migrate_repo, sum_of_ups, Repo, DIR};

fn stdout(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stdout).to_string()
}

#[test]
fn up_to_date_file_is_left_alone() {
    let repo = golang_migrate_repo();
    let out = repo.migguard().arg("fix-sum").assert().code(0);
    assert!(stdout(&out).contains("is up to date (3 entries)"));
    repo.migguard()
        .args(["fix-sum", "--check"])
        .assert()
        .code(0);
}

#[test]
fn check_writes_nothing_and_exits_1() {
    let repo = golang_migrate_repo();
    repo.write(&format!("{DIR}/20240401000000_d.up.sql"), "SELECT 4;\n");
    let before = repo.read(&format!("{DIR}/atlas.sum"));
    let out = repo
        .migguard()
        .args(["fix-sum", "--check"])
        .assert()
        .code(1);
    assert!(
        stdout(&out).contains("+ 20240401000000_d.up.sql"),
        "{}",
        stdout(&out)
    );
    assert_eq!(repo.read(&format!("{DIR}/atlas.sum")), before);
}

#[test]
fn rewrite_matches_atlas_and_reports_changes() {
    let repo = golang_migrate_repo();
    repo.write(&format!("{DIR}/20240401000000_d.up.sql"), "SELECT 4;\n");
    repo.remove(&format!("{DIR}/20240101000000_init.up.sql"));
    repo.write(&format!("{DIR}/20240301000000_c.up.sql"), "SELECT 3;\n");
    let out = repo.migguard().arg("fix-sum").assert().code(0);
    let text = stdout(&out);
    assert!(text.contains("+ 20240401000000_d.up.sql"), "{text}");
    assert!(text.contains("- 20240101000000_init.up.sql"), "{text}");
    assert!(text.contains("~ 20240201000000_b.up.sql"), "{text}");
    assert!(text.contains("1 added, 1 removed, 2 rehashed"), "{text}");
    assert_eq!(
        String::from_utf8(repo.read(&format!("{DIR}/atlas.sum"))).unwrap(),
        sum_of_ups(&repo)
    );
    repo.migguard().arg("validate").assert().code(0);
}

#[test]
fn repairs_merge_conflict_markers() {
    let repo = golang_migrate_repo();
    repo.write(
        &format!("{DIR}/20240401000000_ours.up.sql"),
        "SELECT 'ours';\n",
    );
    repo.write(
        &format!("{DIR}/20240402000000_theirs.up.sql"),
        "SELECT 'theirs';\n",
    );
    let sum = String::from_utf8(repo.read(&format!("{DIR}/atlas.sum"))).unwrap();
    let body: String = sum.lines().skip(1).map(|l| format!("{l}\n")).collect();
    repo.write(
        &format!("{DIR}/atlas.sum"),
        format!("<<<<<<< HEAD\nh1:ours=\n=======\nh1:theirs=\n>>>>>>> main\n{body}<<<<<<< HEAD\n20240401000000_ours.up.sql h1:aaa=\n=======\n20240402000000_theirs.up.sql h1:bbb=\n>>>>>>> main\n"),
    );
    repo.migguard().arg("validate").assert().code(1);
    let out = repo.migguard().arg("fix-sum").assert().code(0);
    assert!(
        stdout(&out).contains("resolving merge-conflict markers"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        String::from_utf8(repo.read(&format!("{DIR}/atlas.sum"))).unwrap(),
        sum_of_ups(&repo)
    );
    repo.migguard().arg("validate").assert().code(0);
}

#[test]
fn creates_a_missing_file_and_fixes_layout() {
    let repo = golang_migrate_repo();
    repo.remove(&format!("{DIR}/atlas.sum"));
    // The configured golang-migrate format hashes the `.up.sql` files (with
    // nothing configured, Atlas's default, every `*.sql`: tests/real_layouts.rs).
    repo.write(
        ".migguard.yaml",
        format!("migrations:\n  dir: {DIR}\n  format: golang-migrate\n"),
    );
    let out = repo.migguard().arg("fix-sum").assert().code(0);
    assert!(stdout(&out).contains("creating it"), "{}", stdout(&out));
    assert_eq!(
        String::from_utf8(repo.read(&format!("{DIR}/atlas.sum"))).unwrap(),
        sum_of_ups(&repo)
    );

    let crlf = sum_of_ups(&repo).replace('\n', "\r\n");
    repo.write(&format!("{DIR}/atlas.sum"), crlf);
    let out = repo.migguard().arg("validate").assert().code(1);
    assert!(stdout(&out).contains("CRLF"), "{}", stdout(&out));
    repo.migguard().arg("fix-sum").assert().code(0);
    repo.migguard().arg("validate").assert().code(0);
}

#[test]
fn never_leaves_temporary_files() {
    let repo = golang_migrate_repo();
    repo.write(&format!("{DIR}/20240401000000_d.up.sql"), "SELECT 4;\n");
    repo.migguard().arg("fix-sum").assert().code(0);
    let stray: Vec<String> = std::fs::read_dir(repo.join(DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[test]
fn fails_cleanly_when_it_cannot_write() {
    let repo = golang_migrate_repo();
    repo.write(&format!("{DIR}/20240401000000_d.up.sql"), "SELECT 4;\n");
    let before = repo.read(&format!("{DIR}/atlas.sum"));
    // Replace atlas.sum by a folder: the rename cannot succeed.
    repo.remove(&format!("{DIR}/atlas.sum"));
    std::fs::create_dir(repo.join(&format!("{DIR}/atlas.sum"))).unwrap();
    std::fs::write(repo.join(&format!("{DIR}/atlas.sum/keep")), &before).unwrap();
    let out = repo.migguard().arg("fix-sum").assert().code(2);
    let e = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(e.contains("atlas.sum"), "{e}");
    assert_eq!(repo.read(&format!("{DIR}/atlas.sum/keep")), before);
}

#[test]
fn works_on_a_plain_folder_with_dir() {
    let folder = Repo::bare_folder();
    folder.write("m/1.sql", "X;\n");
    folder
        .migguard()
        .args(["fix-sum", "--dir", "m"])
        .assert()
        .code(0);
    folder
        .migguard()
        .args(["validate", "--dir", "m"])
        .assert()
        .code(0);
}
