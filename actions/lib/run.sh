#!/usr/bin/env bash
# run.sh runs one releasegate command for a composite action. The command
# words come as arguments; the action's inputs come as INPUT_<NAME>
# variables, mapped in the action's env: (never expanded inside a script).
#
# It only translates: inputs that are flags become flags, inputs that the
# policy reads as ${VARS} are exported under those names, each only when
# set, so an empty input never hides a variable the workflow set itself.
# The binary writes the `status` and `result` outputs, the step summary,
# annotations and masks, and its exit code is the step's: 0 pass, 1 fail,
# 2 bad input, 3 could not evaluate.
set -uo pipefail

if [[ -z "${RELEASEGATE:-}" ]]; then
  echo "::error title=releasegate::expected the path of the releasegate binary in RELEASEGATE, found it empty; the build step of this action did not run"
  exit 3
fi

args=("$@")
flag() { # flag INPUT_VAR --flag: add the flag when the input is set
  if [[ -n "${!1:-}" ]]; then args+=("$2" "${!1}"); fi
}
flag INPUT_POLICY --policy
flag INPUT_ONLY --only
flag INPUT_FORMAT --format
flag INPUT_OUT_DIR --out
flag INPUT_RESULTS_DIR --results
flag INPUT_BUNDLE --bundle

export_as() { # export_as INPUT_VAR NAME: export the input under the name the policy reads
  if [[ -n "${!1:-}" ]]; then export "$2=${!1}"; fi
}
export_as INPUT_TOKEN GITHUB_TOKEN
export_as INPUT_VERSION RELEASE_VERSION
export_as INPUT_IMAGE RELEASE_IMAGE
export_as INPUT_ARTIFACTS RELEASE_ARTIFACTS
export_as INPUT_PROMETHEUS_URL PROMETHEUS_URL
export_as INPUT_PROMETHEUS_TOKEN PROMETHEUS_TOKEN
export_as INPUT_USAGE_FILE USAGE_FILE
export_as INPUT_TARGET_URL TARGET_URL
export_as INPUT_TENANTS TENANTS
export_as INPUT_SIGNING_KEY RELEASEGATE_SIGNING_KEY

exec "$RELEASEGATE" "${args[@]}"
