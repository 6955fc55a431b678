//! Measured findings override guesses (`migguard trace`, `check --trace`).
//! The lock and rewrite rules judge statements from their text; the trace
//! ran them on PostgreSQL. A static finding on a traced statement is kept
//! and marked measured when PostgreSQL showed a blocking lock or a rewrite,
//! and dropped when it showed neither. A rewrite, or an index build or a
//! constraint validation (not part of a rewrite) under a blocking lock the
//! statement itself raised, that no rule predicted becomes a measured
//! finding of the rule that covers it, unless an `atlas:nolint` directive
//! silenced that rule there.

use std::collections::BTreeSet;

use super::{CheckContext, Side};
use crate::devdb::trace::{by_statement, Migration, MigrationTrace, StatementTrace};
use crate::error::Result;
use crate::findings::{Finding, Severity};
use crate::rules::{
    constraint_validation_lock, index_lock, lock_timeout, not_null_scan, table_rewrite,
    unique_constraint_lock, Selection,
};

/// The rules whose findings claim a lock, a scan or a rewrite: the ones a
/// trace confirms or refutes.
pub const LOCK_RULES: [&str; 6] = [
    index_lock::RULE.name,
    unique_constraint_lock::RULE.name,
    constraint_validation_lock::RULE.name,
    not_null_scan::RULE.name,
    table_rewrite::RULE.name,
    lock_timeout::RULE.name,
];

/// The migrations of the new side in the order the format applies them,
/// the change's new ones marked to be traced; `None` when there is nothing
/// to trace (no new migration, or a directory of another database).
pub fn plan(ctx: &CheckContext) -> Result<Option<Vec<Migration>>> {
    let cs = &ctx.cs;
    if cs.new_migrations().is_empty()
        || crate::migrations::other_dialect_named_by(&cs.dir).is_some()
    {
        return Ok(None);
    }
    let new: BTreeSet<&str> = cs.new_migrations().iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for path in cs.ups() {
        let Some(bytes) = ctx.read(Side::New, &path)? else {
            continue;
        };
        let text = String::from_utf8_lossy(cs.format.up_part(&bytes)).into_owned();
        out.push(Migration {
            tx: cs.format.tx_mode(&text),
            traced: new.contains(path.as_str()),
            path,
            text,
        });
    }
    Ok(Some(out))
}

/// What the trace showed for a statement, for a message.
/// The locks it names are the ones the statement raised; when it raised
/// none, the blocking ones it ran under, with the line that took them.
fn shown(st: &StatementTrace) -> String {
    let raised = st.raised();
    let mut parts: Vec<String> = if raised.is_empty() {
        st.locks
            .iter()
            .filter(|l| l.blocks != "nothing")
            .map(|l| {
                format!(
                    "{} on {} (blocks {}, held since line {})",
                    l.mode, l.relation, l.blocks, l.taken_at
                )
            })
            .collect()
    } else {
        raised
            .iter()
            .map(|l| format!("{} on {} (blocks {})", l.mode, l.relation, l.blocks))
            .collect()
    };
    if !st.rewritten.is_empty() {
        parts.push(format!("rewrote {}", st.rewritten.join(", ")));
    }
    if !st.indexes_built.is_empty() {
        parts.push(format!("built {}", st.indexes_built.join(", ")));
    }
    if !st.constraints_validated.is_empty() {
        parts.push(format!("validated {}", st.constraints_validated.join(", ")));
    }
    format!("{}; {:.1} ms", parts.join(", "), st.millis)
}

