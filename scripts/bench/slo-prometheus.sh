#!/usr/bin/env bash
# Start a Prometheus holding the check-slo speed benchmark's data and print
#   RELEASEGATE_BENCH_PROMETHEUS=http://127.0.0.1:PORT
# on stdout (logs go to stderr). Not part of `make services`: the data takes a
# few minutes to build. Idempotent: a server this script started is reused
# while it answers and holds the same data.
#
# Data: 200 tenants, 3 days at 1-minute steps ending 2026-11-28T00:00:00Z
# (where testdata/slo/metrics.om ends), 11 series per tenant, 9.5M samples:
#   bench_http_requests_total{tenant, track=baseline|canary, code=200|500}
#     540 baseline and 60 canary requests a minute, 0.05% errors; every 25th
#     tenant (t000, t025, …) fails 3% of requests for the last 90 minutes and
#     every 25th from t001 fails 5% of its canary for the last 40 minutes.
#   bench_http_request_duration_seconds_bucket{tenant, le}
#     le 0.05 … 2.5, +Inf over all 600 requests a minute; every 40th tenant
#     from t003 has 3% of requests slower than 0.5s for the last 2 hours.
# The server runs with Prometheus's default --query.max-concurrency=20.
set -euo pipefail

log() { printf 'slo-prometheus.sh: %s\n' "$*" >&2; }

STATE=${RELEASEGATE_BENCH_PROMETHEUS_STATE:-${TMPDIR:-/tmp}/releasegate-bench-prometheus}

command -v prometheus >/dev/null && command -v promtool >/dev/null && command -v curl >/dev/null ||
  { log "needs prometheus, promtool and curl: run scripts/services/prometheus.sh first"; exit 1; }

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/prometheus.sh
. "$ROOT/scripts/lib/prometheus.sh"

STAMP=$(cat "$0" "$ROOT/scripts/lib/prometheus.sh" | sha256sum | cut -c1-16)
prom_reuse RELEASEGATE_BENCH_PROMETHEUS
rm -rf "$STATE"
mkdir -p "$STATE/data"
log "writing 9.5M samples"
awk 'BEGIN {
  end = 1795824000; steps = 4320
  split("0.05 0.1 0.25 0.5 1 2.5 +Inf", le, " ")
  split("0.30 0.60 0.90 0.995 0.999 0.9999 1", frac, " ")
  print "# TYPE bench_http_requests counter"
  for (t = 0; t < 200; t++) {
    tn = sprintf("t%03d", t)
    for (k = 0; k < 2; k++) {
      track = k ? "canary" : "baseline"; per = k ? 60 : 540
      err = 0; tot = 0
      for (i = 0; i <= steps; i++) {
        f = 0.0005
        if (!k && t % 25 == 0 && i > steps - 90) f = 0.03
        if (k && t % 25 == 1 && i > steps - 40) f = 0.05
        if (i > 0) { tot += per; err += per * f }
        ts = end - 60 * (steps - i)
        printf "bench_http_requests_total{code=\"500\",tenant=\"%s\",track=\"%s\"} %.4f %d\n", tn, track, err, ts
        printf "bench_http_requests_total{code=\"200\",tenant=\"%s\",track=\"%s\"} %.4f %d\n", tn, track, tot - err, ts
      }
    }
  }
  print "# TYPE bench_http_request_duration_seconds histogram"
  for (t = 0; t < 200; t++) {
    tn = sprintf("t%03d", t)
    for (b = 1; b <= 7; b++) {
      c = 0
      for (i = 0; i <= steps; i++) {
        f = frac[b]
        if (t % 40 == 3 && i > steps - 120 && b <= 4) f = frac[b] * 0.97
        if (i > 0) c += 600 * f
        printf "bench_http_request_duration_seconds_bucket{le=\"%s\",tenant=\"%s\"} %.4f %d\n", le[b], tn, c, end - 60 * (steps - i)
      }
    }
  }
  print "# EOF"
}' >"$STATE/bench.om"
log "backfilling (takes a few minutes)"
promtool tsdb create-blocks-from openmetrics -q "$STATE/bench.om" "$STATE/data" >&2
rm -f "$STATE/bench.om"
printf 'global:\n  scrape_interval: 1m\n' >"$STATE/prometheus.yml"

# Prometheus compacts the backfilled blocks for a while after start: wait
# for the load to settle before measuring.
prom_start RELEASEGATE_BENCH_PROMETHEUS 60 --query.max-concurrency=20
