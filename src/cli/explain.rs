//! `migguard explain RULE`: the rule's documentation, from the code.

use super::print;
use crate::error::{Error, Result};
use crate::rules::{find, PLANNED, RULES};

pub fn run(name: &str) -> Result<i32> {
    if let Some(rule) = find(name) {
        print(rule.doc);
        if !rule.doc.ends_with('\n') {
            print("\n");
        }
        return Ok(0);
    }
    let names: Vec<&str> = RULES.iter().map(|r| r.name).collect();
    if PLANNED.contains(&name) {
        return Err(Error::Usage(format!(
            "`{name}` is a rule of the migguard contract that this version does not implement yet; implemented: {}",
            names.join(", ")
        )));
    }
    Err(Error::Usage(format!(
        "no rule named `{name}`; rules: {}",
        names.join(", ")
    )))
}
