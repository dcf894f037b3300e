#!/usr/bin/env bash
# `kubectl logs` against pods on `kswarm sim` nodes, through the real API server: it proxies
# /api/v1/.../pods/P/log to the simulator's kubelet endpoint (HTTPS on 127.0.0.1, the port
# the nodes advertise). Checks the containers' startup lines, -c, --timestamps (RFC3339Nano),
# --tail, --limit-bytes, --since, kubectl without -c on a two-container pod, --previous with
# no previous instance (the kubelet's error, relayed), a container the pod lacks (the API
# server's error), the endpoint itself (certificate, /healthz, the kubelet's 404), and that a
# deleted pod's logs are gone. TAP output.
set -uo pipefail
: "${KSWARM_TEST_KUBECONFIG:?needs the local control plane}" "${KSWARM_TEST_KUBECTL:?}" "${KSWARM_BIN:?}"
export KUBECONFIG=$KSWARM_TEST_KUBECONFIG
K=$KSWARM_TEST_KUBECTL
ns=kst-logs-$$
pool=kst-logs-$$
tmp=$(mktemp -d)
sim_pid=""
cleanup() {
  [ -n "$sim_pid" ] && kill -INT "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  "$K" delete ns "$ns" --wait=false >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$KSWARM_SRCDIR/tests/integration/tap.sh"
# Output of a command that must fail, stdout and stderr together.
fails() { if "$@" >"$tmp/out" 2>&1; then echo "(succeeded)"; else cat "$tmp/out"; fi; }
# has WHAT LINE TEXT: TEXT has LINE as one of its lines.
has() { if grep -qxF "$2" <<<"$3"; then ok "$1"; else not_ok "$1" "want: $2" "got:  $3"; fi; }

"$K" create ns "$ns" >/dev/null
"$KSWARM_BIN" sim --nodes 1 --nodepool "$pool" --seed $$ --duration 120 --no-crds \
  >"$tmp/sim.out" 2>&1 &
sim_pid=$!
for _ in $(seq 1 50); do "$K" get nodes -l karpenter.sh/nodepool="$pool" -o name | grep -q . && break; sleep 0.2; done
node=$("$K" get nodes -l karpenter.sh/nodepool="$pool" -o name | head -1)
port=$("$K" get "$node" -o jsonpath='{.status.daemonEndpoints.kubeletEndpoint.Port}')
check "the node advertises the simulator's kubelet port (ephemeral, not 10250)" \
  bash -c "[ -n '$port' ] && [ '$port' -gt 0 ] && [ '$port' -ne 10250 ]"

cat <<YAML | "$K" apply -n "$ns" -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: two}
spec:
  nodeSelector: {karpenter.sh/nodepool: $pool}
  initContainers: [{name: migrate, image: "registry.example.com/shop/migrate:2.1"}]
  containers:
  - {name: web, image: "nginx:1.25", ports: [{containerPort: 8080}]}
  - {name: side, image: "busybox:1.36"}
YAML
check "the pod runs" "$K" wait -n "$ns" --for=condition=Ready pod/two --timeout=60s

L() { "$K" logs -n "$ns" two "$@"; }
eq() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got:  $2" "want: $3"; fi; }
eq "kubectl logs -c web: the startup lines" "$(L -c web 2>&1)" \
  "$(printf 'starting web (image nginx:1.25) in pod %s/two\nlistening on :8080' "$ns")"
eq "kubectl logs -c side: its own line only" "$(L -c side 2>&1)" \
  "starting side (image busybox:1.36) in pod $ns/two"
eq "kubectl logs -c migrate: the init container's lines" "$(L -c migrate 2>&1)" \
  "$(printf 'starting migrate (image registry.example.com/shop/migrate:2.1) in pod %s/two\ndone' "$ns")"
L -c web --timestamps >"$tmp/ts" 2>&1
check "--timestamps prefixes RFC3339Nano (nine digits, UTC)" bash -c "
  [ \$(wc -l <'$tmp/ts') -eq 2 ] &&
  grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}Z starting web ' '$tmp/ts' &&
  grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}Z listening on :8080\$' '$tmp/ts'"
