//! `migguard parity`: view parity judged by a real PostgreSQL.

use clap::Args;

use super::{open_dir, print, Global};
use crate::devdb::parity::{self, SqlFile};
use crate::devdb::{Cluster, Server};
use crate::error::{Error, Result};
use crate::migrations::Listing;
use crate::report::{Mode, Report};

#[derive(Debug, Args)]
pub struct ParityArgs {
    /// postgres://user@host:port/db (migguard creates and drops its own
    /// scratch databases there), or docker://postgres/15/dev; default: a
    /// throwaway local cluster
    #[arg(long, value_name = "URL")]
    dev_url: Option<String>,
}

pub fn run(global: &Global, args: &ParityArgs) -> Result<i32> {
    let settings = global.settings()?;
    let views_rel = settings.config.views.generated.clone().ok_or_else(|| {
        Error::Usage("parity compares the migrations with the generated views file: set `views.generated` in .migguard.yaml".into())
    })?;
    let views_path = crate::config::inside_root(&settings.root, &views_rel, ".migguard.yaml")?;
    let views = SqlFile {
        path: views_rel.clone(),
        bytes: std::fs::read(&views_path).map_err(|e| Error::read(&views_path, e))?,
    };
    let (dir, format) = open_dir(&settings)?;
    let listing = Listing::new(format, dir.names.iter().map(String::as_str));
    let migrations = listing
        .migrations
        .iter()
        .map(|m| {
            Ok(SqlFile {
                path: settings.rel(&dir.path.join(&m.up)),
                bytes: dir.read(&m.up)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let findings = match args.dev_url.as_deref() {
        Some(url) if url.starts_with("docker://") => {
            return Err(Error::Usage(format!(
                "{url}: this migguard build does not start Docker containers; pass --dev-url postgres://user@host:port/db, or no --dev-url for a throwaway local cluster"
            )))
        }
        Some(url) => parity::run(&Server::from_url(url)?, &migrations, &views)?,
        None => {
            let cluster = Cluster::start()?;
            parity::run(&cluster.server(), &migrations, &views)?
        }
    };
    let mut report = Report::new(Mode::All);
    report.files = migrations.len() + 1;
    report.add_source(&views.path, &views.bytes);
    for m in &migrations {
        if findings.iter().any(|f| f.path == m.path) {
            report.add_source(&m.path, &m.bytes);
        }
    }
    report.findings = findings;
    report.sort();
    print(&report.render(global.report_format(), global.color(), global.quiet));
    Ok(report.exit_code())
}
