//! `migguard parity`: view parity, and with `--roundtrip` up/down round
//! trips, judged by a real PostgreSQL.

use std::collections::HashSet;

use clap::Args;

use super::{current_dir, open_dir, Global};
use crate::check::Mode;
use crate::devdb::base::Source;
use crate::devdb::parity::{self, SqlFile};
use crate::devdb::roundtrip::{self, Step};
use crate::error::{Error, ExitStatus, Result};
use crate::findings::{Finding, Severity};
use crate::git::Git;
use crate::migrations::{DirFormat, DiskDir, Listing, TxMode};
use crate::report::Report;

#[derive(Debug, Args)]
pub struct ParityArgs {
    /// postgres://user@host:port/db (migguard creates and drops its own
    /// scratch databases there), or docker://postgres/15/dev; default: a
    /// throwaway local cluster
    #[arg(long, value_name = "URL")]
    dev_url: Option<String>,
    /// With --dev-url: keep base states (what the migrations before the
    /// new ones build) on that server as template databases named
    /// migguard_base_*, so the next run applies only what was added; the
    /// 4 most recently used stay there
    #[arg(long, requires = "dev_url")]
    server_cache: bool,
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
            // Applied as golang-migrate sends a file: one query.
            Some(SqlFile {
                path: rel,
                bytes,
                tx: TxMode::Implicit,
            })
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
    let file = |name: &str, bytes: Vec<u8>, tx: TxMode| SqlFile {
        path: settings.rel(&dir.path.join(name)),
        bytes,
        tx,
    };
    let migrations = listing
        .migrations
        .iter()
        .map(|m| {
            let bytes = dir.read(&m.up)?;
            let tx = format.tx_mode(&String::from_utf8_lossy(&bytes));
            Ok(file(&m.up, format.up_part(&bytes).to_vec(), tx))
        })
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
                        let bytes = dir.read(d)?;
                        let tx = format.down_tx_mode(&String::from_utf8_lossy(&bytes));
                        format.down_part(&bytes).map(|b| file(d, b, tx))
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

    let stable = committed_prefix(&dir, format, &listing);
    let judge = |source: &Source| -> Result<(Vec<Finding>, Vec<String>)> {
        std::thread::scope(|scope| {
            let rt = scope.spawn(|| {
                if roundtrip {
                    roundtrip::run(source, &steps).map(|(f, note)| (f, note.into_iter().collect()))
                } else {
                    Ok((Vec::new(), Vec::new()))
                }
            });
            let (mut findings, mut notes) = match &views {
                Some(views) => parity::run(source, &migrations, stable, views)?,
                None => (Vec::new(), Vec::new()),
            };
            let (trips, trip_notes) = rt.join().unwrap_or_else(|_| {
                Err(Error::Internal("the round-trip worker panicked".into()))
            })?;
            notes.extend(trip_notes);
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
            Ok((findings, notes))
        })
    };
    let db = super::DevDb::start(args.dev_url.as_deref())?;
    let (findings, notes) = judge(&db.source(args.server_cache))?;
    drop(db);

    let mut report = Report::new(Mode::All);
    report.notes = notes;
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

/// How many of the first migrations are committed at HEAD (none outside a
/// git repository): the state they build is the one worth caching, as the
/// ones after are still being written.
fn committed_prefix(dir: &DiskDir, format: DirFormat, listing: &Listing) -> usize {
    let committed = current_dir()
        .and_then(|cwd| Git::discover(&cwd))
        .and_then(|git| match git.head_commit()? {
            Some(head) => Ok(Some(Listing::at_commit(&git, head, &dir.path, format)?)),
            None => Ok(None),
        });
    match committed {
        Ok(Some(at_head)) => {
            let names: HashSet<&str> = at_head.migrations.iter().map(|m| m.up.as_str()).collect();
            listing
                .migrations
                .iter()
                .take_while(|m| names.contains(m.up.as_str()))
                .count()
        }
        Ok(None) | Err(_) => 0,
    }
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
