//! `--comment github|gitlab` against local fakes of the GitHub and GitLab
//! REST endpoints it uses: one comment created, then edited on later runs,
//! turned into "No findings." by a clean run, cut when long; an HTTP error
//! is exit 2 after the report, with a message that never shows the token.

mod common;

use std::sync::{Arc, Mutex};

use common::fake_http::{self, Request};
use common::{GitRepo, DIR};

const GM: &str = "migrations:\n  dir: tools/migrate/migrations\n  format: golang-migrate\n";
const TOKEN: &str = "ghs_s3cr3tT0k3n";
const MARKER: &str = "<!-- migguard:check -->";

/// One forge's comments, the requests it got, and a status to fail with.
#[derive(Default)]
struct Forge {
    comments: Vec<(u64, String)>,
    next_id: u64,
    requests: Vec<Request>,
    fail_with: Option<&'static str>,
}

type Shared = Arc<Mutex<Forge>>;

fn json_comments(items: &[(u64, String)]) -> String {
    let list: Vec<serde_json::Value> = items
        .iter()
        .map(|(id, body)| serde_json::json!({"id": id, "body": body, "user": {"login": "bot"}}))
        .collect();
    serde_json::Value::Array(list).to_string()
}

/// Both fakes: `list` and `create` at `thread`, edits at `one(id)`.
fn handle(
    forge: &Shared,
    r: Request,
    auth: (&str, &str),
    thread: &str,
    edit_prefix: &str,
    edit_method: &str,
) -> (String, String) {
    let mut f = forge.lock().unwrap();
    f.requests.push(r.clone());
    if r.header(auth.0) != Some(auth.1) {
        return (
            "401 Unauthorized".into(),
            r#"{"message":"Bad credentials"}"#.into(),
        );
    }
    if let Some(status) = f.fail_with {
        return (
            status.into(),
            r#"{"message":"Resource not accessible by integration"}"#.into(),
        );
    }
    let body_of = |r: &Request| -> String {
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        v["body"].as_str().unwrap().to_string()
    };
    if r.path == thread && r.method == "GET" {
        let per: usize = r.param("per_page").unwrap().parse().unwrap();
        let page: usize = r.param("page").unwrap().parse().unwrap();
        let items: Vec<_> = f
            .comments
            .iter()
            .skip((page - 1) * per)
            .take(per)
            .cloned()
            .collect();
        return ("200 OK".into(), json_comments(&items));
    }
    if r.path == thread && r.method == "POST" {
        f.next_id += 1;
        let id = 1000 + f.next_id;
        let body = body_of(&r);
        f.comments.push((id, body.clone()));
        return (
            "201 Created".into(),
            serde_json::json!({"id": id, "body": body}).to_string(),
        );
    }
    if let Some(id) = r.path.strip_prefix(edit_prefix) {
        if r.method == edit_method {
            let id: u64 = id.parse().unwrap();
            let body = body_of(&r);
            if let Some(c) = f.comments.iter_mut().find(|c| c.0 == id) {
                c.1 = body.clone();
                return (
                    "200 OK".into(),
                    serde_json::json!({"id": id, "body": body}).to_string(),
                );
            }
        }
    }
    ("404 Not Found".into(), r#"{"message":"Not Found"}"#.into())
}

fn fake_github() -> (u16, Shared) {
    let forge: Shared = Arc::default();
    let shared = forge.clone();
    let port = fake_http::start(move |r| {
        handle(
            &shared,
            r,
            ("authorization", &format!("Bearer {TOKEN}")),
            "/api/v3/repos/acme/app/issues/7/comments",
            "/api/v3/repos/acme/app/issues/comments/",
            "PATCH",
        )
    });
    (port, forge)
}

fn fake_gitlab() -> (u16, Shared) {
    let forge: Shared = Arc::default();
    let shared = forge.clone();
    let port = fake_http::start(move |r| {
        handle(
            &shared,
            r,
            ("private-token", TOKEN),
            "/api/v4/projects/42/merge_requests/3/notes",
            "/api/v4/projects/42/merge_requests/3/notes/",
            "PUT",
        )
    });
    (port, forge)
}

/// main with one migration; the branch `feature` adds one without its down
/// (a warning) and, with `error`, edits the created one (an error).
fn repo() -> GitRepo {
    let g = GitRepo::new();
    g.write(".migguard.yaml", GM);
    g.add_migration(
        "20240101000000_init",
        "CREATE TABLE a (id int, deleted_at timestamptz);\n",
    );
    g.commit_all("main");
    g.git(&["branch", "-M", "main"]);
    g.git(&["checkout", "-q", "-b", "feature"]);
    g
}

fn push(g: &GitRepo, error: bool) {
    g.add_migration(
        "20240201000000_b",
        "CREATE TABLE b (id int, deleted_at timestamptz);\n",
    );
    g.repo.remove(&format!("{DIR}/20240201000000_b.down.sql"));
    if error {
        g.write(&format!("{DIR}/20240101000000_init.down.sql"), "edited\n");
    }
    g.commit_all("feature");
}

fn fix(g: &GitRepo) {
    g.git(&["checkout", "-q", "main", "--", DIR]);
    g.git(&["rm", "-q", &format!("{DIR}/20240201000000_b.up.sql")]);
    g.commit_all("fix");
}

fn github_run(g: &GitRepo, port: u16, event: &str) -> std::process::Output {
    g.write(".git/event.json", event);
    g.migguard()
        .args([
            "check",
            "--base",
            "main",
            "--comment",
            "github",
            "--format",
            "json",
        ])
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_REPOSITORY", "acme/app")
        .env("GITHUB_API_URL", format!("http://127.0.0.1:{port}/api/v3"))
        .env("GITHUB_EVENT_PATH", g.repo.join(".git/event.json"))
        .env("GITHUB_EVENT_NAME", "pull_request")
        .output()
        .unwrap()
}

/// `check --base main --comment github --pr 7` with this token and API.
fn comment_on_pr_7(g: &GitRepo, token: &str, api: &str) -> std::process::Output {
    g.migguard()
        .args([
            "check",
            "--base",
            "main",
            "--comment",
            "github",
            "--pr",
            "7",
        ])
        .env("GITHUB_TOKEN", token)
        .env("GITHUB_REPOSITORY", "acme/app")
        .env("GITHUB_API_URL", api)
        .output()
        .unwrap()
}

const PR_EVENT: &str = r#"{"action":"synchronize","number":7,"pull_request":{"number":7}}"#;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn github_comment_is_created_then_edited_then_says_no_findings() {
    let g = repo();
    let (port, forge) = fake_github();
    // 150 comments of reviewers first: the marker is looked for on page 2.
    {
        let mut f = forge.lock().unwrap();
        f.comments = (1..=150).map(|i| (i, format!("review {i}"))).collect();
    }

    push(&g, false);
    let out = github_run(&g, port, PR_EVENT);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        stderr(&out).contains("comment 1001 created on pull request #7"),
        "{}",
        stderr(&out)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["summary"]["warnings"], 1,
        "the report is still printed"
    );
    {
        let f = forge.lock().unwrap();
        assert_eq!(f.comments.len(), 151);
        let body = &f.comments[150].1;
        assert!(
            body.starts_with(&format!("{MARKER}\n## migguard\n\n**0 errors, 1 warning**")),
            "{body}"
        );
        assert!(body.contains("| `missing-down` | 1 |"), "{body}");
        let post = f.requests.iter().find(|r| r.method == "POST").unwrap();
        assert_eq!(post.header("accept"), Some("application/vnd.github+json"));
        assert!(post.header("user-agent").unwrap().starts_with("migguard/"));
    }

    // The next push adds an error: the same comment is edited.
    push(&g, true);
    let out = github_run(&g, port, PR_EVENT);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stderr(&out).contains("comment 1001 updated on pull request #7"),
        "{}",
        stderr(&out)
    );
    {
        let f = forge.lock().unwrap();
        assert_eq!(f.comments.len(), 151, "edited, not a second comment");
        assert!(f.comments[150].1.contains("**1 error, 1 warning**"));
        assert!(f.comments[150].1.contains("| `migration-edited` | 1 |"));
        assert!(f.requests.iter().any(
            |r| r.method == "PATCH" && r.path == "/api/v3/repos/acme/app/issues/comments/1001"
        ));
    }

    // The findings are fixed: the comment says so instead of disappearing.
    fix(&g);
    let out = github_run(&g, port, PR_EVENT);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let f = forge.lock().unwrap();
    assert_eq!(f.comments.len(), 151);
    assert!(
        f.comments[150]
            .1
            .starts_with(&format!("{MARKER}\n## migguard\n\nNo findings.")),
        "{}",
        f.comments[150].1
    );
    // The reviewers' comments were never touched.
    assert!(f.comments[..150]
        .iter()
        .all(|(i, b)| *b == format!("review {i}")));
}

