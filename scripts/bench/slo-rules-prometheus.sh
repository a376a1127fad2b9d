#!/usr/bin/env bash
# Start a Prometheus holding 31 days of history for the SLO rule evaluation
# cost benchmark and print
#   RELEASEGATE_BENCH_RULES_PROMETHEUS=http://127.0.0.1:PORT
# on stdout (logs go to stderr). Not part of `make services`, and apart from
# the check-slo benchmark's server (scripts/bench/slo-prometheus.sh): the
# data takes ≈ 20 minutes to build on a busy 2-core machine. Idempotent: a server this script started
# is reused while it answers and holds the same data.
#
# Data: 100 tenants, 31 days at 1-minute steps ending 2026-11-28T00:00:00Z,
# 3 series per tenant, 13.4M samples:
#   bench_http_requests_total{tenant, code=200|500}
#     a daily cycle of 120 to 1080 requests a minute (600 on average), 0.05%
#     errors; every 10th tenant (t000, t010, …) fails 0.5% of its requests in
#     the quietest six hours of each day, so the average of the 5m ratios
#     (Sloth's 30d form) weighs those hours more than the exact ratio does;
#     every 25th tenant fails 3% of requests for the last 90 minutes.
#   bench_http_request_latency_p99_seconds{tenant}
#     a p99 gauge of 0.2s; every 10th tenant from t005 is above 0.5s one
#     minute in 200 (0.5% of minutes), every 25th from t001 for the last hour.
# Then the recording rules of testdata/slo/rulecost/{releasegate,sloth}-rules.yml
# are backfilled with `promtool tsdb create-blocks-from rules`, as running
# them would have recorded them: the 5m error ratios over all 31 days (the
# average forms of the 30d ratio read 30 days of them), every other
# recording rule over the last 15 minutes, in dependency order (a rule
# backfill reads only what the server already holds), restarting the server
# after each step. The server runs with Prometheus's default
# --query.max-concurrency=20.
set -euo pipefail

log() { printf 'slo-rules-prometheus.sh: %s\n' "$*" >&2; }

STATE=${RELEASEGATE_BENCH_RULES_PROMETHEUS_STATE:-${TMPDIR:-/tmp}/releasegate-bench-rules-prometheus}

command -v prometheus >/dev/null && command -v promtool >/dev/null && command -v curl >/dev/null ||
  { log "needs prometheus, promtool and curl: run scripts/services/prometheus.sh first"; exit 1; }

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RULES="$ROOT/testdata/slo/rulecost"
# shellcheck source=../lib/prometheus.sh
. "$ROOT/scripts/lib/prometheus.sh"

STAMP=$(cat "$0" "$ROOT/scripts/lib/prometheus.sh" "$RULES/releasegate-rules.yml" "$RULES/sloth-rules.yml" | sha256sum | cut -c1-16)
prom_reuse RELEASEGATE_BENCH_RULES_PROMETHEUS
rm -rf "$STATE"
mkdir -p "$STATE/data" "$STATE/om"
printf 'global:\n  scrape_interval: 1m\n' >"$STATE/prometheus.yml"

END=1795824000 # 2026-11-28T00:00:00Z
DAYS=31

# One OpenMetrics file per day: promtool 2.42 re-reads its whole input once
# per 2h block, so one 31-day file would be read 372 times.
log "writing 13.4M samples"
awk -v end="$END" -v days="$DAYS" -v dir="$STATE/om" 'BEGIN {
  steps = days * 1440; pi = atan2(0, -1)
  for (d = 0; d < days; d++) {
    f[d] = sprintf("%s/day%02d.om", dir, d)
    print "# TYPE bench_http_requests counter" > f[d]
  }
  for (t = 0; t < 100; t++) {
    tn = sprintf("t%03d", t); err = 0; tot = 0
    for (i = 0; i <= steps; i++) {
      s = sin(2 * pi * (i % 1440) / 1440)
      per = 600 * (1 + 0.8 * s); e = 0.0005
      if (t % 10 == 0 && s < -0.7) e = 0.005
      if (t % 25 == 0 && i > steps - 90) e = 0.03
      if (i > 0) { tot += per; err += per * e }
      d = int(i / 1440); if (d >= days) d = days - 1
      ts = end - 60 * (steps - i)
      printf "bench_http_requests_total{code=\"500\",tenant=\"%s\"} %.4f %d\n", tn, err, ts > f[d]
      printf "bench_http_requests_total{code=\"200\",tenant=\"%s\"} %.4f %d\n", tn, tot - err, ts > f[d]
    }
  }
  for (d = 0; d < days; d++) print "# TYPE bench_http_request_latency_p99_seconds gauge" > f[d]
  for (t = 0; t < 100; t++) {
    tn = sprintf("t%03d", t)
    for (i = 0; i <= steps; i++) {
      v = 0.2
      if (t % 10 == 5 && i % 200 == 7) v = 0.8
      if (t % 25 == 1 && i > steps - 60) v = 0.8
      d = int(i / 1440); if (d >= days) d = days - 1
      printf "bench_http_request_latency_p99_seconds{tenant=\"%s\"} %.3f %d\n", tn, v, end - 60 * (steps - i) > f[d]
    }
  }
  for (d = 0; d < days; d++) { print "# EOF" > f[d]; close(f[d]) }
}'
log "backfilling the raw series, one day at a time"
for f in "$STATE"/om/day*.om; do
  promtool tsdb create-blocks-from openmetrics -q "$f" "$STATE/data" >&2
  rm -f "$f"