check "the timestamps are the real time of the start (within 5 minutes)" bash -c "
  t=\$(date -u -d \"\$(head -1 '$tmp/ts' | cut -d' ' -f1)\" +%s) && now=\$(date +%s) &&
  [ \$((now - t)) -ge 0 ] && [ \$((now - t)) -lt 300 ]"
eq "--tail 1: one line" "$(L -c web --tail 1 2>&1)" "listening on :8080"
eq "--limit-bytes 5: five bytes" "$(L -c web --limit-bytes 5 2>&1)" "start"
eq "--since 1h: every line" "$(L -c web --since 1h 2>&1 | wc -l)" 2
eq "--follow: what there is, then the end" "$(timeout 20 "$K" logs -n "$ns" two -c web -f 2>&1 | wc -l)" 2

# kubectl (1.2x and later) picks the first container itself and says so; the API server,
# asked without a container, refuses as it does for any pod with two.
out=$(L 2>&1)
check "kubectl logs without -c: kubectl defaults to the first container and says so" bash -c "
  grep -q '^Defaulted container \"web\" out of: web, side' <<<\"\$1\" && grep -qx 'listening on :8080' <<<\"\$1\"" _ "$out"
out=$(fails "$K" get --raw "/api/v1/namespaces/$ns/pods/two/log")
has "the API server without a container: it must be named (init containers first)" \
  "Error from server (BadRequest): a container name must be specified for pod two, choose one of: [migrate web side]" "$out"
out=$(fails L -c web --previous)
has "--previous without a restart: the kubelet's error, relayed" \
  'Error from server (BadRequest): previous terminated container "web" in pod "two" not found' "$out"
out=$(fails "$K" get --raw "/api/v1/namespaces/$ns/pods/two/log?container=nope")
has "a container the pod lacks: the API server's error" \
  'Error from server (BadRequest): container nope is not valid for pod two' "$out"
out=$(fails L -c nope)
has "kubectl logs -c nope fails (kubectl checks the name itself)" \
  'error: container nope is not valid for pod two' "$out"

# The endpoint itself.
check "the endpoint's certificate: CN kswarm-sim-kubelet, SAN IP 127.0.0.1, self-signed ECDSA" bash -c "
  openssl s_client -connect 127.0.0.1:$port </dev/null 2>/dev/null | openssl x509 -noout -subject -issuer -ext subjectAltName -text >'$tmp/cert' &&
  grep -q 'subject=CN = kswarm-sim-kubelet' '$tmp/cert' && grep -q 'issuer=CN = kswarm-sim-kubelet' '$tmp/cert' &&
  grep -q 'IP Address:127.0.0.1' '$tmp/cert' && grep -q 'id-ecPublicKey' '$tmp/cert'"
check "GET /healthz: ok" bash -c "[ \"\$(curl -sk https://127.0.0.1:$port/healthz)\" = ok ]"
check "the kubelet's 404 for a pod it does not run" bash -c "
  [ \"\$(curl -sk -w ' %{http_code}' https://127.0.0.1:$port/containerLogs/$ns/ghost/web)\" = 'pod \"ghost\" does not exist 404' ]"

"$K" delete -n "$ns" pod two --timeout=60s >/dev/null 2>&1
check "a deleted pod's logs are gone from the kubelet" bash -c "
  for i in \$(seq 1 25); do
    [ \"\$(curl -sk -o /dev/null -w '%{http_code}' https://127.0.0.1:$port/containerLogs/$ns/two/web)\" = 404 ] && exit 0; sleep 0.2
  done; exit 1"

kill -INT "$sim_pid"; wait "$sim_pid"; rc=$?; sim_pid=""
check "sim exits cleanly on Ctrl-C" test "$rc" -eq 0
check "its node is removed" bash -c "[ -z \"\$('$K' get nodes -l karpenter.sh/nodepool=$pool -o name)\" ]"
check "no API errors" grep -q '0 API errors' "$tmp/sim.out"
tap_done