#[test]
fn a_clean_run_with_no_earlier_comment_posts_nothing() {
    let g = repo();
    g.write("README.md", "docs\n");
    g.commit_all("docs");
    let (port, forge) = fake_github();
    let out = github_run(&g, port, PR_EVENT);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(stderr(&out)
        .contains("no findings and no earlier comment on pull request #7: nothing posted"));
    let f = forge.lock().unwrap();
    assert!(f.comments.is_empty());
    assert!(f.requests.iter().all(|r| r.method == "GET"));
}

#[test]
fn long_reports_are_cut_to_the_comment_limit() {
    let g = repo();
    // 400 new migrations, each without its down: 400 findings, each with
    // its statement excerpt and help.
    for i in 0..400 {
        let stem = format!("2024020100{i:04}_t{i}");
        let up = format!(
            "CREATE TABLE \"t{i}\" (\"id\" bigint NOT NULL, \"payload_with_a_long_name_{i}\" character varying NOT NULL, \"deleted_at\" timestamptz NULL, PRIMARY KEY (\"id\"));\n"
        );
        g.write(&format!("{DIR}/{stem}.up.sql"), up);
    }
    g.rehash();
    g.commit_all("many");
    let (port, forge) = fake_github();
    let out = github_run(&g, port, PR_EVENT);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let f = forge.lock().unwrap();
    let body = &f.comments[0].1;
    assert!(body.len() <= 65_536, "{}", body.len());
    assert!(
        body.contains("more finding(s)") && body.contains("the full report is in the job log"),
        "{}",
        &body[body.len() - 400..]
    );
    assert!(body.starts_with(MARKER));
}

