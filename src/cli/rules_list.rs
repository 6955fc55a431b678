//! `migguard rules`: every rule with its default severity.

use super::{print, Global};
use crate::error::{ExitStatus, Result};
use crate::report::Format;
use crate::rules::RULES;

pub fn run(global: &Global) -> Result<ExitStatus> {
    if global.format == Some(Format::Json) {
        let list: Vec<_> = RULES
            .iter()
            .map(|r| serde_json::json!({"name": r.name, "severity": r.default_severity, "summary": r.summary}))
            .collect();
        print(&format!("{}\n", serde_json::Value::Array(list)));
        return Ok(ExitStatus::Clean);
    }
    let width = RULES.iter().map(|r| r.name.len()).max().unwrap_or(0);
    for r in RULES {
        print(&format!(
            "{:width$}  {:5}  {}\n",
            r.name,
            r.default_severity.name(),
            r.summary
        ));
    }
    Ok(ExitStatus::Clean)
}
