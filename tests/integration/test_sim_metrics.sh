#!/usr/bin/env bash
# The simulator's metrics on the real control plane: `kswarm sim --metrics-listen 127.0.0.1:0`
# serves /metrics on loopback (the port it prints); for a Deployment with requests and limits
# and its Service the cAdvisor, kube-state-metrics and HTTP series appear with their labels;
# `promtool check metrics` accepts the exposition; counters grow between two scrapes; other
# paths are 404 and a non-loopback address is refused. Then a backfill of 2 days every 5
# minutes is loaded with promtool into a Prometheus (scripts/prometheus.sh) whose
# /api/v1/query_range returns CPU rates over the backfilled window. TAP output.
set -uo pipefail
: "${KSWARM_TEST_KUBECONFIG:?needs the local control plane}" "${KSWARM_TEST_KUBECTL:?}" "${KSWARM_BIN:?}"
export KUBECONFIG=$KSWARM_TEST_KUBECONFIG
K=$KSWARM_TEST_KUBECTL
SRC=${KSWARM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
ns=kst-metrics-$$
pool=kst-metrics-$$
tmp=$(mktemp -d)
export KSWARM_STATE=$tmp/state # scripts/prometheus.sh keeps its data here
prom=kst-$$
sim_pid=""
cleanup() {
  "$SRC/scripts/prometheus.sh" stop --name "$prom" >/dev/null 2>&1
  if [ -n "$sim_pid" ]; then kill -INT "$sim_pid" 2>/dev/null; wait "$sim_pid" 2>/dev/null; fi
  "$K" delete ns "$ns" --wait=false >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$KSWARM_SRCDIR/tests/integration/tap.sh"

command -v promtool >/dev/null || { echo "1..0 # SKIP promtool not installed"; exit 0; }

check "a non-loopback --metrics-listen is refused" bash -c "
  ! '$KSWARM_BIN' sim --nodes 0 --metrics-listen 0.0.0.0:9100 >'$tmp/refused' 2>&1 &&
  grep -q 'loopback only' '$tmp/refused'"

"$K" create ns "$ns" >/dev/null
"$KSWARM_BIN" sim --nodes 2 --nodepool "$pool" --time-scale 60 --seed $$ --no-crds \
  --metrics-listen 127.0.0.1:0 --duration 85 >"$tmp/sim.out" 2>&1 &
sim_pid=$!
addr=""
for _ in $(seq 1 100); do
  addr=$(grep -o 'metrics at http://127\.0\.0\.1:[0-9]*' "$tmp/sim.out" | sed 's|.*http://||')
  [ -n "$addr" ] && break; sleep 0.1
done
check "the chosen port is printed" test -n "$addr"

cat <<YAML | "$K" apply -n "$ns" -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      nodeSelector: {karpenter.sh/nodepool: $pool}
      containers: [{name: app, image: "nginx:1.25",
                    resources: {requests: {cpu: 150m, memory: 128Mi}, limits: {cpu: 300m, memory: 256Mi}}}]
---
apiVersion: v1
kind: Service
metadata: {name: shop}
spec:
  selector: {app: shop}
  ports: [{port: 80}]
YAML
# (retried: right after the apply the ReplicaSet may not have created the pods yet, and
# kubectl wait fails at once on "no matching resources")
eventually 90 "pods run and are Ready" "$K" wait -n "$ns" --for=condition=Ready pod -l app=shop --timeout=10s
pods=$("$K" get pods -n "$ns" -o jsonpath='{.items[*].metadata.name}')

# The snapshot is re-rendered every second: wait until it shows both pods.
scrape() { curl -fsS "http://$addr/metrics" >"$1"; }
for _ in $(seq 1 50); do
  scrape "$tmp/m1" 2>/dev/null && [ "$(grep -c "^kube_pod_info{namespace=\"$ns\"" "$tmp/m1")" -eq 2 ] && break
  sleep 0.2
done
check "GET /metrics answers with the text format" bash -c "
  curl -fsS -o /dev/null -w '%{content_type}' 'http://$addr/metrics' | grep -q 'text/plain; version=0.0.4'"
check "cAdvisor series for each pod, with cAdvisor's labels" bash -c "
  for p in $pods; do
    grep -q \"^container_cpu_usage_seconds_total{container=\\\"app\\\",cpu=\\\"total\\\",id=\\\"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod[0-9a-f_]*.slice/cri-containerd-[0-9a-f]*.scope\\\",image=\\\"nginx:1.25\\\",name=\\\"[0-9a-f]*\\\",namespace=\\\"$ns\\\",node=\\\"ip-10-0-[0-9-]*.ec2.internal\\\",pod=\\\"\$p\\\"} \" '$tmp/m1' || exit 1
    for f in container_memory_working_set_bytes container_memory_usage_bytes container_cpu_cfs_periods_total container_cpu_cfs_throttled_periods_total container_oom_events_total; do
      grep -q \"^\$f{container=\\\"app\\\",.*pod=\\\"\$p\\\"} \" '$tmp/m1' || { echo \"no \$f for \$p\"; exit 1; }
    done
    grep -q \"^container_spec_cpu_quota{container=\\\"app\\\",.*pod=\\\"\$p\\\"} 30000\$\" '$tmp/m1' || exit 1
    grep -q \"^container_spec_memory_limit_bytes{container=\\\"app\\\",.*pod=\\\"\$p\\\"} 268435456\$\" '$tmp/m1' || exit 1
  done"
check "kube-state-metrics series for the pods and nodes" bash -c "
  for p in $pods; do
    grep -q \"^kube_pod_info{namespace=\\\"$ns\\\",pod=\\\"\$p\\\",uid=\\\"[0-9a-f-]*\\\",.*created_by_kind=\\\"ReplicaSet\\\"\" '$tmp/m1' || exit 1
    grep -q \"^kube_pod_status_phase{namespace=\\\"$ns\\\",pod=\\\"\$p\\\",uid=\\\"[0-9a-f-]*\\\",phase=\\\"Running\\\"} 1\$\" '$tmp/m1' || exit 1
    grep -q \"^kube_pod_container_resource_requests{namespace=\\\"$ns\\\",pod=\\\"\$p\\\",uid=\\\"[0-9a-f-]*\\\",container=\\\"app\\\",node=\\\"ip-[0-9a-z.-]*\\\",resource=\\\"cpu\\\",unit=\\\"core\\\"} 0.15\$\" '$tmp/m1' || exit 1
    grep -q \"^kube_pod_container_resource_limits{namespace=\\\"$ns\\\",pod=\\\"\$p\\\",.*resource=\\\"memory\\\",unit=\\\"byte\\\"} 268435456\$\" '$tmp/m1' || exit 1
    grep -q \"^kube_pod_container_status_restarts_total{namespace=\\\"$ns\\\",pod=\\\"\$p\\\",uid=\\\"[0-9a-f-]*\\\",container=\\\"app\\\"} 0\$\" '$tmp/m1' || exit 1
  done
  [ \$(grep -c '^kube_node_labels{node=\"ip-.*label_karpenter_sh_nodepool=\"$pool\".*label_node_kubernetes_io_instance_type=\"m5.large\"' '$tmp/m1') -eq 2 ] &&
  grep -q '^kube_node_status_allocatable{node=\"ip-.*resource=\"cpu\",unit=\"core\"} 1.93\$' '$tmp/m1' &&
  grep -q '^kube_node_status_condition{node=\"ip-.*condition=\"Ready\",status=\"true\"} 1\$' '$tmp/m1' &&
  grep -q '^kube_node_info{node=\"ip-.*kubelet_version=\"v1.20.2\"' '$tmp/m1'"
check "HTTP series for the Service" bash -c "
  grep -q '^http_requests_total{code=\"200\",namespace=\"$ns\",service=\"shop\"} ' '$tmp/m1' &&
  grep -q '^http_request_duration_seconds_bucket{namespace=\"$ns\",service=\"shop\",le=\"0.005\"} ' '$tmp/m1' &&
  grep -q '^http_request_duration_seconds_count{namespace=\"$ns\",service=\"shop\"} ' '$tmp/m1'"
check "promtool check metrics accepts the exposition" bash -c "
  out=\$(promtool check metrics < '$tmp/m1' 2>&1) && [ -z \"\$out\" ] || { echo \"\$out\"; exit 1; }"

sleep 2.5
scrape "$tmp/m2"
first=${pods%% *}
# The value of the first line of FILE holding every one of the fixed strings that follow.
value() {
  local f=$1; shift
  local lines; lines=$(cat "$f")
  for pat in "$@"; do lines=$(grep -F -- "$pat" <<<"$lines"); done
  head -1 <<<"$lines" | awk '{print $NF}'
}
grows() { # grows NAME PATTERN...
  local what=$1; shift
  local a b; a=$(value "$tmp/m1" "$@"); b=$(value "$tmp/m2" "$@")
  check "$what grows between two scrapes ($a -> $b)" awk -v a="$a" -v b="$b" 'BEGIN { exit !(a != "" && b + 0 > a + 0) }'
}
grows "CPU seconds of a container" 'container_cpu_usage_seconds_total{container="app"' "pod=\"$first\""
grows "CFS periods of a container" 'container_cpu_cfs_periods_total{container="app"' "pod=\"$first\""
grows "the Service's 200s" "http_requests_total{code=\"200\",namespace=\"$ns\""
grows "the Service's latency count" "http_request_duration_seconds_count{namespace=\"$ns\""
t1=$(awk '/^sim_time_seconds /{print $2}' "$tmp/m1"); t2=$(awk '/^sim_time_seconds /{print $2}' "$tmp/m2")
check "sim_time_seconds runs at the time scale ($t1 -> $t2 in 2.5 real s, scale 60)" \
  test "$((t2 - t1))" -ge 60
check "other paths are 404" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' 'http://$addr/')\" = 404 ]"

# A second simulator with no nodes writes the backfill of the pods the first one runs.
check "a backfill of 2 days every 5 minutes" bash -c "
  '$KSWARM_BIN' sim --nodes 0 --no-crds --backfill 2d --backfill-step 5m --backfill-out '$tmp/bf.om' >'$tmp/bf.out' 2>&1 &&
  [ \"\$(tail -c 6 '$tmp/bf.om')\" = '# EOF' ] &&
  [ \$(grep -c '^container_cpu_usage_seconds_total{container=\"app\".*namespace=\"$ns\"' '$tmp/bf.om') -eq \$((2 * 577)) ] &&
  grep -q '^http_requests_total{code=\"200\",namespace=\"$ns\",service=\"shop\"} ' '$tmp/bf.om'"
check "scripts/prometheus.sh loads the backfill and scrapes the simulator" \
  "$SRC/scripts/prometheus.sh" start --name "$prom" --target "$addr" --backfill "$tmp/bf.om"
url=$("$SRC/scripts/prometheus.sh" env --name "$prom" 2>/dev/null | sed 's/.*=//')
now=$(date +%s)
check "query_range returns CPU rates over the backfilled window" bash -c "
  curl -fsS '$url/api/v1/query_range' --data-urlencode 'query=sum(rate(container_cpu_usage_seconds_total{namespace=\"$ns\",container!=\"\"}[15m]))' \
    --data-urlencode start=$((now - 2 * 86400 + 1800)) --data-urlencode end=$((now - 600)) --data-urlencode step=600 >'$tmp/range.json' &&
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
vals = d[\"data\"][\"result\"][0][\"values\"]
assert len(vals) > 250, len(vals)
assert all(0 < float(v) < 0.6 for _, v in vals), vals[:5]
' '$tmp/range.json'"

"$SRC/scripts/prometheus.sh" stop --name "$prom" >/dev/null 2>&1
kill -INT "$sim_pid"; wait "$sim_pid"; rc=$?; sim_pid=""
check "the simulator exits cleanly on Ctrl-C, its HTTP server stopped" test "$rc" -eq 0
check "no sanitizer or runtime error in its output" bash -c "! grep -E 'Sanitizer|runtime error' '$tmp/sim.out'"

tap_done
