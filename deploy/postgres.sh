#!/usr/bin/env bash
# A local PostgreSQL for the iteris journal: Debian's package, a data directory of its own, listening on
# 127.0.0.1 only. Prints the JDBC URL on start.
#   deploy/postgres.sh start|stop|status|url
# Settings: ITERIS_PG_DIR (default $TMPDIR/iteris-postgres), ITERIS_PG_PORT (default 54329).
set -euo pipefail

cmd="${1:-start}"
dir="${ITERIS_PG_DIR:-${TMPDIR:-/tmp}/iteris-postgres}"
port="${ITERIS_PG_PORT:-54329}"
url="jdbc:postgresql://127.0.0.1:$port/iteris"

pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

install_if_missing() {
  if [ -z "$(pgbin)" ]; then
    echo "postgres.sh: installing Debian's postgresql package" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q postgresql >/dev/null
  fi
}

# PostgreSQL refuses to run as root: run its tools as the postgres user then.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  start)
    install_if_missing
    bin="$(pgbin)"
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_pg "$bin/initdb" -D "$dir/data" -U iteris --auth=trust >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if ! as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -c listen_addresses=127.0.0.1 -k $dir" start >/dev/null \
        || { tail -n 30 "$dir/server.log" >&2; exit 1; }
    fi
    as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U iteris -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'iteris'" | grep -q 1 \
      || as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U iteris iteris
    echo "$url"
    ;;
  stop)
    bin="$(pgbin)"
    if [ -n "$bin" ] && [ -f "$dir/data/PG_VERSION" ]; then
      as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
  status)
    bin="$(pgbin)"
    as_pg "$bin/pg_ctl" -D "$dir/data" status
    ;;
  url)
    echo "$url"
    ;;
  *)
    echo "usage: deploy/postgres.sh start|stop|status|url" >&2
    exit 2
    ;;
esac
