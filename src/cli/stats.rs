//! `migguard stats`: writes the statistics file that sizes lock findings.

use std::path::PathBuf;

use clap::Args;

use super::{current_dir, Global};
use crate::error::{Error, ExitStatus, Result};

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// postgres://user@host:port/db of the database to describe (a read
    /// replica with a read-only role is enough; only catalog estimates are
    /// read)
    #[arg(long, value_name = "URL")]
    dev_url: String,
    /// Where to write the file (default: safety.stats from .migguard.yaml,
    /// else .migguard/stats.json at the repository root)
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub fn run(global: &Global, args: &StatsArgs) -> Result<ExitStatus> {
    if args.dev_url.starts_with("docker://") {
        return Err(Error::Usage(
            "migguard stats describes an existing database: pass --dev-url postgres://user@host:port/db (a read replica is enough)".into(),
        ));
    }
    let server = crate::devdb::Server::from_url(&args.dev_url)?;
    let path = match &args.output {
        Some(p) => p.clone(),
        None => {
            // The configured place, at the repository root; without a
            // usable config, the current folder's repository root.
            match global.settings() {
                Ok(s) => s.root.join(
                    s.config
                        .safety
                        .stats
                        .as_deref()
                        .unwrap_or(".migguard/stats.json"),
                ),
                Err(_) => current_dir()?.join(".migguard/stats.json"),
            }
        }
    };
    let stats = crate::devdb::stats::collect(&server)?;
    let mut json = serde_json::to_string_pretty(&stats)
        .map_err(|e| Error::Internal(format!("cannot write the statistics: {e}")))?;
    json.push('\n');
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::write(parent, e))?;
    }
    crate::fsutil::write_atomic(&path, json.as_bytes())?;
    if !global.is_quiet() {
        eprintln!(
            "migguard: wrote {} ({} tables of {}, PostgreSQL {}, taken {})",
            path.display(),
            stats.tables.len(),
            server.shown,
            stats.server_version,
            stats.taken_at
        );
    }
    Ok(ExitStatus::Clean)
}
