//! Reading ent schemas (Go) with tree-sitter: schema types and their mixins,
//! fields, indexes and table names, so the conventions can be checked at the
//! source of truth.
//!
//! What is read, per package (the schema package and `ent.mixin_packages`):
//! - types: a struct embedding `ent.Schema` is a schema (a table); one
//!   embedding `ent.View` is a view; any other type with a `Fields()` or
//!   `Indexes()` method is a mixin;
//! - `Mixin()`: the mixin composite literals it returns (`entutils.TimeMixin{}`,
//!   local mixins, `&X{}`), also through package-level helpers;
//! - `Fields()`: every `field.Kind("name")` call in the body, every mixin whose
//!   fields it appends (`TimeMixin{}.Fields()...`, loops over a mixin list), and
//!   package-level variables or functions it uses (helper-built fields);
//! - `Indexes()`: each `index.Fields(...)` chain with `.Unique()` and
//!   `.Annotations(entsql.IndexWhere("..."))`;
//! - `Annotations()`: `entsql.Annotation{Table: "..."}`.
//!
//! This over-approximates on purpose where Go would need evaluation (a field
//! built in a branch counts): a convention check must not miss a column.

pub mod view;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Range;

use tree_sitter::{Node, Parser, Tree};

const ENT: &str = "entgo.io/ent";
const FIELD: &str = "entgo.io/ent/schema/field";
const INDEX: &str = "entgo.io/ent/schema/index";
const ENTSQL: &str = "entgo.io/ent/dialect/entsql";

