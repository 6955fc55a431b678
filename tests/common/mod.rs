//! Test fixtures: a temporary repository with files written inline, and the
//! migguard binary run inside it with a clean environment.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

pub struct Repo {
    pub dir: tempfile::TempDir,
}

impl Repo {
    /// An empty folder marked as a git repository root.
    pub fn new() -> Repo {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join(".git")).expect(".git");
        Repo { dir }
    }

    /// A folder that is not inside any repository.
    pub fn bare_folder() -> Repo {
        Repo {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> &Repo {
        let p = self.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
        self
    }

    pub fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.join(rel)).unwrap()
    }

    pub fn remove(&self, rel: &str) {
        std::fs::remove_file(self.join(rel)).unwrap();
    }

    /// migguard, run in the repository root with no colour and no CI variables.
    pub fn migguard(&self) -> Command {
        self.migguard_in(".")
    }

    pub fn migguard_in(&self, sub: &str) -> Command {
        let mut cmd = Command::cargo_bin("migguard").unwrap();
        cmd.current_dir(self.join(sub))
            .env_remove("GITHUB_ACTIONS")
            .env("NO_COLOR", "1")
            .timeout(std::time::Duration::from_secs(30));
        cmd
    }
}

/// An independent oracle for atlas.sum (Atlas's algorithm, written out plainly
/// here so the product code is checked against something it does not share).
pub fn atlas_sum(files: &[(&str, &[u8])]) -> String {
    let mut running = Sha256::new();
    let mut entries = Vec::new();
    for (name, bytes) in files {
        running.update(name.as_bytes());
        running.update(bytes);
        entries.push((
            name.to_string(),
            STANDARD.encode(running.clone().finalize()),
        ));
    }
    let mut header = Sha256::new();
    for (n, h) in &entries {
        header.update(n.as_bytes());
        header.update(h.as_bytes());
    }
    let mut out = format!("h1:{}\n", STANDARD.encode(header.finalize()));
    for (n, h) in entries {
        out.push_str(&format!("{n} h1:{h}\n"));
    }
    out
}

pub const DIR: &str = "tools/migrate/migrations";

/// A golang-migrate directory with three pairs and a correct atlas.sum.
pub fn golang_migrate_repo() -> Repo {
    let repo = Repo::new();
    let files: [(&str, &str); 3] = [
        ("20240101000000_init", "CREATE TABLE a (id int);\n"),
        ("20240201000000_b", "CREATE TABLE b (id int);\n"),
        ("20240301000000_c", "ALTER TABLE a ADD COLUMN x int;\n"),
    ];
    for (stem, up) in files {
        repo.write(&format!("{DIR}/{stem}.up.sql"), up);
        repo.write(&format!("{DIR}/{stem}.down.sql"), "-- reverse\n");
    }
    repo.write(&format!("{DIR}/atlas.sum"), sum_of_ups(&repo));
    repo
}

/// The oracle's atlas.sum over the `.up.sql` files currently in DIR.
pub fn sum_of_ups(repo: &Repo) -> String {
    let mut names: Vec<String> = std::fs::read_dir(repo.join(DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".up.sql"))
        .collect();
    names.sort();
    let contents: Vec<Vec<u8>> = names
        .iter()
        .map(|n| repo.read(&format!("{DIR}/{n}")))
        .collect();
    let files: Vec<(&str, &[u8])> = names
        .iter()
        .map(String::as_str)
        .zip(contents.iter().map(Vec::as_slice))
        .collect();
    atlas_sum(&files)
}
