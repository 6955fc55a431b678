//! Which files of a directory are migrations, in the order Atlas applies them,
//! with their versions and their down (revert) files.

use std::collections::BTreeMap;

use super::format::{
    flyway_desc, flyway_version, flyway_version_cmp, local_desc, local_version, DirFormat,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    pub version: String,
    pub description: String,
    /// The file applied when migrating up (path relative to the directory).
    pub up: String,
    /// The file that reverts it: golang-migrate's `.down.sql`, Flyway's `U`
    /// file, or the file itself for goose and dbmate (a down section).
    pub down: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub migrations: Vec<Migration>,
    /// golang-migrate `.down.sql` / Flyway `U` files with no up file.
    pub orphan_downs: Vec<String>,
}

impl Listing {
    /// The migration directory `dir` (a folder of git's work tree) as
    /// `commit` has it: what `fix-sum --renumber` and `parity --roundtrip`
    /// compare the branch with.
    pub fn at_commit(
        git: &crate::git::Git,
        commit: gix::ObjectId,
        dir: &std::path::Path,
        format: DirFormat,
    ) -> crate::error::Result<Listing> {
        let rel = git.relative(dir).ok_or_else(|| {
            crate::error::Error::Usage(format!(
                "the migration directory {} is outside the repository",
                dir.display()
            ))
        })?;
        let mut scope = crate::git::Scope::default();
        scope.add_dir(&rel);
        let snapshot = crate::git::Snapshot::from_tree(git, git.tree_of(commit)?, &scope)?;
        let names = snapshot.list_dir(&rel, format.recursive());
        Ok(Listing::new(format, names.iter().map(String::as_str)))
    }

    /// Builds the listing from every file name in the directory (relative
    /// paths with `/`; sub-folders matter only to Flyway).
    pub fn new<'a>(format: DirFormat, names: impl IntoIterator<Item = &'a str>) -> Listing {
        let mut names: Vec<&str> = names
            .into_iter()
            .filter(|n| format.recursive() || !n.contains('/'))
            .filter(|n| n.ends_with(".sql"))
            .collect();
        names.sort_unstable();
        match format {
            DirFormat::Atlas | DirFormat::Goose | DirFormat::Dbmate => Listing {
                migrations: names
                    .iter()
                    .map(|n| Migration {
                        version: local_version(n).to_string(),
                        description: local_desc(n).to_string(),
                        up: n.to_string(),
                        down: (format != DirFormat::Atlas).then(|| n.to_string()),
                    })
                    .collect(),
                orphan_downs: Vec::new(),
            },
            DirFormat::GolangMigrate => golang_migrate(&names),
            DirFormat::Flyway => flyway(names),
        }
    }

    /// The migration a file belongs to (as its up or its down file).
    pub fn owner_of(&self, file: &str) -> Option<&Migration> {
        self.migrations
            .iter()
            .find(|m| m.up == file || m.down.as_deref() == Some(file))
    }
}

fn golang_migrate(names: &[&str]) -> Listing {
    let mut downs: BTreeMap<&str, &str> = names
        .iter()
        .filter_map(|n| n.strip_suffix(".down.sql").map(|stem| (stem, *n)))
        .collect();
    let migrations = names
        .iter()
        .filter_map(|n| n.strip_suffix(".up.sql").map(|stem| (stem, *n)))
        .map(|(stem, up)| Migration {
            version: local_version(up).to_string(),
            description: local_desc(up).trim_end_matches(".up").to_string(),
            up: up.to_string(),
            down: downs.remove(stem).map(str::to_string),
        })
        .collect();
    Listing {
        migrations,
        orphan_downs: downs.into_values().map(str::to_string).collect(),
    }
}

