//! The change between two snapshots: added, modified, deleted and renamed
//! files (a rename is a deleted and an added file with the same content).

use std::collections::HashMap;

use super::snapshot::{FileRef, Snapshot};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
    Renamed { from: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The path on the new side (the old path for a deletion).
    pub path: String,
    pub kind: ChangeKind,
}

impl Change {
    /// Paths this change touches on either side.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        let from = match &self.kind {
            ChangeKind::Renamed { from } => Some(from.as_str()),
            _ => None,
        };
        std::iter::once(self.path.as_str()).chain(from)
    }
}

/// Compares two snapshots loaded with the same scope.
pub fn diff(old: &Snapshot, new: &Snapshot) -> Vec<Change> {
    let mut added = Vec::new();
    let mut deleted = Vec::new();
    let mut out = Vec::new();
    for (path, new_ref) in &new.files {
        match old.files.get(path) {
            None => added.push(path.as_str()),
            Some(old_ref) if differs(old_ref, new_ref) => out.push(Change {
                path: path.clone(),
                kind: ChangeKind::Modified,
            }),
            Some(_) => {}
        }
    }
    for path in old.files.keys() {
        if !new.files.contains_key(path) {
            deleted.push(path.as_str());
        }
    }
    // Exact renames: a deleted blob that reappears under a new name.
    let mut by_blob: HashMap<gix::ObjectId, Vec<&str>> = HashMap::new();
    for path in &deleted {
        if let Some(FileRef::Blob { id, .. }) = old.files.get(*path) {
            by_blob.entry(*id).or_default().push(path);
        }
    }
    let mut renamed_from = std::collections::HashSet::new();
    for path in added {
        let from = match new.files.get(path) {
            Some(FileRef::Blob { id, .. }) => by_blob
                .get_mut(id)
                .and_then(|v| (!v.is_empty()).then(|| v.remove(0))),
            _ => None,
        };
        match from {
            Some(from) => {
                renamed_from.insert(from);
                out.push(Change {
                    path: path.to_string(),
                    kind: ChangeKind::Renamed {
                        from: from.to_string(),
                    },
                });
            }
            None => out.push(Change {
                path: path.to_string(),
                kind: ChangeKind::Added,
            }),
        }
    }
    for path in deleted {
        if !renamed_from.contains(path) {
            out.push(Change {
                path: path.to_string(),
                kind: ChangeKind::Deleted,
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn differs(a: &FileRef, b: &FileRef) -> bool {
    match (a, b) {
        (FileRef::Blob { id: x, symlink: s }, FileRef::Blob { id: y, symlink: t }) => {
            x != y || s != t
        }
        // The work tree has no ids to compare: assume a change so rules look.
        _ => true,
    }
}
