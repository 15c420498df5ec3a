#!/usr/bin/env bash
# N iteris nodes on 127.0.0.1 sharing a journal and a checkpoint directory, with mutual TLS; managed by their
# recorded pids and command lines.
#   deploy/local-cluster.sh start N      start N nodes; every node lists all N as seeds (the first forms the cluster),
#                                        so a restarted node, the first included, rejoins the running cluster
#   deploy/local-cluster.sh status       which recorded nodes are alive
#   deploy/local-cluster.sh kill PORT    SIGKILL the node on PORT (no shutdown, no leaving: a crash)
#   deploy/local-cluster.sh restart PORT start the node on PORT again with its recorded command line
#   deploy/local-cluster.sh stop         stop them all (TERM, then KILL after 30 s), and a PostgreSQL this script started
# Every node serves its web console and /metrics (HTTPS with a bearer token under TLS, the token in
# $ITERIS_CLUSTER_DIR/console-token; plain HTTP on loopback without): `start` writes their URLs to
# $ITERIS_CLUSTER_DIR/console-urls, one per line; ports from ITERIS_CLUSTER_HTTP_PORT (default 8558) up, 0: no console.
# `start` writes $ITERIS_CLUSTER_DIR/client-flags: the flags merge, status and events need to reach this cluster:
#   bin/iteris merge --config merge.conf --out DIR $(cat "$ITERIS_CLUSTER_DIR/client-flags")
# Settings: ITERIS_CLUSTER_DIR (default $TMPDIR/iteris-local-cluster), ITERIS_CLUSTER_PORT (first port, default 25520),
# ITERIS_CLUSTER_JOURNAL (a JDBC URL; default: a PostgreSQL of our own via deploy/postgres.sh, password in a file),
# ITERIS_CLUSTER_JOURNAL_USER and ITERIS_CLUSTER_JOURNAL_PASSWORD_FILE (for your own journal),
# ITERIS_CLUSTER_TLS (on by default; off: plain TCP, loopback only), ITERIS_NODE_CMD (how to run iteris; default bin/iteris).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${ITERIS_CLUSTER_DIR:-${TMPDIR:-/tmp}/iteris-local-cluster}"
port0="${ITERIS_CLUSTER_PORT:-25520}"
http0="${ITERIS_CLUSTER_HTTP_PORT:-8558}"
node_cmd="${ITERIS_NODE_CMD:-$here/bin/iteris}"

alive() { # PID: running (a killed process not yet reaped by its parent is a zombie: not alive)
  kill -0 "$1" 2>/dev/null && ! grep -q '^[^)]*) Z' "/proc/$1/stat" 2>/dev/null
}

launch() { # PORT: run the recorded command line in the background, record the pid
  local port="$1"
  # shellcheck disable=SC1090
  source "$dir/node-$port.cmd"
  # shellcheck disable=SC2086,SC2154
  nohup $recorded_cmd "${recorded_args[@]}" >>"$dir/logs/node-$port.log" 2>&1 &
  echo $! >"$dir/node-$port.pid"
}

