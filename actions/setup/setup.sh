#!/usr/bin/env bash
# setup.sh obtains the releasegate binary for a composite action, the way
# goreleaser-action and cosign-installer do: the released binary for the
# runner's OS and architecture, checked against the digest committed in
# this action's own tree (actions/setup/checksums.txt, written with the
# release whose tag is in actions/setup/version) before it is ever run. So
# what runs is fixed by the ref the caller pinned, not by the network.
#
#   setup.sh plan     decide how: writes the step output mode (path,
#                     download or build) and says why in the log
#   setup.sh install  do it: writes the step outputs path and version
#
# Inputs come as INPUT_RELEASEGATE_PATH (a binary already on the runner)
# and INPUT_BUILD_FROM_SOURCE (true builds from this checkout with Go; the
# action sets Go up for the build mode only). A ref without a release
# builds from source and says so. A digest mismatch fails closed naming the
# asset and both digests; an OS or architecture without a release asset is
# refused unless build_from_source is true. No policy logic lives here.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
repository=maestro-conductor/releasegate
version_file=$here/version
checksums=$here/checksums.txt

fail() { # fail CODE MESSAGE
  echo "::error title=releasegate setup::$2"
  exit "$1"
}

# asset is GoReleaser's archive name for the runner: releasegate_<os>_<arch>.tar.gz.
asset() {
  local os arch
  case ${RUNNER_OS:-} in
    Linux) os=linux ;;
    macOS) os=darwin ;;
    Windows) os=windows ;;
    *) return 1 ;;
  esac
  case ${RUNNER_ARCH:-} in
    X64) arch=amd64 ;;
    ARM64) arch=arm64 ;;
    *) return 1 ;;
  esac
  echo "releasegate_${os}_${arch}.tar.gz"
}

sha256() {
  if command -v sha256sum > /dev/null; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

plan() {
  local mode reason
  if [[ -n ${INPUT_RELEASEGATE_PATH:-} ]]; then
    mode=path reason="using the binary given in releasegate_path"
  elif [[ ${INPUT_BUILD_FROM_SOURCE:-false} == true ]]; then
    mode=build reason="building from source because build_from_source is true"
  elif [[ ! -s $version_file || ! -s $checksums ]]; then
    mode=build reason="building from source because this ref of releasegate has no release (no actions/setup/version and actions/setup/checksums.txt in its tree)"
  elif ! asset > /dev/null; then
    fail 2 "no releasegate release asset for runner OS '${RUNNER_OS:-}' and architecture '${RUNNER_ARCH:-}' (released: Linux, macOS and Windows on X64 and ARM64); set build_from_source: true to build it with Go"
  else
    mode=download reason="downloading release $(< "$version_file") for ${RUNNER_OS}/${RUNNER_ARCH} and checking it against actions/setup/checksums.txt"
  fi
  echo "releasegate: $reason"
  echo "mode=$mode" >> "$GITHUB_OUTPUT"
}

install() {
  local out bin
  out=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/releasegate-bin.XXXXXX")
  case ${MODE:-} in
    path)
      if [[ ! -f $INPUT_RELEASEGATE_PATH || ! -x $INPUT_RELEASEGATE_PATH ]]; then
        fail 2 "releasegate_path: expected an executable file, found none at ${INPUT_RELEASEGATE_PATH}; build it with 'go build -o PATH ./cmd/releasegate' or leave the input empty"
      fi
      bin=$INPUT_RELEASEGATE_PATH
      ;;
    build)
      command -v go > /dev/null || fail 2 "building releasegate from source needs Go on the PATH, found none; the action's set-up-Go step did not run"
      bin=$out/releasegate
      echo "releasegate: building from source at $src"
      (cd "$src" && CGO_ENABLED=0 go build -trimpath -o "$bin" ./cmd/releasegate)
      ;;
    download)
      local name version url want got
      name=$(asset)
      version=$(< "$version_file")
      url="${GITHUB_SERVER_URL:-https://github.com}/$repository/releases/download/$version/$name"
      want=$(awk -v a="$name" '$2 == a || $2 == "*" a { print $1 }' "$checksums")
      [[ $want =~ ^[0-9a-f]{64}$ ]] || fail 2 "actions/setup/checksums.txt at this ref has no SHA-256 for $name; expected one line '<sha256>  $name'"
      curl --fail --silent --show-error --location --retry 3 --output "$out/$name" "$url" \
        || fail 3 "could not download $url; the release $version has no asset $name or the server is unreachable"
      got=$(sha256 "$out/$name")
      if [[ $got != "$want" ]]; then
        rm -f "$out/$name"
        fail 1 "digest mismatch for $name from $url: expected sha256 $want (actions/setup/checksums.txt at this ref), found sha256 $got; refusing to run it"
      fi
      echo "releasegate: $name matches sha256 $want"
      local exe=releasegate
      [[ ${RUNNER_OS:-} == Windows ]] && exe=releasegate.exe
      tar -xzf "$out/$name" -C "$out" "$exe"
      bin=$out/$exe
      chmod +x "$bin"
      ;;
    *) fail 2 "expected mode path, download or build from the plan step, found '${MODE:-}'" ;;
  esac
  echo "path=$bin" >> "$GITHUB_OUTPUT"
  echo "releasegate: $("$bin" version 2>&1 | head -n 1) at $bin"
}

case ${1:-} in
  plan) plan ;;
  install) install ;;
  *) fail 2 "usage: setup.sh plan|install" ;;
esac
