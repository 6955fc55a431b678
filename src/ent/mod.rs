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

mod module;
mod naming;
mod package;
mod syntax;
pub mod view;
mod world;

pub use module::*;
pub use naming::*;
pub use package::*;
pub use syntax::*;
pub use world::*;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Range;

use tree_sitter::{Node, Parser, Tree};

const ENT: &str = "entgo.io/ent";
const FIELD: &str = "entgo.io/ent/schema/field";
const INDEX: &str = "entgo.io/ent/schema/index";
const ENTSQL: &str = "entgo.io/ent/dialect/entsql";

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
