//! Go modules: finding `go.mod`, mapping an import path to a folder of the
//! repository, and reading `entc.go`'s target.

use super::*;

/// The module path a `go.mod` declares (`module example.com/app`).
pub fn module_path(go_mod: &str) -> Option<String> {
    go_mod
        .lines()
        .find_map(|l| {
            let l = l.split("//").next().unwrap_or("").trim();
            l.strip_prefix("module")
                .filter(|r| r.starts_with([' ', '\t']))
                .map(|r| r.trim().trim_matches('"').to_string())
        })
        .filter(|m| !m.is_empty())
}

/// The nearest `go.mod` at or above repository folder `dir`: its folder and
/// module path. `read` gives a file's text, `None` when there is no such
/// file; a `go.mod` without a module line ends the search.
pub fn find_go_module<E>(
    dir: &str,
    mut read: impl FnMut(&str) -> std::result::Result<Option<String>, E>,
) -> std::result::Result<Option<(String, String)>, E> {
    let mut folder = dir.trim_end_matches('/').to_string();
    loop {
        let path = if folder.is_empty() {
            "go.mod".to_string()
        } else {
            format!("{folder}/go.mod")
        };
        if let Some(text) = read(&path)? {
            return Ok(module_path(&text).map(|m| (folder, m)));
        }
        if folder.is_empty() {
            return Ok(None);
        }
        folder = folder
            .rsplit_once('/')
            .map_or(String::new(), |(p, _)| p.to_string());
    }
}

/// The repository folder of an import path, when it lies under `module`
/// (declared by the `go.mod` in folder `mod_dir`), as Go resolves it.
pub fn import_dir(import: &str, mod_dir: &str, module: &str) -> Option<String> {
    let rest = if import == module {
        ""
    } else {
        import.strip_prefix(module)?.strip_prefix('/')?
    };
    Some(
        [mod_dir, rest]
            .iter()
            .filter(|p| !p.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("/"),
    )
}

/// The `Target` of the `gen.Config` an `entc.go` passes to `entc.Generate`
/// (where ent writes the generated code), as written.
pub fn entc_target(src: &[u8]) -> Option<String> {
    let file = GoFile::parse("entc.go", src)?;
    let mut target = None;
    walk(file.tree.root_node(), &mut |n| {
        if n.kind() == "keyed_element" && target.is_none() {
            let key = n.child(0).map(|k| file.text(k).trim().to_string());
            if key.as_deref() == Some("Target") {
                if let Some(v) = n.child((n.child_count().saturating_sub(1)) as u32) {
                    let text = file.text(v);
                    if text.starts_with('"') || text.starts_with('`') {
                        target = Some(unquote(text));
                    }
                }
            }
        }
    });
    target
}
