//! GitHub: issue-comment endpoints of a pull request.

use super::{required, Forge, Target};
use crate::error::{Error, Result};

const PUBLIC_API: &str = "https://api.github.com";

/// The pull request's endpoints: `GITHUB_API_URL` (GitHub Enterprise sets
/// it; default the public API), `GITHUB_REPOSITORY`, `GITHUB_TOKEN`, and the
/// number from `--pr` or the event file at `GITHUB_EVENT_PATH`.
pub(super) fn target(pr: Option<u64>, env: &dyn Fn(&str) -> Option<String>) -> Result<Target> {
    let token = required(
        env,
        "GITHUB_TOKEN",
        "add `env: GITHUB_TOKEN: ${{ github.token }}` to the step",
    )?;
    let repo = required(
        env,
        "GITHUB_REPOSITORY",
        "set it to owner/name (GitHub Actions sets it)",
    )?;
    if repo.split('/').filter(|p| !p.is_empty()).count() != 2 {
        return Err(Error::Comment(format!(
            "GITHUB_REPOSITORY is `{repo}`: expected owner/name"
        )));
    }
    let number = match pr {
        Some(n) => n,
        None => event_number(env)?,
    };
    let api = env("GITHUB_API_URL").unwrap_or_else(|| PUBLIC_API.to_string());
    let api = api.trim_end_matches('/').to_string();
    let base = format!("{api}/repos/{repo}/issues");
    Ok(Target {
        forge: Forge::Github,
        number,
        list_url: format!("{base}/{number}/comments"),
        create_url: format!("{base}/{number}/comments"),
        update_url: Box::new(move |id| format!("{base}/comments/{id}")),
        update_method: "PATCH",
        auth: ("Authorization", format!("Bearer {token}")),
        token,
        token_var: "GITHUB_TOKEN",
    })
}

/// The pull request number of the event that started the run.
fn event_number(env: &dyn Fn(&str) -> Option<String>) -> Result<u64> {
    let no_pr = |why: String| {
        Error::Comment(format!(
            "no pull request number: {why}; run on `pull_request` events or pass --pr N"
        ))
    };
    let path =
        env("GITHUB_EVENT_PATH").ok_or_else(|| no_pr("GITHUB_EVENT_PATH is not set".into()))?;
    let text = std::fs::read_to_string(&path).map_err(|e| Error::read(&path, e))?;
    let event: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::file(&path, format!("not a JSON event file: {e}")))?;
    ["/pull_request/number", "/number", "/issue/number"]
        .iter()
        .find_map(|p| event.pointer(p).and_then(|v| v.as_u64()))
        .ok_or_else(|| {
            let name = env("GITHUB_EVENT_NAME").unwrap_or_else(|| "this".into());
            no_pr(format!("the {name} event names no pull request"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn endpoints_from_the_event_file() {
        let dir = tempfile::tempdir().unwrap();
        let event = dir.path().join("event.json");
        std::fs::write(
            &event,
            r#"{"action":"synchronize","number":7,"pull_request":{"number":7}}"#,
        )
        .unwrap();
        let env = env_of(&[
            ("GITHUB_TOKEN", "ghs_secret"),
            ("GITHUB_REPOSITORY", "acme/app"),
            ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
            ("GITHUB_API_URL", "https://ghe.example.com/api/v3/"),
        ]);
        let t = target(None, &env).unwrap();
        assert_eq!(t.number, 7);
        assert_eq!(
            t.list_url,
            "https://ghe.example.com/api/v3/repos/acme/app/issues/7/comments"
        );
        assert_eq!(
            (t.update_url)(42),
            "https://ghe.example.com/api/v3/repos/acme/app/issues/comments/42"
        );
        assert_eq!(target(Some(9), &env).unwrap().number, 9);
    }

    #[test]
    fn a_push_event_asks_for_pr() {
        let dir = tempfile::tempdir().unwrap();
        let event = dir.path().join("event.json");
        std::fs::write(&event, r#"{"ref":"refs/heads/main"}"#).unwrap();
        let env = env_of(&[
            ("GITHUB_TOKEN", "t"),
            ("GITHUB_REPOSITORY", "acme/app"),
            ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
            ("GITHUB_EVENT_NAME", "push"),
        ]);
        let e = target(None, &env).err().unwrap().to_string();
        assert!(
            e.contains("the push event names no pull request") && e.contains("--pr N"),
            "{e}"
        );
        let e = target(Some(1), &env_of(&[("GITHUB_REPOSITORY", "acme/app")]))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("GITHUB_TOKEN is not set"), "{e}");
        let e = target(
            Some(1),
            &env_of(&[("GITHUB_TOKEN", "t"), ("GITHUB_REPOSITORY", "app")]),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("expected owner/name"), "{e}");
    }
}
