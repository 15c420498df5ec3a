#!/usr/bin/env bash
# A local PostgreSQL for the iteris journal: Debian's package, a data directory of its own, listening on
# 127.0.0.1 only, with password (SCRAM-SHA-256) authentication for the user iteris. The password is random,
# made once, and kept in $ITERIS_PG_DIR/password (mode 600): give nodes --journal-password-file with that path.
# It never goes on a command line (the server and psql read it from files). Prints the JDBC URL on start.
#   deploy/postgres.sh start|stop|status|url|password-file
# Settings: ITERIS_PG_DIR (default $TMPDIR/iteris-postgres), ITERIS_PG_PORT (default 54329), ITERIS_PG_HOST (the address
# it listens on, default 127.0.0.1; another address, as deploy/slurm/iteris.sbatch gives, also admits the hosts of that
# address's networks, with the same password).
set -euo pipefail

cmd="${1:-start}"
dir="${ITERIS_PG_DIR:-${TMPDIR:-/tmp}/iteris-postgres}"
port="${ITERIS_PG_PORT:-54329}"
host="${ITERIS_PG_HOST:-127.0.0.1}"
url="jdbc:postgresql://$host:$port/iteris"

pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

install_if_missing() {
  if [ -z "$(pgbin)" ]; then
    echo "postgres.sh: installing Debian's postgresql package" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q postgresql >/dev/null
  fi
}

# PostgreSQL refuses to run as root: run its tools as the postgres user then (files they read are theirs).
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
give_pg() {
  if [ "$(id -u)" = 0 ]; then chown postgres: "$@"; fi
}

case "$cmd" in
  start)
    install_if_missing
    bin="$(pgbin)"
    mkdir -p "$dir"
    give_pg "$dir"
    if [ ! -f "$dir/password" ]; then
      if [ -f "$dir/data/PG_VERSION" ]; then
        echo "postgres.sh: $dir/data was made without a password (an older postgres.sh); remove $dir to make it anew" >&2
        exit 1
      fi
      (umask 077; head -c 32 /dev/urandom | base64 | tr -d '/+=\n' | head -c 32 > "$dir/password")
    fi
    give_pg "$dir/password"
    # libpq's password file for psql and createdb below: host:port:db:user:password, private to its owner
    (umask 077; printf '%s:%s:*:iteris:%s\n' "$host" "$port" "$(cat "$dir/password")" > "$dir/pgpass")
    give_pg "$dir/pgpass"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_pg "$bin/initdb" -D "$dir/data" -U iteris --auth=scram-sha-256 --pwfile="$dir/password" >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if [ "$host" != 127.0.0.1 ] && ! grep -q '^host iteris iteris samenet' "$dir/data/pg_hba.conf"; then
      # nodes on other hosts of this address's networks, with the password (initdb admits loopback only)
      echo 'host iteris iteris samenet scram-sha-256' >>"$dir/data/pg_hba.conf"
    fi
    if ! as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -c listen_addresses=$host -k $dir" start >/dev/null \
        || { tail -n 30 "$dir/server.log" >&2; exit 1; }
    fi
    as_pg env PGPASSFILE="$dir/pgpass" "$bin/psql" -h "$host" -p "$port" -U iteris -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'iteris'" | grep -q 1 \
      || as_pg env PGPASSFILE="$dir/pgpass" "$bin/createdb" -h "$host" -p "$port" -U iteris iteris
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
  password-file)
    echo "$dir/password"
    ;;
  *)
    echo "usage: deploy/postgres.sh start|stop|status|url|password-file" >&2
    exit 2
    ;;
esac
