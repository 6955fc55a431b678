//! Understanding the SQL: statements split as PostgreSQL would, parsed with
//! sqlparser, replayed into a schema model; view definitions normalised.

pub mod coverage;
pub mod lint;
pub mod normalize;
pub mod parse;
pub mod schema;
pub mod split;
pub mod view;

pub use parse::{ParsedFile, Stmt};
pub use schema::{requires_null, Event, Origin, Replay};
