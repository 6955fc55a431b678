//! migguard: guards database-migration workflows (Atlas + ent) in git.
//!
//! Data flows top to bottom through the modules:
//! - [`config`]: `.migguard.yaml`, `atlas.hcl`, layout detection → settings
//! - [`migrations`]: the migration directory: formats, versions, files
//! - [`atlas_sum`]: `atlas.sum` computed byte-exactly, parsed, diagnosed
//! - [`rules`]: one file per rule, listed in one place → [`findings`]
//! - [`report`]: findings rendered as human, JSON, SARIF, GitHub, GitLab or
//!   markdown output
//! - `comment`: the markdown report as a pull/merge-request comment
//! - [`cli`]: one module per command; exit codes

pub mod atlas_sum;
pub mod check;
pub mod cli;
pub mod comment;
pub mod config;
pub mod devdb;
pub mod ent;
pub mod error;
pub mod findings;
pub mod fsutil;
pub mod git;
pub mod memo;
pub mod migrations;
pub mod par;
pub mod report;
pub mod rules;
pub mod sql;
