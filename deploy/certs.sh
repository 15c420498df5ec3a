#!/usr/bin/env bash
# Certificates for a cluster's mutual TLS, made with the JDK's keytool alone.
#   deploy/certs.sh DIR [NAME...]          a cluster CA in DIR/ca (made once, kept off the nodes), and for every NAME
#                                          (default: node) a TLS directory DIR/NAME for `bin/iteris ... --tls DIR/NAME`:
#                                          keystore.p12 (the node's key, its certificate signed by the CA),
#                                          truststore.p12 (the CA) and password (of both stores, random, mode 600)
#   deploy/certs.sh DIR --renew NAME...    a new key and certificate for existing names (rotation: restart each node after)
#   deploy/certs.sh DIR --trust FILE NAME...  also trust the CA certificate FILE (PEM) in those names' trust stores
#                                          (CA rotation: trust the new CA everywhere before issuing from it)
# Settings: ITERIS_CERT_DAYS (validity of node certificates, default 825), ITERIS_CA_DAYS (default 3650),
# ITERIS_CERT_SAN (subject alternative names of the node certificates, e.g. ip:10.0.0.5,dns:node1: HTTPS clients of the
# node consoles check the host they dial against them).
# No password ever goes on a command line: keytool reads them from the files (-storepass:file).
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: deploy/certs.sh DIR [NAME...] | DIR --renew NAME... | DIR --trust CA.crt NAME..." >&2; exit 2; }
dir="$1"; shift
mode=make
if [ "${1:-}" = "--renew" ]; then mode=renew; shift; fi
if [ "${1:-}" = "--trust" ]; then mode=trust; extra_ca="$2"; shift 2; fi
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(node)
days="${ITERIS_CERT_DAYS:-825}"
ca_days="${ITERIS_CA_DAYS:-3650}"
command -v keytool >/dev/null || { echo "certs.sh: keytool (part of the JDK) is not on the PATH" >&2; exit 1; }
umask 077

run() { # keytool, quiet unless it fails
  local out quick=()
  # a JVM that lives half a second starts faster without the optimising compiler (not key generation: it computes)
  [ "$1" = -genkeypair ] || quick=(-J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC)
  if ! out="$(keytool "${quick[@]}" "$@" 2>&1)"; then echo "certs.sh: keytool $1 failed: $out" >&2; exit 1; fi
}
newpass() { head -c 32 /dev/urandom | base64 | tr -d '/+=\n' | head -c 32; }

for name in "${names[@]}"; do
  [[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "certs.sh: a name is letters, digits, . _ -; got '$name'" >&2; exit 2; }
done

ca="$dir/ca"
if [ "$mode" != trust ] && [ ! -f "$ca/ca.p12" ]; then
  mkdir -p "$ca"
  newpass > "$ca/password"
  run -genkeypair -alias ca -keyalg RSA -keysize 3072 -validity "$ca_days" -dname "CN=iteris cluster CA $(date -u +%Y%m%dT%H%M%SZ)" \
    -ext bc:c -ext ku:c=keyCertSign,cRLSign -keystore "$ca/ca.p12" -storetype PKCS12 -storepass:file "$ca/password"
  run -exportcert -rfc -alias ca -keystore "$ca/ca.p12" -storepass:file "$ca/password" -file "$ca/ca.crt"
  echo "certs.sh: new cluster CA in $ca (keep ca.p12 and its password off the nodes)"
fi

issue() { # one name's stores; runs in a subshell of its own, beside the other names'
  local name="$1" d="$dir/$1" tmp
  if [ "$mode" = trust ]; then
    [ -f "$d/truststore.p12" ] || { echo "certs.sh: no trust store in $d" >&2; exit 1; }
    run -importcert -noprompt -alias "ca-$(date -u +%Y%m%d%H%M%S)-$RANDOM" -file "$extra_ca" -keystore "$d/truststore.p12" -storepass:file "$d/password"
    echo "certs.sh: $d now also trusts $extra_ca"
    return
  fi
  if [ -f "$d/keystore.p12" ] && [ "$mode" != renew ]; then
    echo "certs.sh: $d exists; kept (renew it with --renew $name)"
    return
  fi
  mkdir -p "$d"
  tmp="$(mktemp -d "$dir/.$name.XXXXXX")"
  newpass > "$tmp/password"
  run -genkeypair -alias node -keyalg RSA -keysize 2048 -validity "$days" -dname "CN=$name" \
    -keystore "$tmp/keystore.p12" -storetype PKCS12 -storepass:file "$tmp/password"
  run -certreq -alias node -keystore "$tmp/keystore.p12" -storepass:file "$tmp/password" -file "$tmp/node.csr"
  run -gencert -rfc -alias ca -keystore "$ca/ca.p12" -storepass:file "$ca/password" -validity "$days" \
    -ext ku:c=digitalSignature,keyEncipherment -ext eku=serverAuth,clientAuth ${ITERIS_CERT_SAN:+-ext "san=$ITERIS_CERT_SAN"} \
    -infile "$tmp/node.csr" -outfile "$tmp/node.crt"
  run -importcert -noprompt -alias ca -file "$ca/ca.crt" -keystore "$tmp/keystore.p12" -storepass:file "$tmp/password"
  run -importcert -noprompt -alias node -file "$tmp/node.crt" -keystore "$tmp/keystore.p12" -storepass:file "$tmp/password"
  if [ -f "$d/truststore.p12" ]; then
    # keep every CA the old trust store had (a rotation may be under way), under the new password
    cp "$d/truststore.p12" "$tmp/truststore.p12"
    run -storepasswd -keystore "$tmp/truststore.p12" -storepass:file "$d/password" -new:file "$tmp/password"
  else
    run -importcert -noprompt -alias ca -file "$ca/ca.crt" -keystore "$tmp/truststore.p12" -storetype PKCS12 -storepass:file "$tmp/password"
  fi
  rm -f "$tmp/node.csr"
  mv "$tmp/keystore.p12" "$tmp/truststore.p12" "$tmp/password" "$tmp/node.crt" "$d/"
  rmdir "$tmp"
  echo "certs.sh: $d ready (--tls $d)"
}

# the names at once (each is a few JVM starts); every one must succeed
pids=()
for name in "${names[@]}"; do
  issue "$name" &
  pids+=("$!")
done
failed=0
for pid in "${pids[@]}"; do
  wait "$pid" || failed=1
done
[ "$failed" = 0 ] || { echo "certs.sh: not every name's certificates were made" >&2; exit 1; }
