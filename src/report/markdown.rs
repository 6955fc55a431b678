//! `--format markdown`: a summary table and the findings grouped by file,
//! each with the line it points at and its help, for `$GITHUB_STEP_SUMMARY`
//! and pull-request comments.

use std::collections::BTreeMap;

use super::Report;
use crate::findings::{Finding, Severity};

/// GitHub's limit for one comment (and a job summary is best kept under it).
pub const LIMIT: usize = 65_536;

pub fn render(report: &Report) -> String {
    render_within(report, LIMIT)
}

/// The report, cut at a finding boundary to at most `limit` characters with
/// a note saying how many findings were left out.
pub fn render_within(report: &Report, limit: usize) -> String {
    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warn);
    let mut head = String::from("## migguard\n\n");
    if report.findings.is_empty() {
        head.push_str("No findings.\n");
    } else {
        head.push_str(&format!(
            "**{errors} error{}, {warnings} warning{}**\n\n| rule | findings |\n|---|---|\n",
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" }
        ));
        for (rule, n) in report.by_rule() {
            head.push_str(&format!("| `{rule}` | {n} |\n"));
        }
    }
    // The directories and the notes, one list item each (consecutive
    // lines would run together into one paragraph).
    if !report.dirs.is_empty() || !report.notes.is_empty() {
        head.push('\n');
    }
    for d in &report.dirs {
        head.push_str(&format!(
            "- directory `{}`: {} format ({})\n",
            d.path, d.format, d.format_from
        ));
    }
    for n in &report.notes {
        head.push_str(&format!("- {}\n", n.replace('\n', " ")));
    }
    let mut by_file: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        by_file.entry(f.path.as_str()).or_default().push(f);
    }
    let mut blocks: Vec<String> = Vec::new();
    for (path, findings) in by_file {
        let mut block = format!("\n### `{path}`\n");
        for f in findings {
            block.push_str(&finding(report, f));
        }
        blocks.push(block);
    }
    let total = report.findings.len();
    let mut out = head;
    let mut shown = 0;
    for (i, block) in blocks.iter().enumerate() {
        // Room for the note that says what was cut.
        if out.len() + block.len() + 200 > limit {
            let left = total - shown;
            out.push_str(&format!(
                "\n_…cut to fit {limit} characters: {left} more finding(s) in {} more file(s); the full report is in the job log._\n",
                blocks.len() - i
            ));
            return out;
        }
        shown += block.matches("\n- ").count();
        out.push_str(block);
    }
    out
}

fn finding(report: &Report, f: &Finding) -> String {
    let icon = match f.severity {
        Severity::Error => "error",
        Severity::Info => "info",
        _ => "warning",
    };
    let place = f.line.map(|l| format!(" line {l}")).unwrap_or_default();
    let code = f.code.map(|c| format!(" ({c})")).unwrap_or_default();
    let mut s = format!(
        "\n- **{icon}** `{}`{code}{place}: {}\n",
        f.rule,
        f.message.replace('\n', " ")
    );
    if let (Some(line), Some(text)) = (f.line, report.sources.get(&f.path)) {
        if let Some(code) = text.lines().nth(line.saturating_sub(1)) {
            let code: String = code.chars().take(300).collect();
            let fence = if code.contains("```") { "````" } else { "```" };
            let lang = match f.path.rsplit_once('.').map(|(_, ext)| ext) {
                Some("go") => "go",
                Some("sql") => "sql",
                _ => "",
            };
            s.push_str(&format!("  {fence}{lang}\n  {code}\n  {fence}\n"));
        }
    }
    if !f.help.is_empty() {
        s.push_str(&format!("  help: {}\n", f.help.replace('\n', " ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Mode;

    fn report(n: usize) -> Report {
        let mut r = Report::new(Mode::Staged);
        r.add_source("m/1.sql", b"CREATE TABLE t (id int);\n");
        for i in 0..n {
            let mut f = Finding::new(
                "missing-soft-delete",
                Severity::Error,
                format!("m/{i}.sql"),
                "table \"t\" is created without the soft-delete column",
            )
            .help("add the \"deleted_at\" column");
            f.line = Some(1);
            r.findings.push(f);
        }
        r
    }

    #[test]
    fn summary_table_findings_by_file_with_excerpt_and_help() {
        let text = render(&report(2));
        assert!(
            text.starts_with("## migguard\n\n**2 errors, 0 warnings**\n"),
            "{text}"
        );
        assert!(text.contains("| `missing-soft-delete` | 2 |"), "{text}");
        assert!(text.contains("### `m/1.sql`"), "{text}");
        assert!(
            text.contains("  ```sql\n  CREATE TABLE t (id int);\n  ```"),
            "{text}"
        );
        assert!(
            text.contains("  help: add the \"deleted_at\" column"),
            "{text}"
        );
        assert!(render(&report(0)).contains("No findings."));
    }

    /// A whole report as a reviewer reads it: two files, an error with its
    /// statement and help, a warning without a line, the directory and a
    /// note.
    #[test]
    fn snapshot_of_a_real_report() {
        let mut r = Report::new(Mode::Base);
        r.dirs.push(crate::report::DirSummary::new(
            "db/migrations",
            crate::migrations::DirFormat::GolangMigrate,
            true,
        ));
        r.notes.push(
            "soft-delete convention in db/migrations: on, 12 of 12 tables before this change have deleted_at (detected)"
                .to_string(),
        );
        r.add_source(
            "db/migrations/20240301000000_orders.up.sql",
            b"-- create orders\nCREATE TABLE \"orders\" (\"id\" bigint NOT NULL, PRIMARY KEY (\"id\"));\n",
        );
        let mut f = Finding::new(
            "missing-soft-delete",
            Severity::Error,
            "db/migrations/20240301000000_orders.up.sql",
            "table \"orders\" is created without \"deleted_at\" (the soft-delete convention of this directory)",
        )
        .help("add `field.Time(\"deleted_at\").Optional().Nillable()` (or the team's mixin) to the ent schema and regenerate the migration");
        f.line = Some(2);
        r.findings.push(f);
        r.findings.push(
            Finding::new(
                "missing-down",
                Severity::Warn,
                "db/migrations/20240301000000_orders.up.sql",
                "no 20240301000000_orders.down.sql beside it: this migration cannot be rolled back",
            )
            .help("add 20240301000000_orders.down.sql that reverts it"),
        );
        let mut edited = Finding::new(
            "migration-edited",
            Severity::Error,
            "db/migrations/20240101000000_init.up.sql",
            "20240101000000_init.up.sql differs from the file on main: a migration that may have run already was edited",
        )
        .help("revert the edit and put the change in a new migration");
        edited.line = Some(1);
        r.findings.push(edited);
        r.sort();
        insta::assert_snapshot!(render(&r));
        insta::assert_snapshot!("cut", render_within(&r, 900));
    }

    #[test]
    fn long_reports_are_cut_with_a_note() {
        let r = report(2000);
        let text = render(&r);
        assert!(text.chars().count() <= LIMIT, "{}", text.len());
        assert!(
            text.contains("more finding(s)"),
            "{}",
            &text[text.len() - 300..]
        );
        let small = render_within(&r, 2000);
        assert!(small.len() <= 2000);
    }
}
