//! The rules. This file is the one place that lists them: `RULES` drives
//! `migguard rules`, `migguard explain`, config validation and the reports'
//! rule metadata. Each rule lives in its own file with its documentation.

use crate::check::CheckContext;
use crate::error::Result;
use crate::findings::{Finding, Severity};

pub mod backfill_in_transaction;
pub mod backward_incompatible_change;
pub mod concurrently_in_transaction;
pub mod constraint_dropped;
pub mod constraint_validation_lock;
pub mod data_dependent_change;
pub mod destructive_change;
pub mod down_roundtrip;
pub mod exclusion_constraint;
pub mod fk_without_index;
pub mod generated_edited;
pub mod index_lock;
pub mod invalid_index_risk;
pub mod lock_timeout;
pub mod long_lock_window;
pub mod maintenance_lock;
pub mod migration_edited;
pub mod missing_down;
pub mod missing_soft_delete;
pub mod non_linear;
pub mod not_null_scan;
pub mod postgres_version;
pub mod prefer_jsonb;
pub mod sum_drift;
pub mod sum_history;
pub mod table_rewrite;
pub mod transaction_control;
pub mod unclosed_transaction;
pub mod unique_constraint_lock;
pub mod unique_without_deleted_at;
pub mod view_missing_from_up;
pub mod view_parity;

mod selection;
pub use selection::Selection;

#[cfg(test)]
pub(crate) mod testing;

/// What a rule runs: it reads the shared context and pushes findings at the
/// severity it is given.
pub type CheckFn = fn(&CheckContext, Severity, &mut Vec<Finding>) -> Result<()>;

/// A rule's identity and documentation.
#[derive(Debug)]
pub struct Rule {
    /// Stable name, used in config, suppressions and reports.
    pub name: &'static str,
    pub default_severity: Severity,
    /// One line for `migguard rules`.
    pub summary: &'static str,
    /// Markdown printed by `migguard explain NAME`: what it does, why it
    /// matters, an example, how to fix.
    pub doc: &'static str,
    /// What `migguard check` runs; `None` for a rule only a database can
    /// judge (run by `migguard parity`).
    pub check: Option<CheckFn>,
    /// Whether the rule needs a change set (it does not run with `--all`).
    pub needs_change: bool,
}

/// Every rule migguard runs, in the order they are listed.
pub static RULES: &[&Rule] = &[
    &sum_drift::RULE,
    &sum_history::RULE,
    &migration_edited::RULE,
    &non_linear::RULE,
    &missing_down::RULE,
    &generated_edited::RULE,
    &missing_soft_delete::RULE,
    &unique_without_deleted_at::RULE,
    &view_missing_from_up::RULE,
    &destructive_change::RULE,
    &data_dependent_change::RULE,
    &backward_incompatible_change::RULE,
    &constraint_dropped::RULE,
    &index_lock::RULE,
    &concurrently_in_transaction::RULE,
    &transaction_control::RULE,
    &unique_constraint_lock::RULE,
    &constraint_validation_lock::RULE,
    &not_null_scan::RULE,
    &table_rewrite::RULE,
    &lock_timeout::RULE,
    &maintenance_lock::RULE,
    &exclusion_constraint::RULE,
    &unclosed_transaction::RULE,
    &prefer_jsonb::RULE,
    &invalid_index_risk::RULE,
    &backfill_in_transaction::RULE,
    &long_lock_window::RULE,
    &postgres_version::RULE,
    &fk_without_index::RULE,
    &view_parity::RULE,
    &down_roundtrip::RULE,
];

/// The findings of one analyzer of [`crate::sql::lint`] (Atlas's, or a lock
/// rule's): each diagnostic of the new migrations, at its statement, with
/// its code and text, and the help `help(code)` gives.
fn atlas_findings(
    ctx: &CheckContext,
    rule: &'static str,
    analyzer: crate::sql::lint::Analyzer,
    severity: Severity,
    help: fn(&str) -> &'static str,
    out: &mut Vec<Finding>,
) -> Result<()> {
    if ctx.cs.new_migrations().is_empty() {
        return Ok(());
    }
    let lint = ctx.atlas_lint()?;
    for d in lint.diags.iter().filter(|d| d.analyzer == analyzer) {
        let mut f = Finding::new(rule, severity, &d.path, d.message.clone())
            .at(d.line, d.span.clone())
            .subject(d.subject.clone())
            .help(help(d.code));
        if !d.code.is_empty() {
            f = f.code(d.code).label(d.code);
        }
        out.push(f);
    }
    Ok(())
}

pub fn find(name: &str) -> Option<&'static Rule> {
    RULES.iter().copied().find(|r| r.name == name)
}

/// Names accepted in config.
pub fn known_names() -> Vec<&'static str> {
    RULES.iter().map(|r| r.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_kebab_case_and_documented() {
        let names = known_names();
        for (i, n) in names.iter().enumerate() {
            assert!(n.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{n}");
            assert!(!names[i + 1..].contains(n), "{n} listed twice");
        }
        for r in RULES {
            for section in [
                "## What it does",
                "## Why it matters",
                "## Example",
                "## How to fix",
            ] {
                assert!(r.doc.contains(section), "{} lacks {section}", r.name);
            }
        }
    }

    /// Every rule lives in the file named after it, listed in `RULES`, with
    /// unit tests of its own (`testing::findings` and friends): a new rule
    /// is one file plus one line here.
    #[test]
    fn every_rule_file_is_listed_and_tested() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/rules");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| {
                n.ends_with(".rs")
                    && !["mod.rs", "testing.rs", "selection.rs"].contains(&n.as_str())
            })
            .collect();
        files.sort();
        let mut listed: Vec<String> = RULES
            .iter()
            .map(|r| format!("{}.rs", r.name.replace('-', "_")))
            .collect();
        listed.sort();
        assert_eq!(files, listed, "src/rules/*.rs and RULES disagree");
        for file in files {
            let text = std::fs::read_to_string(dir.join(&file)).unwrap();
            assert!(text.contains("#[cfg(test)]"), "{file} has no unit tests");
            assert!(
                text.matches("#[test]").count() >= 2,
                "{file}: test a finding and a clean case"
            );
        }
    }
}
