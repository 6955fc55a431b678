#!/usr/bin/env bash
# Benchmark: `migguard check --all` over the OpenMeter corpus (538 SQL files:
# split, parsed, replayed, every rule) next to squawk 2.70 linting the same
# 538 files. Target: migguard at least 5 times faster.
#
#   bash bench/sql-vs-squawk.sh [RUNS]
#
# Needs ../shared/corpus and PyPI (squawk-cli is installed into a temporary
# virtualenv).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
runs="${1:-20}"
corpus="../shared/corpus/openmeter"
[ -d "$corpus" ] || { echo "skipped: $corpus not found"; exit 0; }
cargo build --release --quiet
bin="$PWD/target/release/migguard"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "squawk-cli==2.70.0"
git init -q "$work/repo" && mkdir -p "$work/repo/tools/migrate"
cp rules/presets/openmeter.yaml "$work/repo/.migguard.yaml"
cp "$corpus/atlas.hcl" "$work/repo/"
cp "$corpus/views.sql" "$work/repo/tools/migrate/views.sql"
cp -r "$corpus/migrations" "$work/repo/tools/migrate/migrations"
cd "$work/repo"
echo "files: $(ls tools/migrate/migrations/*.sql | wc -l) SQL files; $("$work/venv/bin/squawk" --version)"
{ "$bin" check --all --format json || true; } | python3 -c 'import json,sys; print("migguard summary:", json.load(sys.stdin)["summary"])'
# Both exit 1: they report findings on this corpus.
python3 "$root/bench/timeit.py" --runs "$runs" --expect-code 1 --label "migguard check --all" -- "$bin" check --all
python3 "$root/bench/timeit.py" --runs "$runs" --expect-code 1 --label "squawk (538 files)" -- sh -c "\"$work/venv/bin/squawk\" tools/migrate/migrations/*.sql"
