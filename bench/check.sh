#!/usr/bin/env bash
# Benchmark: `migguard check` on a synthetic repository at OpenMeter's scale
# (5,000+ commits, 10,000 files, 300 migration pairs, 500 generated files):
#   - `check --staged` with one new migration staged (the pre-commit path),
#     also with no config (every directory discovered from git's index),
#     next to `git status --porcelain` on the same repository;
#   - `check --base main` for the 50-commit feature branch (the CI path).
# Targets: staged median under 50 ms and under 3x `git status --porcelain`.
#
#   bash bench/check.sh [RUNS]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
runs="${1:-30}"
bench_setup
python3 bench/synthetic_repo.py "$work/repo"
cd "$work/repo"
"$bin" check --staged -q || { echo "unexpected findings on the synthetic repository"; exit 1; }
python3 "$root/bench/timeit.py" --runs "$runs" --label "migguard check --staged" -- "$bin" check --staged
python3 "$root/bench/timeit.py" --runs "$runs" --label "migguard check --staged, zero config (directories discovered)" -- "$bin" check --staged --config /dev/null
python3 "$root/bench/timeit.py" --runs "$runs" --label "git status --porcelain" -- git status --porcelain
# The comparison that matters, run in turn so both see the same machine.
python3 "$root/bench/pair.py" --runs "$runs" --a-label "migguard check --staged" \
  --b-label "git status --porcelain" -- "$bin" check --staged ++ git status --porcelain
python3 "$root/bench/timeit.py" --runs "$runs" --label "migguard check --base main (50-commit branch)" -- "$bin" check --base main
python3 "$root/bench/timeit.py" --runs "$runs" --label "migguard check --all" -- "$bin" check --all
