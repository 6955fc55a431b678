//! `migguard validate`: sum-drift on directories built in temp folders.

mod common;

use common::{atlas_sum, golang_migrate_repo, sum_of_ups, Repo, DIR};
use serde_json::Value;

fn json(repo: &Repo, args: &[&str]) -> (i32, Value) {
    let out = repo
        .migguard()
        .args(["validate", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (code, doc)
}

fn messages(doc: &Value) -> Vec<(u64, String)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap_or(0),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn clean_directory_passes() {
    let repo = golang_migrate_repo();
    let out = repo.migguard().arg("validate").assert().code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("no findings (4 files checked)"), "{text}");
}

#[test]
fn json_document_follows_the_contract() {
    let repo = golang_migrate_repo();
    repo.write(&format!("{DIR}/20240401000000_d.up.sql"), "SELECT 1;\n");
    let (code, doc) = json(&repo, &[]);
    assert_eq!(code, 1);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["mode"], "all");
    assert!(doc["base"].is_null());
    let f = &doc["findings"][0];
    assert_eq!(f["rule"], "sum-drift");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["path"], format!("{DIR}/atlas.sum"));
    assert_eq!(f["line"], 4);
    assert_eq!(f["column"], 1);
    assert!(f["message"]
        .as_str()
        .unwrap()
        .contains("20240401000000_d.up.sql is not listed"));
    assert!(f["help"].as_str().unwrap().contains("fix-sum"));
    assert_eq!(doc["summary"]["errors"], 1);
    assert_eq!(doc["summary"]["warnings"], 0);
    assert_eq!(doc["summary"]["files"], 5);
}

#[test]
fn every_kind_of_drift_names_file_and_line() {
    // Edited.
    let repo = golang_migrate_repo();
    repo.write(
        &format!("{DIR}/20240201000000_b.up.sql"),
        "CREATE TABLE b (id bigint);\n",
    );
    let (code, doc) = json(&repo, &[]);
    assert_eq!(code, 1);
    let m = messages(&doc);
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0].0, 3);
    assert!(
        m[0].1.contains("20240201000000_b.up.sql was edited"),
        "{m:?}"
    );

    // Removed.
    let repo = golang_migrate_repo();
    repo.remove(&format!("{DIR}/20240301000000_c.up.sql"));
    let m = messages(&json(&repo, &[]).1);
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0].0, 4);
    assert!(m[0].1.contains(
        "20240301000000_c.up.sql is listed in atlas.sum but is not in the migration directory"
    ));

    // Reordered (and so the header no longer matches).
    let repo = golang_migrate_repo();
    let sum = String::from_utf8(repo.read(&format!("{DIR}/atlas.sum"))).unwrap();
    let l: Vec<&str> = sum.lines().collect();
    repo.write(
        &format!("{DIR}/atlas.sum"),
        format!("{}\n{}\n{}\n{}\n", l[0], l[1], l[3], l[2]),
    );
    let m = messages(&json(&repo, &[]).1);
    assert!(
        m.iter()
            .any(|(line, msg)| *line == 4 && msg.contains("out of order")),
        "{m:?}"
    );
    assert!(
        m.iter()
            .any(|(line, msg)| *line == 1 && msg.contains("header checksum")),
        "{m:?}"
    );

    // Malformed line.
    let repo = golang_migrate_repo();
    let sum = String::from_utf8(repo.read(&format!("{DIR}/atlas.sum"))).unwrap();
    repo.write(&format!("{DIR}/atlas.sum"), format!("{sum}not an entry\n"));
    let m = messages(&json(&repo, &[]).1);
    assert!(
        m.iter()
            .any(|(line, msg)| *line == 5 && msg.contains("not a `name h1:hash` entry")),
        "{m:?}"
    );

    // Conflict markers.
    let repo = golang_migrate_repo();
    let sum = String::from_utf8(repo.read(&format!("{DIR}/atlas.sum"))).unwrap();
    let l: Vec<&str> = sum.lines().collect();
    repo.write(
        &format!("{DIR}/atlas.sum"),
        format!(
            "{}\n{}\n<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> main\n",
            l[0], l[1], l[2], l[3]
        ),
    );
    let m = messages(&json(&repo, &[]).1);
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0].0, 3);
    assert!(
        m[0].1.contains("merge-conflict markers, lines 3-7"),
        "{m:?}"
    );

    // Missing atlas.sum, in a directory named on the command line (a folder
    // found only by its name, without atlas.sum, is not an Atlas directory).
    let repo = golang_migrate_repo();
    repo.remove(&format!("{DIR}/atlas.sum"));
    let (code, doc) = json(&repo, &["--dir", DIR]);
    assert_eq!(code, 1);
    assert!(doc["findings"][0]["line"].is_null());
    assert!(messages(&doc)[0].1.contains("atlas.sum is missing"));
}

