#!/usr/bin/env bash
# Regenerates rules/*.md and the table in rules/README.md from the code's rule
# documentation (what `migguard explain` prints). tests/rule_docs.rs fails
# when they drift.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
bin=target/debug/migguard
{
  sed -n '1,/^| rule | default | finds |$/p' rules/README.md
  echo '|---|---|---|'
  "$bin" rules | while read -r name severity summary; do
    "$bin" explain "$name" > "rules/$name.md"
    echo "| [$name]($name.md) | $severity | $summary |"
  done
} > rules/README.md.tmp
mv rules/README.md.tmp rules/README.md
