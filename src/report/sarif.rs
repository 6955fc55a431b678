//! `--format sarif`: SARIF 2.1.0, for GitHub code scanning and other viewers,
//! with every rule's metadata and help taken from its documentation.

use serde_json::{json, Value};

use super::Report;
use crate::findings::Severity;
use crate::rules::RULES;

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warn => "warning",
        Severity::Info => "note",
        Severity::Off => "none",
    }
}

pub fn render(report: &Report) -> String {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.name,
                "name": r.name,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.summary},
                "help": {"text": r.doc, "markdown": r.doc},
                "defaultConfiguration": {"level": level(r.default_severity)},
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut region = serde_json::Map::new();
            if let Some(line) = f.line {
                region.insert("startLine".into(), json!(line));
                region.insert("startColumn".into(), json!(f.column.unwrap_or(1)));
            }
            let mut location =
                json!({"artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"}});
            if !region.is_empty() {
                location["region"] = Value::Object(region);
            }
            let text = if f.help.is_empty() {
                f.message.clone()
            } else {
                format!("{}\nhelp: {}", f.message, f.help)
            };
            let text = match f.code {
                Some(code) => format!("{code}: {text}"),
                None => text,
            };
            let mut result = json!({
                "ruleId": f.rule,
                "ruleIndex": RULES.iter().position(|r| r.name == f.rule),
                "level": level(f.severity),
                "message": {"text": text},
                "locations": [{"physicalLocation": location}],
            });
            if let Some(code) = f.code {
                result["properties"] = json!({"code": code});
            }
            if f.measured {
                result["properties"]["measured"] = json!(true);
            }
            result
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "migguard",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/migguard/migguard",
                "rules": rules,
            }},
            "results": results,
        }],
    });
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}
