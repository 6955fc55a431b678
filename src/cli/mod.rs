//! The command line: global flags, one module per command, and the single
//! place where results become exit codes (0 clean, 1 findings at error
//! severity, 2 could not do the job).

mod check;
mod explain;
mod fix_sum;
mod init;
mod install_hook;
mod parity;
mod rules_list;
mod stats;
mod trace;
mod validate;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::config::{Overrides, Settings};
use crate::devdb::base::Source;
use crate::error::{Error, ExitStatus, Result};
use crate::migrations::{DirFormat, DiskDir};
use crate::report::{FailOn, Format, Report};

#[derive(Debug, Parser)]
#[command(
    name = "migguard",
    version,
    about = "Guards Atlas + ent migration workflows: atlas.sum integrity, immutable migrations, conventions",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    global: Global,
}

/// Flags that work before or after the command.
#[derive(Debug, Args)]
pub struct Global {
    /// Config file (default: .migguard.yaml at the repository root)
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Report format (default: human; github when GITHUB_ACTIONS=true)
    #[arg(long, global = true, value_enum)]
    format: Option<Format>,
    /// Colour in human output (auto honours NO_COLOR and terminals)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Print findings only, no summary when clean
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Run only these rules (repeatable)
    #[arg(long = "rule", global = true, value_name = "NAME")]
    rules: Vec<String>,
    /// Migration directory (overrides config and atlas.hcl)
    #[arg(long, global = true, value_name = "PATH")]
    dir: Option<PathBuf>,
    /// Migration directory format, as Atlas names it
    #[arg(long = "dir-format", global = true, value_name = "FORMAT", value_parser = parse_dir_format)]
    dir_format: Option<DirFormat>,
    /// Also write the report in FORMAT to PATH (repeatable), e.g. sarif=migguard.sarif
    #[arg(long = "report", global = true, value_name = "FORMAT=PATH", value_parser = parse_report)]
    reports: Vec<(Format, PathBuf)>,
    /// Which findings make the exit code 1
    #[arg(long = "fail-on", global = true, value_enum, default_value_t = FailOn::Error)]
    fail_on: FailOn,
    /// Also post the markdown report as a pull/merge-request comment, edited on later runs
    #[arg(long, global = true, value_enum, value_name = "FORGE")]
    comment: Option<crate::comment::Forge>,
    /// The pull/merge request for --comment (default: from the CI environment)
    #[arg(long, global = true, value_name = "N", requires = "comment")]
    pr: Option<u64>,
}

