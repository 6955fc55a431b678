//! One Go package: its type declarations sorted into schemas, views and
//! mixins, with the methods ent reads (`Fields`, `Indexes`, `Mixin`,
//! `Annotations`).

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Schema,
    View,
    Mixin,
}

/// A type declared in a package.
#[derive(Debug, Clone)]
pub(super) struct TypeDecl {
    pub(super) kind: Kind,
    pub(super) place: Place,
    /// The file it is declared in, and the types it embeds as written.
    pub(super) file: usize,
    pub(super) embeds: Vec<String>,
}

/// One Go package: its files, types, methods, and package-level helpers.
pub struct Package {
    /// Folder, relative to the repository root.
    pub dir: String,
    pub(super) files: Vec<std::sync::Arc<GoFile>>,
    pub(super) types: BTreeMap<String, TypeDecl>,
    /// (receiver type, method) to (file, body byte range).
    pub(super) methods: HashMap<(String, String), (usize, Range<usize>)>,
    /// Package-level functions and variables: name to (file, byte range).
    pub(super) helpers: HashMap<String, (usize, Range<usize>)>,
    /// Type aliases (`type A = entutils.RecursiveMixin[a]`): name to
    /// (file, the aliased type as written).
    pub(super) aliases: HashMap<String, (usize, String)>,
}

impl Package {
    /// Reads the `.go` files of a folder (tests excluded).
    pub fn parse(dir: &str, files: Vec<(String, Vec<u8>)>) -> crate::error::Result<Package> {
        let files = files
            .into_iter()
            .filter(|(p, _)| p.ends_with(".go") && !p.ends_with("_test.go"))
            .collect();
        Ok(Package::from_files(
            dir,
            GoFile::parse_many(files)?
                .into_iter()
                .map(std::sync::Arc::new)
                .collect(),
        ))
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

    pub(super) fn node_at(&self, file: usize, range: &Range<usize>) -> Option<Node<'_>> {
        self.files[file]
            .tree
            .root_node()
            .descendant_for_byte_range(range.start, range.end.saturating_sub(1).max(range.start))
    }
}

impl Package {
    /// Whether the package declares a mixin (a type with ent's mixin
    /// methods that is not a schema or view).
    pub fn has_mixins(&self) -> bool {
        self.types.values().any(|t| t.kind == Kind::Mixin)
    }
}
