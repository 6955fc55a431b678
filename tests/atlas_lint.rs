//! Atlas's analyzers against Atlas itself: OpenMeter's migrations carry
//! `-- atlas:nolint CODE` directives where Atlas flagged a statement. Each
//! migration is judged in turn as the one new migration (every earlier one is
//! the base side), once with its directives removed and once as written.
//! Skipped, with the reason printed, without `../shared/corpus`.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use migguard::{DirFormat, Lint, ParsedFile};

/// One directive: file, statement line, and what it names (`""`: bare).
type Directive = (String, usize, Vec<String>);

/// `text` with every `atlas:nolint` comment line blanked (lines kept), and
/// the directives found, placed at the statement they precede.
fn strip(name: &str, text: &str) -> (String, Vec<Directive>) {
    let parsed = ParsedFile::parse(text.as_bytes());
    let mut out = Vec::new();
    let mut stripped = String::with_capacity(text.len());
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if t.starts_with("--") && t.contains("atlas:nolint") {
            let args = t.split("atlas:nolint").nth(1).unwrap_or("").trim();
            let stmt = parsed
                .stmts
                .iter()
                .find(|s| s.span.start > offset)
                .expect("a directive before a statement");
            out.push((
                name.to_string(),
                stmt.line,
                args.split(' ').map(str::to_string).collect(),
            ));
            stripped.push_str("--\n");
        } else {
            stripped.push_str(line);
        }
        offset += line.len();
    }
    (stripped, out)
}

