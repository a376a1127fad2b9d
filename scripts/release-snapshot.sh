#!/usr/bin/env bash
# Builds releasegate's release twice with GoReleaser (pinned in
# tools/release/go.mod) from two clones of HEAD at different paths, and
# fails unless checksums.txt is byte for byte the same: the published
# archives are reproducible, so the digests committed in
# actions/setup/checksums.txt before tagging are the digests of what the
# publish workflow releases.
#
#   scripts/release-snapshot.sh [OUT]   (make release-snapshot)
#
# Nothing is published or signed (--snapshot --skip=publish,sign). The
# first build of GoReleaser takes several minutes; it is not part of
# `make test` for that reason.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
out=${1:-$root/dist/release-snapshot}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$root/bin"
(cd "$root/tools/release" && go build -o "$root/bin/goreleaser" github.com/goreleaser/goreleaser/v2)
goreleaser=$root/bin/goreleaser

"$goreleaser" check --config "$root/.goreleaser.yaml"
for side in a b; do
  git clone -q "$root" "$work/$side-$RANDOM"
done
sums=()
for dir in "$work"/*; do
  (cd "$dir" && "$goreleaser" release --snapshot --clean --skip=publish,sign >"$dir.log" 2>&1) || {
    echo "release-snapshot: goreleaser failed in a clone of HEAD; its log:" >&2
    tail -n 40 "$dir.log" >&2
    exit 1
  }
  sums+=("$dir/dist/checksums.txt")
done
if ! cmp -s "${sums[0]}" "${sums[1]}"; then
  echo "release-snapshot: two builds of the same commit differ; expected the same checksums.txt:" >&2
  diff "${sums[0]}" "${sums[1]}" >&2 || true
  exit 1
fi
mkdir -p "$out"
cp "${sums[0]}" "$out/checksums.txt"
echo "release-snapshot: two clones of $(git -C "$root" rev-parse --short HEAD) built the same archives:"
cat "$out/checksums.txt"
