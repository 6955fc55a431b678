//! Conventions at the source of truth: ent schemas read with tree-sitter.

mod common;

use common::{findings, Found, GitRepo, DIR};

/// These tests are about the ent rules; the migration-safety rules have
/// their own (`tests/safety.rs`).
fn staged(g: &GitRepo) -> (i32, Vec<Found>) {
    let (code, f) = common::staged_json(g);
    (code, common::without_safety(f))
}

const CONFIG: &str = "migrations:\n  dir: tools/migrate/migrations\n  format: golang-migrate\nent:\n  schema: app/ent/schema\n  mixin_packages: [\"pkg/entutils\"]\n";

/// Mixins in another package, as OpenMeter's entutils: plain, composite (built
/// in a loop over a mixin list and by appending another mixin's fields), and
/// with indexes.
const MIXINS: &str = r#"package entutils

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"entgo.io/ent/schema/mixin"
)

type IDMixin struct{ mixin.Schema }

func (IDMixin) Fields() []ent.Field {
	return []ent.Field{field.String("id").Unique().Immutable()}
}

type NamespaceMixin struct{ mixin.Schema }

func (NamespaceMixin) Fields() []ent.Field { return []ent.Field{field.String("namespace")} }

type TimeMixin struct{ mixin.Schema }

func (TimeMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at"),
		field.Time("updated_at"),
		field.Time("deleted_at").Optional().Nillable(),
	}
}

type ResourceMixin struct{ mixin.Schema }

func (ResourceMixin) Fields() []ent.Field {
	fields := []ent.Field{}
	for _, m := range []ent.Mixin{IDMixin{}, NamespaceMixin{}} {
		fields = append(fields, m.Fields()...)
	}
	fields = append(fields, TimeMixin{}.Fields()...)
	return append(fields, field.String("name"))
}

type KeyMixin struct{ mixin.Schema }

func (KeyMixin) Fields() []ent.Field { return []ent.Field{field.String("key")} }

func (KeyMixin) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("namespace", "key").Unique(),
	}
}

type UniqueResourceMixin struct{ mixin.Schema }

func (UniqueResourceMixin) Fields() []ent.Field {
	return append(ResourceMixin{}.Fields(), field.String("key"))
}

func (UniqueResourceMixin) Indexes() []ent.Index {
	return []ent.Index{index.Fields("namespace", "key", "deleted_at").Unique()}
}
"#;

fn schema(name: &str, body: &str) -> String {
    format!(
        "package schema\n\nimport (\n\t\"entgo.io/ent\"\n\t\"entgo.io/ent/dialect/entsql\"\n\t\"entgo.io/ent/schema\"\n\t\"entgo.io/ent/schema/field\"\n\t\"entgo.io/ent/schema/index\"\n\n\t\"example.com/app/pkg/entutils\"\n)\n\nvar _ = entsql.Annotation{{}}\nvar _ schema.Annotation\nvar _ = field.String\nvar _ = index.Fields\nvar _ = entutils.TimeMixin{{}}\n\n// {name} is a fixture.\n{body}\n"
    )
}

const CUSTOMER: &str = r#"type Customer struct {
	ent.Schema
}

func (Customer) Mixin() []ent.Mixin {
	return []ent.Mixin{entutils.ResourceMixin{}}
}

func (Customer) Fields() []ent.Field {
	return []ent.Field{field.String("email")}
}

func (Customer) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("namespace", "id").Unique(),
		index.Fields("namespace", "email").
			Unique().
			Annotations(entsql.IndexWhere("deleted_at IS NULL")),
	}
}

func (Customer) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "om_customers"}}
}"#;

fn repo() -> GitRepo {
    let g = GitRepo::new();
    g.write(".migguard.yaml", CONFIG);
    g.write("pkg/entutils/mixins.go", MIXINS);
    g.write("app/ent/schema/customer.go", schema("Customer", CUSTOMER));
    g.add_migration(
        "20240101000000_init",
        "CREATE TABLE \"om_customers\" (\"id\" character(26) NOT NULL, \"namespace\" text NOT NULL, \"email\" text NOT NULL, \"deleted_at\" timestamptz NULL, PRIMARY KEY (\"id\"));\n",
    );
    g.commit_all("init");
    g.git(&["checkout", "-q", "-b", "feature"]);
    g
}

