//! The new side's `atlas.sum` of a change set, computed once: the file as
//! it is and as Atlas would write it for the directory's files.

use std::cell::OnceCell;
use std::sync::Arc;

use super::{DirSum, FILE_NAME};
use crate::check::{ChangeSet, Side};
use crate::error::Result;

#[derive(Default)]
pub struct SumView {
    new: OnceCell<Arc<DirSum>>,
}

impl SumView {
    /// `configured`: the directory's format was named (config or
    /// `atlas.hcl`), not detected.
    pub fn new_side(&self, cs: &ChangeSet, configured: bool) -> Result<Arc<DirSum>> {
        if let Some(sum) = self.new.get() {
            return Ok(sum.clone());
        }
        let names = cs.dir_names(Side::New);
        let actual = cs
            .read(Side::New, &cs.in_dir(FILE_NAME))?
            .map(|b| b.to_vec());
        let sum = DirSum::compute(cs.format, configured, &names, actual, |n| {
            Ok(cs
                .read(Side::New, &cs.in_dir(n))?
                .map(|b| b.to_vec())
                .unwrap_or_default())
        })?;
        Ok(self.new.get_or_init(|| Arc::new(sum)).clone())
    }
}
