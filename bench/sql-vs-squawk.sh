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
source "$(dirname "$0")/lib.sh"
runs="${1:-20}"
need_corpus
bench_setup
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "squawk-cli==2.70.0"
openmeter_repo "$work/repo"
cd "$work/repo"
echo "files: $(ls tools/migrate/migrations/*.sql | wc -l) SQL files; $("$work/venv/bin/squawk" --version)"
{ "$bin" check --all --format json || true; } | python3 -c 'import json,sys; print("migguard summary:", json.load(sys.stdin)["summary"])'
# Both exit 1: they report findings on this corpus. Run in turn (migguard,
# squawk, migguard, ...) so both see the same machine.
python3 "$root/bench/pair.py" --runs "$runs" --expect-code 1 \
  --a-label "migguard check --all" --b-label "squawk (538 files)" \
  -- "$bin" check --all ++ sh -c "\"$work/venv/bin/squawk\" tools/migrate/migrations/*.sql"
