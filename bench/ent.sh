#!/usr/bin/env bash
# Benchmark: what reading ent schemas adds to `check`. A repository with a
# schema package of 40 files and about 3,240 lines (plus a mixin package);
# `check --staged` with every rule against the same run with the ent rules
# left out (--rule sum-drift --rule non-linear), for two staged changes:
#   1. a field added to one schema (the common edit: only that file's two
#      versions are parsed and compared);
#   2. a new schema file (the whole package is parsed and resolved).
# Target: under 20 ms added.
#
#   bash bench/ent.sh [RUNS]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
runs="${1:-30}"
bench_setup
python3 - "$work/repo" <<'PY'
import os, subprocess, sys
d = sys.argv[1]
os.makedirs(d + "/app/ent/schema"); os.makedirs(d + "/pkg/entutils"); os.makedirs(d + "/migrations")
open(d + "/.migguard.yaml", "w").write("migrations:\n  dir: migrations\n  format: golang-migrate\nent:\n  schema: app/ent/schema\n  mixin_packages: [\"pkg/entutils\"]\n")
open(d + "/pkg/entutils/mixins.go", "w").write('''package entutils

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/mixin"
)

type TimeMixin struct{ mixin.Schema }

func (TimeMixin) Fields() []ent.Field {
	return []ent.Field{field.Time("created_at"), field.Time("updated_at"), field.Time("deleted_at").Optional().Nillable()}
}
''')
lines = 0
for i in range(40):
    fields = "\n".join(f'\t\tfield.String("f{j}").Optional().Comment("field {j} of schema {i}"),' for j in range(55))
    src = f'''package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"example.com/app/pkg/entutils"
)

// S{i} is schema {i}.
type S{i} struct {{
	ent.Schema
}}

func (S{i}) Mixin() []ent.Mixin {{ return []ent.Mixin{{entutils.TimeMixin{{}}}} }}

func (S{i}) Fields() []ent.Field {{
	return []ent.Field{{
{fields}
	}}
}}

func (S{i}) Indexes() []ent.Index {{
	return []ent.Index{{index.Fields("f1", "deleted_at").Unique(), index.Fields("f2").Unique().Annotations(entsql.IndexWhere("deleted_at IS NULL"))}}
}}
'''
    lines += src.count("\n")
    open(f"{d}/app/ent/schema/s{i:02}.go", "w").write(src)
open(d + "/migrations/20240101000000_init.up.sql", "w").write("SELECT 1;\n")
open(d + "/migrations/20240101000000_init.down.sql", "w").write("SELECT 1;\n")
subprocess.run(["git", "init", "-q", "-b", "main", d], check=True)
subprocess.run(["git", "-C", d, "add", "-A"], check=True)
subprocess.run(["git", "-C", d, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "init"], check=True)
src = open(f"{d}/app/ent/schema/s07.go").read()
open(f"{d}/app/ent/schema/s07.go", "w").write(src.replace('field.String("f0")', 'field.String("extra"),\n\t\tfield.String("f0")'))
subprocess.run(["git", "-C", d, "add", "-A"], check=True)
print(f"schema package: 40 files, {lines} lines")
PY
cd "$work/repo"
"$bin" fix-sum -q
git add -A
"$bin" check --staged -q
python3 "$root/bench/timeit.py" --runs "$runs" --label "1. field added: every rule" -- "$bin" check --staged
python3 "$root/bench/timeit.py" --runs "$runs" --label "1. field added: ent rules left out" -- "$bin" check --staged --rule sum-drift --rule non-linear
sed 's/S07/S99/g' app/ent/schema/s07.go > app/ent/schema/s99.go
git add -A
"$bin" check --staged -q
python3 "$root/bench/timeit.py" --runs "$runs" --label "2. new schema: every rule" -- "$bin" check --staged
python3 "$root/bench/timeit.py" --runs "$runs" --label "2. new schema: ent rules left out" -- "$bin" check --staged --rule sum-drift --rule non-linear
