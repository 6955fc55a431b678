//! `migguard trace`: each new migration run on PostgreSQL, statement by
//! statement, the way its tool runs it; the locks, rewrites, index builds,
//! validations and time measured; the lock rules' findings confirmed or
//! dropped by what PostgreSQL showed.

use clap::Args;

use super::{current_dir, Global};
use crate::check::{self, measure::LOCK_RULES, Options};
use crate::error::{ExitStatus, Result};
use crate::git::Git;

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The new migrations are those of the index that HEAD's base does not
    /// have (default); with --base, the index against the merge base
    #[arg(long)]
    staged: bool,
    /// The new migrations are those of merge-base(REV, HEAD)..HEAD
    #[arg(long, value_name = "REV")]
    base: Option<String>,
    /// postgres://user@host:port/db (migguard creates and drops its own
    /// scratch databases there, never touching the named one), or
    /// docker://postgres/15/dev; default: a throwaway local cluster
    #[arg(long, value_name = "URL")]
    dev_url: Option<String>,
    /// With --dev-url: keep base states (what the migrations before the
    /// new ones build) on that server as template databases named
    /// migguard_base_*, so the next run applies only what was added; the
    /// 4 most recently used stay there
    #[arg(long, requires = "dev_url")]
    server_cache: bool,
    /// Also run each statement that takes a SHARE or stronger lock on an
    /// existing table behind a long read (a session holding ACCESS SHARE on
    /// it), and say whether it queued, whether a SELECT queued behind it,
    /// and whether the file's lock_timeout cancelled it
    #[arg(long)]
    contention: bool,
    /// How long the read is held, and the SELECT waits, at most (seconds)
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 2.0,
        requires = "contention"
    )]
    contention_wait: f64,
}

pub fn run(global: &Global, args: &TraceArgs) -> Result<ExitStatus> {
    // Arguments first: a bad one is said before anything is read.
    let contention = if args.contention {
        if !(args.contention_wait > 0.0 && args.contention_wait <= 60.0) {
            return Err(crate::error::Error::Usage(format!(
                "--contention-wait {}: give a number of seconds above 0 and at most 60",
                args.contention_wait
            )));
        }
        Some(std::time::Duration::from_secs_f64(args.contention_wait))
    } else {
        None
    };
    let git = Git::discover(&current_dir()?)?;
    let settings = global.settings_at(&git)?;
    // The lock and rewrite rules, at their configured severities (and only
    // those `--rule` names, when it names any).
    let only: Vec<String> = if global.rules.is_empty() {
        LOCK_RULES.iter().map(|r| r.to_string()).collect()
    } else {
        global.rules.clone()
    };
    let selection = crate::rules::Selection::new(&settings.config, &only)?.only(&LOCK_RULES);
    let options = Options {
        staged: args.staged || args.base.is_none(),
        base: args.base.clone(),
        all: false,
        regenerate: false,
    };
    // The database is removed before the report is printed.
    let report = {
        let db = std::cell::OnceCell::new();
        let tracer =
            super::lazy_tracer(args.dev_url.as_deref(), args.server_cache, contention, &db);
        check::run(&settings, &git, &options, &selection, Some(&tracer))?
    };
    global.emit("trace", &report)
}