#[test]
fn human_output_underlines_the_line_and_shows_the_rule() {
    let repo = golang_migrate_repo();
    repo.write(&format!("{DIR}/20240201000000_b.up.sql"), "changed\n");
    let out = repo.migguard().arg("validate").assert().code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("sum-drift"), "{text}");
    assert!(text.contains(&format!("[{DIR}/atlas.sum:3:1]")), "{text}");
    assert!(text.contains("20240201000000_b.up.sql h1:"), "{text}");
    assert!(text.contains("help:"), "{text}");
    assert!(text.contains("1 error, 0 warnings"), "{text}");
}

#[test]
fn github_format_is_chosen_in_actions() {
    let repo = golang_migrate_repo();
    repo.remove(&format!("{DIR}/atlas.sum"));
    let out = repo
        .migguard()
        .args(["validate", "--dir", DIR])
        .env("GITHUB_ACTIONS", "true")
        .assert()
        .code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.starts_with(&format!("::error file={DIR}/atlas.sum,title=sum-drift::")),
        "{text}"
    );
}

#[test]
fn bytes_are_hashed_as_stored() {
    // CRLF, a BOM, invalid UTF-8 and an empty file: hashed byte for byte.
    let repo = Repo::new();
    let files: [(&str, &[u8]); 4] = [
        ("1_crlf.sql", b"SELECT 1;\r\n"),
        ("2_bom.sql", b"\xef\xbb\xbfSELECT 2;\n"),
        ("3_latin1.sql", b"SELECT '\xe9';\n"),
        ("4_empty.sql", b""),
    ];
    for (n, b) in files {
        repo.write(&format!("migrations/{n}"), b);
    }
    repo.write("migrations/atlas.sum", atlas_sum(&files));
    repo.migguard().arg("validate").assert().code(0);
    // Converting line endings is an edit.
    repo.write("migrations/1_crlf.sql", "SELECT 1;\n");
    repo.migguard().arg("validate").assert().code(1);
}

#[test]
fn sum_ignore_directive_and_legacy_scope() {
    let repo = Repo::new();
    repo.write("migrations/1_a.sql", "-- atlas:sum ignore\nSELECT 1;\n");
    repo.write("migrations/2_b.sql", "SELECT 2;\n");
    // 1_a.sql is hashed by name only and has no entry.
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    let mut running = Sha256::new();
    running.update(b"1_a.sql");
    running.update(b"2_b.sql");
    running.update(b"SELECT 2;\n");
    let h = b64(&running.finalize());
    let mut header = Sha256::new();
    header.update(b"2_b.sql");
    header.update(h.as_bytes());
    let head = b64(&header.finalize());
    repo.write(
        "migrations/atlas.sum",
        format!("h1:{head}\n2_b.sql h1:{h}\n"),
    );
    repo.migguard().arg("validate").assert().code(0);

    // A golang-migrate atlas.sum that lists .down.sql keeps hashing every *.sql.
    let repo = Repo::new();
    let files: [(&str, &[u8]); 2] = [
        ("1_a.down.sql", b"DROP TABLE a;\n"),
        ("1_a.up.sql", b"CREATE TABLE a (id int);\n"),
    ];
    for (n, b) in files {
        repo.write(&format!("migrations/{n}"), b);
    }
    repo.write("migrations/atlas.sum", atlas_sum(&files));
    repo.migguard().arg("validate").assert().code(0);
    repo.write("migrations/1_a.down.sql", "DROP TABLE IF EXISTS a;\n");
    repo.migguard().arg("validate").assert().code(1);
}

