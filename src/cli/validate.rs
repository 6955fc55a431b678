//! `migguard validate`: `atlas.sum` integrity of the directory on disk.

use super::{open_dir, print, Global};
use crate::atlas_sum::{DirSum, FILE_NAME};
use crate::error::Result;
use crate::report::{Mode, Report};
use crate::rules::sum_drift;

pub fn run(global: &Global) -> Result<i32> {
    let settings = global.settings()?;
    let (dir, format) = open_dir(&settings)?;
    let actual = dir.read_optional(FILE_NAME)?;
    let sum = DirSum::compute(format, &dir.names, actual, |n| dir.read(n))?;
    let sum_path = settings.rel(&dir.path.join(FILE_NAME));
    let mut report = Report::new(Mode::All);
    report.files = sum.files_hashed + usize::from(sum.actual.is_some());
    if let Some(bytes) = &sum.actual {
        report.add_source(&sum_path, bytes);
    }
    let severity = settings.severity(sum_drift::RULE.name, sum_drift::RULE.default_severity);
    if global.runs(sum_drift::RULE.name)? && severity != crate::findings::Severity::Off {
        sum_drift::check(&sum, &sum_path, severity, &mut report.findings);
    }
    if sum.files_hashed == 0 && sum.actual.is_none() && !global.quiet {
        eprintln!(
            "migguard: note: {} holds no {format} migrations (directory from {})",
            settings.rel(&dir.path),
            settings.dir_origin
        );
    }
    report.sort();
    print(&report.render(global.report_format(), global.color(), global.quiet));
    Ok(report.exit_code())
}
