//! Test fixtures: a temporary repository with files written inline, and the
//! migguard binary run inside it with a clean environment.
#![allow(dead_code)]

pub mod fake_http;

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
            // The throwaway cluster's template cache: shared by the tests,
            // kept out of the user's own cache folder.
            .env(
                "MIGGUARD_CACHE_DIR",
                concat!(env!("CARGO_TARGET_TMPDIR"), "/migguard-cache"),
            )
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

/// A real git repository for scenario tests (tests may run git; the product
/// never does).
pub struct GitRepo {
    pub repo: Repo,
}

impl GitRepo {
    pub fn new() -> GitRepo {
        let dir = tempfile::tempdir().expect("tempdir");
        let g = GitRepo { repo: Repo { dir } };
        g.git(&["init", "-q", "-b", "main"]);
        g.git(&["config", "user.email", "test@example.com"]);
        g.git(&["config", "user.name", "Test"]);
        g.git(&["config", "core.autocrlf", "false"]);
        g.git(&["config", "commit.gpgsign", "false"]);
        g
    }

    /// Runs git in the repository and returns its stdout; panics on failure.
    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(".", args)
    }

    pub fn git_in(&self, sub: &str, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(self.repo.join(sub))
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_WORK_TREE")
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// Runs git and returns whether it succeeded (for merges with conflicts).
    pub fn git_ok(&self, args: &[&str]) -> bool {
        std::process::Command::new("git")
            .args(args)
            .current_dir(self.repo.path())
            .output()
            .expect("git runs")
            .status
            .success()
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> &GitRepo {
        self.repo.write(rel, content);
        self
    }

    pub fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
    }

    pub fn stage_all(&self) {
        self.git(&["add", "-A"]);
    }

    pub fn migguard(&self) -> Command {
        self.repo.migguard()
    }

    /// Writes a golang-migrate pair and rehashes atlas.sum with the oracle.
    pub fn add_migration(&self, stem: &str, up: &str) {
        self.write(&format!("{DIR}/{stem}.up.sql"), up);
        self.write(
            &format!("{DIR}/{stem}.down.sql"),
            format!("-- reverse of {stem}\n"),
        );
        self.rehash();
    }

    pub fn rehash(&self) {
        let sum = sum_of_ups(&self.repo);
        self.write(&format!("{DIR}/atlas.sum"), sum);
    }
}

/// A finding of a JSON report: (rule, path, line, message).
pub type Found = (String, String, Option<u64>, String);

/// The migration-safety rules (Atlas's analyzers, locks, rewrites,
/// transactions): tests of other rules leave their findings out.
pub const SAFETY_RULES: [&str; 21] = [
    "destructive-change",
    "data-dependent-change",
    "backward-incompatible-change",
    "constraint-dropped",
    "index-lock",
    "concurrently-in-transaction",
    "transaction-control",
    "unique-constraint-lock",
    "constraint-validation-lock",
    "not-null-scan",
    "table-rewrite",
    "lock-timeout",
    "maintenance-lock",
    "exclusion-constraint",
    "unclosed-transaction",
    "prefer-jsonb",
    "invalid-index-risk",
    "backfill-in-transaction",
    "long-lock-window",
    "postgres-version",
    "fk-without-index",
];

/// `found` without the migration-safety rules' findings.
pub fn without_safety(found: Vec<Found>) -> Vec<Found> {
    found
        .into_iter()
        .filter(|f| !SAFETY_RULES.contains(&f.0.as_str()))
        .collect()
}

/// The findings of a JSON report.
pub fn findings(out: &std::process::Output) -> Vec<Found> {
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Prints a line past the test harness's output capture (which swallows both
/// `println!` and `std::io::stderr()`), by writing to a duplicate of fd 2:
/// used for "skipped: ..." reasons.
pub fn say(line: &str) {
    use std::io::Write as _;
    use std::os::fd::AsFd as _;
    if let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() {
        let _ = writeln!(std::fs::File::from(fd), "{line}");
    }
}

/// Whether the PostgreSQL server binaries are here; says why the test is
/// skipped when not, and fails instead under `MIGGUARD_REQUIRE_TOOLS` (CI).
pub fn have_postgres() -> bool {
    if migguard::find_binaries().is_some() {
        return true;
    }
    assert!(
        std::env::var_os("MIGGUARD_REQUIRE_TOOLS").is_none(),
        "no PostgreSQL server binaries, and MIGGUARD_REQUIRE_TOOLS is set"
    );
    say("skipped: no PostgreSQL server binaries (initdb, postgres) on PATH or under /usr/lib/postgresql/*/bin");
    false
}

/// `migguard check ARGS --format json` in the repository: exit code and findings.
pub fn check_json(g: &GitRepo, args: &[&str]) -> (i32, Vec<Found>) {
    let out = g
        .migguard()
        .arg("check")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    (out.status.code().unwrap(), findings(&out))
}

/// Stages everything, then `check_json` in the default (staged) mode.
pub fn staged_json(g: &GitRepo) -> (i32, Vec<Found>) {
    g.stage_all();
    check_json(g, &[])
}

/// The OpenMeter corpus laid out as the OpenMeter repository has it (with the
/// OpenMeter preset as config), committed; `None`, with the reason printed,
/// when `../shared/corpus` is absent.
pub fn openmeter_repo() -> Option<GitRepo> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = manifest.join("../shared/corpus/openmeter");
    if !corpus.is_dir() {
        say(&format!(
            "skipped: no real-world corpus at {}",
            corpus.display()
        ));
        return None;
    }
    let g = GitRepo::new();
    g.write(
        ".migguard.yaml",
        std::fs::read(manifest.join("rules/presets/openmeter.yaml")).unwrap(),
    );
    g.write(
        "atlas.hcl",
        std::fs::read(corpus.join("atlas.hcl")).unwrap(),
    );
    g.write(
        "tools/migrate/views.sql",
        std::fs::read(corpus.join("views.sql")).unwrap(),
    );
    for e in std::fs::read_dir(corpus.join("migrations")).unwrap() {
        let e = e.unwrap();
        g.write(
            &format!("{DIR}/{}", e.file_name().to_str().unwrap()),
            std::fs::read(e.path()).unwrap(),
        );
    }
    g.commit_all("openmeter");
    Some(g)
}

/// The view of `view_repo`'s first migration.
pub const VIEW: &str = "CREATE VIEW \"customer_names\" AS SELECT \"id\", \"name\" FROM \"customers\" WHERE (\"deleted_at\" IS NULL);\n";

/// A repository for the database-backed checks: a customers table and its
/// view `VIEW` in one migration, and `views` as the generated views file.
pub fn view_repo(views: &str) -> GitRepo {
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
