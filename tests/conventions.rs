//! Soft-delete conventions that fit each team: on where the team has them
//! (configured or detected), with its own column, join and scratch tables
//! exempt, help lines that name this repository's remedy, and `--all` as an
//! audit.

mod common;

use common::{GitRepo, DIR};

const GM: &str = "migrations:\n  dir: tools/migrate/migrations\n  format: golang-migrate\n";

fn run(g: &GitRepo, args: &[&str]) -> (i32, serde_json::Value) {
    g.stage_all();
    let out = g
        .migguard()
        .args(["check", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), doc)
}

/// (rule, message, help) of each finding.
fn found(doc: &serde_json::Value) -> Vec<(String, String, String)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
                f["help"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn notes(doc: &serde_json::Value) -> String {
    doc["summary"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// main with `config` and the given base tables, committed.
fn repo(config: &str, base: &str) -> GitRepo {
    let g = GitRepo::new();
    g.write(".migguard.yaml", config);
    g.add_migration("20240101000000_init", base);
    g.commit_all("main");
    g
}

#[test]
fn no_convention_no_findings_and_the_summary_says_why() {
    let g = repo(
        GM,
        "CREATE TABLE a (id int PRIMARY KEY);\nCREATE TABLE b (id int PRIMARY KEY);\nCREATE TABLE c (id int, deleted_at timestamptz);\n",
    );
    g.add_migration(
        "20240201000000_d",
        "CREATE TABLE d (id int PRIMARY KEY);\nCREATE UNIQUE INDEX d_id ON d (id);\n",
    );
    let (code, doc) = run(&g, &[]);
    assert_eq!((code, found(&doc).len()), (0, 0), "{doc}");
    assert!(
        notes(&doc).contains(&format!(
            "soft-delete convention in {DIR}: off, only 1 of 3 tables before this change have deleted_at"
        )),
        "{doc}"
    );
    // Configured on, the same change is reported.
    g.write(
        ".migguard.yaml",
        format!("{GM}conventions:\n  soft_delete: true\n"),
    );
    let (code, doc) = run(&g, &[]);
    assert_eq!(code, 1, "{doc}");
    assert!(
        notes(&doc).contains("on, column deleted_at (configured)"),
        "{doc}"
    );
    assert_eq!(found(&doc)[0].0, "missing-soft-delete");
}

#[test]
fn a_detected_convention_is_on_and_can_be_turned_off() {
    // A bare majority is a team that soft-deletes some tables: off.
    let g = repo(
        GM,
        "CREATE TABLE a (id int, deleted_at timestamptz);\nCREATE TABLE b (id int, deleted_at timestamptz);\nCREATE TABLE c (id int);\n",
    );
    g.add_migration("20240201000000_d", "CREATE TABLE d (id int);\n");
    let (code, doc) = run(&g, &[]);
    assert_eq!((code, found(&doc).len()), (0, 0), "{doc}");
    assert!(
        notes(&doc).contains("off, only 2 of 3 tables before this change have deleted_at"),
        "{doc}"
    );
    // Three quarters: on.
    let g = repo(
        GM,
        "CREATE TABLE a (id int, deleted_at timestamptz);\nCREATE TABLE b (id int, deleted_at timestamptz);\nCREATE TABLE e (id int, deleted_at timestamptz);\nCREATE TABLE c (id int);\n",
    );
    g.add_migration("20240201000000_d", "CREATE TABLE d (id int);\n");
    let (code, doc) = run(&g, &[]);
    assert_eq!(code, 1, "{doc}");
    assert!(
        notes(&doc).contains("on, 3 of 4 tables before this change have deleted_at (detected)"),
        "{doc}"
    );
    let f = found(&doc);
    assert_eq!(f.len(), 1, "{doc}");
    // No ent here: the help names the column, never another project's mixin.
    assert_eq!(
        f[0].2,
        "add the \"deleted_at\" column, or list \"d\" in conventions.exempt_tables"
    );
    g.write(
        ".migguard.yaml",
        format!("{GM}conventions:\n  soft_delete: false\n"),
    );
    let (code, doc) = run(&g, &[]);
    assert_eq!((code, found(&doc).len()), (0, 0), "{doc}");
}

#[test]
fn the_column_is_detected_and_compared_as_postgresql_does() {
    let g = repo(
        GM,
        "CREATE TABLE \"a\" (\"id\" int, \"deletedAt\" timestamptz);\nCREATE TABLE \"b\" (\"id\" int, \"deletedAt\" timestamptz);\n",
    );
    // Quoted: the same column. Unquoted deletedAt is stored as deletedat.
    g.add_migration(
        "20240201000000_c",
        "CREATE TABLE \"c\" (\"id\" int, \"deletedAt\" timestamptz);\nCREATE TABLE d (id int, deletedAt timestamptz);\n",
    );
    let (code, doc) = run(&g, &[]);
    assert_eq!(code, 1, "{doc}");
    assert!(
        notes(&doc).contains("2 of 2 tables before this change have deletedAt"),
        "{doc}"
    );
    let f = found(&doc);
    assert_eq!(f.len(), 1, "{doc}");
    assert_eq!(
        f[0].1,
        "table \"d\" is created without the soft-delete column \"deletedAt\": rows can only be deleted for real"
    );
}

const M2M: &str = "CREATE TABLE \"group_users\" (\"group_id\" bigint NOT NULL, \"user_id\" bigint NOT NULL, PRIMARY KEY (\"group_id\", \"user_id\"), CONSTRAINT \"group_users_group_id\" FOREIGN KEY (\"group_id\") REFERENCES \"groups\" (\"id\") ON DELETE CASCADE, CONSTRAINT \"group_users_user_id\" FOREIGN KEY (\"user_id\") REFERENCES \"users\" (\"id\") ON DELETE CASCADE);\n";

const BASE: &str = "CREATE TABLE \"groups\" (\"id\" bigint PRIMARY KEY, \"deleted_at\" timestamptz);\nCREATE TABLE \"users\" (\"id\" bigint PRIMARY KEY, \"deleted_at\" timestamptz);\n";

#[test]
fn join_tables_and_temporary_tables_are_exempt() {
    let g = repo(GM, BASE);
    g.add_migration(
        "20240201000000_edges",
        &format!("{M2M}CREATE TEMP TABLE scratch (id bigint) ON COMMIT DROP;\nINSERT INTO scratch SELECT id FROM users;\nCREATE TEMPORARY TABLE scratch2 (id bigint);\n"),
    );
    let (code, doc) = run(&g, &[]);
    assert_eq!((code, found(&doc).len()), (0, 0), "{doc}");
    // A join table with a third column is an entity of its own.
    g.add_migration(
        "20240201000000_edges",
        &M2M.replace(
            "\"user_id\" bigint NOT NULL,",
            "\"user_id\" bigint NOT NULL, \"role\" text,",
        ),
    );
    let (code, doc) = run(&g, &[]);
    assert_eq!(code, 1, "{doc}");
    // The exemption can be turned off.
    g.add_migration("20240201000000_edges", M2M);
    g.write(
        ".migguard.yaml",
        format!("{GM}conventions:\n  exempt_join_tables: false\n"),
    );
    let (code, doc) = run(&g, &[]);
    assert_eq!(code, 1, "{doc}");
    assert!(found(&doc)[0].1.contains("\"group_users\""), "{doc}");
}

/// The help line names the repository's own mixin that provides the column.
#[test]
fn help_names_this_repositorys_mixin() {
    let g = GitRepo::new();
    g.write(
        ".migguard.yaml",
        format!("{GM}ent:\n  schema: ent/schema\n  mixin_packages: [\"internal/base\"]\n"),
    );
    g.write(
        "internal/base/mixins.go",
        "package base\n\nimport (\n\t\"entgo.io/ent\"\n\t\"entgo.io/ent/schema/field\"\n\t\"entgo.io/ent/schema/mixin\"\n)\n\ntype SoftDeleteMixin struct{ mixin.Schema }\n\nfunc (SoftDeleteMixin) Fields() []ent.Field {\n\treturn []ent.Field{field.Time(\"deleted_at\").Optional().Nillable()}\n}\n",
    );
    g.write(
        "ent/schema/user.go",
        "package schema\n\nimport (\n\t\"entgo.io/ent\"\n\n\t\"example.com/app/internal/base\"\n)\n\ntype User struct{ ent.Schema }\n\nfunc (User) Mixin() []ent.Mixin { return []ent.Mixin{base.SoftDeleteMixin{}} }\n",
    );
    g.add_migration("20240101000000_init", BASE);
    g.commit_all("main");
    g.add_migration("20240201000000_t", "CREATE TABLE t (id int);\n");
    let (code, doc) = run(&g, &[]);
    assert_eq!(code, 1, "{doc}");
    let f = found(&doc);
    assert_eq!(
        f[0].2,
        "add base.SoftDeleteMixin{} to the ent schema's Mixin() and regenerate, or list \"t\" in conventions.exempt_tables"
    );
    assert!(!doc.to_string().contains("entutils"), "{doc}");
}

/// `check --all` runs the convention rules on every table and counts the
/// findings per rule.
#[test]
fn check_all_is_an_audit_with_counts_per_rule() {
    let g = repo(
        GM,
        "CREATE TABLE a (id int, deleted_at timestamptz);\nCREATE TABLE b (id int, deleted_at timestamptz);\nCREATE TABLE c (id int, code text, deleted_at timestamptz);\nCREATE UNIQUE INDEX c_code ON c (code);\nCREATE TABLE d (id int);\n",
    );
    let (code, doc) = run(&g, &["--all"]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["summary"]["by_rule"]["missing-soft-delete"], 1, "{doc}");
    assert_eq!(
        doc["summary"]["by_rule"]["unique-without-deleted-at"], 1,
        "{doc}"
    );
    assert!(
        notes(&doc).contains("on, 3 of 4 tables have deleted_at (detected)"),
        "{doc}"
    );
    let out = g.migguard().args(["check", "--all"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("findings by rule: missing-soft-delete 1, unique-without-deleted-at 1"),
        "{text}"
    );
}

/// `init` writes the convention it detected, explicitly.
#[test]
fn init_writes_the_detected_convention() {
    let on = GitRepo::new();
    on.add_migration(
        "20240101000000_init",
        "CREATE TABLE \"a\" (\"id\" int, \"deletedAt\" timestamptz);\nCREATE TABLE \"b\" (\"id\" int, \"deletedAt\" timestamptz);\nCREATE TABLE \"e\" (\"id\" int, \"deletedAt\" timestamptz);\nCREATE TABLE \"c\" (\"id\" int);\n",
    );
    on.commit_all("main");
    on.migguard().arg("init").assert().code(0);
    let text = String::from_utf8(on.repo.read(".migguard.yaml")).unwrap();
    assert!(
        text.contains("  # Detected: 3 of 4 tables carry deletedAt.\n  soft_delete: true\n  soft_delete_column: deletedAt\n"),
        "{text}"
    );
    // The written config enforces it.
    on.add_migration("20240201000000_d", "CREATE TABLE \"d\" (\"id\" int);\n");
    let (code, doc) = run(&on, &[]);
    assert_eq!(code, 1, "{doc}");
    assert!(
        notes(&doc).contains("on, column deletedAt (configured)"),
        "{doc}"
    );

    let off = GitRepo::new();
    off.add_migration(
        "20240101000000_init",
        "CREATE TABLE a (id int);\nCREATE TABLE b (id int, deleted_at timestamptz);\nCREATE TABLE c (id int);\n",
    );
    off.commit_all("main");
    off.migguard().arg("init").assert().code(0);
    let text = String::from_utf8(off.repo.read(".migguard.yaml")).unwrap();
    assert!(text.contains("  soft_delete: false\n"), "{text}");
    assert!(
        text.contains("1 of 3 tables carry a soft-delete column"),
        "{text}"
    );
}

// --- ent schemas resolved as Go resolves them -------------------------------

const MIXINS: &str = r#"package base

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/mixin"
)

type TimeMixin struct{ mixin.Schema }

func (TimeMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at"),
		field.Time("deleted_at").Optional().Nillable(),
	}
}

// Embeds TimeMixin: its Fields() is promoted.
type Audited struct{ TimeMixin }

type RecursiveMixin[T any] struct{ mixin.Schema }

func (RecursiveMixin[T]) Fields() []ent.Field { return nil }

func Standard() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }
"#;

fn ent_schema(body: &str) -> String {
    format!(
        "package schema\n\nimport (\n\t\"entgo.io/ent\"\n\t\"entgo.io/ent/schema/field\"\n\n\t\"example.com/app/internal/base\"\n\t\"github.com/elsewhere/mixins\"\n)\n\nvar _ = field.String\nvar _ = base.TimeMixin{{}}\nvar _ = mixins.X{{}}\n\n{body}\n"
    )
}

/// An ent repository with no `mixin_packages`: mixins are found through
/// `go.mod`. `schemas` are (file, body) of the schema package; the change adds
/// `new_schema` and its table `new_sql`.
fn ent_repo(new_schema: &str, new_sql: &str) -> (i32, serde_json::Value) {
    let g = GitRepo::new();
    g.write(
        ".migguard.yaml",
        format!("{GM}ent:\n  schema: ent/schema\nconventions:\n  soft_delete: true\n"),
    );
    g.write("go.mod", "module example.com/app\n\ngo 1.22\n");
    g.write("internal/base/mixins.go", MIXINS);
    g.write(
        "ent/schema/user.go",
        ent_schema("type User struct{ ent.Schema }\n\nfunc (User) Mixin() []ent.Mixin { return []ent.Mixin{base.TimeMixin{}} }\n"),
    );
    g.add_migration(
        "20240101000000_init",
        "CREATE TABLE users (id bigint PRIMARY KEY, created_at timestamptz, deleted_at timestamptz);\n",
    );
    g.commit_all("main");
    g.write("ent/schema/new.go", ent_schema(new_schema));
    g.add_migration("20240201000000_new", new_sql);
    run(&g, &[])
}

#[test]
fn mixins_are_found_through_go_mod_methods_helpers_aliases_and_embedding() {
    for (what, schema) in [
        (
            "imported by module path",
            "type Box struct{ ent.Schema }\n\nfunc (Box) Mixin() []ent.Mixin { return []ent.Mixin{base.TimeMixin{}} }\n",
        ),
        (
            "a method on a config struct",
            "type cfg struct{ soft bool }\n\nfunc (c cfg) mixins() []ent.Mixin { return []ent.Mixin{base.TimeMixin{}} }\n\ntype Box struct{ ent.Schema }\n\nfunc (Box) Mixin() []ent.Mixin { return cfg{soft: true}.mixins() }\n",
        ),
        (
            "a helper of another package",
            "type Box struct{ ent.Schema }\n\nfunc (Box) Mixin() []ent.Mixin { return base.Standard() }\n",
        ),
        (
            "an embedding mixin",
            "type Box struct{ ent.Schema }\n\nfunc (Box) Mixin() []ent.Mixin { return []ent.Mixin{base.Audited{}} }\n",
        ),
        (
            "an alias of a generic mixin",
            "type boxMixin struct{}\n\nfunc (boxMixin) Mixin() []ent.Mixin { return []ent.Mixin{base.TimeMixin{}} }\n\ntype BoxMixin = base.RecursiveMixin[boxMixin]\n\ntype Box struct{ ent.Schema }\n\nfunc (Box) Mixin() []ent.Mixin { return []ent.Mixin{BoxMixin{}} }\n",
        ),
    ] {
        let (code, doc) = ent_repo(
            schema,
            "CREATE TABLE boxes (id bigint PRIMARY KEY, created_at timestamptz, deleted_at timestamptz);\n",
        );
        assert_eq!((code, found(&doc).len()), (0, 0), "{what}: {doc}");
        // Resolved, not merely unknown.
        assert!(!notes(&doc).contains("not judged"), "{what}: {doc}");
    }
    // Without the mixin, the schema and its table are one finding, at the
    // schema (the SQL table name pairs with ent's).
    let (code, doc) = ent_repo(
        "type Box struct{ ent.Schema }\n",
        "CREATE TABLE boxes (id bigint PRIMARY KEY);\n",
    );
    assert_eq!(code, 1, "{doc}");
    let f = found(&doc);
    assert_eq!(f.len(), 1, "{doc}");
    assert!(
        f[0].1.starts_with("ent schema Box (table \"boxes\")"),
        "{doc}"
    );
    assert!(f[0].2.contains("base.TimeMixin{}"), "{doc}");
}

#[test]
fn a_mixin_from_outside_the_repository_is_unknown_not_a_finding() {
    let (code, doc) = ent_repo(
        "type Box struct{ ent.Schema }\n\nfunc (Box) Mixin() []ent.Mixin { return []ent.Mixin{mixins.SoftDelete{}} }\n",
        "CREATE TABLE boxes (id bigint PRIMARY KEY, deleted_at timestamptz);\n",
    );
    assert_eq!((code, found(&doc).len()), (0, 0), "{doc}");
    assert!(
        notes(&doc).contains("1 ent schema(s) not judged for \"deleted_at\"")
            && notes(&doc).contains("Box (mixins.SoftDelete{})"),
        "{doc}"
    );
}

#[test]
fn irregular_plurals_pair_sql_and_ent_findings() {
    // ent names DeliveryStatus's table "delivery_status": one finding.
    let (code, doc) = ent_repo(
        "type DeliveryStatus struct{ ent.Schema }\n",
        "CREATE TABLE delivery_status (id bigint PRIMARY KEY);\n",
    );
    assert_eq!(code, 1, "{doc}");
    let f = found(&doc);
    assert_eq!(f.len(), 1, "{doc}");
    assert!(
        f[0].1
            .starts_with("ent schema DeliveryStatus (table \"delivery_status\")"),
        "{doc}"
    );
}

/// `init` on ent layouts: generated code beside `schema/` (ent's default),
/// a custom `entc.go` target, the mixin packages the schemas import, and
/// migration directories from an atlas.hcl in a sub-folder.
#[test]
fn init_writes_a_config_right_for_each_layout() {
    // ent's default layout, atlas.hcl in db/.
    let g = GitRepo::new();
    g.write("go.mod", "module example.com/app\n\ngo 1.22\n");
    g.write("internal/base/mixins.go", MIXINS);
    g.write(
        "ent/schema/user.go",
        ent_schema("type User struct{ ent.Schema }\n\nfunc (User) Mixin() []ent.Mixin { return []ent.Mixin{base.TimeMixin{}} }\n"),
    );
    g.write(
        "ent/generate.go",
        "package ent\n\n//go:generate go run -mod=mod entgo.io/ent/cmd/ent generate ./schema\n",
    );
    g.write(
        "ent/client.go",
        "// Code generated by ent, DO NOT EDIT.\n\npackage ent\n",
    );
    g.write(
        "ent/user/user.go",
        "// Code generated by ent, DO NOT EDIT.\n\npackage user\n",
    );
    g.write(
        "db/atlas.hcl",
        "env \"dev\" {\n  migration {\n    dir = \"file://migrations\"\n    format = golang-migrate\n  }\n}\n",
    );
    g.write(
        "db/migrations/20240101000000_init.up.sql",
        "CREATE TABLE users (id bigint PRIMARY KEY, created_at timestamptz, deleted_at timestamptz);\n",
    );
    g.write(
        "db/migrations/20240101000000_init.down.sql",
        "DROP TABLE users;\n",
    );
    g.commit_all("main");
    g.migguard().arg("init").assert().code(0);
    let text = String::from_utf8(g.repo.read(".migguard.yaml")).unwrap();
    for want in [
        "migrations:\n  dir: db/migrations\n  format: golang-migrate",
        "  - paths: [\"ent/**\"]",
        "    exclude: [\"ent/schema/**\", \"ent/entc.go\", \"ent/generate.go\"]",
        "  mixin_packages: [\"internal/base\"]",
        "  soft_delete: true\n  soft_delete_column: deleted_at",
    ] {
        assert!(text.contains(want), "lacks {want:?}:\n{text}");
    }
    // The written config works: hand-written files under ent/ are not
    // reported as lacking the generated header.
    let out = g.migguard().args(["check", "--all"]).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("generated-edited"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // A custom entc.go target.
    let g = GitRepo::new();
    g.write("go.mod", "module example.com/app\n");
    g.write("internal/ent/schema/user.go", "package schema\n");
    g.write(
        "internal/ent/entc.go",
        "//go:build ignore\n\npackage main\n\nimport (\n\t\"entgo.io/ent/entc\"\n\t\"entgo.io/ent/entc/gen\"\n)\n\nfunc main() {\n\t_ = entc.Generate(\"./schema\", &gen.Config{Target: \"../entout\", Package: \"example.com/app/internal/entout\"})\n}\n",
    );
    g.write(
        "internal/entout/client.go",
        "// Code generated by ent, DO NOT EDIT.\npackage entout\n",
    );
    g.write("migrations/1_a.up.sql", "CREATE TABLE a (id int);\n");
    g.commit_all("main");
    g.migguard().arg("init").assert().code(0);
    let text = String::from_utf8(g.repo.read(".migguard.yaml")).unwrap();
    assert!(
        text.contains("  - paths: [\"internal/entout/**\"]"),
        "{text}"
    );
}

/// ent many-to-many edges: ent generates their join table (`user_groups`)
/// with no schema of its own; neither side reports it.
#[test]
fn many_to_many_edges_and_their_join_tables_are_not_reported() {
    let g = GitRepo::new();
    g.write(
        ".migguard.yaml",
        format!("{GM}ent:\n  schema: ent/schema\nconventions:\n  soft_delete: true\n"),
    );
    g.write("go.mod", "module example.com/app\n\ngo 1.22\n");
    g.write("internal/base/mixins.go", MIXINS);
    g.add_migration("20240101000000_init", BASE);
    g.commit_all("main");
    let schema = |name: &str, edges: &str| {
        format!(
            "package schema\n\nimport (\n\t\"entgo.io/ent\"\n\t\"entgo.io/ent/schema/edge\"\n\n\t\"example.com/app/internal/base\"\n)\n\ntype {name} struct{{ ent.Schema }}\n\nfunc ({name}) Mixin() []ent.Mixin {{ return []ent.Mixin{{base.TimeMixin{{}}}} }}\n\nfunc ({name}) Edges() []ent.Edge {{ return []ent.Edge{{{edges}}} }}\n"
        )
    };
    g.write(
        "ent/schema/user.go",
        schema("User", "edge.To(\"groups\", Group.Type)"),
    );
    g.write(
        "ent/schema/group.go",
        schema("Group", "edge.From(\"users\", User.Type).Ref(\"groups\")"),
    );
    g.add_migration(
        "20240201000000_user_groups",
        "CREATE TABLE \"user_groups\" (\"user_id\" bigint NOT NULL, \"group_id\" bigint NOT NULL, PRIMARY KEY (\"user_id\", \"group_id\"), CONSTRAINT \"user_groups_user_id\" FOREIGN KEY (\"user_id\") REFERENCES \"users\" (\"id\") ON DELETE CASCADE, CONSTRAINT \"user_groups_group_id\" FOREIGN KEY (\"group_id\") REFERENCES \"groups\" (\"id\") ON DELETE CASCADE);\n",
    );
    let (code, doc) = run(&g, &[]);
    assert_eq!((code, found(&doc).len()), (0, 0), "{doc}");
    assert!(!notes(&doc).contains("not judged"), "{doc}");
}
