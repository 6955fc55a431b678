//! Go syntax: each file parsed with tree-sitter, and the small helpers
//! that read calls, strings and fields from its nodes.

use super::*;

/// `node.child_by_field_name(name)`, with the field's id looked up once:
/// tree-sitter resolves names by a linear search on every call.
pub(super) fn field<'t>(node: Node<'t>, name: &'static str) -> Option<Node<'t>> {
    use std::sync::OnceLock;
    static IDS: OnceLock<HashMap<&'static str, u16>> = OnceLock::new();
    let ids = IDS.get_or_init(|| {
        let language: tree_sitter::Language = tree_sitter_go::LANGUAGE.into();
        [
            "path",
            "name",
            "type",
            "receiver",
            "body",
            "value",
            "function",
            "operand",
            "field",
            "arguments",
            "key",
            "left",
        ]
        .into_iter()
        .filter_map(|n| language.field_id_for_name(n).map(|id| (n, id.get())))
        .collect()
    });
    match ids.get(name).and_then(|id| std::num::NonZeroU16::new(*id)) {
        Some(id) => node.child_by_field_id(id.get()),
        None => node.child_by_field_name(name),
    }
}

/// A place in a Go file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub path: String,
    pub line: usize,
    pub span: Range<usize>,
}

pub struct GoFile {
    pub path: String,
    pub src: String,
    pub(super) tree: Tree,
    /// Import alias to import path.
    pub(super) imports: HashMap<String, String>,
}

/// A tree-sitter parser for Go.
pub fn go_parser() -> Option<Parser> {
    let mut parser = Parser::new();
    parser.set_language(&tree_sitter_go::LANGUAGE.into()).ok()?;
    Some(parser)
}

impl GoFile {
    pub fn parse(path: &str, bytes: &[u8]) -> Option<GoFile> {
        Self::parse_with(&mut go_parser()?, path, bytes)
    }

    pub fn parse_with(parser: &mut Parser, path: &str, bytes: &[u8]) -> Option<GoFile> {
        // A schema file this large is not a schema; do not stall on it.
        if bytes.len() > crate::sql::parse::MAX_PARSED_BYTES {
            return None;
        }
        let src = String::from_utf8_lossy(bytes).into_owned();
        let tree = parser.parse(&src, None)?;
        let mut file = GoFile {
            path: path.to_string(),
            src,
            tree,
            imports: HashMap::new(),
        };
        let mut imports = HashMap::new();
        let root = file.tree.root_node();
        for decl in children(root)
            .into_iter()
            .filter(|n| n.kind() == "import_declaration")
        {
            walk(decl, &mut |n| {
                if n.kind() == "import_spec" {
                    let Some(path_node) = field(n, "path") else {
                        return;
                    };
                    let import = unquote(file.text(path_node));
                    let alias = match field(n, "name") {
                        Some(a) => file.text(a).to_string(),
                        None => import.rsplit('/').next().unwrap_or(&import).to_string(),
                    };
                    imports.insert(alias, import);
                }
            });
        }
        file.imports = imports;
        Some(file)
    }

    /// Parses many files on every core.
    pub fn parse_many(files: Vec<(String, Vec<u8>)>) -> crate::error::Result<Vec<GoFile>> {
        // One parser per file: tree-sitter parsers are cheap to make and not
        // shared across threads.
        Ok(crate::par::map(&files, |(p, b)| {
            go_parser().and_then(|mut parser| GoFile::parse_with(&mut parser, p, b))
        })?
        .into_iter()
        .flatten()
        .collect())
    }

