//! `migguard explain RULE`: the rule's documentation, from the code.

use super::print;
use crate::error::{Error, ExitStatus, Result};
use crate::rules::{find, RULES};

pub fn run(name: &str) -> Result<ExitStatus> {
    if let Some(rule) = find(name) {
        print(rule.doc);
        if !rule.doc.ends_with('\n') {
            print("\n");
        }
        return Ok(ExitStatus::Clean);
    }
    let names: Vec<&str> = RULES.iter().map(|r| r.name).collect();
    Err(Error::Usage(format!(
        "no rule named `{name}`; rules: {}",
        names.join(", ")
    )))
}