await_up() { # PORT UPS: wait until the log shows more than UPS "node up" lines
  local port="$1" before="$2" waited=0
  until [ "$(grep -c "iteris node up" "$dir/logs/node-$port.log" 2>/dev/null || true)" -gt "$before" ]; do
    if ! alive "$(cat "$dir/node-$port.pid")" || [ "$waited" -ge 180 ]; then
      echo "local-cluster.sh: node $port did not come up; its log:" >&2
      tail -n 20 "$dir/logs/node-$port.log" >&2
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

ups() { grep -c "iteris node up" "$dir/logs/node-$1.log" 2>/dev/null || true; }

start() {
  local n="$1"
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "local-cluster.sh: start needs a node count, got '$n'" >&2; exit 2; }
  mkdir -p "$dir/store" "$dir/logs"
  local journal="${ITERIS_CLUSTER_JOURNAL:-}" user="${ITERIS_CLUSTER_JOURNAL_USER:-}" pwfile="${ITERIS_CLUSTER_JOURNAL_PASSWORD_FILE:-}"
  if [ -z "$journal" ]; then
    journal="$(ITERIS_PG_DIR="$dir/postgres" "$here/deploy/postgres.sh" start)"
    user=iteris
    pwfile="$(ITERIS_PG_DIR="$dir/postgres" "$here/deploy/postgres.sh" password-file)"
    touch "$dir/postgres.ours"
  fi
  echo "$journal" > "$dir/journal"
  local seeds="" names=(client) i
  for ((i = 0; i < n; i++)); do
    seeds="$seeds${seeds:+,}127.0.0.1:$((port0 + i))"
    names+=("node-$((port0 + i))")
  done
  local tls=on
  [ "${ITERIS_CLUSTER_TLS:-on}" = off ] && tls=off
  if [ "$tls" = on ]; then
    # the consoles answer on 127.0.0.1: the certificates name it, so a client checking them against the CA accepts them
    ITERIS_CERT_SAN="ip:127.0.0.1,dns:localhost" "$here/deploy/certs.sh" "$dir/tls" "${names[@]}" >/dev/null
    if [ "$http0" != 0 ] && [ ! -s "$dir/console-token" ]; then
      (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/console-token")
    fi
  fi
  : >"$dir/console-urls"
  local common=(--journal "$journal" --store "$dir/store")
  [ -n "$user" ] && common+=(--journal-user "$user")
  [ -n "$pwfile" ] && common+=(--journal-password-file "$pwfile")
  for ((i = 0; i < n; i++)); do
    local port=$((port0 + i))
    local args=(node --seed "$seeds" --port "$port" --work-dir "$dir/node-$port" "${common[@]}")
    [ "$tls" = on ] && args+=(--tls "$dir/tls/node-$port")
    if [ "$http0" != 0 ]; then
      args+=(--http-port $((http0 + i)))
      [ "$tls" = on ] && args+=(--http-token-file "$dir/console-token")
      echo "$([ "$tls" = on ] && echo https || echo http)://127.0.0.1:$((http0 + i))/" >>"$dir/console-urls"
    fi
    { printf 'recorded_cmd=%q\n' "$node_cmd"; printf 'recorded_args=('; printf '%q ' "${args[@]}"; printf ')\n'; } >"$dir/node-$port.cmd"
    launch "$port"
  done
  for ((i = 0; i < n; i++)); do
    await_up $((port0 + i)) 0
  done
  local client=(--cluster "$seeds" "${common[@]}")
  [ "$tls" = on ] && client+=(--tls "$dir/tls/client")
  echo "${client[*]}" >"$dir/client-flags"
  echo "cluster up: $n nodes, seeds $seeds, $([ "$tls" = on ] && echo "mutual TLS" || echo "plain TCP")"
  echo "journal: $journal"
  echo "store: $dir/store"
  echo "client flags: $dir/client-flags"
  [ "$http0" != 0 ] && echo "consoles: $dir/console-urls$([ "$tls" = on ] && echo " (token in $dir/console-token, CA $dir/tls/ca/ca.crt)")"
  return 0
}

status() {
  local any=0
  for f in "$dir"/node-*.pid; do
    [ -e "$f" ] || continue
    any=1
    local pid port
    pid="$(cat "$f")"; port="$(basename "$f" .pid)"; port="${port#node-}"
    if alive "$pid"; then echo "node 127.0.0.1:$port pid $pid up"; else echo "node 127.0.0.1:$port pid $pid gone"; fi
  done
  [ "$any" = 1 ] || echo "no nodes recorded in $dir"
}

killnode() {
  local port="$1"
  [ -f "$dir/node-$port.pid" ] || { echo "local-cluster.sh: no node recorded on port $port" >&2; exit 2; }
  local pid
  pid="$(cat "$dir/node-$port.pid")"
  kill -9 "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
  echo "node 127.0.0.1:$port killed"
}

restart() {
  local port="$1"
  [ -f "$dir/node-$port.cmd" ] || { echo "local-cluster.sh: no command line recorded for port $port" >&2; exit 2; }
  if [ -f "$dir/node-$port.pid" ] && alive "$(cat "$dir/node-$port.pid")"; then
    echo "local-cluster.sh: node $port is still running (kill it first)" >&2; exit 1
  fi
  local before
  before="$(ups "$port")"
  launch "$port"
  await_up "$port" "$before"
  echo "node 127.0.0.1:$port restarted"
}

stop() {
  for f in "$dir"/node-*.pid; do
    [ -e "$f" ] || continue
    local pid
    pid="$(cat "$f")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do alive "$pid" || break; sleep 1; done
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
  kill) killnode "${2:?kill needs a PORT}" ;;
  restart) restart "${2:?restart needs a PORT}" ;;
  stop) stop ;;
  *) echo "usage: deploy/local-cluster.sh start N|status|kill PORT|restart PORT|stop" >&2; exit 2 ;;
esac
