//! The config's globs (generated paths, their sources and exclusions,
//! exempt tables), compiled once when the config loads, so a bad glob stops
//! the run naming the file and line, before any rule runs.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// A compiled list of globs; `*` does not cross `/`, `**` does.
#[derive(Debug, Clone, Default)]
pub struct Globs {
    set: GlobSet,
}

impl Globs {
    /// Compiles `globs`; the error names the glob that does not compile.
    pub fn compile(globs: &[String]) -> Result<Globs, (String, String)> {
        let mut b = GlobSetBuilder::new();
        for g in globs {
            let glob = GlobBuilder::new(g)
                .literal_separator(true)
                .build()
                .map_err(|e| (g.clone(), e.kind().to_string()))?;
            b.add(glob);
        }
        let set = b.build().map_err(|e| (globs.join(", "), e.to_string()))?;
        Ok(Globs { set })
    }

    pub fn is_match(&self, path: &str) -> bool {
        self.set.is_match(path)
    }
}

/// The files of one `generated:` entry (under `paths`, not under `exclude`)
/// and its `sources`.
#[derive(Debug, Clone, Default)]
pub struct GeneratedGlobs {
    pub paths: Globs,
    pub exclude: Globs,
    pub sources: Globs,
}

impl GeneratedGlobs {
    /// Whether `path` is one of the entry's generated files.
    pub fn is_generated(&self, path: &str) -> bool {
        self.paths.is_match(path) && !self.exclude.is_match(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_stay_in_their_folder_and_bad_globs_are_named() {
        let g = Globs::compile(&["openmeter/ent/db/*.go".into(), "x/**".into()]).unwrap();
        assert!(g.is_match("openmeter/ent/db/client.go"));
        assert!(!g.is_match("openmeter/ent/db/sub/client.go"));
        assert!(g.is_match("x/a/b"));
        let (glob, why) = Globs::compile(&["ok/*".into(), "a/[".into()]).unwrap_err();
        assert_eq!(glob, "a/[");
        assert!(why.contains("unclosed"), "{why}");
    }
}