#[test]
fn directory_comes_from_atlas_hcl_with_locals() {
    let repo = Repo::new();
    repo.write(
        "atlas.hcl",
        "env \"local\" {\n  migration {\n    dir = \"${local.dir}\"\n    format = \"${local.fmt}\"\n  }\n}\nlocals {\n  dir = \"file://db/versions\"\n  fmt = \"golang-migrate\"\n}\n",
    );
    repo.write("db/versions/1_a.up.sql", "A;\n");
    repo.write("db/versions/1_a.down.sql", "B;\n");
    repo.write(
        "db/versions/atlas.sum",
        atlas_sum(&[("1_a.up.sql", b"A;\n")]),
    );
    repo.migguard().arg("validate").assert().code(0);
    // From a sub-folder too.
    repo.migguard_in("db").arg("validate").assert().code(0);
}

#[test]
fn common_layouts_and_overrides() {
    let repo = golang_migrate_repo();
    repo.migguard().arg("validate").assert().code(0);
    // --dir-format atlas hashes the .down.sql files too: the sum no longer matches.
    repo.migguard()
        .args(["validate", "--dir-format", "atlas"])
        .assert()
        .code(1);
    // Flags work after the command and before it.
    repo.migguard()
        .args(["--dir-format", "golang-migrate", "validate"])
        .assert()
        .code(0);
    // --dir wins over detection.
    repo.write("other/1.sql", "X;\n");
    repo.write("other/atlas.sum", atlas_sum(&[("1.sql", b"X;\n")]));
    repo.migguard()
        .args(["validate", "--dir", "other"])
        .assert()
        .code(0);
    // Config wins over detection.
    repo.write(
        ".migguard.yaml",
        "migrations:\n  dir: other\n  format: atlas\n",
    );
    repo.migguard().arg("validate").assert().code(0);
}

#[test]
fn works_outside_any_repository() {
    let folder = Repo::bare_folder();
    folder.write("m/1.sql", "X;\n");
    folder.write("m/atlas.sum", atlas_sum(&[("1.sql", b"X;\n")]));
    folder
        .migguard()
        .args(["validate", "--dir", "m"])
        .assert()
        .code(0);
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let stderr = |cmd: &mut assert_cmd::Command| -> String {
        let out = cmd.assert().code(2);
        String::from_utf8_lossy(&out.get_output().stderr).to_string()
    };
    let repo = golang_migrate_repo();
    repo.write(".migguard.yaml", "migrations:\n  dri: x\n");
    let e = stderr(repo.migguard().arg("validate"));
    assert!(
        e.contains(".migguard.yaml:2:") && e.contains("unknown field `dri`"),
        "{e}"
    );

    repo.write(".migguard.yaml", "rules:\n  sum-drift: sometimes\n");
    let e = stderr(repo.migguard().arg("validate"));
    assert!(
        e.contains(".migguard.yaml:2:") && e.contains("sometimes"),
        "{e}"
    );

    repo.write(".migguard.yaml", "migrations:\n  dir: ../../etc\n");
    let e = stderr(repo.migguard().arg("validate"));
    assert!(e.contains("leaves the repository"), "{e}");
    repo.remove(".migguard.yaml");

    let e = stderr(repo.migguard().args(["validate", "--dir", "nope"]));
    assert!(e.contains("nope") && e.contains("does not exist"), "{e}");

    repo.write("afile", "");
    let e = stderr(repo.migguard().args(["validate", "--dir", "afile"]));
    assert!(e.contains("is a file"), "{e}");

    let e = stderr(repo.migguard().args(["validate", "--dir-format", "sqitch"]));
    assert!(e.contains("sqitch"), "{e}");

    let e = stderr(repo.migguard().args(["validate", "--rule", "no-such-rule"]));
    assert!(e.contains("no-such-rule"), "{e}");

    let empty = Repo::new();
    let e = stderr(empty.migguard().arg("validate"));
    assert!(e.contains("no migration directory found"), "{e}");

    empty.write("atlas.hcl", "env \"x\" {\n  migration {\n    dir = \n");
    let e = stderr(empty.migguard().arg("validate"));
    assert!(e.contains("atlas.hcl:"), "{e}");
}

