//! `migguard validate`: `atlas.sum` integrity of each directory on disk.

use super::{dir_summary, open_dir, Global};
use crate::atlas_sum::FILE_NAME;
use crate::check::Mode;
use crate::error::{ExitStatus, Result};
use crate::report::Report;
use crate::rules::sum_drift;

pub fn run(global: &Global) -> Result<ExitStatus> {
    let all = global.settings()?;
    let selection = global.selection(&all)?;
    let mut report = Report::new(Mode::All);
    report.notes = all.notes.clone();
    for d in &all.dirs {
        let settings = all.for_dir(d);
        let (dir, format) = open_dir(&settings)?;
        report.dirs.push(dir_summary(&settings, format));
        let actual = dir.read_optional(FILE_NAME)?;
        if actual.is_none() && !settings.sum_expected {
            // A folder found by its name alone, with no atlas.sum: not an
            // Atlas directory.
            report.notes.push(format!(
                "{} has no atlas.sum and no configuration names it: not an Atlas directory, not validated",
                settings.rel(&dir.path)
            ));
            continue;
        }
        let sum = super::disk_sum(&settings, &dir, format, actual)?;
        let sum_path = settings.rel(&dir.path.join(FILE_NAME));
        report.files += sum.files_hashed + usize::from(sum.actual.is_some());
        if let Some(bytes) = &sum.actual {
            report.add_source(&sum_path, bytes);
        }
        let severity = selection.severity(&sum_drift::RULE);
        if severity != crate::findings::Severity::Off {
            sum_drift::check(&sum, &sum_path, severity, &mut report.findings);
        }
        if sum.files_hashed == 0 && sum.actual.is_none() && !global.quiet {
            eprintln!(
                "migguard: note: {} holds no {format} migrations (directory from {})",
                settings.rel(&dir.path),
                settings.dir_origin
            );
        }
    }
    report.sort();
    global.emit("validate", &report)
}
