//! Where users run migguard: git hooks, the pre-commit framework, CI
//! templates, `init`, shell completions and the man page.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use clap::Parser;
use common::{GitRepo, Repo, DIR};

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// PATH with the freshly built migguard first.
fn path_with_migguard() -> String {
    let bin = assert_cmd::cargo::cargo_bin("migguard");
    format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn repo_with_migrations() -> GitRepo {
    let g = GitRepo::new();
    g.write(
        ".migguard.yaml",
        "migrations:\n  dir: tools/migrate/migrations\n  format: golang-migrate\n",
    );
    g.add_migration(
        "20240101000000_init",
        "CREATE TABLE a (id int, deleted_at timestamptz);\n",
    );
    g.commit_all("init");
    g
}

fn git_commit(g: &GitRepo, path: &str, message: &str) -> std::process::Output {
    Process::new("git")
        .args(["commit", "-q", "-m", message])
        .current_dir(g.repo.path())
        .env("PATH", path)
        .output()
        .unwrap()
}

#[test]
fn install_hook_blocks_a_bad_commit_and_uninstalls_cleanly() {
    let g = repo_with_migrations();
    let out = g.migguard().arg("install-hook").assert().code(0);
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("installed"));
    let hook = g.repo.join(".git/hooks/pre-commit");
    let text = std::fs::read_to_string(&hook).unwrap();
    assert!(
        text.starts_with("#!/bin/sh")
            && text.contains("migguard check --staged")
            && text.contains("--no-verify")
    );
    g.migguard().arg("install-hook").assert().code(0); // idempotent

    let path = path_with_migguard();
    // A bad commit: a created migration edited.
    g.write(&format!("{DIR}/20240101000000_init.down.sql"), "edited\n");
    g.stage_all();
    let out = git_commit(&g, &path, "bad");
    assert!(!out.status.success(), "the hook let a bad commit through");
    let err =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        err.contains("migration-edited") && err.contains("--no-verify"),
        "{err}"
    );
    // A good commit.
    g.git(&["checkout", "-q", "HEAD", "--", DIR]);
    g.add_migration(
        "20240201000000_b",
        "CREATE TABLE b (id int, deleted_at timestamptz);\n",
    );
    g.stage_all();
    let out = git_commit(&g, &path, "good");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    g.migguard()
        .args(["install-hook", "--uninstall"])
        .assert()
        .code(0);
    assert!(!hook.exists());
}

#[test]
fn install_hook_respects_hooks_path_and_foreign_hooks() {
    let g = repo_with_migrations();
    g.git(&["config", "core.hooksPath", ".githooks"]);
    std::fs::create_dir_all(g.repo.join(".githooks")).unwrap();
    let foreign = "#!/bin/sh\necho lint\n";
    std::fs::write(g.repo.join(".githooks/pre-commit"), foreign).unwrap();
    let out = g.migguard().arg("install-hook").assert().code(2);
    let e = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        e.contains("not migguard's")
            && e.contains("migguard check --staged || exit $?")
            && e.contains("--force"),
        "{e}"
    );
    assert_eq!(
        std::fs::read_to_string(g.repo.join(".githooks/pre-commit")).unwrap(),
        foreign
    );
    // --uninstall leaves a foreign hook alone.
    g.migguard()
        .args(["install-hook", "--uninstall"])
        .assert()
        .code(2);
    assert_eq!(
        std::fs::read_to_string(g.repo.join(".githooks/pre-commit")).unwrap(),
        foreign
    );
    // --force replaces it, keeping a copy that --uninstall restores.
    g.migguard()
        .args(["install-hook", "--force"])
        .assert()
        .code(0);
    assert!(std::fs::read_to_string(g.repo.join(".githooks/pre-commit"))
        .unwrap()
        .contains("migguard check"));
    assert!(!g.repo.join(".git/hooks/pre-commit").exists());
    g.migguard()
        .args(["install-hook", "--uninstall"])
        .assert()
        .code(0);
    assert_eq!(
        std::fs::read_to_string(g.repo.join(".githooks/pre-commit")).unwrap(),
        foreign
    );
}

