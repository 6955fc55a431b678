#!/usr/bin/env bash
# Benchmark: `migguard parity` on the OpenMeter corpus (throwaway cluster
# started and removed included) against the baseline of applying the same
# migrations into two databases one after the other with `psql -f` per file
# (database A: every migration; database B: the same, then views.sql), on the
# PostgreSQL server at 127.0.0.1:5432 (user postgres, trust auth).
#
#   bash bench/parity.sh [RUNS]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
runs="${1:-5}"
need_corpus
bench_setup
openmeter_repo "$work/repo"
cd "$work/repo"
# The cluster template is cached (see README): measure a run that finds it
# (the usual case) and one with the cache turned off (initdb every time, as
# on a fresh CI machine's first run).
export MIGGUARD_CACHE_DIR="$work/cache"
python3 "$root/bench/timeit.py" --runs "$runs" --warmup 1 --label "migguard parity (throwaway cluster included, cached template)" -- "$bin" parity
MIGGUARD_CACHE_DIR= python3 "$root/bench/timeit.py" --runs "$runs" --warmup 1 --label "migguard parity (throwaway cluster included, initdb every run)" -- "$bin" parity
# Round trips: the last 30 migrations are new since the base commit (every
# one goes up, down and up again), view parity runs beside them.
ls tools/migrate/migrations/*.sql | sort | head -n -60 | xargs git add
git -c user.name=bench -c user.email=bench@example.com commit -q -m base
python3 "$root/bench/timeit.py" --runs "$runs" --warmup 1 --label "migguard parity --roundtrip --base HEAD (30 new migrations, cached template)" -- "$bin" parity --roundtrip --base HEAD
if psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1" >/dev/null 2>&1; then
  start=$(date +%s.%N)
  for db in bench_a bench_b; do
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
    for f in tools/migrate/migrations/*.up.sql; do
      psql -q -h 127.0.0.1 -U postgres -d "$db" -v ON_ERROR_STOP=1 -f "$f" >/dev/null 2>&1
    done
  done
  psql -q -h 127.0.0.1 -U postgres -d bench_b -f tools/migrate/views.sql >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  python3 -c "print(f'baseline: psql -f per file into two databases one after the other: {($end - $start) * 1000:.0f} ms (1 run)')"
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE bench_a" -c "DROP DATABASE bench_b" >/dev/null
else
  echo "baseline skipped: no PostgreSQL server at 127.0.0.1:5432"
fi