#[test]
fn every_openmeter_nolint_directive_is_a_finding_of_its_code() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/openmeter/migrations");
    if !dir.is_dir() {
        common::say(
            "skipped: no OpenMeter corpus at ../shared/corpus (not part of the repository)",
        );
        return;
    }
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".up.sql"))
        .collect();
    names.sort();
    let mut base = Lint::default();
    let (mut directives, mut recalled) = (0, 0);
    let mut missed = Vec::new();
    let mut undirected = Vec::new();
    let mut kept_reported = 0;
    let mut directive_lines = 0;
    for name in &names {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let (stripped, found) = strip(name, &text);
        directive_lines += found.len();
        // As `check` runs it: golang-migrate sends the file as one query.
        let tx = DirFormat::GolangMigrate.tx_mode(&text);
        // Without its directives, as the one new migration.
        let mut probe = base.clone();
        probe.file_in(name, &ParsedFile::parse(stripped.as_bytes()), true, tx);
        // Atlas's analyzers only (the lock rules share the engine).
        probe.diags.retain(|d| is_atlas(d.code));
        let at = |line: usize| -> BTreeSet<(&'static str, &'static str)> {
            probe
                .diags
                .iter()
                .filter(|d| d.line == line)
                .map(|d| (d.code, d.analyzer.name()))
                .collect()
        };
        for (file, line, rules) in &found {
            for rule in rules {
                directives += 1;
                let hit = at(*line)
                    .iter()
                    .any(|(code, analyzer)| rule.is_empty() || rule == code || rule == analyzer);
                if hit {
                    recalled += 1;
                } else {
                    missed.push(format!("{file}:{line} {rule}"));
                }
            }
        }
        let directed: BTreeSet<usize> = found.iter().map(|d| d.1).collect();
        undirected.extend(
            probe
                .diags
                .iter()
                .filter(|d| !directed.contains(&d.line))
                .map(|d| format!("{}:{} {} {}", d.path, d.line, d.code, d.message)),
        );
        // As written, the directives keep every code they name quiet.
        let mut kept = base.clone();
        kept.file_in(name, &ParsedFile::parse(text.as_bytes()), true, tx);
        kept.diags.retain(|d| is_atlas(d.code));
        for d in &kept.diags {
            if let Some((_, _, rules)) = found.iter().find(|f| f.1 == d.line) {
                if rules
                    .iter()
                    .any(|r| r.is_empty() || r == d.code || r == d.analyzer.name())
                {
                    kept_reported += 1;
                }
            }
        }
        base.file(name, &ParsedFile::parse(text.as_bytes()), false);
    }
    common::say(&format!(
        "atlas:nolint sweep over {} migrations: {recalled} of {directives} codes named by {directive_lines} directives recalled; {} coded findings on statements without a directive",
        names.len(),
        undirected.len()
    ));
    for u in &undirected {
        common::say(&format!("  without a directive: {u}"));
    }
    assert_eq!(kept_reported, 0, "a directive did not keep its code quiet");
    // The directives Atlas's own analysis would not report either, each
    // checked by hand against Atlas's analyzers (sql/sqlcheck) and left
    // unreported on purpose.
    let superfluous = [
        // MF103 on a CREATE INDEX: no column is added.
        "20240923180033_customer_drop_key.up.sql:17 MF103",
        // `destructive` on DELETE FROM: no schema change.
        "20250103121359_plan-phase-duration.up.sql:3 destructive",
        // BC102 on an ALTER TABLE that renames nothing (copied from the
        // renames above it, which carry their own directives).
        "20250306040407_resource_meter.up.sql:9 BC102",
        "20250606115859_subject_namespace.up.sql:9 BC102",
        // MF104 after an UPDATE without WHERE that copies a NOT NULL column
        // into every row: SET NOT NULL cannot fail (Atlas's
        // ColumnFilledBefore accepts any UPDATE without WHERE).
        "20260410132752_flat_fee_status_detailed.up.sql:5 MF104",
        "20260410144542_credit_purchase_refactor.up.sql:6 MF104",
    ];
    // Atlas reports MF101 on unique indexes whose rows are distinct
    // already, and migguard does not say they might fail. Each checked by
    // hand: what proves it, and where that came from.
    let implied = [
        // The index holds every column of a unique index the table has, or
        // had until a DROP INDEX earlier in the same transaction (its ACCESS
        // EXCLUSIVE lock kept every other session out, and nothing in
        // between wrote a row), over the rows it covers.
        // customer_namespace_key (namespace, key), 20240918204720, dropped
        // at line 27.
        "20240920070940_indexing-fixes.up.sql:36 MF101",
        // plan_namespace_key_deleted_at (namespace, key, deleted_at),
        // 20241105171821, still there.
        "20241108055754_plan.up.sql:5 ",
        // planratecard_phase_id_feature_key (phase_id, feature_key) and
        // planratecard_phase_id_key (phase_id, key), 20241105171821,
        // dropped at lines 2 and 4.
        "20241119131528_plan.up.sql:7 ",
        "20241119131528_plan.up.sql:10 ",
        // planphase_plan_id_key (plan_id, key), dropped at line 2.
        "20241119154436_plan.up.sql:5 ",
        // customersubjects_namespace_subject_key (namespace, subject_key),
        // 20240923180033, dropped at line 4 (only columns were added since).
        "20241119181140_customer_subjects_soft_delete.up.sql:11 MF101",
        // app_namespace_type_is_default, the same columns WHERE
        // (is_default = true), 20241013151355, dropped at line 2; the new
        // one covers fewer rows (AND deleted_at IS NULL).
        "20250113222737_app_default_with_deleted.up.sql:5 MF101",
        // appstripe_namespace_stripe_account_id_stripe_livemode, the same
        // columns on every row, 20241230152834, dropped at line 2.
        "20250218103055_fix-unique-indexes.up.sql:5 MF101",
        // billingprofile_namespace_default, the same columns WHERE
        // (deleted_at IS NULL), 20250218103055, dropped at line 2.
        "20250218161614_billing-profile-fix-constraint.up.sql:5 MF101",
        // subject_namespace_key (namespace, key) WHERE (deleted_at IS NULL),
        // 20250911154229, still there.
        "20250924131607_subject-index.up.sql:6 MF101",
        // charge_standard_invoice_payment_settlements_line_id_key (line_id),
        // 20260303111853, still there.
        "20260305140658_billing-charges-credit-purchase.up.sql:35 MF101",
        // chargecreditpurchase_namespace_key (namespace, key) with the same
        // WHERE, 20260629113257, dropped at line 2 (the file's own comment
        // says so).
        "20260716152332_rescope-credit-grant-key-to-customer.up.sql:7 MF101",
        // The index holds a column added earlier in the transaction with no
        // default: NULL in every row, and NULLs are distinct.
        // child_unique_reference_id, line 7.
        "20241120145625_billing-discounts.up.sql:10 MF101",
        // key, line 2.
        "20250130034713_customer_key.up.sql:7 MF101",
        // deleted_at, line 9.
        "20250306040407_resource_meter.up.sql:29 MF101",
        // key, line 2.
        "20260629113257_credit-purchase-idempotency-key.up.sql:5 MF101",
        // A NOT NULL column without a default was added earlier in the
        // transaction (its MF103): that only succeeds on an empty table.
        // namespace, line 8.
        "20240923180033_customer_drop_key.up.sql:24 MF101",
        // line 13 (DROP COLUMN "key", ADD COLUMN ... NOT NULL).
        "20240924164504_billing-profile.up.sql:19 MF101",
        "20240924164504_billing-profile.up.sql:22 MF101",
        // index, line 6 (after a DELETE of every row at line 3).
        "20250103121359_plan-phase-duration.up.sql:9 data_depend",
    ];
    // Atlas reports MF101 on unique indexes that include the primary key
    // (one of them, on a table the same file creates, it would not report)
    // (OpenMeter's tables all have `PRIMARY KEY ("id")`, and Ent indexes
    // such as ("namespace", "id")): their rows are distinct already, the
    // index cannot fail on duplicates, and migguard does not say it might.
    let (on_primary_key, other): (Vec<&String>, Vec<&String>) = missed
        .iter()
        .partition(|m| (m.ends_with(" MF101") || m.ends_with(' ')) && includes_id(&dir, m));
    let (by_key, other): (Vec<&String>, Vec<&String>) = other
        .into_iter()
        .partition(|m| implied.contains(&m.as_str()));
    common::say(&format!(
        "  missed: {} directives on unique indexes that include the primary key, {} on unique indexes whose rows are distinct already (a unique key they hold, now or until earlier in the transaction; a column added there, NULL in every row; a table found empty there), {} directives Atlas would not report either",
        on_primary_key.len(),
        by_key.len(),
        other.len()
    ));
    assert_eq!(by_key.len(), implied.len(), "an implied key was reported");
    assert_eq!(
        other,
        superfluous.iter().collect::<Vec<_>>(),
        "recalled {recalled} of {directives}; missed:\n{}",
        missed.join("\n")
    );
    assert_eq!(recalled + missed.len(), directives);
}

/// Codes of Atlas's open analyzers.
fn is_atlas(code: &str) -> bool {
    ["DS", "MF", "BC", "CD"].iter().any(|p| code.starts_with(p))
}

/// Whether the statement a miss (`file:line CODE`) points at is a unique
/// index that includes the `id` column.
fn includes_id(dir: &Path, miss: &str) -> bool {
    let (file, rest) = miss.split_once(':').unwrap();
    let line: usize = rest.split(' ').next().unwrap().parse().unwrap();
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    let parsed = ParsedFile::parse(text.as_bytes());
    let stmt = parsed.stmts.iter().find(|s| s.line == line).unwrap();
    stmt.ast.iter().any(|a| match a {
        sqlparser::ast::Statement::CreateIndex(ci) => {
            ci.unique
                && ci
                    .columns
                    .iter()
                    .any(|c| c.column.expr.to_string() == "\"id\"")
        }
        _ => false,
    })
}
