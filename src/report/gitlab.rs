//! `--format gitlab`: GitLab Code Quality report (a JSON array of issues),
//! shown in merge requests when the job declares it under
//! `artifacts: reports: codequality`.

use serde_json::json;
use sha2::{Digest, Sha256};

use super::Report;
use crate::findings::Severity;

pub fn render(report: &Report) -> String {
    let issues: Vec<serde_json::Value> = report
        .findings
        .iter()
        .map(|f| {
            // Stable across runs, distinct per finding (GitLab diffs reports by it).
            let mut h = Sha256::new();
            for part in [
                f.rule,
                f.path.as_str(),
                &f.line.unwrap_or(0).to_string(),
                f.message.as_str(),
            ] {
                h.update(part.as_bytes());
                h.update([0]);
            }
            let fingerprint: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
            let message = match f.code {
                Some(code) => format!("{code}: {}", f.message),
                None => f.message.clone(),
            };
            let description = if f.help.is_empty() {
                message
            } else {
                format!("{message} (help: {})", f.help)
            };
            json!({
                "description": description,
                "check_name": f.rule,
                "fingerprint": fingerprint,
                "severity": match f.severity { Severity::Error => "major", Severity::Info => "info", _ => "minor" },
                "location": {"path": f.path, "lines": {"begin": f.line.unwrap_or(1)}},
            })
        })
        .collect();
    let mut out = serde_json::to_string_pretty(&issues).unwrap_or_else(|_| "[]".into());
    out.push('\n');
    out
}
