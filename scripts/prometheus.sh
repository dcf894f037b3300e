#!/usr/bin/env bash
# prometheus.sh — Debian's Prometheus (2.42, /usr/bin/prometheus) scraping a simulator's
# /metrics (`kswarm sim --metrics-listen`), optionally preloaded with a backfill
# (`kswarm sim --backfill … --backfill-out FILE`), for the tests and the demo.
#
# Usage:
#   scripts/prometheus.sh start --name ENV --target HOST:PORT [--backfill FILE]
#   scripts/prometheus.sh stop  --name ENV
#   scripts/prometheus.sh env   --name ENV     print `export KSWARM_PROM_URL=…` for eval
#
# Layout: ${KSWARM_STATE:-~/.local/state/kswarm}/prom-ENV/ holds prometheus.yml, data/,
# prometheus.log, prometheus.pid and port. Prometheus listens on 127.0.0.1 at a free port
# (from 19090 up), scrapes the target every 5 s (job "kswarm-sim") and keeps 90 days, so a
# backfill of weeks stays queryable. `start` loads the backfill with
# `promtool tsdb create-blocks-from openmetrics` into data/ before Prometheus starts (it
# replaces the environment's data: one backfill per start). `stop` signals only the PID in
# prometheus.pid, and only when that process is a prometheus using this environment's data.
set -euo pipefail

PROMETHEUS=${KSWARM_PROMETHEUS:-/usr/bin/prometheus}
PROMTOOL=${KSWARM_PROMTOOL:-/usr/bin/promtool}
STATE_ROOT="${KSWARM_STATE:-$HOME/.local/state/kswarm}"

die() { echo "prometheus.sh: $*" >&2; exit 1; }

cmd=${1:-}; [ $# -gt 0 ] && shift
name="" target="" backfill=""
while [ $# -gt 0 ]; do
  case $1 in
    --name) name=${2:?--name needs a value}; shift 2 ;;
    --target) target=${2:?--target needs a value}; shift 2 ;;
    --backfill) backfill=${2:?--backfill needs a value}; shift 2 ;;
    *) die "unknown argument '$1'" ;;
  esac
done
[ -n "$name" ] || die "--name ENV is required"
case $name in *[!A-Za-z0-9_-]*) die "--name '$name': letters, digits, - and _ only" ;; esac
dir="$STATE_ROOT/prom-$name"
pidfile="$dir/prometheus.pid"

# The PID in the pid file when it is our prometheus (this environment's data dir), else "".
our_pid() {
  [ -f "$pidfile" ] || return 0
  local pid; pid=$(cat "$pidfile")
  case $pid in ''|*[!0-9]*) return 0 ;; esac
  [ -r "/proc/$pid/cmdline" ] || return 0
  if tr '\0' '\n' < "/proc/$pid/cmdline" | grep -qx -- "--storage.tsdb.path=$dir/data" &&
     [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$PROMETHEUS")" ]; then
    echo "$pid"
  fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  [ -n "$target" ] || die "start needs --target HOST:PORT"
  case $target in 127.*:*|localhost:*) ;; *) die "--target '$target': loopback only" ;; esac
  [ -x "$PROMETHEUS" ] || die "$PROMETHEUS not found (apt-get install prometheus)"
  [ -z "$(our_pid)" ] || die "environment '$name' already runs (pid $(our_pid)); stop it first"
  mkdir -p "$dir"
  rm -rf "$dir/data"
  mkdir -p "$dir/data"
  if [ -n "$backfill" ]; then
    [ -r "$backfill" ] || die "backfill file '$backfill' cannot be read"
    echo "prometheus.sh: loading $backfill into $dir/data" >&2
    "$PROMTOOL" tsdb create-blocks-from openmetrics "$backfill" "$dir/data" \
      >"$dir/promtool.log" 2>&1 || { tail -20 "$dir/promtool.log" >&2; die "promtool failed"; }
  fi
  cat >"$dir/prometheus.yml" <<YAML
global:
  scrape_interval: 5s
  evaluation_interval: 5s
scrape_configs:
  - job_name: kswarm-sim
    honor_labels: true
    static_configs:
      - targets: ['$target']
YAML
  local port
  for port in $(seq 19090 19190); do
    port_free "$port" || continue
    "$PROMETHEUS" --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
      --storage.tsdb.retention.time=90d --web.listen-address="127.0.0.1:$port" \
      --web.enable-lifecycle >"$dir/prometheus.log" 2>&1 &
    local pid=$!
    echo "$pid" >"$pidfile"
    echo "$port" >"$dir/port"
    for _ in $(seq 1 100); do
      if ! kill -0 "$pid" 2>/dev/null; then break; fi
      if curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then
        echo "prometheus.sh: '$name' ready at http://127.0.0.1:$port (pid $pid), scraping $target"
        return 0
      fi
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"; wait "$pid" 2>/dev/null || true
      tail -20 "$dir/prometheus.log" >&2; die "prometheus did not become ready"
    fi
    wait "$pid" 2>/dev/null || true
    # lost a race for the port: try the next one
    grep -q "address already in use" "$dir/prometheus.log" || {
      tail -20 "$dir/prometheus.log" >&2; die "prometheus exited"; }
  done
  die "no free port in 19090-19190"
}

stop() {
  local pid; pid=$(our_pid)
  if [ -z "$pid" ]; then echo "prometheus.sh: '$name' is not running"; rm -f "$pidfile"; return 0; fi
  kill "$pid"
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  rm -f "$pidfile"
  echo "prometheus.sh: '$name' stopped (pid $pid)"
}

env_cmd() {
  [ -n "$(our_pid)" ] || die "environment '$name' is not running"
  echo "export KSWARM_PROM_URL=http://127.0.0.1:$(cat "$dir/port")"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  env) env_cmd ;;
  *) die "usage: prometheus.sh start|stop|env --name ENV [--target HOST:PORT] [--backfill FILE]" ;;
esac
