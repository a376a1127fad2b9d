#!/usr/bin/env bash
# run.sh runs one releasegate command for a composite action. The command
# words come as arguments; the action's inputs come as INPUT_<NAME>
# variables, mapped in the action's env: (never expanded inside a script).
#
# It only translates: inputs that are flags become flags, inputs that the
# policy reads as ${VARS} are exported under those names, each only when
# set, so an empty input never hides a variable the workflow set itself.
# The binary writes the `status` and `result` outputs, the step summary,
# annotations and masks; for a command that writes none (evidence create)
# the status follows its exit code. The exit code is the step's: 0 pass,
# 1 fail, 2 bad input, 3 could not evaluate.
set -uo pipefail

if [[ -z "${RELEASEGATE:-}" ]]; then
  echo "::error title=releasegate::expected the path of the releasegate binary in RELEASEGATE, found it empty; the setup steps of this action did not run"
  exit 3
fi

args=("$@")
key_dir=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/releasegate-key.XXXXXX")
trap 'rm -rf "$key_dir"' EXIT
flag() { # flag INPUT_VAR --flag: add the flag when the input is set
  if [[ -n "${!1:-}" ]]; then args+=("$2" "${!1}"); fi
}
export_as() { # export_as INPUT_VAR NAME: export the input under the name the policy reads
  if [[ -n "${!1:-}" ]]; then export "$2=${!1}"; fi
}

case "$*" in
  "evidence create")
    flag INPUT_POLICY --policy
    flag INPUT_RESULTS_DIR --results
    flag INPUT_OUT_DIR --out
    flag INPUT_VERSION --version
    if [[ -n "${INPUT_SIGNING_KEY:-}" ]]; then
      # The key reaches the binary as a private file, never as an argument.
      (umask 077 && printf '%s\n' "$INPUT_SIGNING_KEY" > "$key_dir/signing.key")
      args+=(--key "$key_dir/signing.key")
    fi
    if [[ -n "${INPUT_PUBLIC_KEY:-}" ]]; then
      printf '%s\n' "$INPUT_PUBLIC_KEY" > "$key_dir/verify.pub"
      args+=(--verify-key "$key_dir/verify.pub")
    fi
    export_as INPUT_SIGNING_KEY_PASSWORD COSIGN_PASSWORD
    if [[ "${INPUT_KEYLESS:-false}" == "true" ]]; then
      args+=(--keyless)
      flag INPUT_FULCIO_URL --fulcio-url
      flag INPUT_REKOR_URL --rekor-url
    fi
    ;;
  "evidence verify") # the bundle and the public key only, as an auditor has them
    printf '%s\n' "${INPUT_PUBLIC_KEY:-}" > "$key_dir/verify.pub"
    args+=(--key "$key_dir/verify.pub")
    # The one bundle evidence create wrote into out_dir.
    bundles=("${INPUT_OUT_DIR:-.}"/evidence-*.tar.gz)
    if [[ ${#bundles[@]} -ne 1 || ! -f ${bundles[0]} ]]; then
      echo "::error title=releasegate::expected one evidence-<version>.tar.gz in ${INPUT_OUT_DIR:-.}, found ${#bundles[@]} match(es) of ${bundles[*]}; give each release its own out_dir"
      exit 2
    fi
    args+=("${bundles[0]}")
    ;;
  *)
    flag INPUT_POLICY --policy
    flag INPUT_ONLY --only
    flag INPUT_FORMAT --format
    flag INPUT_OUT_DIR --out
    flag INPUT_CHECKS --checks
    ;;
esac

export_as INPUT_TOKEN GITHUB_TOKEN
export_as INPUT_VERSION RELEASE_VERSION
export_as INPUT_IMAGE RELEASE_IMAGE
export_as INPUT_ARTIFACTS RELEASE_ARTIFACTS
export_as INPUT_PROMETHEUS_URL PROMETHEUS_URL
export_as INPUT_PROMETHEUS_TOKEN PROMETHEUS_TOKEN
export_as INPUT_USAGE_FILE USAGE_FILE
export_as INPUT_TARGET_URL TARGET_URL
export_as INPUT_TENANTS TENANTS

"$RELEASEGATE" "${args[@]}"
code=$?

# Fail closed on silence: a command that set no status gets one from its
# exit code; anything but 0 and 1 is an error, never a pass.
if [[ -n "${GITHUB_OUTPUT:-}" ]] && ! grep -qE '^status(=|<<)' "$GITHUB_OUTPUT" 2>/dev/null; then
  case $code in
    0) status=pass ;;
    1) status=fail ;;
    *) status=error ;;
  esac
  echo "status=$status" >> "$GITHUB_OUTPUT"
fi
exit "$code"
