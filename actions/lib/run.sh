#!/usr/bin/env bash
# run.sh runs one releasegate command for a composite action: the command
# words come as arguments, the common flags from the INPUT_* variables the
# action mapped its inputs to (never from expressions inside the script).
# Each flag is added only when its variable is set, so an action passes only
# the flags its command knows. The binary itself writes the `status` and
# `result` outputs, the step summary, annotations and masks; this script
# only builds the argument list and hands over the exit code (0 pass,
# 1 fail, 2 bad input, 3 error).
set -uo pipefail

if [[ -z "${RELEASEGATE:-}" ]]; then
  echo "::error title=releasegate::expected the path of the releasegate binary in RELEASEGATE, found it empty; the build step of this action did not run"
  exit 3
fi

args=("$@")
if [[ -n "${INPUT_POLICY:-}" ]]; then args+=(--policy "$INPUT_POLICY"); fi
if [[ -n "${INPUT_ONLY:-}" ]]; then args+=(--only "$INPUT_ONLY"); fi
if [[ -n "${INPUT_FORMAT:-}" ]]; then args+=(--format "$INPUT_FORMAT"); fi
if [[ -n "${INPUT_OUT_DIR:-}" ]]; then args+=(--out "$INPUT_OUT_DIR"); fi
if [[ -n "${INPUT_RESULTS_DIR:-}" ]]; then args+=(--results "$INPUT_RESULTS_DIR"); fi
if [[ -n "${INPUT_BUNDLE:-}" ]]; then args+=(--bundle "$INPUT_BUNDLE"); fi

exec "$RELEASEGATE" "${args[@]}"
