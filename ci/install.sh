#!/bin/sh
# Installs a released migguard binary for this machine's OS and architecture,
# after checking it against the release's SHA-256 checksum.
#
#   sh install.sh [--version vX.Y.Z|latest] [--repo OWNER/NAME] [--to DIR]
#
# MIGGUARD_DOWNLOAD_URL replaces the release's download address (a mirror, or
# a folder as file:///path). Exit 0 installed; 1 download or checksum failed;
# 2 bad arguments or no binary for this machine.
set -eu

version=latest
repo=${GITHUB_REPOSITORY:-OWNER/migguard}
to=${HOME:-.}/.local/bin
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version=${2:?--version needs a value}; shift 2 ;;
    --repo) repo=${2:?--repo needs a value}; shift 2 ;;
    --to) to=${2:?--to needs a value}; shift 2 ;;
    *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

os=$(uname -s)
arch=$(uname -m)
case "$os/$arch" in
  Linux/x86_64 | Linux/amd64) target=x86_64-unknown-linux-musl ;;
  Linux/aarch64 | Linux/arm64) target=aarch64-unknown-linux-musl ;;
  Darwin/x86_64) target=x86_64-apple-darwin ;;
  Darwin/arm64 | Darwin/aarch64) target=aarch64-apple-darwin ;;
  *)
    echo "install.sh: no release binary for $os/$arch; build from source:" >&2
    echo "  cargo install --locked --git https://github.com/$repo migguard" >&2
    exit 2 ;;
esac

if [ -n "${MIGGUARD_DOWNLOAD_URL:-}" ]; then
  base=$MIGGUARD_DOWNLOAD_URL
elif [ "$version" = latest ]; then
  base=https://github.com/$repo/releases/latest/download
else
  base=https://github.com/$repo/releases/download/$version
fi
asset=migguard-$target.tar.gz

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "$asset" "$asset.sha256"; do
  if ! curl -fsSL --retry 3 -o "$tmp/$f" "$base/$f"; then
    echo "install.sh: cannot download $base/$f (is $version a release of $repo?)" >&2
    exit 1
  fi
done

expected=$(cut -d ' ' -f 1 < "$tmp/$asset.sha256")
if command -v sha256sum >/dev/null 2>&1; then
  actual=$(sha256sum "$tmp/$asset" | cut -d ' ' -f 1)
else
  actual=$(shasum -a 256 "$tmp/$asset" | cut -d ' ' -f 1)
fi
if [ -z "$expected" ] || [ "$expected" != "$actual" ]; then
  echo "install.sh: checksum mismatch for $asset: expected ${expected:-nothing}, got $actual; not installed" >&2
  exit 1
fi

tar -xzf "$tmp/$asset" -C "$tmp"
mkdir -p "$to"
cp "$tmp/migguard-$target/migguard" "$to/migguard.tmp"
chmod 755 "$to/migguard.tmp"
mv "$to/migguard.tmp" "$to/migguard"
echo "installed $("$to/migguard" --version) ($target, sha256 $actual) in $to"