/// The manifest's git HEAD, if this checkout is a git repository.
fn manifest_head() -> Option<String> {
    let out = Process::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(manifest())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn pre_commit_framework_uses_the_hooks_of_this_repository() {
    let Some(head) = manifest_head() else {
        common::say("skipped: pre-commit test needs this checkout to be a git repository");
        return;
    };
    let venv = tempfile::tempdir().unwrap();
    let ok = Process::new("python3")
        .args(["-m", "venv"])
        .arg(venv.path())
        .status()
        .is_ok_and(|s| s.success());
    let pip = venv.path().join("bin/pip");
    let installed = ok
        && Process::new(&pip)
            .args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "pre-commit",
            ])
            .env("PIP_DEFAULT_TIMEOUT", "30")
            .status()
            .is_ok_and(|s| s.success());
    if !installed {
        common::say("skipped: could not install pre-commit from PyPI (no network?)");
        return;
    }
    let g = repo_with_migrations();
    g.write(
        ".pre-commit-config.yaml",
        format!(
            "repos:\n  - repo: {}\n    rev: {head}\n    hooks:\n      - id: migguard\n",
            manifest().display()
        ),
    );
    g.commit_all("pre-commit config");
    let path = format!(
        "{}:{}",
        venv.path().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |args: &[&str]| {
        Process::new(args[0])
            .args(&args[1..])
            .current_dir(g.repo.path())
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", venv.path().join("cache"))
            // pre-commit builds the hook with `cargo install`: keep it quick.
            .env("CARGO_TARGET_DIR", manifest().join("target/pre-commit"))
            .env("CARGO_PROFILE_RELEASE_LTO", "false")
            .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
            .output()
            .unwrap()
    };
    let out = run(&["pre-commit", "install"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Bad: a created migration edited.
    g.write(&format!("{DIR}/20240101000000_init.down.sql"), "edited\n");
    g.stage_all();
    let out = run(&["git", "commit", "-q", "-m", "bad"]);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "pre-commit let a bad commit through:\n{text}"
    );
    assert!(text.contains("migration-edited"), "{text}");
    // Good: a new migration with its atlas.sum.
    g.git(&["checkout", "-q", "HEAD", "--", DIR]);
    g.add_migration(
        "20240201000000_b",
        "CREATE TABLE b (id int, deleted_at timestamptz);\n",
    );
    g.stage_all();
    let out = run(&["git", "commit", "-q", "-m", "good"]);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
}

#[test]
fn pre_commit_manifest_declares_both_hooks() {
    let text = std::fs::read_to_string(manifest().join(".pre-commit-hooks.yaml")).unwrap();
    let hooks: Vec<serde_yaml_ng::Value> = serde_yaml_ng::from_str(&text).unwrap();
    let find = |id: &str| {
        hooks
            .iter()
            .find(|h| h["id"].as_str() == Some(id))
            .unwrap()
            .clone()
    };
    for (id, entry) in [
        ("migguard", "migguard check --staged"),
        ("migguard-fix-sum", "migguard fix-sum"),
    ] {
        let h = find(id);
        assert_eq!(h["entry"].as_str(), Some(entry));
        assert_eq!(h["language"].as_str(), Some("rust"));
        assert_eq!(h["pass_filenames"].as_bool(), Some(false));
        let files = regex_like(h["files"].as_str().unwrap());
        assert!(files.iter().any(|f| f == "atlas\\.sum"), "{files:?}");
        assert_cli_accepts(entry);
    }
}

/// The alternatives of a `(a|b|c)$` pattern.
fn regex_like(pattern: &str) -> Vec<String> {
    pattern
        .trim_start_matches('(')
        .trim_end_matches('$')
        .trim_end_matches(')')
        .split('|')
        .map(str::to_string)
        .collect()
}

/// Parses a `migguard ...` command line with the real CLI definition.
fn assert_cli_accepts(command: &str) {
    // A GitHub expression `${{ x }}` is one shell word once expanded.
    let mut command = command.to_string();
    while let (Some(a), Some(b)) = (command.find("${{"), command.find("}}")) {
        command.replace_range(a..b + 2, "EXPR");
    }
    // A shell `${VAR:+words}` stands for its words (the variable set);
    // any other `${VAR}` is one word.
    while let Some(a) = command.find("${") {
        let b = a + command[a..].find('}').unwrap();
        let inner = command[a + 2..b].to_string();
        let words = match inner.split_once(":+") {
            Some((_, alt)) => alt.to_string(),
            None => "VALUE".to_string(),
        };
        command.replace_range(a..=b, &words);
    }
    let command = command.as_str();
    let words: Vec<&str> = command
        .split(['>', '|', ';'])
        .next()
        .unwrap()
        .split_whitespace()
        .map(|w| w.trim_matches('"'))
        .collect();
    assert_eq!(words[0], "migguard", "{command}");
    if let Err(e) = migguard::Cli::try_parse_from(&words) {
        panic!("`{command}` is not a valid migguard command: {e}");
    }
}

fn migguard_commands(yaml: &serde_yaml_ng::Value, out: &mut Vec<String>) {
    match yaml {
        serde_yaml_ng::Value::String(s) => {
            for line in s.lines() {
                let line = line.trim();
                if let Some(i) = line.find("migguard ") {
                    let cmd = &line[i..];
                    if !cmd.starts_with("migguard migguard") && !line.contains("cargo install") {
                        out.push(cmd.to_string());
                    }
                }
            }
        }
        serde_yaml_ng::Value::Sequence(items) => {
            items.iter().for_each(|v| migguard_commands(v, out))
        }
        serde_yaml_ng::Value::Mapping(m) => m.values().for_each(|v| migguard_commands(v, out)),
        _ => {}
    }
}

#[test]
fn ci_templates_parse_and_use_real_commands() {
    for (file, must) in [(
        "ci/gitlab-ci.yml",
        vec![
            "--base",
            "--report gitlab=gl-code-quality-report.json",
            "codequality",
            "GIT_DEPTH: 0",
            "sha256sum -c",
            "--comment gitlab",
        ],
    )] {
        let text = std::fs::read_to_string(manifest().join(file)).unwrap();
        let yaml: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        for m in must {
            assert!(text.contains(m), "{file} lacks {m}");
        }
        let mut commands = Vec::new();
        migguard_commands(&yaml, &mut commands);
        assert!(!commands.is_empty(), "{file}: {commands:?}");
        for c in commands {
            assert_cli_accepts(&c);
        }
    }
}

#[test]
fn the_github_template_is_one_step_of_the_action() {
    let text = std::fs::read_to_string(manifest().join("ci/github-actions.yml")).unwrap();
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let steps = yaml["jobs"]["migguard"]["steps"].as_sequence().unwrap();
    let uses: Vec<&str> = steps.iter().filter_map(|s| s["uses"].as_str()).collect();
    assert!(
        uses.iter().any(|u| u.starts_with("OWNER/migguard@")),
        "{uses:?}"
    );
    assert!(
        steps.iter().all(|s| s.get("run").is_none()),
        "no compiling, no second run"
    );
    for must in [
        "fetch-depth: 0",
        "pull-requests: write",
        "sarif_file: migguard.sarif",
    ] {
        assert!(text.contains(must), "{must}");
    }
    // The action's defaults write the SARIF file the upload step reads.
    let action = std::fs::read_to_string(manifest().join("action.yml")).unwrap();
    let action: serde_yaml_ng::Value = serde_yaml_ng::from_str(&action).unwrap();
    assert_eq!(
        action["inputs"]["sarif"]["default"].as_str(),
        Some("migguard.sarif")
    );
}

#[test]
fn gitlab_code_quality_format() {
    let g = repo_with_migrations();
    g.write(&format!("{DIR}/20240101000000_init.down.sql"), "edited\n");
    g.stage_all();
    let out = g
        .migguard()
        .args(["check", "--format", "gitlab"])
        .assert()
        .code(1);
    let doc: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let issue = &doc.as_array().unwrap()[0];
    assert_eq!(issue["check_name"], "migration-edited");
    assert_eq!(issue["severity"], "major");
    assert_eq!(
        issue["location"]["path"],
        format!("{DIR}/20240101000000_init.down.sql")
    );
    assert_eq!(issue["location"]["lines"]["begin"], 1);
    assert_eq!(issue["fingerprint"].as_str().unwrap().len(), 64);
    assert!(issue["description"]
        .as_str()
        .unwrap()
        .contains("created migration"));
}

#[test]
fn init_detects_the_layout_and_never_overwrites() {
    let g = GitRepo::new();
    g.write(
        "atlas.hcl",
        "env \"local\" {\n  migration {\n    dir = \"file://tools/migrate/migrations\"\n    format = \"golang-migrate\"\n    exclude = [\"locks[type=table]\"]\n  }\n}\n",
    );
    g.write("app/ent/schema/customer.go", "package schema\n");
    g.write("app/ent/entc.go", "package ent\n");
    g.write(
        "app/ent/db/client.go",
        "// Code generated by ent, DO NOT EDIT.\npackage db\n",
    );
    g.write("tools/migrate/views.sql", "-- views\n");
    g.write("go.mod", "module x\n");
    g.add_migration(
        "20240101000000_init",
        "CREATE TABLE a (id int, deleted_at timestamptz);\n",
    );
    g.commit_all("layout");
    g.repo.migguard_in("app").arg("init").assert().code(0);
    let text = String::from_utf8(g.repo.read(".migguard.yaml")).unwrap();
    for want in [
        "paths: [\"app/ent/db/**\"]",
        "sources: [\"app/ent/schema/**\", \"app/ent/entc.go\", \"go.mod\"]",
        "header: true",
        "generated: tools/migrate/views.sql",
        "schema: app/ent/schema",
        "# The migration directory comes from atlas.hcl",
        "[\"locks\"]",
    ] {
        assert!(text.contains(want), "lacks {want}:\n{text}");
    }
    // The written config works.
    g.migguard().arg("check").assert().code(0);
    // Never overwritten without --force.
    g.write(".migguard.yaml", "# mine\n");
    let out = g.migguard().arg("init").assert().code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("--force"));
    assert_eq!(g.repo.read(".migguard.yaml"), b"# mine\n");
    g.migguard().args(["init", "--force"]).assert().code(0);
    assert!(String::from_utf8(g.repo.read(".migguard.yaml"))
        .unwrap()
        .contains("generated:"));

    // Without atlas.hcl the directory and format are written out.
    let plain = Repo::new();
    plain.write("migrations/1_a.up.sql", "A;\n");
    plain.migguard().arg("init").assert().code(0);
    let text = String::from_utf8(plain.read(".migguard.yaml")).unwrap();
    assert!(
        text.contains("  dir: migrations\n  format: golang-migrate"),
        "{text}"
    );
}

#[test]
fn openmeter_preset_is_a_valid_config() {
    let text = std::fs::read_to_string(manifest().join("rules/presets/openmeter.yaml")).unwrap();
    let config =
        migguard::Config::parse(Path::new("openmeter.yaml"), &text, &migguard::known_names())
            .unwrap();
    assert_eq!(
        config.migrations.dirs().next().map(|(d, _)| d.as_str()),
        Some("tools/migrate/migrations")
    );
    assert_eq!(
        config.generated[0].command.as_deref(),
        Some("make generate")
    );
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let out = assert_cmd::Command::cargo_bin("migguard")
            .unwrap()
            .args(["completions", shell])
            .assert()
            .code(0);
        let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        assert!(
            text.contains("fix-sum") && text.contains("install-hook"),
            "{shell}"
        );
    }
    let out = assert_cmd::Command::cargo_bin("migguard")
        .unwrap()
        .arg("man")
        .assert()
        .code(0);
    let page = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(page.contains(".TH migguard 1"));
    let committed: PathBuf = manifest().join("man/migguard.1");
    assert_eq!(
        std::fs::read_to_string(&committed).unwrap_or_default(),
        page,
        "man/migguard.1 is out of date: run `cargo run -q -- man > man/migguard.1`"
    );
}
