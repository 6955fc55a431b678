#!/usr/bin/env bash
# Benchmark: `migguard trace` on the OpenMeter corpus (269 migrations) with
# one new migration staged: the whole process, median of RUNS, on a
# throwaway cluster:
#   - cold: no base state cached (the created migrations are replayed, and
#     their state cached for next time), the initdb template cached;
#   - warm: the cluster starts from the cached base state;
#   - parity on the same repository: cold (no base state: both databases
#     replay all 270 migrations, and the state of the 269 committed ones is
#     cached), then warm (both databases start from the cached state of the
#     committed migrations and apply the staged one).
#
#   bash bench/trace.sh [RUNS]
#
# Needs ../shared/corpus and the PostgreSQL server binaries.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
runs="${1:-5}"
need_corpus
bench_setup
openmeter_repo "$work/repo"
cd "$work/repo"
git add -A && git -c user.email=b@b -c user.name=b commit -qm corpus
dir=tools/migrate/migrations
cat > "$dir/20991231000000_bench.up.sql" <<'SQL'
ALTER TABLE "customers" ADD COLUMN "bench_note" character varying NULL;
CREATE INDEX "customers_bench_note" ON "customers" ("bench_note");
SQL
echo 'ALTER TABLE "customers" DROP COLUMN "bench_note";' > "$dir/20991231000000_bench.down.sql"
"$bin" fix-sum -q >/dev/null
git add -A
export MIGGUARD_CACHE_DIR="$work/cache"
"$bin" trace --color never | head -8
rm -rf "$MIGGUARD_CACHE_DIR"/*-base-*
echo "cold:"; MIGGUARD_TRACE=1 "$bin" trace -q --format json 2>&1 >/dev/null | grep 'ms\]' || true
echo "warm:"; MIGGUARD_TRACE=1 "$bin" trace -q --format json 2>&1 >/dev/null | grep 'ms\]' || true
du -sh "$MIGGUARD_CACHE_DIR"/* || true
python3 "$root/bench/timeit.py" --runs "$runs" --warmup 1 --expect-code 0 --label "migguard trace, cold (no base state cached)" -- sh -c "rm -rf \"$MIGGUARD_CACHE_DIR\"/*-base-*; exec \"$bin\" trace"
python3 "$root/bench/timeit.py" --runs "$runs" --warmup 1 --expect-code 0 --label "migguard trace, warm (base state cached)" -- "$bin" trace
echo "parity, cold:"; rm -rf "$MIGGUARD_CACHE_DIR"/*-base-*; MIGGUARD_TRACE=1 "$bin" parity -q 2>&1 >/dev/null | grep 'ms\]' || true
echo "parity, warm:"; MIGGUARD_TRACE=1 "$bin" parity -q 2>&1 >/dev/null | grep 'ms\]' || true
python3 "$root/bench/timeit.py" --runs "$runs" --warmup 1 --expect-code 0 --label "migguard parity, cold (no base state cached)" -- sh -c "rm -rf \"$MIGGUARD_CACHE_DIR\"/*-base-*; exec \"$bin\" parity"
python3 "$root/bench/timeit.py" --runs "$runs" --warmup 1 --expect-code 0 --label "migguard parity, warm (base states cached)" -- "$bin" parity