    /// Names this file declares at package level, and the package-local names
    /// it uses (not import aliases, builtins, or names local to a function):
    /// what links it to other files of its package.
    pub fn names(&self) -> (BTreeSet<String>, BTreeSet<String>) {
        const BUILTINS: &[&str] = &[
            "append", "cap", "len", "make", "new", "nil", "true", "false", "string", "int",
            "int64", "int32", "bool", "error", "float64", "byte", "rune", "any", "panic", "copy",
            "delete", "iota", "_",
        ];
        let mut declared = BTreeSet::new();
        let mut local = BTreeSet::new();
        let mut used = BTreeSet::new();
        let root = self.tree.root_node();
        for top in children(root) {
            match top.kind() {
                "type_declaration"
                | "function_declaration"
                | "var_declaration"
                | "const_declaration" => {
                    walk(top, &mut |n| {
                        if matches!(n.kind(), "type_spec" | "var_spec" | "const_spec")
                            && n.parent()
                                .is_some_and(|p| p == top || p.parent() == Some(top))
                        {
                            if let Some(name) = field(n, "name") {
                                declared.insert(self.text(name).to_string());
                            }
                        }
                    });
                    if top.kind() == "function_declaration" {
                        if let Some(name) = field(top, "name") {
                            declared.insert(self.text(name).to_string());
                        }
                    }
                }
                _ => {}
            }
        }
        walk(root, &mut |n| match n.kind() {
            "parameter_declaration"
            | "short_var_declaration"
            | "range_clause"
            | "var_spec"
            | "const_spec" => {
                let target = match n.kind() {
                    "short_var_declaration" | "range_clause" => field(n, "left"),
                    _ => field(n, "name"),
                };
                if let Some(t) = target {
                    walk(t, &mut |i| {
                        if i.kind() == "identifier" {
                            local.insert(self.text(i).to_string());
                        }
                    });
                }
            }
            "identifier" | "type_identifier" => {
                if n.parent().is_some_and(|p| p.kind() == "qualified_type") {
                    return;
                }
                used.insert(self.text(n).to_string());
            }
            _ => {}
        });
        let used = used
            .into_iter()
            .filter(|u| {
                !local.contains(u)
                    && !self.imports.contains_key(u)
                    && !BUILTINS.contains(&u.as_str())
            })
            .collect();
        (declared, used)
    }

    pub(super) fn text(&self, n: Node) -> &str {
        self.src.get(n.byte_range()).unwrap_or("")
    }

    pub(super) fn place(&self, n: Node) -> Place {
        let line_end = self.src[n.start_byte()..]
            .find('\n')
            .map_or(self.src.len(), |i| n.start_byte() + i);
        Place {
            path: self.path.clone(),
            line: n.start_position().row + 1,
            span: n.start_byte()..line_end.min(n.end_byte().max(n.start_byte() + 1)),
        }
    }

    /// The alias under which `import` is imported here.
    pub(super) fn alias_of(&self, import: &str) -> Option<&str> {
        self.imports
            .iter()
            .find(|(_, p)| p.as_str() == import)
            .map(|(a, _)| a.as_str())
    }
}

/// Visits `n` and every node below it, depth first, with one cursor.
pub(super) fn walk<'t>(n: Node<'t>, f: &mut impl FnMut(Node<'t>)) {
    let mut cursor = n.walk();
    loop {
        f(cursor.node());
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.node() == n {
                return;
            }
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}

pub(super) fn unquote(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2
        && ((s.starts_with('"') && s.ends_with('"')) || (s.starts_with('`') && s.ends_with('`')))
    {
        s[1..s.len() - 1].replace("\\\"", "\"")
    } else {
        s.to_string()
    }
}

pub(super) fn children(n: Node) -> Vec<Node> {
    let mut cursor = n.walk();
    n.children(&mut cursor).collect()
}

/// `alias.Name(...)`: the `Name` when the call is on package `alias`.
pub(super) fn call_on<'a>(f: &'a GoFile, call: Node, alias: &str) -> Option<&'a str> {
    let func = field(call, "function")?;
    if func.kind() != "selector_expression" {
        return None;
    }
    let operand = field(func, "operand")?;
    (operand.kind() == "identifier" && f.text(operand) == alias)
        .then(|| field(func, "field").map(|n| f.text(n)))?
}

pub(super) fn string_args(f: &GoFile, call: Node) -> Vec<String> {
    let Some(args) = field(call, "arguments") else {
        return Vec::new();
    };
    children(args)
        .into_iter()
        .filter(|a| {
            matches!(
                a.kind(),
                "interpreted_string_literal" | "raw_string_literal"
            )
        })
        .map(|a| unquote(f.text(a)))
        .collect()
}

pub(super) fn first_string_arg(f: &GoFile, call: Node) -> Option<String> {
    let args = field(call, "arguments")?;
    let first = children(args).into_iter().find(|a| a.is_named())?;
    matches!(
        first.kind(),
        "interpreted_string_literal" | "raw_string_literal"
    )
    .then(|| unquote(f.text(first)))
}
