#!/usr/bin/env bash
# Benchmark: `migguard fix-sum --check` on the OpenMeter corpus (269 golang-migrate
# pairs, 1.2 MB of .up.sql hashed). Target: under 10 ms wall.
#
#   bash bench/fix-sum-check.sh [RUNS]
#
# Needs ../shared/corpus (the real-world corpus beside the repository).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
runs="${1:-100}"
need_corpus
bench_setup
mkdir -p "$work/.git" "$work/tools/migrate"
cp "$corpus/atlas.hcl" "$work/"
cp -r "$corpus/migrations" "$work/tools/migrate/migrations"
bytes=$(cat "$work"/tools/migrate/migrations/*.up.sql | wc -c)
echo "corpus: $(ls "$work/tools/migrate/migrations" | wc -l) files, $bytes bytes of .up.sql hashed"
python3 bench/timeit.py --runs "$runs" --cwd "$work" --label "migguard fix-sum --check (OpenMeter)" -- "$bin" fix-sum --check
python3 bench/timeit.py --runs "$runs" --cwd "$work" --label "migguard validate (OpenMeter)" -- "$bin" validate
# The floor: reading and hashing the same bytes with coreutils.
python3 bench/timeit.py --runs "$runs" --cwd "$work/tools/migrate/migrations" --label "baseline: cat *.up.sql | sha256sum" -- sh -c 'cat *.up.sql | sha256sum'
python3 bench/timeit.py --runs "$runs" --cwd "$work" --label "baseline: process start (/bin/true)" -- /bin/true
