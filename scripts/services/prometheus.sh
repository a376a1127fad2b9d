#!/usr/bin/env bash
# Start a throwaway Prometheus for the check-slo tests and print
#   RELEASEGATE_TEST_PROMETHEUS=http://127.0.0.1:PORT
# on stdout (logs go to stderr). Idempotent: a server this script already
# started is reused while it answers and holds the same data. Runs as root on
# a fresh Debian machine: installs Debian's `prometheus` package (server and
# promtool) when missing.
#
# The server holds deterministic history: testdata/slo/metrics.om is
# backfilled with `promtool tsdb create-blocks-from openmetrics`, so queries
# at the file's timestamps answer exactly what the in-process engine answers.
# It loads the rule files in testdata/slo/rules/ so the rules gate can check
# that named groups are loaded.
set -euo pipefail

log() { printf 'prometheus.sh: %s\n' "$*" >&2; }

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STATE=${RELEASEGATE_PROMETHEUS_STATE:-${TMPDIR:-/tmp}/releasegate-prometheus}
DATA_FILE=$ROOT/testdata/slo/metrics.om
RULES_DIR=$ROOT/testdata/slo/rules

if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null || ! command -v curl >/dev/null; then
  log "installing prometheus (server and promtool)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends prometheus curl >&2; then
    apt-get update >&2
    apt-get install -y --no-install-recommends prometheus curl >&2
  fi
fi

# shellcheck source=../lib/prometheus.sh
. "$ROOT/scripts/lib/prometheus.sh"

STAMP=$( { cat "$0" "$ROOT/scripts/lib/prometheus.sh" "$DATA_FILE"; cat "$RULES_DIR"/*.yml 2>/dev/null || true; } | sha256sum | cut -c1-16)

prom_reuse RELEASEGATE_TEST_PROMETHEUS

rm -rf "$STATE"
mkdir -p "$STATE/data" "$STATE/rules"
log "backfilling $DATA_FILE"
promtool tsdb create-blocks-from openmetrics -q "$DATA_FILE" "$STATE/data" >&2
# Benchmark data: 200 tenants, 1 hour at 1-minute steps, ending where
# metrics.om ends (2026-11-28T00:00:00Z), for the check-slo speed benchmark.
awk 'BEGIN {
  end = 1795824000
  print "# TYPE bench_requests counter"
  for (t = 0; t < 200; t++) for (c = 0; c < 2; c++) for (i = 0; i <= 60; i++)
    printf "bench_requests_total{code=\"%s\",tenant=\"t%03d\"} %d %d\n", (c ? "500" : "200"), t, i * (c ? (t % 7) : 600), end - 3600 + 60 * i
  print "# EOF"
}' >"$STATE/bench.om"
promtool tsdb create-blocks-from openmetrics -q "$STATE/bench.om" "$STATE/data" >&2
if compgen -G "$RULES_DIR/*.yml" >/dev/null; then
  cp "$RULES_DIR"/*.yml "$STATE/rules/"
fi
cat >"$STATE/prometheus.yml" <<CONF
global:
  scrape_interval: 15s
  evaluation_interval: 15s
rule_files:
  - $STATE/rules/*.yml
CONF

prom_start RELEASEGATE_TEST_PROMETHEUS 30
