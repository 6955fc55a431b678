# Shared set-up for the bench/*.sh scripts (sourced, not run):
#   bench_setup        cd to the repository root, build the release binary
#                      ($bin), make a work folder ($work) removed on exit
#   need_corpus        exit 0 with "skipped: ..." when ../shared/corpus is absent
#   openmeter_repo DIR a git repository laid out like OpenMeter's: the preset
#                      config, atlas.hcl, views.sql and the migrations
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
corpus="$root/../shared/corpus/openmeter"

need_corpus() {
  [ -d "$corpus" ] || { echo "skipped: $corpus not found"; exit 0; }
}

bench_setup() {
  cd "$root"
  cargo build --release --quiet
  bin="$root/target/release/migguard"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
}

openmeter_repo() {
  git init -q "$1" && mkdir -p "$1/tools/migrate"
  cp "$root/rules/presets/openmeter.yaml" "$1/.migguard.yaml"
  cp "$corpus/atlas.hcl" "$1/"
  cp "$corpus/views.sql" "$1/tools/migrate/views.sql"
  cp -r "$corpus/migrations" "$1/tools/migrate/migrations"
}
