#!/usr/bin/env bash
# `kswarm watch`: the existing objects first, then every change as it happens, as table
# lines and as JSON lines. TAP output. Needs KSWARM_TEST_KUBECONFIG, KSWARM_TEST_KUBECTL,
# KSWARM_BIN.
set -uo pipefail
: "${KSWARM_TEST_KUBECONFIG:?needs the local control plane}" "${KSWARM_TEST_KUBECTL:?}" "${KSWARM_BIN:?}"
export KUBECONFIG=$KSWARM_TEST_KUBECONFIG
k() { "$KSWARM_TEST_KUBECTL" "$@" >/dev/null 2>&1; }
ns=kst-watch-$$
tmp=$(mktemp -d)
n=0 failed=0
cleanup() { k delete ns "$ns" --wait=false; rm -rf "$tmp"; }
trap cleanup EXIT
check() { # description, command...
  local what=$1; shift
  n=$((n + 1))
  if "$@"; then echo "ok $n - $what"; else failed=$((failed + 1)); echo "not ok $n - $what"; sed 's/^/# /' "$tmp"/*.out | head -20; fi
}

k create ns "$ns"
k create configmap before -n "$ns" --from-literal=a=1
"$KSWARM_BIN" watch configmaps -n "$ns" --timeout 8 >"$tmp/table.out" 2>"$tmp/table.err" &
t=$!
"$KSWARM_BIN" watch configmaps -n "$ns" -o json --no-initial --timeout 8 >"$tmp/json.out" 2>"$tmp/json.err" &
j=$!
sleep 2
k create configmap during -n "$ns" --from-literal=b=2
k patch configmap during -n "$ns" -p '{"data":{"b":"3"}}'
k delete configmap during -n "$ns"
wait "$t" "$j"

check "table: existing objects first" grep -qE '^EXISTING +kst-watch-[0-9]+ +before ' "$tmp/table.out"
check "table: ADDED, MODIFIED, DELETED in order" \
  bash -c "grep -oE '^(ADDED|MODIFIED|DELETED) +[^ ]+ +during' '$tmp/table.out' | awk '{print \$1}' | uniq | tr '\n' ' ' | grep -q '^ADDED MODIFIED DELETED \$'"
check "json: --no-initial skips existing objects" bash -c "! grep -q '\"name\":\"before\"' '$tmp/json.out'"
check "json: one event object per line" \
  bash -c "jq -r '.type + \" \" + .object.metadata.name' '$tmp/json.out' | grep -c during | grep -qx 3"
check "json: the patched value arrives" bash -c "jq -r 'select(.type==\"MODIFIED\") | .object.data.b' '$tmp/json.out' | grep -qx 3"
check "no errors on stderr" bash -c "[ ! -s '$tmp/table.err' ] && [ ! -s '$tmp/json.err' ]"
echo "1..$n"
[ "$failed" -eq 0 ]
