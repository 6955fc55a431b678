#!/usr/bin/env bash
# Runs the fuzz targets, each for SECONDS (default 600), one after the other,
# and prints libFuzzer's closing line (executions and time) for each.
#
#   bash fuzz/run.sh [SECONDS] [TARGET...]
#
# cargo fuzz needs nightly features; on a stable toolchain RUSTC_BOOTSTRAP=1
# enables them. Install it once with `cargo install cargo-fuzz --locked`.
# Seeds live in fuzz/seeds/<target>/ (the grown corpus in fuzz/corpus/ is not
# committed); a crash is saved in fuzz/artifacts/ and
# becomes a regression test in tests/adversarial.rs.
set -uo pipefail
cd "$(dirname "$0")"
seconds="${1:-600}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(split parse_replay atlas_sum config ent)
mkdir -p logs
status=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    > "logs/$t.log" 2>&1 || status=1
  echo "$t: $(grep -E '^Done [0-9]+ runs' "logs/$t.log" || tail -1 "logs/$t.log")"
done
exit $status
