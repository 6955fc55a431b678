//! The schema package and the mixin packages together: each schema's
//! fields, indexes and table resolved through its mixins, also mixins of
//! other packages and ent's own.

use super::*;

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
    pub indexes: Vec<IndexInfo>,
    /// Mixins its `Mixin()` uses that could not be read (defined outside the
    /// repository, or built where migguard cannot follow): its fields are
    /// then not fully known, and a missing field is not a finding.
    pub unresolved: Vec<String>,
}

/// ent's own mixins (`entgo.io/ent/schema/mixin`) and the fields they add.
pub(super) const ENT_MIXIN: &str = "entgo.io/ent/schema/mixin";

pub(super) fn ent_mixin_fields(name: &str) -> &'static [&'static str] {
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
    pub(super) schemas: std::sync::OnceLock<Vec<SchemaInfo>>,
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
    pub(super) fn resolve(
        &self,
        pkg: usize,
        file: usize,
        written: &str,
    ) -> Option<(usize, String)> {
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
    pub(super) fn mixin_literal(&self, pkg: usize, file: usize, written: &str) -> Option<MixinRef> {
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
    pub(super) fn literal_mixins(&self, pkg: usize, file: usize, written: &str) -> Vec<MixinRef> {
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
    pub(super) fn mixins_in(
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
    pub(super) fn call_target(
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
    pub(super) fn package_of(&self, import: &str) -> Option<usize> {
        self.packages.iter().position(|p| {
            !p.dir.is_empty() && (import == p.dir || import.ends_with(&format!("/{}", p.dir)))
        })
    }

    /// Mixins written in `Mixin()` (and what it calls) that cannot be read:
    /// a literal or call of a package outside the repository (ent's own
    /// mixins excepted), or a call migguard cannot follow.
    pub(super) fn unresolved_in(
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
    pub(super) fn ent_mixin_fields_in(
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
    pub(super) fn fields_in(
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

    pub(super) fn mixin_fields(
        &self,
        m: &MixinRef,
        seen: &mut HashSet<(usize, String)>,
    ) -> BTreeSet<String> {
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

    pub(super) fn indexes_in(
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

    pub(super) fn table_name(&self, pkg: usize, name: &str) -> String {
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

    pub(super) fn resolve_schemas(&self) -> Vec<SchemaInfo> {
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