#[test]
fn the_base_is_clean_and_existing_schemas_are_not_rechecked() {
    let g = repo();
    assert_eq!(staged(&g), (0, vec![]));
    let out = g
        .migguard()
        .args(["check", "--all", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(findings(&out), vec![]);
}

#[test]
fn a_new_schema_without_soft_delete_names_the_mixin_to_add() {
    let g = repo();
    g.write(
        "app/ent/schema/lock.go",
        schema("Lock", "type Lock struct {\n\tent.Schema\n}\n\nfunc (Lock) Fields() []ent.Field {\n\treturn []ent.Field{field.String(\"key\")}\n}"),
    );
    let (code, f) = staged(&g);
    assert_eq!(code, 1);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].0, "missing-soft-delete");
    assert_eq!(f[0].1, "app/ent/schema/lock.go");
    assert_eq!(f[0].2, Some(20), "points at the type declaration");
    assert!(
        f[0].3.contains("ent schema Lock (table \"locks\")"),
        "{f:?}"
    );
    let out = g
        .migguard()
        .args(["check", "--format", "json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let help = doc["findings"][0]["help"].as_str().unwrap();
    assert!(
        help.contains("entutils.TimeMixin{}") && help.contains("ResourceMixin{}"),
        "{help}"
    );

    // The Go suppression comment, with a reason.
    g.write(
        "app/ent/schema/lock.go",
        schema(
            "Lock",
            "// migguard:ignore missing-soft-delete advisory locks are deleted for real\ntype Lock struct {\n\tent.Schema\n}",
        ),
    );
    assert_eq!(staged(&g), (0, vec![]));
}

#[test]
fn soft_delete_from_every_kind_of_mixin_and_helper() {
    let g = repo();
    // Composite mixin from another package.
    g.write(
        "app/ent/schema/widget.go",
        schema("Widget", "type Widget struct{ ent.Schema }\n\nfunc (Widget) Mixin() []ent.Mixin { return []ent.Mixin{entutils.UniqueResourceMixin{}} }"),
    );
    // Local mixin defined in the schema package.
    g.write(
        "app/ent/schema/order.go",
        schema(
            "Order",
            "type auditMixin struct{ mixin.Schema }\n\nfunc (auditMixin) Fields() []ent.Field { return []ent.Field{field.Time(\"deleted_at\").Optional()} }\n\ntype Order struct{ ent.Schema }\n\nfunc (Order) Mixin() []ent.Mixin { return []ent.Mixin{&auditMixin{}} }",
        ),
    );
    // Fields built in a helper variable.
    g.write(
        "app/ent/schema/invoice.go",
        schema(
            "Invoice",
            "var softDelete = []ent.Field{field.Time(\"deleted_at\").Optional()}\n\nfunc invoiceFields() []ent.Field { return append(softDelete, field.String(\"number\")) }\n\ntype Invoice struct{ ent.Schema }\n\nfunc (Invoice) Fields() []ent.Field { return invoiceFields() }",
        ),
    );
    // Direct field, and a view (not a table).
    g.write(
        "app/ent/schema/tag.go",
        schema("Tag", "type Tag struct{ ent.Schema }\n\nfunc (Tag) Fields() []ent.Field { return []ent.Field{field.Time(\"deleted_at\")} }\n\ntype TagView struct{ ent.View }\n\nfunc (TagView) Fields() []ent.Field { return []ent.Field{field.String(\"name\")} }"),
    );
    assert_eq!(staged(&g), (0, vec![]));
}

#[test]
fn unique_indexes_on_soft_delete_schemas() {
    let g = repo();
    let body = |indexes: &str| {
        schema(
            "Account",
            &format!("type Account struct{{ ent.Schema }}\n\nfunc (Account) Mixin() []ent.Mixin {{ return []ent.Mixin{{entutils.ResourceMixin{{}}}} }}\n\nfunc (Account) Fields() []ent.Field {{ return []ent.Field{{field.String(\"key\")}} }}\n\nfunc (Account) Indexes() []ent.Index {{\n\treturn []ent.Index{{\n\t\t{indexes},\n\t}}\n}}"),
        )
    };
    for (ix, bad) in [
        ("index.Fields(\"namespace\", \"key\").Unique()", true),
        ("index.Fields(\"namespace\", \"key\", \"deleted_at\").Unique()", false),
        ("index.Fields(\"namespace\", \"key\").Unique().Annotations(entsql.IndexWhere(\"deleted_at IS NULL\"))", false),
        ("index.Fields(\"namespace\", \"key\").Unique().Annotations(entsql.IndexWhere(\"name IS NULL\"))", true),
        ("index.Fields(\"namespace\", \"id\").Unique()", false),
        ("index.Fields(\"namespace\", \"key\")", false),
    ] {
        let g = repo();
        g.write("app/ent/schema/account.go", body(ix));
        let (code, f) = staged(&g);
        if bad {
            assert_eq!(code, 1, "{ix}");
            assert_eq!(f.len(), 1, "{ix}: {f:?}");
            assert_eq!(f[0].0, "unique-without-deleted-at");
            assert_eq!(f[0].1, "app/ent/schema/account.go");
            assert!(f[0].2.unwrap() > 20, "points at the index.Fields call");
        } else {
            assert_eq!((code, f.clone()), (0, vec![]), "{ix}");
        }
    }
    // Indexes from a mixin count where the mixin is applied.
    g.write(
        "app/ent/schema/thing.go",
        schema("Thing", "type Thing struct{ ent.Schema }\n\nfunc (Thing) Mixin() []ent.Mixin { return []ent.Mixin{entutils.TimeMixin{}, entutils.KeyMixin{}} }"),
    );
    let (_, f) = staged(&g);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].1, "pkg/entutils/mixins.go");
    assert!(
        f[0].3.contains("Thing") && f[0].3.contains("from entutils.KeyMixin{}"),
        "{f:?}"
    );
}

