#!/usr/bin/env bash
# Make Debian's headless Chromium available for the evidence report test and
# print
#   RELEASEGATE_TEST_CHROMIUM=/usr/bin/chromium
# on stdout (logs go to stderr). Idempotent: installs the `chromium` package
# only when it is missing. Runs as root on a fresh Debian machine. Nothing is
# started: each test runs its own short-lived headless browser.
set -euo pipefail

log() { printf 'chromium.sh: %s\n' "$*" >&2; }

BIN=${RELEASEGATE_CHROMIUM_BIN:-/usr/bin/chromium}

if [ ! -x "$BIN" ]; then
  log "installing chromium"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends chromium fonts-dejavu-core fonts-noto-color-emoji >&2; then
    apt-get update >&2
    apt-get install -y --no-install-recommends chromium fonts-dejavu-core fonts-noto-color-emoji >&2
  fi
fi
if ! "$BIN" --headless --no-sandbox --disable-gpu --version >/dev/null 2>&1 && ! "$BIN" --version >/dev/null 2>&1; then
  log "$BIN does not run; check the chromium package"
  exit 1
fi
log "using $("$BIN" --version 2>/dev/null | head -1)"
echo "RELEASEGATE_TEST_CHROMIUM=$BIN"
