//! The rule pages under `rules/` are the code's own documentation, and
//! `migguard explain` / `migguard rules` print it.

use std::path::Path;

use migguard::RULES;

#[test]
fn rule_pages_match_the_code() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    for rule in RULES {
        let page = dir.join(format!("{}.md", rule.name));
        let text = std::fs::read_to_string(&page).unwrap_or_default();
        assert_eq!(
            text,
            rule.doc,
            "{} is out of date: run `bash rules/generate.sh`",
            page.display()
        );
        let index = std::fs::read_to_string(dir.join("README.md")).unwrap();
        assert!(
            index.contains(&format!("[{}]({}.md)", rule.name, rule.name)),
            "rules/README.md lacks {}",
            rule.name
        );
    }
}

#[test]
fn explain_and_rules_commands() {
    let out = assert_cmd::Command::cargo_bin("migguard")
        .unwrap()
        .args(["explain", "sum-drift"])
        .assert()
        .code(0);
    assert_eq!(
        String::from_utf8_lossy(&out.get_output().stdout),
        migguard::find_rule("sum-drift").unwrap().doc
    );
    let out = assert_cmd::Command::cargo_bin("migguard")
        .unwrap()
        .arg("rules")
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains("sum-drift") && text.contains("error"),
        "{text}"
    );
    let out = assert_cmd::Command::cargo_bin("migguard")
        .unwrap()
        .args(["explain", "nope"])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("no rule named `nope`"));
}

/// The README's rule table lists every rule once, with its default
/// severity, and no rule that does not exist.
#[test]
fn readme_rule_table_matches_the_rules() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut rows: Vec<(String, String)> = readme
        .lines()
        .skip_while(|l| *l != "| rule | default | finds |")
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_string(), cells[2].to_string())
        })
        .collect();
    rows.sort();
    let mut rules: Vec<(String, String)> = RULES
        .iter()
        .map(|r| (r.name.to_string(), r.default_severity.name().to_string()))
        .collect();
    rules.sort();
    assert_eq!(rows, rules, "README.md's rule table disagrees with RULES");
}