#[test]
fn an_index_already_on_the_base_is_not_reported() {
    let g = repo();
    g.write(
        "app/ent/schema/account.go",
        schema("Account", "type Account struct{ ent.Schema }\n\nfunc (Account) Mixin() []ent.Mixin { return []ent.Mixin{entutils.ResourceMixin{}} }\n\nfunc (Account) Indexes() []ent.Index { return []ent.Index{index.Fields(\"namespace\", \"name\").Unique()} }"),
    );
    g.commit_all("account with a bad index");
    g.git(&["checkout", "-q", "main"]);
    g.git(&["merge", "-q", "feature"]);
    g.git(&["checkout", "-q", "-b", "next"]);
    // An unrelated schema edit: the old index is on the base.
    g.write(
        "app/ent/schema/account.go",
        schema("Account", "type Account struct{ ent.Schema }\n\nfunc (Account) Mixin() []ent.Mixin { return []ent.Mixin{entutils.ResourceMixin{}} }\n\nfunc (Account) Fields() []ent.Field { return []ent.Field{field.String(\"note\")} }\n\nfunc (Account) Indexes() []ent.Index { return []ent.Index{index.Fields(\"namespace\", \"name\").Unique()} }"),
    );
    assert_eq!(staged(&g), (0, vec![]));
    g.commit_all("note");
    let out = g
        .migguard()
        .args(["check", "--base", "main", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(findings(&out), vec![]);
}

#[test]
fn the_ent_finding_wins_over_the_sql_one() {
    let g = repo();
    g.write(
        "app/ent/schema/lock.go",
        schema("Lock", "type Lock struct{ ent.Schema }\n\nfunc (Lock) Fields() []ent.Field { return []ent.Field{field.String(\"key\")} }"),
    );
    g.add_migration(
        "20240201000000_locks",
        "CREATE TABLE \"locks\" (\"key\" text NOT NULL);\n",
    );
    let (code, f) = staged(&g);
    assert_eq!(code, 1);
    let f = common::without_safety(f);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].1, "app/ent/schema/lock.go");
    // Same for a unique index described on both sides.
    let g = repo();
    g.write(
        "app/ent/schema/customer.go",
        schema("Customer", &CUSTOMER.replace("index.Fields(\"namespace\", \"id\").Unique(),", "index.Fields(\"namespace\", \"id\").Unique(),\n\t\tindex.Fields(\"namespace\", \"name\").Unique(),")),
    );
    g.add_migration("20240201000000_idx", "ALTER TABLE \"om_customers\" ADD COLUMN \"name\" text;\nCREATE UNIQUE INDEX \"c_ns_name\" ON \"om_customers\" (\"name\", \"namespace\");\n");
    let (_, f) = staged(&g);
    // (data-dependent-change also says the index may fail on duplicates of
    // the existing "namespace", and the lock rules speak of its build:
    // other rules, other subjects.)
    let f = common::without_safety(f);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].1.ends_with("customer.go"), "{f:?}");
    let _ = DIR;
}