/// `findings` (before suppressions) with the trace's verdicts applied.
pub fn merge(
    ctx: &CheckContext,
    selection: &Selection,
    findings: Vec<Finding>,
    traces: &[MigrationTrace],
) -> Result<Vec<Finding>> {
    let statements = by_statement(traces);
    let mut out = Vec::new();
    let mut dropped = 0;
    for mut f in findings {
        let traced = f
            .line
            .and_then(|line| statements.get(&(f.path.clone(), line)))
            .filter(|st| st.in_transaction && st.error.is_none());
        match traced {
            Some(st) if LOCK_RULES.contains(&f.rule) => {
                let confirmed = if f.rule == table_rewrite::RULE.name {
                    !st.rewritten.is_empty()
                } else {
                    st.blocking() || !st.rewritten.is_empty()
                };
                if confirmed {
                    f.measured = true;
                    f.message = format!("{} (measured: {})", f.message, shown(st));
                    out.push(f);
                } else {
                    dropped += 1;
                }
            }
            _ => out.push(f),
        }
    }
    for t in traces {
        for st in t.statements.iter().filter(|s| s.error.is_some()) {
            ctx.note(format!(
                "{} failed on PostgreSQL at line {}: {}; it was rolled back and nothing after it was traced",
                t.path,
                st.line,
                st.error.as_deref().unwrap_or("")
            ));
        }
    }
    if dropped > 0 {
        ctx.note(format!(
            "{dropped} lock or rewrite finding(s) dropped: PostgreSQL showed no blocking lock and no rewrite for their statements"
        ));
    }
    let lint = ctx.atlas_lint()?;
    let claimed = |path: &str, line: usize, rules: &[&str], out: &[Finding]| {
        out.iter()
            .any(|f| f.path == path && f.line == Some(line) && rules.contains(&f.rule))
            || lint
                .silenced
                .iter()
                .any(|(p, l, a)| p == path && *l == line && rules.contains(&a.name()))
    };
    let mut added = Vec::new();
    for t in traces {
        let file = ctx.parsed(Side::New, &t.path)?;
        for st in t.statements.iter().filter(|s| s.error.is_none()) {
            let span = file
                .as_ref()
                .and_then(|f| f.stmts.iter().find(|s| s.line == st.line))
                .map(|s| s.span.clone())
                .unwrap_or(0..0);
            let mut add = |rule: &'static str, message: String, help: &str| {
                let severity = crate::rules::find(rule)
                    .map(|r| selection.severity(r))
                    .unwrap_or(Severity::Off);
                if severity == Severity::Off {
                    return;
                }
                let mut f = Finding::new(rule, severity, &t.path, message)
                    .at(st.line, span.clone())
                    .help(help)
                    .label("measured on PostgreSQL");
                f.measured = true;
                added.push(f);
            };
            if !st.rewritten.is_empty()
                && !claimed(&t.path, st.line, &[table_rewrite::RULE.name], &out)
            {
                add(
                    table_rewrite::RULE.name,
                    format!(
                        "this statement rewrote existing {} (measured: {}): every row is copied while reads and writes wait",
                        st.rewritten.join(", "),
                        shown(st)
                    ),
                    "change the column in steps that do not rewrite (add a new column, backfill in batches, switch over), or run it in a maintenance window",
                );
            }
            // An index rebuilt or a constraint checked by a rewrite is part
            // of the rewrite; a blocking lock an earlier statement took is
            // that statement's: only a lock this statement raised counts.
            let raised_alone = st.rewritten.is_empty() && !st.raised().is_empty();
            if !st.indexes_built.is_empty()
                && raised_alone
                && !claimed(
                    &t.path,
                    st.line,
                    &[index_lock::RULE.name, unique_constraint_lock::RULE.name],
                    &out,
                )
            {
                add(
                    index_lock::RULE.name,
                    format!(
                        "this statement built an index of an existing table under a lock that blocks writes (measured: {})",
                        shown(st)
                    ),
                    "build the index with CREATE INDEX CONCURRENTLY in a migration of its own that runs outside a transaction",
                );
            }
            if !st.constraints_validated.is_empty()
                && raised_alone
                && !claimed(
                    &t.path,
                    st.line,
                    &[
                        constraint_validation_lock::RULE.name,
                        not_null_scan::RULE.name,
                    ],
                    &out,
                )
            {
                add(
                    constraint_validation_lock::RULE.name,
                    format!(
                        "this statement checked every row of an existing table under a lock that blocks writes (measured: {})",
                        shown(st)
                    ),
                    "add the constraint NOT VALID, then VALIDATE CONSTRAINT in a later migration",
                );
            }
        }
    }
    out.extend(added);
    Ok(out)
}