/// Port of Atlas's `flywayFiles`: the newest baseline, the versioned files
/// above it, then repeatable files; `U` files revert the version they name.
fn flyway(mut names: Vec<&str>) -> Listing {
    // fs.WalkDir visits a folder's entries by name, descending into folders
    // where they sort: compare path components, not whole strings.
    names.sort_by(|a, b| a.split('/').cmp(b.split('/')));
    let base = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    let hidden = |p: &str| p.split('/').rev().skip(1).any(|c| c.starts_with('.'));
    let mut baseline: Option<&str> = None;
    let mut versioned: Vec<&str> = Vec::new();
    let mut repeatable: Vec<&str> = Vec::new();
    let mut undo: BTreeMap<String, &str> = BTreeMap::new();
    for path in names.into_iter().filter(|p| !hidden(p)) {
        let b = base(path);
        if b.len() < 4 {
            continue;
        }
        match b.as_bytes()[0] {
            b'B' => {
                if baseline.is_some_and(|bl| flyway_version(path) < flyway_version(bl)) {
                    continue;
                }
                baseline = Some(path);
                // Atlas compares the versioned *paths* with the baseline
                // version here; kept as is to list the same files.
                let bv = flyway_version(path);
                versioned.retain(|v| *v > bv);
            }
            b'V' if baseline.is_none_or(|bl| flyway_version(bl) < flyway_version(path)) => {
                versioned.push(path)
            }
            b'R' => repeatable.push(path),
            b'U' => {
                undo.insert(flyway_version(path).to_string(), path);
            }
            _ => {}
        }
    }
    versioned.sort_by(|a, b| flyway_version_cmp(flyway_version(a), flyway_version(b)));
    repeatable.sort_by(|a, b| flyway_version_cmp(flyway_version(a), flyway_version(b)));
    let migrations = baseline
        .into_iter()
        .chain(versioned)
        .chain(repeatable)
        .map(|p| Migration {
            version: flyway_version(p).to_string(),
            description: flyway_desc(&base(p)).to_string(),
            up: p.to_string(),
            down: undo.remove(flyway_version(p)).map(str::to_string),
        })
        .collect();
    Listing {
        migrations,
        orphan_downs: undo.into_values().map(str::to_string).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golang_migrate_pairs_up_and_down() {
        let l = Listing::new(
            DirFormat::GolangMigrate,
            [
                "2_b.down.sql",
                "1_a.up.sql",
                "1_a.down.sql",
                "2_b.up.sql",
                "3_c.down.sql",
                "atlas.sum",
            ],
        );
        assert_eq!(l.migrations.len(), 2);
        assert_eq!(l.migrations[0].version, "1");
        assert_eq!(l.migrations[0].description, "a");
        assert_eq!(l.migrations[1].down.as_deref(), Some("2_b.down.sql"));
        assert_eq!(l.orphan_downs, vec!["3_c.down.sql"]);
        assert_eq!(l.owner_of("2_b.down.sql").unwrap().up, "2_b.up.sql");
    }

    #[test]
    fn atlas_goose_dbmate_take_every_top_level_sql() {
        let names = ["2_b.sql", "1_a.sql", "sub/3.sql", "README.md"];
        let atlas = Listing::new(DirFormat::Atlas, names);
        assert_eq!(
            atlas
                .migrations
                .iter()
                .map(|m| m.up.as_str())
                .collect::<Vec<_>>(),
            ["1_a.sql", "2_b.sql"]
        );
        assert_eq!(atlas.migrations[0].down, None);
        let goose = Listing::new(DirFormat::Goose, names);
        assert_eq!(goose.migrations[1].down.as_deref(), Some("2_b.sql"));
    }

    #[test]
    fn flyway_orders_baseline_versions_then_repeatables() {
        let l = Listing::new(
            DirFormat::Flyway,
            [
                "V1__initial.sql",
                "B2__baseline.sql",
                "V3__third.sql",
                "V10__tenth.sql",
                "R__views.sql",
                "U3__third.sql",
                "v3/V3_1__fourth.sql",
                ".hidden/V9__x.sql",
            ],
        );
        let ups: Vec<&str> = l.migrations.iter().map(|m| m.up.as_str()).collect();
        // Atlas compares versions against the baseline as strings: "10" < "2",
        // so V10 is treated as covered by baseline 2, like V1.
        assert_eq!(
            ups,
            [
                "B2__baseline.sql",
                "V3__third.sql",
                "v3/V3_1__fourth.sql",
                "R__views.sql"
            ]
        );
        assert_eq!(l.migrations[1].down.as_deref(), Some("U3__third.sql"));
    }
}