#[test]
fn a_new_schema_using_helpers_from_unchanged_files_is_resolved() {
    let g = repo();
    // Committed before the change: a local mixin and a helper in their own files.
    g.write(
        "app/ent/schema/mixins_local.go",
        schema("audit", "type auditMixin struct{ mixin.Schema }\n\nfunc (auditMixin) Fields() []ent.Field { return []ent.Field{field.Time(\"deleted_at\").Optional()} }"),
    );
    g.write(
        "app/ent/schema/helpers.go",
        schema(
            "helpers",
            "var softDeleteFields = []ent.Field{field.Time(\"deleted_at\").Optional()}",
        ),
    );
    g.commit_all("local mixin and helper");
    // The change adds schemas in new files that use them.
    g.write(
        "app/ent/schema/order.go",
        schema("Order", "type Order struct{ ent.Schema }\n\nfunc (Order) Mixin() []ent.Mixin { return []ent.Mixin{auditMixin{}} }"),
    );
    g.write(
        "app/ent/schema/invoice.go",
        schema("Invoice", "type Invoice struct{ ent.Schema }\n\nfunc (Invoice) Fields() []ent.Field { return softDeleteFields }"),
    );
    assert_eq!(staged(&g), (0, vec![]));
    // And one that uses neither is still found.
    g.write(
        "app/ent/schema/note.go",
        schema("Note", "type Note struct{ ent.Schema }"),
    );
    let (_, f) = staged(&g);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].3.contains("ent schema Note"), "{f:?}");
}

#[test]
fn an_index_line_can_be_suppressed_with_a_reason() {
    let g = repo();
    let account = |comment: &str| {
        schema(
            "Account",
            &format!("type Account struct{{ ent.Schema }}\n\nfunc (Account) Mixin() []ent.Mixin {{ return []ent.Mixin{{entutils.ResourceMixin{{}}}} }}\n\nfunc (Account) Indexes() []ent.Index {{\n\treturn []ent.Index{{\n\t\t{comment}\n\t\tindex.Fields(\"namespace\", \"name\").Unique(),\n\t}}\n}}"),
        )
    };
    g.write("app/ent/schema/account.go", account("// migguard:ignore unique-without-deleted-at names are reserved forever, even after deletion"));
    assert_eq!(staged(&g), (0, vec![]));
    g.write(
        "app/ent/schema/account.go",
        account("// migguard:ignore unique-without-deleted-at"),
    );
    let (code, f) = staged(&g);
    assert_eq!(code, 1);
    assert_eq!(
        f.len(),
        2,
        "the finding stays and the reasonless ignore is reported: {f:?}"
    );
}