#[test]
fn symlinks_outside_the_repository_are_not_followed() {
    let outside = Repo::bare_folder();
    outside.write("secret.sql", "SELECT 'secret';\n");
    let repo = golang_migrate_repo();
    std::os::unix::fs::symlink(
        outside.join("secret.sql"),
        repo.join(&format!("{DIR}/20240501000000_x.up.sql")),
    )
    .unwrap();
    let out = repo.migguard().arg("validate").assert().code(2);
    let e = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        e.contains("refusing to follow a symlink") && e.contains("20240501000000_x.up.sql"),
        "{e}"
    );

    // The migration directory itself as a symlink out of the repository.
    let repo = Repo::new();
    std::fs::create_dir_all(outside.join("m")).unwrap();
    std::os::unix::fs::symlink(outside.join("m"), repo.join("migrations")).unwrap();
    repo.migguard().arg("validate").assert().code(2);

    // A symlink inside the repository is fine.
    let repo = golang_migrate_repo();
    repo.write("shared/x.sql", "SELECT 1;\n");
    std::os::unix::fs::symlink(
        repo.join("shared/x.sql"),
        repo.join(&format!("{DIR}/20240501000000_x.up.sql")),
    )
    .unwrap();
    repo.write(&format!("{DIR}/atlas.sum"), sum_of_ups(&repo));
    repo.migguard().arg("validate").assert().code(0);
}

#[test]
fn empty_directory_is_clean_with_a_note() {
    let repo = Repo::new();
    std::fs::create_dir_all(repo.join("migrations")).unwrap();
    let out = repo.migguard().arg("validate").assert().code(0);
    let o = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        o.contains("migrations has no atlas.sum and no configuration names it"),
        "{o}"
    );
    let out = repo
        .migguard()
        .args(["validate", "--dir", "migrations"])
        .assert()
        .code(0);
    let e = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(e.contains("holds no atlas migrations"), "{e}");
}

#[test]
fn severity_from_config_applies() {
    let repo = golang_migrate_repo();
    repo.remove(&format!("{DIR}/atlas.sum"));
    repo.write(".migguard.yaml", "rules:\n  sum-drift: warn\n");
    let (code, doc) = json(&repo, &["--dir", DIR]);
    assert_eq!(code, 0);
    assert_eq!(doc["findings"][0]["severity"], "warn");
    repo.write(".migguard.yaml", "rules:\n  sum-drift: off\n");
    let (code, doc) = json(&repo, &["--dir", DIR]);
    assert_eq!(code, 0);
    assert!(doc["findings"].as_array().unwrap().is_empty());
}

#[test]
fn unreadable_entries_exit_2_naming_the_file() {
    // A dangling symlink cannot be read.
    let repo = golang_migrate_repo();
    std::os::unix::fs::symlink(
        repo.join("gone.sql"),
        repo.join(&format!("{DIR}/20240501000000_x.up.sql")),
    )
    .unwrap();
    let out = repo.migguard().arg("validate").assert().code(2);
    let e = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        e.contains("20240501000000_x.up.sql") && e.contains("does not exist"),
        "{e}"
    );

    // A folder named like a migration: Atlas fails to read it, so do we.
    let repo = golang_migrate_repo();
    std::fs::create_dir(repo.join(&format!("{DIR}/20240501000000_x.up.sql"))).unwrap();
    let out = repo.migguard().arg("validate").assert().code(2);
    let e = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        e.contains("20240501000000_x.up.sql") && e.contains("directory named like a migration"),
        "{e}"
    );
}
