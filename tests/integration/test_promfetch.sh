#!/usr/bin/env bash
# world_fetch_metrics against a real Prometheus: a Deployment runs on a simulated node, a
# second simulator (no nodes) writes 3 hours of its metrics as a backfill, Debian's
# Prometheus loads it (scripts/prometheus.sh, as test_sim_metrics.sh does), and
# build/tests/helper_promfetch (tests/integration/helper_promfetch.c) reads it through
# world_fetch_metrics; the mean CPU it reports agrees with Prometheus' own answer. TAP output.
set -uo pipefail
: "${KSWARM_TEST_KUBECONFIG:?needs the local control plane}" "${KSWARM_TEST_KUBECTL:?}" "${KSWARM_BIN:?}"
export KUBECONFIG=$KSWARM_TEST_KUBECONFIG
K=$KSWARM_TEST_KUBECTL
SRC=${KSWARM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
CHECKER=$(dirname "$KSWARM_BIN")/tests/helper_promfetch
ns=kst-promfetch-$$
pool=kst-promfetch-$$
tmp=$(mktemp -d)
export KSWARM_STATE=$tmp/state
prom=kstpf-$$
sim_pid=""
cleanup() {
  "$SRC/scripts/prometheus.sh" stop --name "$prom" >/dev/null 2>&1
  if [ -n "$sim_pid" ]; then kill -INT "$sim_pid" 2>/dev/null; wait "$sim_pid" 2>/dev/null; fi
  "$K" delete ns "$ns" --wait=false >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
TAP_CONTEXT=30
. "$SRC/tests/integration/tap.sh"

command -v promtool >/dev/null || { echo "1..0 # SKIP promtool not installed"; exit 0; }
[ -x "$CHECKER" ] || { echo "1..0 # SKIP $CHECKER not built"; exit 0; }

"$K" create ns "$ns" >/dev/null
"$KSWARM_BIN" sim --nodes 1 --nodepool "$pool" --seed $$ --no-crds --duration 240 >"$tmp/sim.out" 2>&1 &
sim_pid=$!
cat <<YAML | "$K" apply -n "$ns" -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: 2
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      nodeSelector: {karpenter.sh/nodepool: $pool}
      containers: [{name: app, image: "nginx:1.25",
                    resources: {requests: {cpu: 150m, memory: 128Mi}, limits: {cpu: 300m, memory: 256Mi}}}]
YAML
check "pods run and are Ready" "$K" wait -n "$ns" --for=condition=Ready pod -l app=app --timeout=90s
pods=$("$K" get pods -n "$ns" -l app=app -o jsonpath='{.items[*].metadata.name}')

check "a backfill of 3 hours every minute" bash -c "
  '$KSWARM_BIN' sim --nodes 0 --no-crds --backfill 3h --backfill-step 60s --backfill-out '$tmp/bf.om' >'$tmp/bf.out' 2>&1 &&
  [ \"\$(tail -c 6 '$tmp/bf.om')\" = '# EOF' ]"
# Nothing listens on port 9: Prometheus holds only the backfill (no sim_time_seconds).
check "Prometheus loads the backfill" \
  "$SRC/scripts/prometheus.sh" start --name "$prom" --target 127.0.0.1:9 --backfill "$tmp/bf.om"
url=$("$SRC/scripts/prometheus.sh" env --name "$prom" 2>/dev/null | sed 's/.*=//')
for _ in $(seq 1 50); do curl -fsS "$url/-/ready" >/dev/null 2>&1 && break; sleep 0.2; done

check "world_fetch_metrics reads every metric of the pods" bash -c "
  KSWARM_PROM_URL='$url' KSWARM_PROM_NS='$ns' KSWARM_PROM_PODS='$pods' CMOCKA_MESSAGE_OUTPUT=TAP \
    '$CHECKER' >'$tmp/checker.out' 2>&1; rc=\$?; cat '$tmp/checker.out'; exit \$rc"
grep '^# .*cpu avg' "$tmp/checker.out" || true
first=${pods%% *}
check "its mean CPU agrees with Prometheus' rate over the hour" bash -c "
  curl -fsS '$url/api/v1/query' --data-urlencode 'query=sum(rate(container_cpu_usage_seconds_total{namespace=\"$ns\",pod=\"$first\",container=\"app\"}[3600s]))' >'$tmp/q.json' &&
  want=\$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"data\"][\"result\"][0][\"value\"][1])' '$tmp/q.json') &&
  got=\$(grep -o '$first: cpu avg [0-9.]*' '$tmp/checker.out' | awk '{print \$NF}') &&
  awk -v a=\"\$want\" -v b=\"\$got\" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d < 0.0005) }'"

tap_done
