//! Findings sized by the real tables. With `safety.stats` (a file written by
//! `migguard stats` from production or a replica: row estimates and sizes,
//! no row data), every lock, rewrite and scan finding names its table's size,
//! and its severity follows it: below `safety.small_table_rows` it becomes
//! info, above `safety.large_table_rows` an error. A file that is missing,
//! unreadable, older than 30 days, or lacks a table the findings name is said
//! in the summary; it never stops a run.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::CheckContext;
use crate::error::Result;
use crate::findings::{Finding, Severity};

/// The statistics file.
#[derive(Debug, Serialize, Deserialize)]
pub struct StatsFile {
    pub version: u32,
    /// `SHOW server_version` of the database it was taken from.
    pub server_version: String,
    /// When, in UTC (`2026-11-30T20:15:00Z`).
    pub taken_at: String,
    pub tables: Vec<TableStats>,
}

/// One table: PostgreSQL's estimates, no row data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableStats {
    pub schema: String,
    pub name: String,
    /// `pg_class.reltuples` (`None`: never analysed).
    pub rows: Option<f64>,
    /// `pg_total_relation_size`: the table, its indexes and TOAST.
    pub bytes: i64,
}

/// The rules whose findings are about locking, rewriting or scanning a
/// table, so that its size matters.
const SIZED: &[&str] = &[
    "index-lock",
    "unique-constraint-lock",
    "constraint-validation-lock",
    "not-null-scan",
    "table-rewrite",
    "lock-timeout",
    "maintenance-lock",
    "exclusion-constraint",
    "long-lock-window",
    "backfill-in-transaction",
    "invalid-index-risk",
    "fk-without-index",
];

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The day of a `YYYY-MM-DD...` timestamp, in days since 1970.
fn day_of(stamp: &str) -> Option<i64> {
    let mut parts = stamp.get(..10)?.split('-');
    let y = parts.next()?.parse().ok()?;
    let m = parts.next()?.parse().ok()?;
    let d = parts.next()?.parse().ok()?;
    Some(days_from_civil(y, m, d))
}

fn today() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| (d.as_secs() / 86_400) as i64)
}

/// `~4.8M rows, 3.1 GiB`.
pub fn describe(t: &TableStats) -> String {
    let rows = match t.rows {
        None => "never analysed".to_string(),
        Some(r) if r >= 1e6 => format!("~{:.1}M rows", r / 1e6),
        Some(r) if r >= 1e4 => format!("~{:.0}k rows", r / 1e3),
        Some(r) => format!("~{r:.0} rows"),
    };
    let b = t.bytes as f64;
    let size = if b >= (1u64 << 30) as f64 {
        format!("{:.1} GiB", b / (1u64 << 30) as f64)
    } else if b >= (1u64 << 20) as f64 {
        format!("{:.0} MiB", b / (1u64 << 20) as f64)
    } else {
        format!("{:.0} KiB", b / 1024.0)
    };
    format!("{rows}, {size}")
}

/// The findings with their tables' sizes, and the summary's notes.
pub fn apply(ctx: &CheckContext, findings: Vec<Finding>) -> Result<Vec<Finding>> {
    let safety = &ctx.settings.config.safety;
    let Some(rel) = &safety.stats else {
        return Ok(findings);
    };
    let path = ctx.settings.root.join(rel);
    let stats: StatsFile = match std::fs::read(&path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(why) => {
            ctx.note(format!(
                "safety.stats: cannot read {rel} ({why}): findings are not sized; write it with `migguard stats --dev-url URL -o {rel}`"
            ));
            return Ok(findings);
        }
    };
    if let Some(day) = day_of(&stats.taken_at) {
        let age = today() - day;
        if age > 30 {
            ctx.note(format!(
                "safety.stats: {rel} was taken on {} ({age} days ago): table sizes may be out of date",
                &stats.taken_at[..10]
            ));
        }
    }
    let small = safety.small_table_rows.unwrap_or(10_000) as f64;
    let large = safety.large_table_rows.unwrap_or(1_000_000) as f64;
    let mut lacking = BTreeSet::new();
    let out = findings
        .into_iter()
        .map(|mut f| {
            if !SIZED.contains(&f.rule) {
                return f;
            }
            let Some(table) = f
                .subject
                .as_deref()
                .and_then(|s| s.split('.').next())
                .filter(|t| !t.is_empty())
                .map(str::to_string)
            else {
                return f;
            };
            let found = stats
                .tables
                .iter()
                .filter(|t| t.name == table)
                .min_by_key(|t| t.schema != "public");
            match found {
                Some(t) => {
                    f.message.push_str(&format!(" ({table}: {})", describe(t)));
                    match t.rows {
                        Some(r) if r < small => f.severity = Severity::Info,
                        Some(r) if r > large => f.severity = Severity::Error,
                        _ => {}
                    }
                }
                None => {
                    lacking.insert(table);
                }
            }
            f
        })
        .collect();
    if !lacking.is_empty() {
        let names: Vec<String> = lacking.into_iter().collect();
        ctx.note(format!(
            "safety.stats: {rel} (taken {}) has no {} the findings name ({}): their findings keep their severity",
            stats.taken_at.get(..10).unwrap_or(&stats.taken_at),
            if names.len() == 1 { "table" } else { "tables" },
            names.join(", ")
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_at_a_glance() {
        let t = |rows, bytes| TableStats {
            schema: "public".into(),
            name: "t".into(),
            rows,
            bytes,
        };
        assert_eq!(
            describe(&t(Some(4_800_000.0), 3_328_599_654)),
            "~4.8M rows, 3.1 GiB"
        );
        assert_eq!(describe(&t(Some(12_400.0), 5 << 20)), "~12k rows, 5 MiB");
        assert_eq!(describe(&t(Some(950.0), 65_536)), "~950 rows, 64 KiB");
        assert_eq!(describe(&t(None, 8192)), "never analysed, 8 KiB");
    }

    #[test]
    fn dates_count_days() {
        assert_eq!(day_of("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(day_of("2026-11-30T20:15:00Z"), Some(20_787));
        assert_eq!(day_of("garbage"), None);
    }
}
