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

ready() { curl -fsS -m 2 "http://127.0.0.1:$1/-/ready" >/dev/null 2>&1; }

stamp=$( { cat "$0" "$DATA_FILE"; cat "$RULES_DIR"/*.yml 2>/dev/null || true; } | sha256sum | cut -c1-16)

# Reuse a running server with the same data.
if [ -f "$STATE/port" ] && [ -f "$STATE/pid" ] && [ "$(cat "$STATE/stamp" 2>/dev/null)" = "$stamp" ]; then
  port=$(cat "$STATE/port")
  if kill -0 "$(cat "$STATE/pid")" 2>/dev/null && ready "$port"; then
    log "reusing server in $STATE on port $port"
    echo "RELEASEGATE_TEST_PROMETHEUS=http://127.0.0.1:$port"
    exit 0
  fi
fi
if [ -f "$STATE/pid" ]; then
  pid=$(cat "$STATE/pid")
  if kill -0 "$pid" 2>/dev/null && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = prometheus ]; then
    log "stopping stale server $pid"
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
fi

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

# A free loopback port: bash /dev/tcp connects succeed only on a bound port.
port=""
for _ in $(seq 100); do
  p=$((20000 + RANDOM % 20000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { log "no free port found"; exit 1; }

log "starting prometheus on 127.0.0.1:$port in $STATE"
setsid prometheus \
  --config.file="$STATE/prometheus.yml" \
  --storage.tsdb.path="$STATE/data" \
  --storage.tsdb.retention.time=100y \
  --web.listen-address="127.0.0.1:$port" \
  >"$STATE/prometheus.log" 2>&1 </dev/null &
echo $! >"$STATE/pid"
echo "$port" >"$STATE/port"

for _ in $(seq 150); do
  if ready "$port"; then
    echo "$stamp" >"$STATE/stamp"
    log "ready"
    echo "RELEASEGATE_TEST_PROMETHEUS=http://127.0.0.1:$port"
    exit 0
  fi
  if ! kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then
    log "prometheus exited; its log:"; tail -20 "$STATE/prometheus.log" >&2; exit 1
  fi
  sleep 0.2
done
log "prometheus did not become ready in 30s; its log:"; tail -20 "$STATE/prometheus.log" >&2
exit 1
