#!/usr/bin/env bash
# The soft-delete convention rules on OpenMeter's corpus with the config
# `migguard init` writes (no hand-written config): findings per rule at the
# ent and the SQL level, and for missing-soft-delete how many name a table
# that really lacks deleted_at once every migration ran (read from the SQL
# by a separate, plain text check, not by migguard).
#
#   bash bench/conventions.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_corpus
bench_setup
repo="$work/openmeter"
cp -r "$corpus/tree" "$repo"
mkdir -p "$repo/tools/migrate"
cp -r "$corpus/migrations" "$repo/tools/migrate/migrations"
cp "$corpus/atlas.hcl" "$repo/"
cd "$repo"
git init -q . && git add -A && git -c user.email=b@b -c user.name=b commit -qm corpus
"$bin" init >/dev/null
"$bin" check --all --format json > "$work/report.json" || true
python3 - "$work/report.json" <<'PY'
import collections, glob, json, re, sys
doc = json.load(open(sys.argv[1]))
sql = "".join(open(f).read() for f in sorted(glob.glob("tools/migrate/migrations/*.up.sql")))
def lacks(table):
    created = re.search(r'CREATE TABLE "%s" \((.*?)\);' % re.escape(table), sql, re.S)
    added = re.search(r'ALTER TABLE "%s"[^;]*ADD COLUMN "deleted_at"' % re.escape(table), sql)
    return bool(created) and '"deleted_at"' not in created.group(1) and not added
rows = collections.Counter()
true_ones = collections.Counter()
for f in doc["findings"]:
    level = "ent" if f["path"].endswith(".go") else "SQL"
    rows[(f["rule"], level)] += 1
    if f["rule"] == "missing-soft-delete":
        table = re.search(r'table "([^"]+)"', f["message"]).group(1)
        true_ones[level] += lacks(table)
print("| rule | level | findings | table really lacks deleted_at |")
print("|---|---|---|---|")
for (rule, level), n in sorted(rows.items()):
    t = f"{true_ones[level]} of {n}" if rule == "missing-soft-delete" else "-"
    print(f"| `{rule}` | {level} | {n} | {t} |")
for note in doc["summary"]["notes"]:
    print("note:", note)
PY
