#!/usr/bin/env bash
# N iteris nodes on 127.0.0.1 sharing a journal and a checkpoint directory; stopped by their recorded pids.
#   deploy/local-cluster.sh start N     start N nodes (the first on ITERIS_CLUSTER_PORT seeds the cluster)
#   deploy/local-cluster.sh status      which recorded nodes are alive
#   deploy/local-cluster.sh stop        stop them (TERM, then KILL after 30 s), and a PostgreSQL this script started
# Settings: ITERIS_CLUSTER_DIR (default $TMPDIR/iteris-local-cluster), ITERIS_CLUSTER_PORT (default 25520),
# ITERIS_CLUSTER_JOURNAL (a JDBC URL; default: a PostgreSQL of our own via deploy/postgres.sh),
# ITERIS_NODE_CMD (how to run iteris; default bin/iteris).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${ITERIS_CLUSTER_DIR:-${TMPDIR:-/tmp}/iteris-local-cluster}"
port0="${ITERIS_CLUSTER_PORT:-25520}"
node_cmd="${ITERIS_NODE_CMD:-$here/bin/iteris}"

start() {
  local n="$1"
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "local-cluster.sh: start needs a node count, got '$n'" >&2; exit 2; }
  mkdir -p "$dir/store" "$dir/logs"
  local journal="${ITERIS_CLUSTER_JOURNAL:-}" user=""
  if [ -z "$journal" ]; then
    journal="$(ITERIS_PG_DIR="$dir/postgres" "$here/deploy/postgres.sh" start)"
    user=iteris
    touch "$dir/postgres.ours"
  fi
  echo "$journal" > "$dir/journal"
  for ((i = 0; i < n; i++)); do
    local port=$((port0 + i))
    # shellcheck disable=SC2086
    nohup $node_cmd node --seed "127.0.0.1:$port0" --port "$port" --journal "$journal" --journal-user "$user" \
      --store "$dir/store" --work-dir "$dir/node-$port" >"$dir/logs/node-$port.log" 2>&1 &
    echo $! >"$dir/node-$port.pid"
  done
  for ((i = 0; i < n; i++)); do
    local port=$((port0 + i)) waited=0
    until grep -q "iteris node up" "$dir/logs/node-$port.log" 2>/dev/null; do
      if ! kill -0 "$(cat "$dir/node-$port.pid")" 2>/dev/null || [ "$waited" -ge 180 ]; then
        echo "local-cluster.sh: node $port did not come up; its log:" >&2
        tail -n 20 "$dir/logs/node-$port.log" >&2
        exit 1
      fi
      sleep 1
      waited=$((waited + 1))
    done
  done
  echo "cluster up: $n nodes, seed 127.0.0.1:$port0"
  echo "journal: $journal"
  echo "store: $dir/store"
}

status() {
  local any=0
  for f in "$dir"/node-*.pid; do
    [ -e "$f" ] || continue
    any=1
    local pid port
    pid="$(cat "$f")"; port="$(basename "$f" .pid)"; port="${port#node-}"
    if kill -0 "$pid" 2>/dev/null; then echo "node 127.0.0.1:$port pid $pid up"; else echo "node 127.0.0.1:$port pid $pid gone"; fi
  done
  [ "$any" = 1 ] || echo "no nodes recorded in $dir"
}

stop() {
  for f in "$dir"/node-*.pid; do
    [ -e "$f" ] || continue
    local pid
    pid="$(cat "$f")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
  done
  if [ -e "$dir/postgres.ours" ]; then
    ITERIS_PG_DIR="$dir/postgres" "$here/deploy/postgres.sh" stop
    rm -f "$dir/postgres.ours"
  fi
  echo "cluster stopped"
}

case "${1:-}" in
  start) start "${2:-3}" ;;
  status) status ;;
  stop) stop ;;
  *) echo "usage: deploy/local-cluster.sh start N|status|stop" >&2; exit 2 ;;
esac
