#!/usr/bin/env bash
# binary.sh locates the releasegate binary for a composite action and writes
# its path to the step output `path`.
#
# With INPUT_RELEASEGATE_PATH (the releasegate_path input) set it checks
# that the prebuilt binary is there; otherwise it builds ./cmd/releasegate from the action's own checkout (the
# directory two levels above this script), so an action pinned to a commit
# runs the code of that commit. It holds no policy logic.
set -euo pipefail

if [[ -n "${INPUT_RELEASEGATE_PATH:-}" ]]; then
  if [[ ! -f "$INPUT_RELEASEGATE_PATH" || ! -x "$INPUT_RELEASEGATE_PATH" ]]; then
    echo "::error title=releasegate::releasegate_path: expected an executable file, found none at ${INPUT_RELEASEGATE_PATH}; build it with 'go build -o PATH ./cmd/releasegate' or leave the input empty to build from the action's checkout"
    exit 2
  fi
  bin=$INPUT_RELEASEGATE_PATH
else
  src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  out_dir="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/releasegate-bin"
  mkdir -p "$out_dir"
  bin="$out_dir/releasegate"
  echo "building releasegate from $src" >&2
  (cd "$src" && go build -trimpath -o "$bin" ./cmd/releasegate)
fi
echo "path=$bin" >> "$GITHUB_OUTPUT"
