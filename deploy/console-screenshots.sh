#!/usr/bin/env bash
# Refreshes the console and report screenshots in docs/: starts a local 3-node cluster (plain TCP on loopback, with
# local-cluster.sh's own PostgreSQL journal), merges examples/demo on it, and has headless Chromium
# (Debian package chromium) photograph the cluster, jobs and job pages and the merge's report.
#   deploy/console-screenshots.sh [OUT_DIR]     default docs/
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$here/docs}"
command -v chromium >/dev/null || { echo "console-screenshots.sh: needs chromium (apt-get install chromium)" >&2; exit 1; }
work="$(mktemp -d "${TMPDIR:-/tmp}/iteris-shots.XXXXXX")"
chmod 755 "$work" # the PostgreSQL local-cluster.sh starts runs as its own user
export ITERIS_CLUSTER_DIR="$work/cluster" ITERIS_CLUSTER_TLS=off
export ITERIS_CLUSTER_PORT="${ITERIS_CLUSTER_PORT:-27520}" ITERIS_CLUSTER_HTTP_PORT="${ITERIS_CLUSTER_HTTP_PORT:-9658}"
trap '"$here/deploy/local-cluster.sh" stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
"$here/deploy/local-cluster.sh" start 3
# shellcheck disable=SC2046
"$here/bin/iteris" merge --config "$here/examples/demo/merge.conf" --out "$work/merged" $(cat "$ITERIS_CLUSTER_DIR/client-flags") >/dev/null
console="$(head -n 1 "$ITERIS_CLUSTER_DIR/console-urls")"
job="$(curl -s "${console}api/jobs" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')"
shot() { # FILE URL HEIGHT
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --virtual-time-budget=3000 --window-size="1200,$3" \
    --screenshot="$1" "$2" 2>/dev/null
  echo "wrote $1"
}
shot "$out/console-cluster.png" "$console" 420
shot "$out/console-jobs.png" "${console}jobs" 320
shot "$out/console-job.png" "${console}jobs/$job" 1500
shot "$out/report.png" "file://$work/merged/report.html" 2000
