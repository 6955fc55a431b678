//! GitLab: notes of a merge request (REST API v4).

use super::{encode_segment, required, Forge, Target};
use crate::error::{Error, Result};

/// The merge request's endpoints: `CI_API_V4_URL`, `CI_PROJECT_ID`,
/// `GITLAB_TOKEN`, and the IID from `--pr` or `CI_MERGE_REQUEST_IID`.
pub(super) fn target(pr: Option<u64>, env: &dyn Fn(&str) -> Option<String>) -> Result<Target> {
    let token = required(
        env,
        "GITLAB_TOKEN",
        "store a project access token with the `api` scope as a masked CI/CD variable",
    )?;
    let api = required(
        env,
        "CI_API_V4_URL",
        "GitLab CI sets it, e.g. https://gitlab.com/api/v4",
    )?;
    let project = required(
        env,
        "CI_PROJECT_ID",
        "GitLab CI sets it (the project's id or path)",
    )?;
    let iid = match pr {
        Some(n) => n,
        None => {
            let raw = env("CI_MERGE_REQUEST_IID").ok_or_else(|| {
                Error::Comment(
                    "no merge request: CI_MERGE_REQUEST_IID is not set; run the job in a merge \
                     request pipeline (`if: $CI_PIPELINE_SOURCE == \"merge_request_event\"`) or \
                     pass --pr N"
                        .to_string(),
                )
            })?;
            raw.parse().map_err(|_| {
                Error::Comment(format!(
                    "CI_MERGE_REQUEST_IID is `{raw}`: expected a number"
                ))
            })?
        }
    };
    let base = format!(
        "{}/projects/{}/merge_requests/{iid}/notes",
        api.trim_end_matches('/'),
        encode_segment(&project)
    );
    let list = base.clone();
    Ok(Target {
        forge: Forge::Gitlab,
        number: iid,
        list_url: list.clone(),
        create_url: list,
        update_url: Box::new(move |id| format!("{base}/{id}")),
        update_method: "PUT",
        auth: ("PRIVATE-TOKEN", token.clone()),
        token,
        token_var: "GITLAB_TOKEN",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_from_gitlab_ci() {
        let env = |k: &str| {
            match k {
                "GITLAB_TOKEN" => Some("glpat-secret"),
                "CI_API_V4_URL" => Some("https://gitlab.example.com/api/v4"),
                "CI_PROJECT_ID" => Some("group/app"),
                "CI_MERGE_REQUEST_IID" => Some("12"),
                _ => None,
            }
            .map(String::from)
        };
        let t = target(None, &env).unwrap();
        assert_eq!(t.number, 12);
        assert_eq!(
            t.list_url,
            "https://gitlab.example.com/api/v4/projects/group%2Fapp/merge_requests/12/notes"
        );
        assert_eq!(
            (t.update_url)(5),
            "https://gitlab.example.com/api/v4/projects/group%2Fapp/merge_requests/12/notes/5"
        );
        assert_eq!(t.auth, ("PRIVATE-TOKEN", "glpat-secret".to_string()));
        let no_mr = |k: &str| {
            if k == "CI_MERGE_REQUEST_IID" {
                None
            } else {
                env(k)
            }
        };
        let e = target(None, &no_mr).err().unwrap().to_string();
        assert!(e.contains("merge_request_event"), "{e}");
        assert_eq!(target(Some(3), &no_mr).unwrap().number, 3);
    }
}