done
rmdir "$STATE/om"

# pick REGEX FILE...: the recording rules of FILEs whose name matches REGEX,
# as one rule group (YAML lists cut by indentation; both files are block
# YAML with one rule per list item).
pick() {
  local re=$1
  shift
  printf 'groups:\n  - name: backfill\n    rules:\n'
  awk -v re="$re" '
    function flush() { if (keep) printf "%s", buf; buf = ""; keep = 0 }
    /^ *- (record|alert): / {
      flush(); ind = index($0, "-") - 1; in_item = 1
      keep = ($2 == "record:" && $3 ~ re)
      buf = "      " substr($0, ind + 1) "\n"; next
    }
    in_item && ($0 ~ /^ *$/ || match($0, /^ */) && RLENGTH > ind) { buf = buf "      " substr($0, ind + 1) "\n"; next }
    { flush(); in_item = 0 }
    END { flush() }' "$@"
}

# The data's stamp is written once it is complete: a server left by a run
# that failed half-way is not reused.
start() { URL=$(STAMP=incomplete prom_start RELEASEGATE_BENCH_RULES_PROMETHEUS 300 --query.max-concurrency=20 | cut -d= -f2-); }
stop() {
  local pid
  pid=$(cat "$STATE/pid")
  kill "$pid"
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  log "prometheus $pid did not stop"; exit 1
}

# backfill NAME FROM REGEX FILE...: evaluate the picked rules every minute
# from FROM to END on the running server, then restart it over the result.
backfill() {
  local name=$1 from=$2 re=$3
  shift 3
  pick "$re" "$@" >"$STATE/$name.yml"
  promtool check rules "$STATE/$name.yml" >&2
  log "backfilling rules $name ($(grep -c -- '- record:' "$STATE/$name.yml") rules from $(date -u -d @"$from" +%FT%TZ))"
  rm -rf "$STATE/$name"
  promtool tsdb create-blocks-from rules -q --url "$URL" --start "$from" --end "$END" \
    --eval-interval 60s --output-dir "$STATE/$name" "$STATE/$name.yml" >&2
  stop
  mv "$STATE/$name"/* "$STATE/data/" 2>/dev/null || true
  rm -rf "$STATE/$name"
  start
}

start
RG="$RULES/releasegate-rules.yml" SL="$RULES/sloth-rules.yml"
LAST=$((END - 15 * 60))
backfill rules-5m $((END - DAYS * 86400 + 300)) '^slo:sli_error:ratio_rate5m$' "$RG" "$SL"
backfill rules-windows "$LAST" '^(slo:sli_error:ratio_rate(30m|[0-9]+[hd])|slo:(objective|error_budget):ratio|slo:time_period:days|(sloth|releasegate)_slo_info)$' "$RG" "$SL"
backfill rules-burn "$LAST" '^slo:(current|period)_burn_rate:ratio$' "$SL"
backfill rules-remaining "$LAST" '^slo:period_error_budget_remaining:ratio$' "$RG" "$SL"

# Prometheus compacts the backfilled blocks, starting a minute after start:
# wait until the block count has not changed for 90 seconds before measuring.
prev=-1 same=0
for _ in $(seq 180); do
  # (compaction removes blocks while find walks them)
  n=$( (find "$STATE/data" -maxdepth 2 -name meta.json 2>/dev/null || true) | wc -l)
  if [ "$n" = "$prev" ]; then same=$((same + 1)); else same=0; fi
  [ "$same" -ge 9 ] && break
  prev=$n
  sleep 10
done
log "$n blocks"
echo "$STAMP" >"$STATE/stamp"
echo "RELEASEGATE_BENCH_RULES_PROMETHEUS=$URL"