fn parse_report(s: &str) -> std::result::Result<(Format, PathBuf), String> {
    let (name, path) = s
        .split_once('=')
        .ok_or_else(|| "expected FORMAT=PATH, e.g. sarif=migguard.sarif".to_string())?;
    let format = Format::from_name(name).ok_or_else(|| {
        format!("unknown format `{name}`: expected human, json, github, sarif, gitlab or markdown")
    })?;
    if path.is_empty() {
        return Err("the PATH after `=` is empty".into());
    }
    Ok((format, PathBuf::from(path)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every enabled rule on a change set (default: staged changes)
    Check(check::CheckArgs),
    /// Check atlas.sum against the migration files (no git needed), like `atlas migrate validate`
    Validate,
    /// Rewrite atlas.sum exactly as `atlas migrate hash` would, also over merge-conflict markers
    FixSum(fix_sum::FixSumArgs),
    /// Print a rule's documentation
    Explain {
        /// Rule name, e.g. sum-drift
        rule: String,
    },
    /// List the rules with their default severity
    Rules,
    /// Write a commented .migguard.yaml for the layout found here
    Init(init::InitArgs),
    /// Install the git pre-commit hook (respects core.hooksPath)
    InstallHook(install_hook::InstallHookArgs),
    /// View parity, and with --roundtrip up/down round trips, judged by a real PostgreSQL (throwaway cluster by default)
    Parity(parity::ParityArgs),
    /// Write table statistics (row estimates and sizes, no row data) from a database, for sizing lock findings
    Stats(stats::StatsArgs),
    /// Run each new migration on PostgreSQL and report the locks, rewrites and time each statement really takes
    Trace(trace::TraceArgs),
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the man page (roff)
    Man,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Shell {
    Bash,
    Zsh,
    Fish,
}

fn parse_dir_format(s: &str) -> std::result::Result<DirFormat, String> {
    DirFormat::parse(s).ok_or_else(|| {
        let names: Vec<&str> = DirFormat::ALL.iter().map(|f| f.name()).collect();
        format!("expected one of {}", names.join(", "))
    })
}

impl Global {
    fn overrides(&self) -> Overrides {
        Overrides {
            root: None,
            config: self.config.clone(),
            dir: self.dir.clone(),
            dir_format: self.dir_format,
            tracked: None,
            ignore_config: false,
        }
    }

    /// Prints the report in the main format, writes every `--report`, posts
    /// the `--comment` of `command`, and returns the exit code `--fail-on`
    /// asks for. The main report is printed first, so a report file that
    /// cannot be written or a comment that cannot be posted (exit 2) never
    /// hides the findings.
    fn emit(&self, command: &str, report: &Report) -> Result<ExitStatus> {
        let text = report.render(self.report_format(), self.color(), self.quiet);
        crate::devdb::trace("report drawn");
        print(&text);
        crate::devdb::trace("report written");
        for (format, path) in &self.reports {
            let text = report.render(*format, false, false);
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| Error::write(parent, e))?;
            }
            crate::fsutil::write_atomic(path, text.as_bytes())?;
        }
        if let Some(forge) = self.comment {
            let (number, outcome) = crate::comment::post(forge, self.pr, command, report)?;
            if !self.quiet {
                eprintln!("{}", crate::comment::describe(forge, number, &outcome));
            }
        }
        Ok(report.status(self.fail_on))
    }

    fn report_format(&self) -> Format {
        self.format.unwrap_or_else(|| {
            if std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true") {
                Format::Github
            } else {
                Format::Human
            }
        })
    }

    fn color(&self) -> bool {
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        }
    }

    /// The rules this run runs, at their severities (`rules:` and `--rule`).
    fn selection(&self, settings: &Settings) -> Result<crate::rules::Selection> {
        crate::rules::Selection::new(&settings.config, &self.rules)
    }

    /// `-q`: only findings are printed.
    pub(crate) fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// Settings for commands that also work outside git: the repository is
    /// used for discovery when there is one.
    pub(crate) fn settings(&self) -> Result<Settings> {
        let cwd = current_dir()?;
        let mut overrides = self.overrides();
        if let Ok(git) = crate::git::Git::discover(&cwd) {
            overrides.tracked = Some(tracked_for_discovery(&git));
        }
        Settings::load(&cwd, &overrides, &crate::rules::known_names())
    }

    /// Settings inside a repository: its work tree is the root, and the
    /// files it tracks show where the migration directories are.
    fn settings_at(&self, git: &crate::git::Git) -> Result<Settings> {
        let cwd = current_dir()?;
        let mut overrides = self.overrides();
        overrides.root = Some(git.workdir.clone());
        overrides.tracked = Some(tracked_for_discovery(git));
        Settings::load(&cwd, &overrides, &crate::rules::known_names())
    }
}

/// The tracked files discovery looks at: every `atlas.sum` and `atlas.hcl`,
/// and the SQL files of the usual migration folders.
pub(crate) fn tracked_for_discovery(git: &crate::git::Git) -> Vec<String> {
    git.tracked_paths(|p| {
        let name = p.rsplit('/').next().unwrap_or(p);
        name == "atlas.sum"
            || name == "atlas.hcl"
            || crate::config::COMMON_LAYOUTS.iter().any(|l| {
                p.strip_prefix(l)
                    .and_then(|r| r.strip_prefix('/'))
                    .is_some_and(|r| !r.contains('/') && r.ends_with(".sql"))
            })
    })
}

fn current_dir() -> Result<PathBuf> {
    std::env::current_dir()
        .map_err(|e| Error::Internal(format!("cannot read the current directory: {e}")))
}

/// The migration directory named by the settings, opened, with its format
/// (configured, else detected from the names and contents).
fn open_dir(settings: &Settings) -> Result<(DiskDir, DirFormat)> {
    let recursive = settings.dir_format == Some(DirFormat::Flyway);
    let dir = DiskDir::open(&settings.migrations_dir, &settings.boundary(), recursive)?;
    let format = match settings.dir_format {
        Some(f) => f,
        None => crate::config::detect_format_from(dir.names.iter().map(String::as_str), |n| {
            dir.read(n).ok()
        }),
    };
    if format == DirFormat::Flyway && !recursive {
        let dir = DiskDir::open(&settings.migrations_dir, &settings.boundary(), true)?;
        return Ok((dir, format));
    }
    Ok((dir, format))
}

/// The directory summary line of a report.
fn dir_summary(settings: &Settings, format: DirFormat) -> crate::report::DirSummary {
    crate::report::DirSummary::new(
        &settings.rel(&settings.migrations_dir),
        format,
        settings.dir_format.is_some(),
    )
}

/// The directory's `atlas.sum` as it is (`actual`) and as Atlas would write
/// it, in the scope its configured or detected format gives.
fn disk_sum(
    settings: &Settings,
    dir: &DiskDir,
    format: DirFormat,
    actual: Option<Vec<u8>>,
) -> Result<crate::atlas_sum::DirSum> {
    crate::atlas_sum::DirSum::compute(
        format,
        settings.dir_format.is_some(),
        &dir.names,
        actual,
        |n| dir.read(n),
    )
}