/// `node.child_by_field_name(name)`, with the field's id looked up once:
/// tree-sitter resolves names by a linear search on every call.
fn field<'t>(node: Node<'t>, name: &'static str) -> Option<Node<'t>> {
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
    tree: Tree,
    /// Import alias to import path.
    imports: HashMap<String, String>,
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
    pub fn parse_many(files: Vec<(String, Vec<u8>)>) -> Vec<GoFile> {
        // One parser per file: tree-sitter parsers are cheap to make and not
        // shared across threads.
        crate::par::map(&files, |(p, b)| {
            go_parser().and_then(|mut parser| GoFile::parse_with(&mut parser, p, b))
        })
        .into_iter()
        .flatten()
        .collect()
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

    fn text(&self, n: Node) -> &str {
        self.src.get(n.byte_range()).unwrap_or("")
    }

    fn place(&self, n: Node) -> Place {
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
    fn alias_of(&self, import: &str) -> Option<&str> {
        self.imports
            .iter()
            .find(|(_, p)| p.as_str() == import)
            .map(|(a, _)| a.as_str())
    }
}

/// Visits `n` and every node below it, depth first, with one cursor.
fn walk<'t>(n: Node<'t>, f: &mut impl FnMut(Node<'t>)) {
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

fn unquote(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2
        && ((s.starts_with('"') && s.ends_with('"')) || (s.starts_with('`') && s.ends_with('`')))
    {
        s[1..s.len() - 1].replace("\\\"", "\"")
    } else {
        s.to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Schema,
    View,
    Mixin,
}

/// A type declared in a package.
#[derive(Debug, Clone)]
struct TypeDecl {
    kind: Kind,
    place: Place,
    /// The file it is declared in, and the types it embeds as written.
    file: usize,
    embeds: Vec<String>,
}

/// One Go package: its files, types, methods, and package-level helpers.
pub struct Package {
    /// Folder, relative to the repository root.
    pub dir: String,
    files: Vec<std::sync::Arc<GoFile>>,
    types: BTreeMap<String, TypeDecl>,
    /// (receiver type, method) to (file, body byte range).
    methods: HashMap<(String, String), (usize, Range<usize>)>,
    /// Package-level functions and variables: name to (file, byte range).
    helpers: HashMap<String, (usize, Range<usize>)>,
    /// Type aliases (`type A = entutils.RecursiveMixin[a]`): name to
    /// (file, the aliased type as written).
    aliases: HashMap<String, (usize, String)>,
}

impl Package {
    /// Reads the `.go` files of a folder (tests excluded).
    pub fn parse(dir: &str, files: Vec<(String, Vec<u8>)>) -> Package {
        let files = files
            .into_iter()
            .filter(|(p, _)| p.ends_with(".go") && !p.ends_with("_test.go"))
            .collect();
        Package::from_files(
            dir,
            GoFile::parse_many(files)
                .into_iter()
                .map(std::sync::Arc::new)
                .collect(),
        )
    }

    /// Builds a package from parsed files (shared between snapshots).
    pub fn from_files(dir: &str, files: Vec<std::sync::Arc<GoFile>>) -> Package {
        let mut pkg = Package {
            dir: dir.to_string(),
            files: Vec::new(),
            types: BTreeMap::new(),
            methods: HashMap::new(),
            helpers: HashMap::new(),
            aliases: HashMap::new(),
        };
        let mut embeds: HashMap<String, Vec<String>> = HashMap::new();
        for (i, f) in files.iter().enumerate() {
            let ent_alias = f.alias_of(ENT).unwrap_or("ent");
            for top in children(f.tree.root_node()) {
                match top.kind() {
                    "type_declaration" => {
                        for alias in children(top)
                            .into_iter()
                            .filter(|n| n.kind() == "type_alias")
                        {
                            if let (Some(name), Some(ty)) =
                                (field(alias, "name"), field(alias, "type"))
                            {
                                pkg.aliases
                                    .insert(f.text(name).to_string(), (i, f.text(ty).to_string()));
                            }
                        }
                        for spec in children(top)
                            .into_iter()
                            .filter(|n| n.kind() == "type_spec")
                        {
                            let (Some(name), Some(ty)) = (field(spec, "name"), field(spec, "type"))
                            else {
                                continue;
                            };
                            let name = f.text(name).to_string();
                            let mut embedded = Vec::new();
                            walk(ty, &mut |n| {
                                if n.kind() == "field_declaration" && field(n, "name").is_none() {
                                    if let Some(t) = field(n, "type") {
                                        embedded
                                            .push(f.text(t).trim_start_matches('*').to_string());
                                    }
                                }
                            });
                            let kind =
                                if embedded.iter().any(|e| *e == format!("{ent_alias}.Schema")) {
                                    Kind::Schema
                                } else if embedded.iter().any(|e| *e == format!("{ent_alias}.View"))
                                {
                                    Kind::View
                                } else {
                                    Kind::Mixin
                                };
                            embeds.insert(name.clone(), embedded.clone());
                            pkg.types.insert(
                                name,
                                TypeDecl {
                                    kind,
                                    place: f.place(spec),
                                    file: i,
                                    embeds: embedded,
                                },
                            );
                        }
                    }
                    "method_declaration" => {
                        let (Some(recv), Some(name), Some(body)) = (
                            field(top, "receiver"),
                            field(top, "name"),
                            field(top, "body"),
                        ) else {
                            continue;
                        };
                        let mut recv_type = String::new();
                        walk(recv, &mut |n| {
                            if n.kind() == "type_identifier" && recv_type.is_empty() {
                                recv_type = f.text(n).to_string();
                            }
                        });
                        pkg.methods.insert(
                            (recv_type, f.text(name).to_string()),
                            (i, body.byte_range()),
                        );
                    }
                    "function_declaration" => {
                        if let (Some(name), Some(body)) = (field(top, "name"), field(top, "body")) {
                            pkg.helpers
                                .insert(f.text(name).to_string(), (i, body.byte_range()));
                        }
                    }
                    "var_declaration" => {
                        walk(top, &mut |n| {
                            if n.kind() == "var_spec" {
                                if let (Some(name), Some(value)) =
                                    (field(n, "name"), field(n, "value"))
                                {
                                    pkg.helpers
                                        .insert(f.text(name).to_string(), (i, value.byte_range()));
                                }
                            }
                        });
                    }
                    _ => {}
                }
            }
        }
        // A type with neither Fields() nor Indexes() nor Mixin() is not a mixin.
        // A type embedding a mixin is a mixin too (its methods are promoted).
        let has_methods: HashSet<&String> = pkg.methods.keys().map(|(t, _)| t).collect();
        pkg.types.retain(|name, t| {
            t.kind != Kind::Mixin
                || has_methods.contains(name)
                || t.embeds.iter().any(|e| !e.ends_with(".Schema"))
        });
        pkg.files = files;
        pkg
    }

    /// What can make a schema new or add an index: the types (and kinds),
    /// the bodies of `Mixin()` and `Indexes()`, and package-level helpers.
    /// Two versions of a file with the same signature add neither.
    pub fn signature(&self) -> BTreeMap<String, String> {
        let mut sig = BTreeMap::new();
        for (name, t) in &self.types {
            sig.insert(format!("type {name}"), format!("{:?}", t.kind));
        }
        for ((recv, name), (file, range)) in &self.methods {
            if name == "Mixin" || name == "Indexes" {
                let text = self.files[*file].src.get(range.clone()).unwrap_or_default();
                sig.insert(format!("method {recv}.{name}"), text.to_string());
            }
        }
        for (name, (file, range)) in &self.helpers {
            let text = self.files[*file].src.get(range.clone()).unwrap_or_default();
            sig.insert(format!("helper {name}"), text.to_string());
        }
        sig
    }

    /// The import paths this package uses where mixins and fields are built
    /// (`alias.X{}` literals and `alias.F(...)` calls in `Mixin()`,
    /// `Fields()`, `Indexes()` and package-level helpers): the packages to
    /// load to resolve its mixins, and no others.
    pub fn mixin_imports(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let bodies = self
            .methods
            .iter()
            .filter(|((_, m), _)| m == "Mixin" || m == "Fields" || m == "Indexes")
            .map(|(_, v)| v)
            .chain(self.helpers.values());
        for (file, range) in bodies {
            let Some(root) = self.node_at(*file, range) else {
                continue;
            };
            let f = &self.files[*file];
            walk(root, &mut |n| {
                let qualified = match n.kind() {
                    "composite_literal" => field(n, "type").map(|t| f.text(t)),
                    "call_expression" => field(n, "function")
                        .filter(|func| func.kind() == "selector_expression")
                        .map(|func| f.text(func)),
                    _ => None,
                };
                if let Some((alias, _)) = qualified
                    .map(|q| q.trim_start_matches(['&', '*']))
                    .and_then(|q| q.split_once('.'))
                {
                    if let Some(import) = f.imports.get(alias) {
                        out.insert(import.clone());
                    }
                }
            });
        }
        out
    }

    fn node_at(&self, file: usize, range: &Range<usize>) -> Option<Node<'_>> {
        self.files[file]
            .tree
            .root_node()
            .descendant_for_byte_range(range.start, range.end.saturating_sub(1).max(range.start))
    }
}

fn children(n: Node) -> Vec<Node> {
    let mut cursor = n.walk();
    n.children(&mut cursor).collect()
}

/// A mixin a schema uses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MixinRef {
    /// Index of the package in the world.
    pub package: usize,
    pub name: String,
    /// As written, e.g. `entutils.TimeMixin{}`.
    pub written: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    pub fields: Vec<String>,
    pub unique: bool,
    /// The `entsql.IndexWhere` predicate, if any.
    pub predicate: Option<String>,
    pub place: Place,
    /// The mixin it comes from.
    pub via: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SchemaInfo {
    pub name: String,
    pub kind: Kind,
    pub table: String,
    pub place: Place,
    pub fields: BTreeSet<String>,
    pub mixins: Vec<MixinRef>,
    pub indexes: Vec<IndexInfo>,
    /// Mixins its `Mixin()` uses that could not be read (defined outside the
    /// repository, or built where migguard cannot follow): its fields are
    /// then not fully known, and a missing field is not a finding.
    pub unresolved: Vec<String>,
}

/// ent's own mixins (`entgo.io/ent/schema/mixin`) and the fields they add.
const ENT_MIXIN: &str = "entgo.io/ent/schema/mixin";

fn ent_mixin_fields(name: &str) -> &'static [&'static str] {
    match name {
        "Time" => &["create_time", "update_time"],
        "CreateTime" => &["create_time"],
        "UpdateTime" => &["update_time"],
        _ => &[],
    }
}

/// The schema package and the mixin packages.
pub struct World {
    /// Package 0 is the schema package.
    pub packages: Vec<Package>,
    schemas: std::sync::OnceLock<Vec<SchemaInfo>>,
}

impl World {
    pub fn new(packages: Vec<Package>) -> World {
        World {
            packages,
            schemas: std::sync::OnceLock::new(),
        }
    }

    /// Every schema (and view) type of the schema package, resolved once.
    pub fn schemas(&self) -> &[SchemaInfo] {
        self.schemas.get_or_init(|| self.resolve_schemas())
    }

    /// Resolves a type written in package `pkg`'s file `file`: `X` (local) or
    /// `alias.X` (a mixin package).
    fn resolve(&self, pkg: usize, file: usize, written: &str) -> Option<(usize, String)> {
        let written = written.trim_start_matches('&').trim_start_matches('*');
        match written.split_once('.') {
            None => self.packages[pkg]
                .types
                .contains_key(written)
                .then(|| (pkg, written.to_string())),
            Some((alias, name)) => {
                let import = self.packages[pkg].files[file].imports.get(alias)?;
                let idx = self.packages.iter().position(|p| {
                    !p.dir.is_empty()
                        && (import == &p.dir || import.ends_with(&format!("/{}", p.dir)))
                })?;
                self.packages[idx]
                    .types
                    .contains_key(name)
                    .then(|| (idx, name.to_string()))
            }
        }
    }

    /// The mixin a composite literal of type `written` builds, if it is one.
    fn mixin_literal(&self, pkg: usize, file: usize, written: &str) -> Option<MixinRef> {
        let (p, name) = self.resolve(pkg, file, written)?;
        (self.packages[p].types[&name].kind == Kind::Mixin).then(|| MixinRef {
            package: p,
            name,
            written: format!("{written}{{}}"),
        })
    }

    /// The mixins a composite literal of type `written` brings: the mixin
    /// itself, or for a type alias of a generic mixin instantiated with
    /// mixins (`type M = entutils.RecursiveMixin[m]`), the generic and its
    /// type arguments (a generic mixin is taken to bring its arguments'
    /// fields: over, never under).
    fn literal_mixins(&self, pkg: usize, file: usize, written: &str) -> Vec<MixinRef> {
        if let Some(m) = self.mixin_literal(pkg, file, written) {
            return vec![m];
        }
        let written = written.trim_start_matches(['&', '*']);
        let (p, name) = match written.split_once('.') {
            None => (pkg, written.to_string()),
            Some((alias, name)) => {
                let Some(p) = self.packages[pkg].files[file]
                    .imports
                    .get(alias)
                    .and_then(|i| self.package_of(i))
                else {
                    return Vec::new();
                };
                (p, name.to_string())
            }
        };
        let Some((afile, target)) = self.packages[p].aliases.get(&name).cloned() else {
            return Vec::new();
        };
        let (base, args) = match target.split_once('[') {
            Some((b, rest)) => (b.to_string(), rest.trim_end_matches(']').to_string()),
            None => (target.clone(), String::new()),
        };
        std::iter::once(base.as_str())
            .chain(args.split(',').map(str::trim).filter(|a| !a.is_empty()))
            .filter_map(|t| self.mixin_literal(p, afile, t))
            .collect()
    }

    /// Schema type names (no resolution needed).
    pub fn schema_names(&self) -> BTreeSet<String> {
        self.packages
            .first()
            .map(|p| {
                p.types
                    .iter()
                    .filter(|(_, t)| t.kind == Kind::Schema)
                    .map(|(n, _)| n.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Each schema's indexes (own and from mixins), without resolving fields.
    pub fn index_keys(&self) -> Vec<(String, IndexInfo)> {
        let Some(package) = self.packages.first() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (name, decl) in &package.types {
            if decl.kind != Kind::Schema {
                continue;
            }
            if let Some((f, r)) = package.methods.get(&(name.clone(), "Indexes".into())) {
                out.extend(
                    self.indexes_in(0, *f, r, None)
                        .into_iter()
                        .map(|ix| (name.clone(), ix)),
                );
            }
            if let Some((f, r)) = package.methods.get(&(name.clone(), "Mixin".into())) {
                for m in self.mixins_in(0, *f, r, &mut HashSet::new()) {
                    if let Some((mf, mr)) = self.packages[m.package]
                        .methods
                        .get(&(m.name.clone(), "Indexes".into()))
                    {
                        out.extend(
                            self.indexes_in(m.package, *mf, mr, Some(&m.written))
                                .into_iter()
                                .map(|ix| (name.clone(), ix)),
                        );
                    }
                }
            }
        }
        out
    }

    /// Mixin composite literals (and helpers) in a byte range.
    fn mixins_in(
        &self,
        pkg: usize,
        file: usize,
        range: &Range<usize>,
        seen: &mut HashSet<(usize, String)>,
    ) -> Vec<MixinRef> {
        let mut out = Vec::new();
        let Some(root) = self.packages[pkg].node_at(file, range) else {
            return out;
        };
        let f = &self.packages[pkg].files[file];
        let mut helper_refs = Vec::new();
        let mut called = Vec::new();
        walk(root, &mut |n| match n.kind() {
            "composite_literal" => {
                if let Some(ty) = n.child_by_field_name("type") {
                    out.extend(self.literal_mixins(pkg, file, f.text(ty)));
                }
            }
            "call_expression" if self.call_target(pkg, file, n).is_some() => {
                called.extend(self.call_target(pkg, file, n));
            }
            "identifier" | "call_expression" => {
                let name = if n.kind() == "identifier" {
                    f.text(n)
                } else {
                    ""
                };
                if self.packages[pkg].helpers.contains_key(name) {
                    helper_refs.push(name.to_string());
                }
            }
            _ => {}
        });
        for h in helper_refs {
            if seen.insert((pkg, format!("helper:{h}"))) {
                let (hf, hr) = self.packages[pkg].helpers[&h].clone();
                out.extend(self.mixins_in(pkg, hf, &hr, seen));
            }
        }
        for (p, key, hf, hr) in called {
            if seen.insert((p, key)) {
                out.extend(self.mixins_in(p, hf, &hr, seen));
            }
        }
        out
    }

    /// What a call in package `pkg` runs, when migguard can follow it: a
    /// method of a local type called on a literal (`cfg{...}.mixins(x)`), or
    /// a function of another loaded package (`base.Mixins()`). Returns the
    /// package, a key for cycle detection, and the body.
    fn call_target(
        &self,
        pkg: usize,
        file: usize,
        call: Node,
    ) -> Option<(usize, String, usize, Range<usize>)> {
        let f = &self.packages[pkg].files[file];
        let func = field(call, "function")?;
        if func.kind() != "selector_expression" {
            return None;
        }
        let operand = field(func, "operand")?;
        let name = f.text(field(func, "field")?);
        match operand.kind() {
            "composite_literal" => {
                let ty = f.text(field(operand, "type")?).trim_start_matches('&');
                let (p, ty) = self.resolve(pkg, file, ty)?;
                let (hf, hr) = self.packages[p]
                    .methods
                    .get(&(ty.clone(), name.to_string()))?
                    .clone();
                Some((p, format!("method:{ty}.{name}"), hf, hr))
            }
            "identifier" => {
                let import = f.imports.get(f.text(operand))?;
                let p = self.package_of(import)?;
                let (hf, hr) = self.packages[p].helpers.get(name)?.clone();
                Some((p, format!("helper:{name}"), hf, hr))
            }
            _ => None,
        }
    }

    /// The loaded package an import path names.
    fn package_of(&self, import: &str) -> Option<usize> {
        self.packages.iter().position(|p| {
            !p.dir.is_empty() && (import == p.dir || import.ends_with(&format!("/{}", p.dir)))
        })
    }

    /// Mixins written in `Mixin()` (and what it calls) that cannot be read:
    /// a literal or call of a package outside the repository (ent's own
    /// mixins excepted), or a call migguard cannot follow.
    fn unresolved_in(
        &self,
        pkg: usize,
        file: usize,
        range: &Range<usize>,
        seen: &mut HashSet<(usize, String)>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let Some(root) = self.packages[pkg].node_at(file, range) else {
            return out;
        };
        let f = &self.packages[pkg].files[file];
        let mut follow = Vec::new();
        walk(root, &mut |n| match n.kind() {
            "composite_literal" => {
                let Some(ty) = field(n, "type").map(|t| f.text(t).trim_start_matches(['&', '*']))
                else {
                    return;
                };
                let Some((alias, _)) = ty.split_once('.') else {
                    return;
                };
                if ty.starts_with('[') || ty.starts_with("map[") {
                    return;
                }
                match f.imports.get(alias).map(String::as_str) {
                    Some(ENT) | Some(ENT_MIXIN) => {}
                    Some(_) if self.resolve(pkg, file, ty).is_some() => {}
                    Some(_) => out.push(format!("{ty}{{}}")),
                    None => {}
                }
            }
            "call_expression" => {
                let Some(func) = field(n, "function") else {
                    return;
                };
                if func.kind() != "selector_expression" {
                    return;
                }
                if let Some(target) = self.call_target(pkg, file, n) {
                    follow.push(target);
                    return;
                }
                let operand = field(func, "operand").map(|o| f.text(o)).unwrap_or("");
                let method = field(func, "field").map(|o| f.text(o)).unwrap_or("");
                // `m.Fields()...` on a mixin value reads its fields, which
                // the literal already brings; other calls build mixins
                // migguard cannot see.
                let known = matches!(
                    method,
                    "Fields" | "Indexes" | "Edges" | "Hooks" | "Annotations"
                ) || matches!(
                    f.imports.get(operand).map(String::as_str),
                    Some(ENT) | Some(ENT_MIXIN)
                );
                if !known {
                    out.push(format!("{}(...)", f.text(func)));
                }
            }
            _ => {}
        });
        for (p, key, hf, hr) in follow {
            if seen.insert((p, key)) {
                out.extend(self.unresolved_in(p, hf, &hr, seen));
            }
        }
        out
    }

    /// Fields that ent's own mixins in a `Mixin()` body add.
    fn ent_mixin_fields_in(
        &self,
        pkg: usize,
        file: usize,
        range: &Range<usize>,
    ) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let Some(root) = self.packages[pkg].node_at(file, range) else {
            return out;
        };
        let f = &self.packages[pkg].files[file];
        walk(root, &mut |n| {
            if n.kind() != "composite_literal" {
                return;
            }
            let Some(ty) = field(n, "type").map(|t| f.text(t).trim_start_matches(['&', '*']))
            else {
                return;
            };
            if let Some((alias, name)) = ty.split_once('.') {
                if f.imports.get(alias).map(String::as_str) == Some(ENT_MIXIN) {
                    out.extend(ent_mixin_fields(name).iter().map(|s| s.to_string()));
                }
            }
        });
        out
    }

    /// Field names written in a byte range (calls of ent's `field` package),
    /// plus the fields of mixins and helpers it uses.
    fn fields_in(
        &self,
        pkg: usize,
        file: usize,
        range: &Range<usize>,
        seen: &mut HashSet<(usize, String)>,
    ) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let Some(root) = self.packages[pkg].node_at(file, range) else {
            return out;
        };
        let f = &self.packages[pkg].files[file];
        let field_alias = f.alias_of(FIELD).unwrap_or("field");
        let mut helper_refs = Vec::new();
        let mut mixins = Vec::new();
        walk(root, &mut |n| match n.kind() {
            "call_expression" => {
                if let Some(name) = call_on(f, n, field_alias).and_then(|_| first_string_arg(f, n))
                {
                    out.insert(name);
                }
            }
            "composite_literal" => {
                if let Some(ty) = n.child_by_field_name("type") {
                    mixins.extend(self.literal_mixins(pkg, file, f.text(ty)));
                }
            }
            "identifier" => {
                let name = f.text(n);
                if self.packages[pkg].helpers.contains_key(name) {
                    helper_refs.push(name.to_string());
                }
            }
            _ => {}
        });
        for m in mixins {
            out.extend(self.mixin_fields(&m, seen));
        }
        for h in helper_refs {
            if seen.insert((pkg, format!("helper:{h}"))) {
                let (hf, hr) = self.packages[pkg].helpers[&h].clone();
                out.extend(self.fields_in(pkg, hf, &hr, seen));
            }
        }
        out
    }

    fn mixin_fields(&self, m: &MixinRef, seen: &mut HashSet<(usize, String)>) -> BTreeSet<String> {
        if !seen.insert((m.package, m.name.clone())) {
            return BTreeSet::new();
        }
        let mut out = BTreeSet::new();
        if let Some((file, body)) = self.packages[m.package]
            .methods
            .get(&(m.name.clone(), "Fields".into()))
            .cloned()
        {
            out.extend(self.fields_in(m.package, file, &body, seen));
        }
        // A mixin that embeds another without a Fields() of its own gets the
        // embedded one's (Go promotes the method).
        if !self.packages[m.package]
            .methods
            .contains_key(&(m.name.clone(), "Fields".into()))
        {
            if let Some(decl) = self.packages[m.package].types.get(&m.name) {
                for e in decl.embeds.clone() {
                    if let Some(inner) = self.mixin_literal(m.package, decl.file, &e) {
                        out.extend(self.mixin_fields(&inner, seen));
                    }
                }
            }
        }
        // A mixin may embed other mixins through its own Mixin().
        if let Some((file, body)) = self.packages[m.package]
            .methods
            .get(&(m.name.clone(), "Mixin".into()))
            .cloned()
        {
            for inner in self.mixins_in(m.package, file, &body, &mut HashSet::new()) {
                out.extend(self.mixin_fields(&inner, seen));
            }
        }
        out
    }

    fn indexes_in(
        &self,
        pkg: usize,
        file: usize,
        range: &Range<usize>,
        via: Option<&str>,
    ) -> Vec<IndexInfo> {
        let mut out = Vec::new();
        let Some(root) = self.packages[pkg].node_at(file, range) else {
            return out;
        };
        let f = &self.packages[pkg].files[file];
        let index_alias = f.alias_of(INDEX).unwrap_or("index");
        let entsql_alias = f.alias_of(ENTSQL).unwrap_or("entsql");
        walk(root, &mut |n| {
            if n.kind() != "call_expression" || call_on(f, n, index_alias) != Some("Fields") {
                return;
            }
            let fields = string_args(f, n);
            let (mut unique, mut predicate) = (false, None);
            // Walk up the method chain: index.Fields(...).Unique().Annotations(...)
            let mut cur = n;
            while let Some(sel) = cur.parent().filter(|p| p.kind() == "selector_expression") {
                let Some(call) = sel.parent().filter(|p| p.kind() == "call_expression") else {
                    break;
                };
                let method = sel
                    .child_by_field_name("field")
                    .map(|m| f.text(m))
                    .unwrap_or("");
                match method {
                    "Unique" => unique = true,
                    "Annotations" => walk(call, &mut |a| {
                        if a.kind() == "call_expression"
                            && call_on(f, a, entsql_alias) == Some("IndexWhere")
                        {
                            predicate = first_string_arg(f, a);
                        }
                    }),
                    _ => {}
                }
                cur = call;
            }
            out.push(IndexInfo {
                fields,
                unique,
                predicate,
                place: f.place(n),
                via: via.map(str::to_string),
            });
        });
        out
    }

    fn table_name(&self, pkg: usize, name: &str) -> String {
        if let Some((file, body)) = self.packages[pkg]
            .methods
            .get(&(name.to_string(), "Annotations".into()))
        {
            if let Some(root) = self.packages[pkg].node_at(*file, body) {
                let f = &self.packages[pkg].files[*file];
                let mut table = None;
                walk(root, &mut |n| {
                    if n.kind() == "keyed_element" && table.is_none() {
                        let key = n
                            .child_by_field_name("key")
                            .map(|k| f.text(k).trim().to_string());
                        if key.as_deref() == Some("Table") {
                            table = field(n, "value").map(|v| unquote(f.text(v)));
                        }
                    }
                });
                if let Some(t) = table {
                    return t;
                }
            }
        }
        default_table_name(name)
    }

    fn resolve_schemas(&self) -> Vec<SchemaInfo> {
        let Some(package) = self.packages.first() else {
            return Vec::new();
        };
        package
            .types
            .keys()
            .filter_map(|name| self.schema(name))
            .collect()
    }

    /// One schema (or view) type of the schema package, resolved: its table,
    /// fields (own and from mixins), mixins and indexes.
    pub fn schema(&self, name: &str) -> Option<SchemaInfo> {
        let pkg = 0;
        let package = self.packages.first()?;
        let decl = package.types.get(name)?;
        if decl.kind == Kind::Mixin {
            return None;
        }
        let method = |m: &str| {
            package
                .methods
                .get(&(name.to_string(), m.to_string()))
                .cloned()
        };
        let mixins = method("Mixin")
            .map(|(f, r)| self.mixins_in(pkg, f, &r, &mut HashSet::new()))
            .unwrap_or_default();
        let unresolved = method("Mixin")
            .map(|(f, r)| self.unresolved_in(pkg, f, &r, &mut HashSet::new()))
            .unwrap_or_default();
        let mut fields = method("Fields")
            .map(|(f, r)| self.fields_in(pkg, f, &r, &mut HashSet::new()))
            .unwrap_or_default();
        let mut indexes = method("Indexes")
            .map(|(f, r)| self.indexes_in(pkg, f, &r, None))
            .unwrap_or_default();
        if let Some((f, r)) = method("Mixin") {
            fields.extend(self.ent_mixin_fields_in(pkg, f, &r));
        }
        for m in &mixins {
            fields.extend(self.mixin_fields(m, &mut HashSet::new()));
            if let Some((f, r)) = self.packages[m.package]
                .methods
                .get(&(m.name.clone(), "Indexes".into()))
            {
                indexes.extend(self.indexes_in(m.package, *f, r, Some(&m.written)));
            }
        }
        Some(SchemaInfo {
            name: name.to_string(),
            kind: decl.kind,
            table: self.table_name(pkg, name),
            place: decl.place.clone(),
            fields,
            mixins,
            indexes,
            unresolved,
        })
    }

    /// Mixins of the mixin packages (and local ones) that provide `column`,
    /// as written from the schema package, simplest first.
    pub fn mixins_providing(&self, column: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (p, package) in self.packages.iter().enumerate() {
            for (name, decl) in &package.types {
                if decl.kind != Kind::Mixin {
                    continue;
                }
                let m = MixinRef {
                    package: p,
                    name: name.clone(),
                    written: String::new(),
                };
                let fields = self.mixin_fields(&m, &mut HashSet::new());
                if fields.contains(column) {
                    let prefix = if p == 0 {
                        String::new()
                    } else {
                        let alias = package.dir.rsplit('/').next().unwrap_or(&package.dir);
                        format!("{alias}.")
                    };
                    out.push((fields.len(), format!("{prefix}{name}{{}}")));
                }
            }
        }
        out.sort();
        out.into_iter().map(|(_, w)| w).collect()
    }
}

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

impl Package {
    /// Whether the package declares a mixin (a type with ent's mixin
    /// methods that is not a schema or view).
    pub fn has_mixins(&self) -> bool {
        self.types.values().any(|t| t.kind == Kind::Mixin)
    }
}

/// `alias.Name(...)`: the `Name` when the call is on package `alias`.
fn call_on<'a>(f: &'a GoFile, call: Node, alias: &str) -> Option<&'a str> {
    let func = field(call, "function")?;
    if func.kind() != "selector_expression" {
        return None;
    }
    let operand = field(func, "operand")?;
    (operand.kind() == "identifier" && f.text(operand) == alias)
        .then(|| field(func, "field").map(|n| f.text(n)))?
}

fn string_args(f: &GoFile, call: Node) -> Vec<String> {
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

fn first_string_arg(f: &GoFile, call: Node) -> Option<String> {
    let args = field(call, "arguments")?;
    let first = children(args).into_iter().find(|a| a.is_named())?;
    matches!(
        first.kind(),
        "interpreted_string_literal" | "raw_string_literal"
    )
    .then(|| unquote(f.text(first)))
}

/// ent's default table name, exactly as `entc/gen` computes it
/// (`Type.Table`): `snake(rules.Pluralize(name))`, with the default ruleset
/// of `github.com/go-openapi/inflect` applied to the type name as written
/// (its suffix rules are case-sensitive: `DeliveryStatus` stays singular,
/// `SequenceNumbers` is already plural, `DocumentData` ends in `ta`).
pub fn default_table_name(name: &str) -> String {
    snake(&pluralize(name))
}

/// ent's `snake` (`entc/gen/func.go`).
fn snake(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut j = 0usize;
    for i in 0..b.len() {
        let r = b[i] as char;
        if i > 0 && i < b.len() - 1 && r.is_ascii_uppercase() {
            let prev = b[i - 1] as char;
            let next = b[i + 1] as char;
            if prev.is_ascii_lowercase()
                || (j != i - 1 && next.is_ascii_lowercase() && prev.is_ascii_alphabetic())
            {
                j = i;
                out.push('_');
            }
        }
        out.push(r.to_ascii_lowercase());
    }
    out
}

/// go-openapi/inflect's default plural rules, in the order
/// `NewDefaultRuleset` adds them (a later rule wins): (suffix, replacement,
/// exact). Irregulars add both of their plural rules.
const PLURALS: &[(&str, &str, bool)] = &[
    ("s", "s", false),
    ("testis", "testes", false),
    ("axis", "axes", false),
    ("octopus", "octopi", false),
    ("virus", "viri", false),
    ("octopi", "octopi", false),
    ("viri", "viri", false),
    ("alias", "aliases", false),
    ("status", "statuses", false),
    ("bus", "buses", false),
    ("buffalo", "buffaloes", false),
    ("tomato", "tomatoes", false),
    ("tum", "ta", false),
    ("ium", "ia", false),
    ("ta", "ta", false),
    ("ia", "ia", false),
    ("sis", "ses", false),
    ("lf", "lves", false),
    ("rf", "rves", false),
    ("afe", "aves", false),
    ("bfe", "bves", false),
    ("cfe", "cves", false),
    ("dfe", "dves", false),
    ("efe", "eves", false),
    ("gfe", "gves", false),
    ("hfe", "hves", false),
    ("ife", "ives", false),
    ("jfe", "jves", false),
    ("kfe", "kves", false),
    ("lfe", "lves", false),
    ("mfe", "mves", false),
    ("nfe", "nves", false),
    ("ofe", "oves", false),
    ("pfe", "pves", false),
    ("qfe", "qves", false),
    ("rfe", "rves", false),
    ("sfe", "sves", false),
    ("tfe", "tves", false),
    ("ufe", "uves", false),
    ("vfe", "vves", false),
    ("wfe", "wves", false),
    ("xfe", "xves", false),
    ("yfe", "yves", false),
    ("zfe", "zves", false),
    ("hive", "hives", false),
    ("quy", "quies", false),
    ("by", "bies", false),
    ("cy", "cies", false),
    ("dy", "dies", false),
    ("fy", "fies", false),
    ("gy", "gies", false),
    ("hy", "hies", false),
    ("jy", "jies", false),
    ("ky", "kies", false),
    ("ly", "lies", false),
    ("my", "mies", false),
    ("ny", "nies", false),
    ("py", "pies", false),
    ("qy", "qies", false),
    ("ry", "ries", false),
    ("sy", "sies", false),
    ("ty", "ties", false),
    ("vy", "vies", false),
    ("wy", "wies", false),
    ("xy", "xies", false),
    ("zy", "zies", false),
    ("x", "xes", false),
    ("ch", "ches", false),
    ("ss", "sses", false),
    ("sh", "shes", false),
    ("matrix", "matrices", false),
    ("vertix", "vertices", false),
    ("indix", "indices", false),
    ("matrex", "matrices", false),
    ("vertex", "vertices", false),
    ("index", "indices", false),
    ("mouse", "mice", false),
    ("louse", "lice", false),
    ("mice", "mice", false),
    ("lice", "lice", false),
    ("ox", "oxen", true),
    ("oxen", "oxen", true),
    ("quiz", "quizzes", true),
    ("person", "people", false),
    ("people", "people", false),
    ("man", "men", false),
    ("men", "men", false),
    ("child", "children", false),
    ("children", "children", false),
    ("sex", "sexes", false),
    ("sexes", "sexes", false),
    ("move", "moves", false),
    ("moves", "moves", false),
    ("zombie", "zombies", false),
    ("zombies", "zombies", false),
];

const UNCOUNTABLE: &[&str] = &[
    "equipment",
    "information",
    "rice",
    "money",
    "species",
    "series",
    "fish",
    "sheep",
    "jeans",
    "police",
];

/// go-openapi/inflect's `Ruleset.Pluralize` with the default rules.
fn pluralize(word: &str) -> String {
    if word.is_empty() {
        return String::new();
    }
    let last = word.rsplit(' ').next().unwrap_or(word).to_lowercase();
    if UNCOUNTABLE.contains(&last.as_str()) {
        return word.to_string();
    }
    for (suffix, replacement, exact) in PLURALS.iter().rev() {
        if *exact {
            if word == *suffix {
                return replacement.to_string();
            }
        } else if let Some(stem) = word.strip_suffix(suffix) {
            return format!("{stem}{replacement}");
        }
    }
    format!("{word}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_modules_and_import_folders() {
        let files = |p: &str| -> Result<Option<String>, ()> {
            Ok((p == "backend/go.mod").then(|| "module example.com/x/backend\n".to_string()))
        };
        assert_eq!(
            find_go_module("backend/internal/ent/schema", files),
            Ok(Some(("backend".into(), "example.com/x/backend".into())))
        );
        assert_eq!(find_go_module("other/schema", files), Ok(None));
        let dir = |i: &str| import_dir(i, "backend", "example.com/x/backend");
        assert_eq!(
            dir("example.com/x/backend/pkg/m").as_deref(),
            Some("backend/pkg/m")
        );
        assert_eq!(dir("example.com/x/backend").as_deref(), Some("backend"));
        assert_eq!(dir("example.com/x/backendish/m"), None);
        assert_eq!(dir("entgo.io/ent"), None);
    }

    #[test]
    fn module_paths_of_go_mod() {
        assert_eq!(
            module_path("// c\nmodule example.com/app // note\n\ngo 1.22\n").as_deref(),
            Some("example.com/app")
        );
        assert_eq!(module_path("module \"x/y\"\n").as_deref(), Some("x/y"));
        assert_eq!(module_path("modules x\n"), None);
        assert_eq!(module_path("go 1.22\n"), None);
    }

    #[test]
    fn table_names_follow_ent() {
        assert_eq!(default_table_name("Customer"), "customers");
        assert_eq!(
            default_table_name("BillingInvoiceLine"),
            "billing_invoice_lines"
        );
        assert_eq!(default_table_name("Entity"), "entities");
        assert_eq!(default_table_name("APIKey"), "api_keys");
        // Irregular cases, as ent names them (seen in real schemas).
        assert_eq!(default_table_name("DocumentData"), "document_data");
        assert_eq!(
            default_table_name("LoadBalancerStatus"),
            "load_balancer_status"
        );
        assert_eq!(
            default_table_name("BillingSequenceNumbers"),
            "billing_sequence_numbers"
        );
        assert_eq!(default_table_name("Status"), "status");
        assert_eq!(default_table_name("Address"), "addresses");
        assert_eq!(default_table_name("Match"), "matches");
        // The rules match the name as written, so "Person" is not "person".
        assert_eq!(default_table_name("Person"), "persons");
        assert_eq!(default_table_name("SalesPerson"), "sales_persons");
        assert_eq!(default_table_name("Chairman"), "chairmen");
        assert_eq!(default_table_name("Equipment"), "equipment");
        assert_eq!(default_table_name("Index"), "indexes");
        assert_eq!(default_table_name("Vertex"), "vertexes");
        assert_eq!(default_table_name("Key"), "keys");
        assert_eq!(default_table_name("Policy"), "policies");
        assert_eq!(default_table_name("HTTPRequest"), "http_requests");
    }
}