#[test]
fn a_403_is_exit_2_with_what_to_check_and_never_the_token() {
    let g = repo();
    push(&g, true);
    let (port, forge) = fake_github();
    forge.lock().unwrap().fail_with = Some("403 Forbidden");
    let out = github_run(&g, port, PR_EVENT);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = stderr(&out);
    assert!(err.contains("HTTP 403"), "{err}");
    assert!(
        err.contains("Resource not accessible by integration"),
        "{err}"
    );
    assert!(
        err.contains("pull-requests: write") && err.contains("fork"),
        "{err}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("migration-edited"),
        "the report is printed first: {stdout}"
    );
    assert!(!err.contains(TOKEN) && !stdout.contains(TOKEN));

    // A wrong token: 401, naming the variable and not its value.
    let out = comment_on_pr_7(
        &g,
        "wrong-token-value",
        &format!("http://127.0.0.1:{port}/api/v3"),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("HTTP 401") && err.contains("GITHUB_TOKEN is missing, expired"),
        "{err}"
    );
    assert!(!err.contains("wrong-token-value"), "{err}");
}

#[test]
fn a_run_outside_a_pull_request_asks_for_pr() {
    let g = repo();
    push(&g, false);
    let (port, _forge) = fake_github();
    let out = github_run(&g, port, r#"{"ref":"refs/heads/feature"}"#);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("no pull request number") && err.contains("--pr N"),
        "{err}"
    );
    // An unreachable API: exit 2 naming the address.
    let out = comment_on_pr_7(&g, TOKEN, "http://127.0.0.1:9/api/v3");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("http://127.0.0.1:9/api/v3/repos/acme/app/issues/7/comments"),
        "{err}"
    );
    assert!(!err.contains(TOKEN));
}

#[test]
fn gitlab_note_is_created_then_edited() {
    let g = repo();
    let (port, forge) = fake_gitlab();
    let run = |g: &GitRepo| {
        g.migguard()
            .args(["check", "--base", "main", "--comment", "gitlab"])
            .env("GITLAB_TOKEN", TOKEN)
            .env("CI_API_V4_URL", format!("http://127.0.0.1:{port}/api/v4"))
            .env("CI_PROJECT_ID", "42")
            .env("CI_MERGE_REQUEST_IID", "3")
            .output()
            .unwrap()
    };
    push(&g, false);
    let out = run(&g);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        stderr(&out).contains("comment 1001 created on merge request !3"),
        "{}",
        stderr(&out)
    );
    push(&g, true);
    let out = run(&g);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stderr(&out).contains("comment 1001 updated on merge request !3"),
        "{}",
        stderr(&out)
    );
    let f = forge.lock().unwrap();
    assert_eq!(f.comments.len(), 1);
    assert!(
        f.comments[0].1.contains("**1 error, 1 warning**"),
        "{}",
        f.comments[0].1
    );
    assert!(f.requests.iter().any(|r| r.method == "PUT"));
    assert!(f
        .requests
        .iter()
        .all(|r| r.header("authorization").is_none()));
}