/// The PostgreSQL a database-backed command uses: `--dev-url` (a server,
/// or `docker://` with the `docker` feature), else throwaway local
/// clusters; a container is stopped when dropped.
pub(crate) enum DevDb {
    /// Throwaway local clusters, started by each check as it needs them.
    Local,
    Url(crate::devdb::Server),
    #[cfg(feature = "docker")]
    Docker(crate::devdb::docker::Docker),
}

impl DevDb {
    pub(crate) fn start(dev_url: Option<&str>) -> Result<DevDb> {
        match dev_url {
            #[cfg(feature = "docker")]
            Some(url) if url.starts_with("docker://") => {
                Ok(DevDb::Docker(crate::devdb::docker::Docker::start(url)?))
            }
            #[cfg(not(feature = "docker"))]
            Some(url) if url.starts_with("docker://") => Err(Error::Usage(format!(
                "{url}: this migguard was built without the `docker` feature; pass --dev-url postgres://user@host:port/db, or no --dev-url for a throwaway local cluster"
            ))),
            Some(url) => Ok(DevDb::Url(crate::devdb::Server::from_url(url)?)),
            None => Ok(DevDb::Local),
        }
    }

    /// Where the checks get their databases; `server_cache`: keep base
    /// states on a `--dev-url` server (`--server-cache`).
    pub(crate) fn source(&self, server_cache: bool) -> Source {
        let server = match self {
            DevDb::Local => return Source::Local,
            DevDb::Url(s) => s.clone(),
            #[cfg(feature = "docker")]
            DevDb::Docker(d) => d.server(),
        };
        Source::Server {
            server: Box::new(server),
            cache: server_cache,
        }
    }
}

/// A tracer for `check::run` that reaches its PostgreSQL only when a
/// directory has a new migration to trace: with `--dev-url`, one server
/// for the whole run (a scratch database per directory); without, a
/// throwaway cluster per directory. Either starts from the directory's
/// cached base state where there is one.
pub(crate) fn lazy_tracer<'a>(
    dev_url: Option<&'a str>,
    server_cache: bool,
    contention: Option<std::time::Duration>,
    db: &'a std::cell::OnceCell<DevDb>,
) -> impl Fn(&[crate::devdb::trace::Migration]) -> Result<crate::devdb::trace::TraceRun> + 'a {
    move |plan| {
        let source = match db.get() {
            Some(db) => db.source(server_cache),
            None => {
                let started = DevDb::start(dev_url)?;
                db.get_or_init(|| started).source(server_cache)
            }
        };
        crate::devdb::trace::run(&source, plan, contention)
    }
}

/// Writes to stdout, ignoring a closed pipe (`migguard ... | head`).
fn print(text: &str) {
    let _ = std::io::stdout().write_all(text.as_bytes());
}

/// The man page, generated from the command-line definition.
pub fn man_page() -> Result<String> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| Error::Internal(format!("cannot render the man page: {e}")))?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Runs migguard with the process's arguments and returns the exit code.
pub fn main() -> i32 {
    crate::devdb::trace("start");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let result = match &cli.command {
        Command::Check(args) => check::run(&cli.global, args),
        Command::Validate => validate::run(&cli.global),
        Command::FixSum(args) => fix_sum::run(&cli.global, args),
        Command::Explain { rule } => explain::run(rule),
        Command::Rules => rules_list::run(&cli.global),
        Command::Init(args) => init::run(args),
        Command::Parity(args) => parity::run(&cli.global, args),
        Command::Stats(args) => stats::run(&cli.global, args),
        Command::Trace(args) => trace::run(&cli.global, args),
        Command::InstallHook(args) => install_hook::run(args),
        Command::Completions { shell } => {
            let shell = match shell {
                Shell::Bash => clap_complete::Shell::Bash,
                Shell::Zsh => clap_complete::Shell::Zsh,
                Shell::Fish => clap_complete::Shell::Fish,
            };
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "migguard",
                &mut std::io::stdout(),
            );
            Ok(ExitStatus::Clean)
        }
        Command::Man => man_page().map(|text| {
            print(&text);
            ExitStatus::Clean
        }),
    };
    crate::devdb::trace("command returned");
    exit_code(result)
}

/// The one place where outcomes become exit codes: 0 clean, 1 findings, 2
/// an error (whatever its kind), 130 interrupted. After Ctrl-C, whatever
/// the command saw (a dropped connection) is not the outcome: the command
/// returns through the interrupt flag once the handler has removed the
/// scratch databases and clusters.
fn exit_code(result: Result<ExitStatus>) -> i32 {
    if crate::devdb::interrupted() {
        crate::devdb::wait_for_cleanup();
        return ExitStatus::Interrupted.code();
    }
    match result {
        Ok(status) => status.code(),
        Err(e) => {
            eprintln!("migguard: error: {e}");
            2
        }
    }
}
