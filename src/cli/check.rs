//! `migguard check`: every enabled rule on a change set.

use clap::Args;

use super::{current_dir, Global};
use crate::check::{self, Options};
use crate::error::{ExitStatus, Result};
use crate::git::Git;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The change is the index against HEAD, read from the index (default);
    /// with --base, the index against the merge base
    #[arg(long)]
    staged: bool,
    /// The change is merge-base(REV, HEAD)..HEAD (committed state)
    #[arg(long, value_name = "REV", conflicts_with = "all")]
    base: Option<String>,
    /// No change set: whole-tree rules on the work tree
    #[arg(long, conflicts_with = "staged")]
    all: bool,
    /// Run each generated entry's command in a temporary checkout and compare
    #[arg(long)]
    regenerate: bool,
    /// List the SQL statements that could not be parsed, with file and line
    #[arg(short, long)]
    verbose: bool,
    /// Also run each new migration on PostgreSQL (a throwaway local cluster
    /// unless --dev-url) and let the measured locks and rewrites confirm or
    /// drop the lock rules' findings (as `migguard trace` does)
    #[arg(long, conflicts_with = "all")]
    trace: bool,
    /// postgres://user@host:port/db (scratch databases only) or
    /// docker://postgres/15/dev for --trace; implies --trace
    #[arg(long, value_name = "URL", conflicts_with = "all")]
    dev_url: Option<String>,
    /// With --dev-url: keep base states (what the migrations before the
    /// new ones build) on that server as template databases named
    /// migguard_base_*, so the next run applies only what was added; the
    /// 4 most recently used stay there
    #[arg(long, requires = "dev_url")]
    server_cache: bool,
}

pub fn run(global: &Global, args: &CheckArgs) -> Result<ExitStatus> {
    let git = Git::discover(&current_dir()?)?;
    let settings = global.settings_at(&git)?;
    let selection = global.selection(&settings)?;
    let options = Options {
        staged: args.staged || args.base.is_none(),
        base: args.base.clone(),
        all: args.all,
        regenerate: args.regenerate,
    };
    // The database (if a trace needs one) is removed before the report is
    // printed.
    let mut report = {
        let db = std::cell::OnceCell::new();
        let tracer = super::lazy_tracer(args.dev_url.as_deref(), args.server_cache, None, &db);
        let tracing = args.trace || args.dev_url.is_some();
        check::run(
            &settings,
            &git,
            &options,
            &selection,
            tracing.then_some(&tracer as &check::Tracer),
        )?
    };
    report.verbose = args.verbose;
    global.emit("check", &report)
}
