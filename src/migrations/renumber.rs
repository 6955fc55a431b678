//! Planning `fix-sum --renumber`: fresh versions after the base's newest for
//! this branch's migrations that are not newer than it.

use std::cmp::Ordering;

use super::format::{compare_versions, DirFormat};
use super::listing::Listing;

/// One file to rename.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rename {
    pub from: String,
    pub to: String,
}

/// Plans the renames. `base` lists the base's directory, `current` the
/// directory now (after merging the base). The branch's migrations are those
/// the base does not have; from the first one that is not newer than the
/// base's newest, each gets the next fresh version, in order, so their order
/// is kept (one already newer than its predecessor keeps its own). Up and down files move together.
pub fn plan(format: DirFormat, base: &Listing, current: &Listing) -> Result<Vec<Rename>, String> {
    if format == DirFormat::Flyway {
        return Err(
            "--renumber does not support Flyway directories (versions are part of the V prefix)"
                .into(),
        );
    }
    let Some(newest) = base
        .migrations
        .iter()
        .map(|m| m.version.as_str())
        .max_by(|a, b| compare_versions(format, a, b))
    else {
        return Ok(Vec::new());
    };
    let base_files: std::collections::HashSet<&str> =
        base.migrations.iter().map(|m| m.up.as_str()).collect();
    let mut branch: Vec<_> = current
        .migrations
        .iter()
        .filter(|m| !base_files.contains(m.up.as_str()))
        .collect();
    branch.sort_by(|a, b| {
        compare_versions(format, &a.version, &b.version).then_with(|| a.up.cmp(&b.up))
    });
    let Some(first) = branch
        .iter()
        .position(|m| compare_versions(format, &m.version, newest) != Ordering::Greater)
    else {
        return Ok(Vec::new());
    };
    let mut version = newest.to_string();
    let mut out = Vec::new();
    for m in &branch[first..] {
        let candidate = next_version(&version).ok_or_else(|| {
            format!("cannot compute a version after `{version}`: renumber supports numeric versions (timestamps or counters)")
        })?;
        // Already after everything before it: keep it.
        if compare_versions(format, &m.version, &candidate) != Ordering::Less {
            version = m.version.clone();
            continue;
        }
        version = candidate;
        for file in std::iter::once(&m.up).chain(m.down.iter().filter(|d| **d != m.up)) {
            let rest = &file[m.version.len()..];
            out.push(Rename {
                from: file.clone(),
                to: format!("{version}{rest}"),
            });
        }
    }
    Ok(out)
}

/// The version after `v`: one second later for a `YYYYMMDDHHMMSS` timestamp,
/// else the next integer with the same zero padding.
pub fn next_version(v: &str) -> Option<String> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if v.len() == 14 {
        if let Some(next) = next_timestamp(v) {
            return Some(next);
        }
    }
    let n: u128 = v.parse().ok()?;
    Some(format!("{:0width$}", n + 1, width = v.len()))
}

fn next_timestamp(v: &str) -> Option<String> {
    let num = |r: std::ops::Range<usize>| v[r].parse::<i64>().ok();
    let (y, mo, d, h, mi, s) = (
        num(0..4)?,
        num(4..6)?,
        num(6..8)?,
        num(8..10)?,
        num(10..12)?,
        num(12..14)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s + 1;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, mo, d) = civil_from_days(days);
    Some(format!(
        "{y:04}{mo:02}{d:02}{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    ))
}

// Howard Hinnant's civil date algorithms.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_versions() {
        assert_eq!(
            next_version("20240101000000").as_deref(),
            Some("20240101000001")
        );
        assert_eq!(
            next_version("20241231235959").as_deref(),
            Some("20250101000000")
        );
        assert_eq!(
            next_version("20240228235959").as_deref(),
            Some("20240229000000")
        );
        assert_eq!(next_version("0009").as_deref(), Some("0010"));
        assert_eq!(next_version("v1"), None);
    }

    #[test]
    fn renumbers_the_branch_after_the_base_keeping_order_and_pairs() {
        let base = Listing::new(
            DirFormat::GolangMigrate,
            [
                "1_a.up.sql",
                "1_a.down.sql",
                "5_main.up.sql",
                "5_main.down.sql",
            ],
        );
        let current = Listing::new(
            DirFormat::GolangMigrate,
            [
                "1_a.up.sql",
                "1_a.down.sql",
                "3_mine.up.sql",
                "3_mine.down.sql",
                "4_mine2.up.sql",
                "5_main.up.sql",
                "5_main.down.sql",
                "9_later.up.sql",
                "9_later.down.sql",
            ],
        );
        let renames = plan(DirFormat::GolangMigrate, &base, &current).unwrap();
        let pairs: Vec<(&str, &str)> = renames
            .iter()
            .map(|r| (r.from.as_str(), r.to.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("3_mine.up.sql", "6_mine.up.sql"),
                ("3_mine.down.sql", "6_mine.down.sql"),
                ("4_mine2.up.sql", "7_mine2.up.sql"),
            ]
        );
    }

    #[test]
    fn nothing_to_do_when_the_branch_is_newer() {
        let base = Listing::new(DirFormat::Atlas, ["1_a.sql"]);
        let current = Listing::new(DirFormat::Atlas, ["1_a.sql", "2_b.sql"]);
        assert!(plan(DirFormat::Atlas, &base, &current).unwrap().is_empty());
        assert!(plan(DirFormat::Flyway, &base, &current).is_err());
    }
}
