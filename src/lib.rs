//! migguard: guards database-migration workflows (Atlas + ent) in git.
//!
//! Data flows top to bottom through the modules:
//! - `config`: `.migguard.yaml`, `atlas.hcl`, layout detection → settings
//! - `git` → `check::ChangeSet`: what is compared (four snapshots of the
//!   migration directory and the paths rules read, and the changes between
//!   them), built once from git, or from files in memory in unit tests
//! - the change set's files, read lazily through one view per domain:
//!   `sql::view` (parsed, replayed, linted), `atlas_sum::view` (the new
//!   `atlas.sum`), `ent::view` (the ent schemas), bundled in
//!   `check::CheckContext`; `migrations` knows each directory format
//! - `rules`: one file per rule, listed in one place, each reading the
//!   context → `findings`, then suppressions (`check::suppress`)
//! - `report`: findings rendered as human, JSON, SARIF, GitHub, GitLab or
//!   markdown output; `comment` posts the markdown on a pull request
//! - `cli`: one module per command; exit codes
//!
//! Every module is crate-private; the items below the module list are the
//! public surface the binary, the integration tests and the fuzz targets use.

pub(crate) mod atlas_sum;
pub(crate) mod check;
pub(crate) mod cli;
pub(crate) mod comment;
pub(crate) mod config;
pub(crate) mod devdb;
pub(crate) mod ent;
pub(crate) mod error;
pub(crate) mod findings;
pub(crate) mod fsutil;
pub(crate) mod git;
pub(crate) mod memo;
pub(crate) mod migrations;
pub(crate) mod par;
pub(crate) mod report;
pub(crate) mod rules;
pub(crate) mod sql;

// The public surface: what the binary, the integration tests, the benches
// and the fuzz targets use. Everything else is crate-private, so rustc
// reports dead code.
pub use atlas_sum::{diagnose, DirSum, HashFile, ParsedSum, FILE_NAME as SUM_FILE_NAME};
pub use cli::{main, Cli};
pub use config::{AtlasHcl, Config};
pub use devdb::{find_binaries, Cluster};
pub use ent::{Package, World};
pub use migrations::{DirFormat, DiskDir, TxMode};
pub use rules::{find as find_rule, known_names, Rule, RULES};
pub use sql::lint::{type_change_rewrites, Lint};
pub use sql::normalize::first_difference as first_view_difference;
pub use sql::split::split as split_sql;
pub use sql::{ParsedFile, Replay};
