//! The few JSON requests the comment makes, over ureq (rustls, webpki
//! roots). A failing status becomes an error that says what to check; the
//! token never appears in it.

use std::time::Duration;

use super::{Forge, Target};
use crate::error::{Error, Result};

pub struct Client {
    agent: ureq::Agent,
    forge: Forge,
    auth: (&'static str, String),
    token: String,
    token_var: &'static str,
    request: String,
}

impl Client {
    pub fn new(target: &Target) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .user_agent(concat!("migguard/", env!("CARGO_PKG_VERSION")))
            .build();
        Client {
            agent: ureq::Agent::new_with_config(config),
            forge: target.forge,
            auth: target.auth.clone(),
            token: target.token.clone(),
            token_var: target.token_var,
            request: format!("{} {}", target.forge.request_name(), target.number),
        }
    }

    pub fn get(&self, url: &str, what: &str) -> Result<serde_json::Value> {
        let response = self
            .agent
            .get(url)
            .header(self.auth.0, &self.auth.1)
            .header("Accept", self.accept())
            .call();
        self.answer(url, what, response)
    }

    /// POST, PATCH or PUT of `{"body": body}`.
    pub fn send(
        &self,
        method: &str,
        url: &str,
        body: &str,
        what: &str,
    ) -> Result<serde_json::Value> {
        let json = serde_json::json!({ "body": body }).to_string();
        let builder = match method {
            "PATCH" => self.agent.patch(url),
            "PUT" => self.agent.put(url),
            _ => self.agent.post(url),
        };
        let response = builder
            .header(self.auth.0, &self.auth.1)
            .header("Accept", self.accept())
            .header("Content-Type", "application/json")
            .send(json.as_str());
        self.answer(url, what, response)
    }

    fn accept(&self) -> &'static str {
        match self.forge {
            Forge::Github => "application/vnd.github+json",
            Forge::Gitlab => "application/json",
        }
    }

    fn answer(
        &self,
        url: &str,
        what: &str,
        response: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<serde_json::Value> {
        let mut response = response.map_err(|e| {
            Error::Comment(self.scrub(&format!(
                "cannot {what} on the {} ({url}): {e}; check the API address and the network",
                self.request
            )))
        })?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .unwrap_or_default();
        if (200..300).contains(&status) {
            return serde_json::from_str(&text).map_err(|e| {
                Error::Comment(format!(
                    "cannot {what}: {url} answered {status} with text that is not JSON ({e})"
                ))
            });
        }
        let said = api_message(&text)
            .map(|m| format!(" (the API said: {})", self.scrub(&m)))
            .unwrap_or_default();
        Err(Error::Comment(format!(
            "cannot {what} on the {}: {url} answered HTTP {status}{said}; {}",
            self.request,
            hint(self.forge, status, self.token_var)
        )))
    }

    /// `text` with every occurrence of the token replaced.
    fn scrub(&self, text: &str) -> String {
        if self.token.len() < 4 {
            return text.to_string();
        }
        text.replace(&self.token, "***")
    }
}

/// The `message` (GitHub, GitLab) or `error` field of an error answer, cut
/// to one short line.
fn api_message(text: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let m = v.get("message").or_else(|| v.get("error"))?;
    let s = match m {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let s: String = s.replace('\n', " ").chars().take(200).collect();
    (!s.is_empty()).then_some(s)
}

/// What to check for a failing status.
fn hint(forge: Forge, status: u16, token_var: &str) -> String {
    match (forge, status) {
        (_, 401) => format!("{token_var} is missing, expired or not a valid token"),
        (Forge::Github, 403) => "the token may not write comments: give the job \
             `permissions: pull-requests: write`; a pull request from a fork gets a read-only \
             GITHUB_TOKEN, so post from a `pull_request_target` or `workflow_run` job, or leave \
             --comment out for forks"
            .to_string(),
        (Forge::Gitlab, 403) => "the token may not comment on this merge request: use a \
             project or personal access token with the `api` scope and at least the Reporter \
             role (CI_JOB_TOKEN cannot write notes)"
            .to_string(),
        (Forge::Github, 404) => "check GITHUB_REPOSITORY (owner/name), the pull request \
             number (--pr) and GITHUB_API_URL, and that the token can see the repository"
            .to_string(),
        (Forge::Gitlab, 404) => "check CI_PROJECT_ID, the merge request IID (--pr) and \
             CI_API_V4_URL, and that the token can see the project"
            .to_string(),
        (_, 422) => "the API refused the comment's text".to_string(),
        (_, 429) => "rate limited: retry later".to_string(),
        (_, s) if s >= 500 => "the server failed: retry later".to_string(),
        _ => "check the token and the request number".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_messages_are_read_and_cut() {
        assert_eq!(
            api_message(r#"{"message":"Resource not accessible by integration"}"#).as_deref(),
            Some("Resource not accessible by integration")
        );
        assert_eq!(
            api_message(r#"{"message":{"base":["too long"]}}"#).as_deref(),
            Some(r#"{"base":["too long"]}"#)
        );
        assert_eq!(api_message("<html>"), None);
        assert_eq!(
            api_message(&format!(r#"{{"error":"{}"}}"#, "x".repeat(500))).map(|m| m.len()),
            Some(200)
        );
    }

    #[test]
    fn a_fork_403_says_what_to_do() {
        let h = hint(Forge::Github, 403, "GITHUB_TOKEN");
        assert!(
            h.contains("pull-requests: write") && h.contains("fork"),
            "{h}"
        );
        assert!(hint(Forge::Gitlab, 401, "GITLAB_TOKEN").starts_with("GITLAB_TOKEN"));
    }
}
