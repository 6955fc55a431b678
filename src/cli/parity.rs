//! `migguard parity`: view parity, and with `--roundtrip` up/down round
//! trips, judged by a real PostgreSQL.

use std::collections::HashSet;

use clap::Args;

use super::{current_dir, open_dir, Global};
use crate::check::Mode;
use crate::devdb::parity::{self, SqlFile};
use crate::devdb::roundtrip::{self, Step};
use crate::devdb::Server;
use crate::error::{Error, ExitStatus, Result};
use crate::findings::{Finding, Severity};
use crate::git::Git;
use crate::migrations::{DirFormat, DiskDir, Listing};
use crate::report::Report;

#[derive(Debug, Args)]
pub struct ParityArgs {
    /// postgres://user@host:port/db (migguard creates and drops its own
    /// scratch databases there), or docker://postgres/15/dev; default: a
    /// throwaway local cluster
    #[arg(long, value_name = "URL")]
    dev_url: Option<String>,
    /// Also check that each migration new since --base has a down that
    /// undoes its up (rule down-roundtrip)
    #[arg(long, requires = "base")]
    roundtrip: bool,
    /// The base revision for --roundtrip (e.g. origin/main): migrations that
    /// are not on its merge base with HEAD are new
    #[arg(long, value_name = "REV", requires = "roundtrip")]
    base: Option<String>,
}

pub fn run(global: &Global, args: &ParityArgs) -> Result<ExitStatus> {
    let settings = global.settings()?;
    let views = match settings.config.views.generated.clone() {
        Some(rel) => {
            let path = crate::config::inside_root(&settings.root, &rel, ".migguard.yaml")?;
            let bytes = std::fs::read(&path).map_err(|e| Error::read(&path, e))?;
            Some(SqlFile { path: rel, bytes })
        }
        None if args.roundtrip => None,
        None => return Err(Error::Usage(
            "parity compares the migrations with the generated views file: set `views.generated` in .migguard.yaml (or run only the round trips with --roundtrip --base REV)".into(),
        )),
    };
    let selection = global.selection(&settings)?;
    let parity_severity = selection.severity(&crate::rules::view_parity::RULE);
    let roundtrip_severity = selection.severity(&crate::rules::down_roundtrip::RULE);
    let views = views.filter(|_| parity_severity != Severity::Off);
    let roundtrip = args.roundtrip && roundtrip_severity != Severity::Off;
    let (dir, format) = open_dir(&settings)?;
    let listing = Listing::new(format, dir.names.iter().map(String::as_str));
    let file = |name: &str, bytes: Vec<u8>| SqlFile {
        path: settings.rel(&dir.path.join(name)),
        bytes,
    };
    let migrations = listing
        .migrations
        .iter()
        .map(|m| Ok(file(&m.up, format.up_part(&dir.read(&m.up)?).to_vec())))
        .collect::<Result<Vec<_>>>()?;
    let steps = if roundtrip {
        let on_base = ups_on_base(&dir, format, args.base.as_deref().unwrap_or(""))?;
        listing
            .migrations
            .iter()
            .zip(&migrations)
            .map(|(m, up)| {
                let down = match &m.down {
                    Some(d) if dir.contains(d) => {
                        format.down_part(&dir.read(d)?).map(|b| file(d, b))
                    }
                    _ => None,
                };
                Ok(Step {
                    up,
                    down,
                    new: !on_base.contains(&m.up),
                })
            })
            .collect::<Result<Vec<_>>>()?
    } else {
        Vec::new()
    };

    let judge = |server: &Server| -> Result<Vec<Finding>> {
        std::thread::scope(|scope| {
            let rt = scope.spawn(|| {
                if roundtrip {
                    roundtrip::run(server, &steps)
                } else {
                    Ok(Vec::new())
                }
            });
            let mut findings = match &views {
                Some(views) => parity::run(server, &migrations, views)?,
                None => Vec::new(),
            };
            let trips = rt.join().unwrap_or_else(|_| {
                Err(Error::Internal("the round-trip worker panicked".into()))
            })?;
            // A migration that fails to apply fails in both checks: say it once.
            // PostgreSQL's error, from "fails on PostgreSQL" on.
            let error_of = |m: &str| {
                m.find("fails on PostgreSQL")
                    .and_then(|i| m[i..].lines().next())
                    .map(str::to_string)
            };
            let said_by_parity = |t: &Finding| {
                findings.iter().any(|f| {
                    f.path == t.path
                        && f.line.is_some()
                        && f.line == t.line
                        && error_of(&f.message).is_some_and(|e| t.message.contains(&e))
                })
            };
            let trips: Vec<Finding> = trips.into_iter().filter(|t| !said_by_parity(t)).collect();
            findings.extend(trips);
            Ok(findings)
        })
    };
    let db = super::DevDb::start(args.dev_url.as_deref())?;
    let findings = judge(&db.server())?;
    drop(db);

    let mut report = Report::new(Mode::All);
    report.files = migrations.len()
        + steps.iter().filter(|s| s.new && s.down.is_some()).count()
        + usize::from(views.is_some());
    let mut sources: Vec<&SqlFile> = views.iter().collect();
    sources.extend(&migrations);
    sources.extend(steps.iter().filter_map(|s| s.down.as_ref()));
    for f in &findings {
        if let Some(s) = sources.iter().find(|s| s.path == f.path) {
            if !report.sources.contains_key(&s.path) {
                report.add_source(&s.path, &s.bytes);
            }
        }
    }
    report.findings = selection.apply(findings);
    report.sort();
    global.emit("parity", &report)
}

/// The up files of the migrations on the merge base of `rev` and `HEAD`
/// (the others are new).
fn ups_on_base(dir: &DiskDir, format: DirFormat, rev: &str) -> Result<HashSet<String>> {
    if format == DirFormat::Atlas {
        return Err(Error::Usage(
            "--roundtrip needs down migrations: the atlas directory format has none (Atlas plans downs itself); use golang-migrate, goose, flyway or dbmate".into(),
        ));
    }
    let git = Git::discover(&current_dir()?)?;
    let commit = git.require_commit(rev)?;
    let base = match git.head_commit()? {
        Some(head) => git.merge_base(commit, head, rev)?,
        None => commit,
    };
    Ok(Listing::at_commit(&git, base, &dir.path, format)?
        .migrations
        .into_iter()
        .map(|m| m.up)
        .collect())
}
