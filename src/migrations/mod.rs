//! Migration directories: Atlas's formats, which files are migrations, their
//! versions and order, and reading a directory from disk safely.

mod disk;
mod format;
mod listing;
pub mod renumber;

pub use disk::{DirFile, DiskDir};
pub use format::{
    compare_versions, flyway_version, flyway_version_cmp, local_desc, local_version, DirFormat,
    TxMode,
};
pub use listing::{Listing, Migration};
