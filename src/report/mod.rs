//! Reports: a run's findings rendered for people (miette), for machines
//! (JSON), and for CI annotations (GitHub).

mod github;
mod gitlab;
mod human;
mod json;
mod markdown;
mod sarif;

use std::collections::HashMap;
use std::sync::Arc;

use crate::findings::{Finding, Severity};

/// GitHub's limit for one comment, which the markdown report keeps to.
pub const MARKDOWN_LIMIT: usize = markdown::LIMIT;

/// `--format`: how the report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Github,
    Sarif,
    Gitlab,
    Markdown,
}

impl Format {
    /// The name used on the command line (`--format`, `--report NAME=PATH`).
    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "human" => Some(Format::Human),
            "json" => Some(Format::Json),
            "github" => Some(Format::Github),
            "sarif" => Some(Format::Sarif),
            "gitlab" => Some(Format::Gitlab),
            "markdown" => Some(Format::Markdown),
            _ => None,
        }
    }
}

/// `--fail-on`: which findings make the exit code 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FailOn {
    /// Error-severity findings (the default).
    #[default]
    Error,
    /// Warnings too.
    Warn,
    /// Never: findings are reported, the exit code stays 0.
    Never,
}

pub use crate::check::Mode;

#[derive(Debug)]
pub struct Report {
    pub mode: Mode,
    /// What `trace` measured (`migguard trace`, `check --trace`).
    pub traces: Vec<crate::devdb::trace::MigrationTrace>,
    pub base: Option<String>,
    pub findings: Vec<Finding>,
    /// Files examined.
    pub files: usize,
    /// SQL statements read, and how many of them sqlparser could not parse
    /// (kept as opaque text; not a finding unless a rule needed them).
    pub sql_files: usize,
    pub statements: usize,
    pub unparsed: usize,
    /// File contents by report path, for showing the lines findings point at.
    pub sources: HashMap<String, Arc<str>>,
    /// Each migration directory checked: its path, format, and whether the
    /// format was configured or detected.
    pub dirs: Vec<DirSummary>,
    /// Lines for the summary: what was repaired, what could not be known.
    pub notes: Vec<String>,
    /// Statements sqlparser could not read (path, line, first words): listed
    /// by `--verbose`.
    pub unparsed_list: Vec<(String, usize, String)>,
    /// What the safety analysis could read of the new migrations.
    pub coverage: crate::sql::coverage::Coverage,
    /// `--verbose`: the human report lists the unparsed statements.
    pub verbose: bool,
}

/// One migration directory of a run, for the summary.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DirSummary {
    pub path: String,
    pub format: String,
    /// `configured` (config, flag or atlas.hcl) or `detected`.
    pub format_from: &'static str,
}

impl DirSummary {
    /// `path` relative to the root (`.` for the root itself), its format,
    /// and whether the format was configured.
    pub fn new(path: &str, format: crate::migrations::DirFormat, configured: bool) -> DirSummary {
        DirSummary {
            path: if path.is_empty() { "." } else { path }.to_string(),
            format: format.name().to_string(),
            format_from: if configured { "configured" } else { "detected" },
        }
    }
}

impl Report {
    pub fn new(mode: Mode) -> Report {
        Report {
            mode,
            traces: Vec::new(),
            base: None,
            findings: Vec::new(),
            files: 0,
            sql_files: 0,
            statements: 0,
            unparsed: 0,
            sources: HashMap::new(),
            dirs: Vec::new(),
            notes: Vec::new(),
            unparsed_list: Vec::new(),
            coverage: Default::default(),
            verbose: false,
        }
    }

    /// Keeps a file's text so findings in it can show their line.
    pub fn add_source(&mut self, path: &str, bytes: &[u8]) {
        if let Ok(text) = std::str::from_utf8(bytes) {
            self.sources.insert(path.to_string(), Arc::from(text));
        }
    }

    /// Findings per rule, in rule-name order (an audit's summary).
    pub fn by_rule(&self) -> std::collections::BTreeMap<&'static str, usize> {
        let mut out = std::collections::BTreeMap::new();
        for f in &self.findings {
            *out.entry(f.rule).or_insert(0) += 1;
        }
        out
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// Orders findings by file, then line, so output is stable.
    pub fn sort(&mut self) {
        self.findings
            .sort_by(|a, b| (&a.path, a.line, a.rule).cmp(&(&b.path, b.line, b.rule)));
    }

    /// How the run ends with `--fail-on`.
    pub fn status(&self, fail_on: FailOn) -> crate::error::ExitStatus {
        let failing = match fail_on {
            FailOn::Error => self.count(Severity::Error),
            FailOn::Warn => self.count(Severity::Error) + self.count(Severity::Warn),
            FailOn::Never => 0,
        };
        if failing > 0 {
            crate::error::ExitStatus::Findings
        } else {
            crate::error::ExitStatus::Clean
        }
    }

    pub fn render(&self, format: Format, color: bool, quiet: bool) -> String {
        match format {
            Format::Human => human::render(self, color, quiet),
            Format::Json => json::render(self),
            Format::Github => github::render(self),
            Format::Sarif => sarif::render(self),
            Format::Gitlab => gitlab::render(self),
            Format::Markdown => markdown::render(self),
        }
    }

    /// The markdown report cut to at most `limit` bytes (a comment's room).
    pub fn render_markdown_within(&self, limit: usize) -> String {
        markdown::render_within(self, limit)
    }
}
