//! Which rules run and at what severity: `rules:` in the config and `--rule`
//! on the command line, resolved once per run and handed to `check`,
//! `validate`, `parity` and the suppressions.

use std::collections::BTreeMap;

use super::{find, Rule, RULES};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::findings::Severity;

#[derive(Debug, Clone)]
pub struct Selection {
    severities: BTreeMap<&'static str, Severity>,
}

impl Selection {
    /// Every rule at its configured severity (`rules:`, else its default),
    /// and, when `only` names rules (`--rule`), every other rule off. A name
    /// that is no rule is a usage error.
    pub fn new(config: &Config, only: &[String]) -> Result<Selection> {
        for name in only {
            if find(name).is_none() {
                return Err(Error::Usage(format!(
                    "--rule {name}: no such rule (`migguard rules` lists them)"
                )));
            }
        }
        let severities = RULES
            .iter()
            .map(|r| {
                let chosen = only.is_empty() || only.iter().any(|n| n == r.name);
                let severity = match config.rules.get(r.name) {
                    _ if !chosen => Severity::Off,
                    Some(s) => *s,
                    None => r.default_severity,
                };
                (r.name, severity)
            })
            .collect();
        Ok(Selection { severities })
    }

    /// The same selection with every rule outside `names` turned off.
    pub fn only(mut self, names: &[&str]) -> Selection {
        for (name, severity) in self.severities.iter_mut() {
            if !names.contains(name) {
                *severity = Severity::Off;
            }
        }
        self
    }

    /// The severity `rule` runs at; `Off`: it does not run.
    pub fn severity(&self, rule: &Rule) -> Severity {
        self.severities
            .get(rule.name)
            .copied()
            .unwrap_or(rule.default_severity)
    }

    /// A rule named in a suppression, with its severity.
    pub fn by_name(&self, name: &str) -> Option<(&'static str, Severity)> {
        find(name).map(|r| (r.name, self.severity(r)))
    }

    /// Findings of database rules made at their rule's default severity,
    /// given the selected one (`off` drops them).
    pub fn apply(&self, findings: Vec<crate::findings::Finding>) -> Vec<crate::findings::Finding> {
        findings
            .into_iter()
            .filter_map(|mut f| {
                if let Some((_, severity)) = self.by_name(f.rule) {
                    f.severity = severity;
                }
                (f.severity != Severity::Off).then_some(f)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{missing_down, sum_drift};

    fn config(yaml: &str) -> Config {
        Config::parse(
            std::path::Path::new(".migguard.yaml"),
            yaml,
            &crate::rules::known_names(),
        )
        .unwrap()
    }

    #[test]
    fn config_severities_and_rule_flags_resolve_once() {
        let s = Selection::new(&config("rules:\n  sum-drift: warn\n"), &[]).unwrap();
        assert_eq!(s.severity(&sum_drift::RULE), Severity::Warn);
        assert_eq!(s.severity(&missing_down::RULE), Severity::Warn);
        let only = Selection::new(&config(""), &["missing-down".to_string()]).unwrap();
        assert_eq!(only.severity(&sum_drift::RULE), Severity::Off);
        assert_eq!(only.severity(&missing_down::RULE), Severity::Warn);
        let err = Selection::new(&config(""), &["nope".to_string()]).unwrap_err();
        assert!(err.to_string().contains("--rule nope: no such rule"));
    }
}
