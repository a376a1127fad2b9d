# shellcheck shell=bash
# The lifecycle of a throwaway Prometheus kept in a state directory, shared
# by scripts/services/prometheus.sh (tests) and scripts/bench/slo-prometheus.sh
# (benchmark). Source it after setting STATE, STAMP (a digest of what the
# data is built from) and a log function. Each script prints NAME=URL on
# stdout, logs on stderr.

prom_ready() { curl -fsS -m 2 "http://127.0.0.1:$1/-/ready" >/dev/null 2>&1; }

# prom_reuse NAME: print NAME=URL and exit when a server this script started
# still answers and holds the same data; else stop a stale one.
prom_reuse() {
  if [ -f "$STATE/port" ] && [ -f "$STATE/pid" ] && [ "$(cat "$STATE/stamp" 2>/dev/null)" = "$STAMP" ]; then
    local port
    port=$(cat "$STATE/port")
    if kill -0 "$(cat "$STATE/pid")" 2>/dev/null && prom_ready "$port"; then
      log "reusing server in $STATE on port $port"
      echo "$1=http://127.0.0.1:$port"
      exit 0
    fi
  fi
  if [ -f "$STATE/pid" ]; then
    local pid
    pid=$(cat "$STATE/pid")
    if kill -0 "$pid" 2>/dev/null && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = prometheus ]; then
      log "stopping stale server $pid"
      kill "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  fi
}

# prom_start NAME TIMEOUT_S [FLAG...]: start prometheus on a free loopback
# port over $STATE/prometheus.yml and $STATE/data, wait until it is ready,
# print NAME=URL and exit; exit 1 with its log when it does not come up.
prom_start() {
  local name=$1 timeout=$2 port="" p
  shift 2
  # A free loopback port: bash /dev/tcp connects succeed only on a bound port.
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
    "$@" \
    >"$STATE/prometheus.log" 2>&1 </dev/null &
  echo $! >"$STATE/pid"
  echo "$port" >"$STATE/port"

  for _ in $(seq $((timeout * 5))); do
    if prom_ready "$port"; then
      echo "$STAMP" >"$STATE/stamp"
      log "ready"
      echo "$name=http://127.0.0.1:$port"
      exit 0
    fi
    if ! kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then
      log "prometheus exited; its log:"; tail -20 "$STATE/prometheus.log" >&2; exit 1
    fi
    sleep 0.2
  done
  log "prometheus did not become ready in ${timeout}s; its log:"; tail -20 "$STATE/prometheus.log" >&2
  exit 1
}
