//! `--comment github|gitlab`: the markdown report as one comment on the pull
//! (merge) request, found again on later runs by a hidden marker and edited,
//! so a reviewer sees the findings without opening the job log.
//!
//! Report → markdown → [`post`]: find the comment with this command's marker
//! (listing the request's comments page by page), then edit it, or create it.
//! A clean run edits an earlier comment into "No findings." and creates none
//! when there is no earlier one. The token goes only into a request header:
//! it is never printed, and any text an API sends back is scrubbed of it.

#![cfg_attr(not(feature = "comment"), allow(dead_code))]

mod github;
mod gitlab;
#[cfg(feature = "comment")]
mod http;

use crate::error::{Error, Result};
use crate::report::Report;

/// `--comment`: where the comment goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Forge {
    /// A GitHub pull request (GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_EVENT_PATH or --pr)
    Github,
    /// A GitLab merge request (GITLAB_TOKEN, CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID or --pr)
    Gitlab,
}

impl Forge {
    fn request_name(self) -> &'static str {
        match self {
            Forge::Github => "pull request",
            Forge::Gitlab => "merge request",
        }
    }
}

/// What [`post`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created {
        id: u64,
    },
    Updated {
        id: u64,
    },
    /// A clean run and no earlier comment: nothing to say, nothing posted.
    NothingToSay,
}

/// One API's endpoints and credentials for one pull/merge request.
struct Target {
    forge: Forge,
    /// The request's number (GitHub) or IID (GitLab).
    number: u64,
    /// Lists the comments; `page` is appended.
    list_url: String,
    create_url: String,
    /// Where one comment is edited, by id.
    update_url: Box<dyn Fn(u64) -> String>,
    /// Edits are PATCH (GitHub) or PUT (GitLab).
    update_method: &'static str,
    /// The authentication header (name, value): the value holds the token.
    auth: (&'static str, String),
    token: String,
    /// The environment variable that holds the token, for messages.
    token_var: &'static str,
}

/// The hidden line that marks this command's comment. `check` and `parity`
/// keep one comment each.
pub fn marker(command: &str) -> String {
    format!("<!-- migguard:{command} -->")
}

/// The comment's text: the marker, the markdown report cut to fit the
/// forge's limit, and a line saying it is kept up to date.
pub fn body(report: &Report, command: &str) -> String {
    let marker = marker(command);
    let footer = format!(
        "\n---\n<sub>migguard {} · `migguard {command}` edits this comment on every run.</sub>\n",
        env!("CARGO_PKG_VERSION")
    );
    let room = crate::report::MARKDOWN_LIMIT - marker.len() - footer.len() - 1;
    format!("{marker}\n{}{footer}", report.render_markdown_within(room))
}

/// Without the `comment` feature there is no HTTP client.
#[cfg(not(feature = "comment"))]
pub fn post(_: Forge, _: Option<u64>, _: &str, _: &Report) -> Result<(u64, Outcome)> {
    Err(Error::Usage(
        "--comment: this migguard was built without the `comment` feature; \
         rebuild it with default features"
            .to_string(),
    ))
}

/// Posts or edits the comment of `command` for `report`, reading the
/// forge's settings from the environment (`pr` overrides the request number).
/// Returns the request's number with what was done.
#[cfg(feature = "comment")]
pub fn post(
    forge: Forge,
    pr: Option<u64>,
    command: &str,
    report: &Report,
) -> Result<(u64, Outcome)> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let target = match forge {
        Forge::Github => github::target(pr, &env)?,
        Forge::Gitlab => gitlab::target(pr, &env)?,
    };
    let client = http::Client::new(&target);
    let marker = marker(command);
    let body = body(report, command);
    match find(&client, &target, &marker)? {
        Some(id) => {
            client.send(
                target.update_method,
                &(target.update_url)(id),
                &body,
                "edit the comment",
            )?;
            Ok((target.number, Outcome::Updated { id }))
        }
        None if report.findings.is_empty() => Ok((target.number, Outcome::NothingToSay)),
        None => {
            let created = client.send("POST", &target.create_url, &body, "create the comment")?;
            let id = created.get("id").and_then(|v| v.as_u64()).ok_or_else(|| {
                Error::Comment(format!(
                    "{} answered the new comment without an id",
                    target.create_url
                ))
            })?;
            Ok((target.number, Outcome::Created { id }))
        }
    }
}

/// The first comment that carries `marker`, going through every page.
#[cfg(feature = "comment")]
fn find(client: &http::Client, target: &Target, marker: &str) -> Result<Option<u64>> {
    const PER_PAGE: usize = 100;
    // 100 pages of 100 comments: far beyond any real review thread.
    for page in 1..=100 {
        let url = format!("{}?per_page={PER_PAGE}&page={page}", target.list_url);
        let list = client.get(&url, "list the comments")?;
        let Some(items) = list.as_array() else {
            return Err(Error::Comment(format!(
                "{url} did not answer with a list of comments"
            )));
        };
        for item in items {
            let body = item.get("body").and_then(|b| b.as_str()).unwrap_or("");
            if body.lines().next().map(str::trim) == Some(marker) {
                if let Some(id) = item.get("id").and_then(|v| v.as_u64()) {
                    return Ok(Some(id));
                }
            }
        }
        if items.len() < PER_PAGE {
            break;
        }
    }
    Ok(None)
}

/// The line printed on stderr after posting.
pub fn describe(forge: Forge, number: u64, outcome: &Outcome) -> String {
    let sigil = match forge {
        Forge::Github => "#",
        Forge::Gitlab => "!",
    };
    let on = format!("{} {sigil}{number}", forge.request_name());
    match outcome {
        Outcome::Created { id } => format!("migguard: comment {id} created on {on}"),
        Outcome::Updated { id } => format!("migguard: comment {id} updated on {on}"),
        Outcome::NothingToSay => {
            format!("migguard: no findings and no earlier comment on {on}: nothing posted")
        }
    }
}

/// A required environment variable, or an error saying how to set it.
fn required(env: &dyn Fn(&str) -> Option<String>, name: &str, how: &str) -> Result<String> {
    env(name).ok_or_else(|| Error::Comment(format!("{name} is not set: {how}")))
}

/// Percent-encodes one URL path segment (a GitLab project path `group/app`).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Mode;
    use crate::findings::{Finding, Severity};

    #[test]
    fn body_starts_with_the_marker_and_fits_the_limit() {
        let mut r = Report::new(Mode::Base);
        for i in 0..3000 {
            r.findings.push(Finding::new(
                "sum-drift",
                Severity::Error,
                format!("migrations/{i}.sql"),
                "atlas.sum does not match the migration files",
            ));
        }
        let text = body(&r, "check");
        assert!(text.starts_with("<!-- migguard:check -->\n## migguard\n"));
        assert!(
            text.len() <= crate::report::MARKDOWN_LIMIT,
            "{}",
            text.len()
        );
        assert!(text.contains("more finding(s)"));
        assert!(text.ends_with("edits this comment on every run.</sub>\n"));
    }

    #[test]
    fn project_paths_are_encoded() {
        assert_eq!(encode_segment("group/sub app"), "group%2Fsub%20app");
        assert_eq!(encode_segment("1234"), "1234");
    }
}
