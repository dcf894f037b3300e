#!/usr/bin/env bash
# `kswarm sim` on the real control plane: its nodes register Ready with EKS + Karpenter
# labels, pods the real scheduler binds to them run (as kubectl sees them: status, IPs,
# the kubelet's events), and deleting a pod, draining a node and scaling a Deployment
# behave as on a real cluster. On exit the nodes are removed. TAP output.
set -uo pipefail
: "${KSWARM_TEST_KUBECONFIG:?needs the local control plane}" "${KSWARM_TEST_KUBECTL:?}" "${KSWARM_BIN:?}"
export KUBECONFIG=$KSWARM_TEST_KUBECONFIG
K=$KSWARM_TEST_KUBECTL
ns=kst-sim-$$
tmp=$(mktemp -d)
sim_pid=""
cleanup() {
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  "$K" delete ns "$ns" --wait=false >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$KSWARM_SRCDIR/tests/integration/tap.sh"

"$K" create ns "$ns" >/dev/null
# Its own nodepool label: the test's pods select these nodes by it.
"$KSWARM_BIN" sim --nodes 3 --instance-type m6g.large --nodepool kst-pool --capacity-type spot \
  --time-scale 30 --seed $$ --duration 120 >"$tmp/sim.out" 2>&1 &
sim_pid=$!
nodes() { "$K" get nodes -l karpenter.sh/nodepool=kst-pool -o name; }
for _ in $(seq 1 50); do [ "$(nodes | wc -l)" -ge 3 ] && break; sleep 0.2; done

check "three nodes register" bash -c "[ \$('$K' get nodes -l karpenter.sh/nodepool=kst-pool --no-headers | wc -l) -eq 3 ]"
check "nodes are Ready" "$K" wait --for=condition=Ready node -l karpenter.sh/nodepool=kst-pool --timeout=30s
first=$(nodes | head -1)
check "EKS + Karpenter labels from the catalog" bash -c "
  '$K' get $first -o jsonpath='{.metadata.labels}' | tr ',' '\n' > '$tmp/labels'
  grep -q '\"node.kubernetes.io/instance-type\":\"m6g.large\"' '$tmp/labels' &&
  grep -q '\"kubernetes.io/arch\":\"arm64\"' '$tmp/labels' &&
  grep -q '\"karpenter.sh/capacity-type\":\"spot\"' '$tmp/labels' &&
  grep -q '\"karpenter.k8s.aws/instance-family\":\"m6g\"' '$tmp/labels' &&
  grep -q '\"topology.kubernetes.io/zone\":\"us-east-1' '$tmp/labels'"
check "allocatable from the catalog (m6g.large: 1930m, 6844Mi, 29 pods)" bash -c "
  [ \"\$('$K' get $first -o jsonpath='{.status.allocatable.cpu} {.status.allocatable.memory} {.status.allocatable.pods}')\" = '1930m 6844Mi 29' ]"
check "a Lease in kube-node-lease" "$K" get lease -n kube-node-lease "${first#node/}"

cat <<YAML | "$K" apply -n "$ns" -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {karpenter.sh/nodepool: kst-pool}
      initContainers: [{name: migrate, image: "registry.example.com/shop/migrate:2.1"}]
      containers: [{name: web, image: "nginx:1.25", resources: {requests: {cpu: 100m, memory: 64Mi}}}]
YAML
check "pods run and are Ready" "$K" wait -n "$ns" --for=condition=Ready pod -l app=web --timeout=60s
check "pods have IPs and sim nodes" bash -c "
  '$K' get pods -n '$ns' -o jsonpath='{range .items[*]}{.status.podIP} {.spec.nodeName}{\"\\n\"}{end}' |
  grep -cE '^10\\.[0-9]+\\.[0-9]+\\.[0-9]+ ip-10-0-' | grep -qx 4"
pod=$("$K" get pods -n "$ns" -o name | head -1)
check "container state running, init container completed" bash -c "
  [ \"\$('$K' get -n '$ns' $pod -o jsonpath='{.status.containerStatuses[0].state.running.startedAt}' | wc -c)\" -gt 0 ] &&
  [ \"\$('$K' get -n '$ns' $pod -o jsonpath='{.status.initContainerStatuses[0].state.terminated.reason}')\" = Completed ]"
check "the kubelet's events (Pulling, Pulled, Created, Started)" bash -c "
  for r in Pulling Pulled Created Started; do
    '$K' get events -n '$ns' --field-selector involvedObject.name=${pod#pod/},reason=\$r -o name | grep -q . || exit 1
  done"
check "kubectl describe shows the events" bash -c "'$K' describe -n '$ns' $pod | grep -q 'Started container web'"

check "deleting a pod: it terminates and the ReplicaSet replaces it" bash -c "
  '$K' delete -n '$ns' $pod --timeout=30s >/dev/null &&
  '$K' wait -n '$ns' --for=condition=Ready pod -l app=web --timeout=30s >/dev/null &&
  [ \$('$K' get pods -n '$ns' --no-headers | wc -l) -eq 4 ]"
victim=$("$K" get pods -n "$ns" -o jsonpath='{.items[0].spec.nodeName}')
check "draining a node evicts its pods onto the others" bash -c "
  '$K' drain '$victim' --ignore-daemonsets --delete-emptydir-data --timeout=60s >/dev/null 2>&1 &&
  '$K' wait -n '$ns' --for=condition=Ready pod -l app=web --timeout=30s >/dev/null &&
  ! '$K' get pods -n '$ns' -o jsonpath='{.items[*].spec.nodeName}' | grep -q '$victim'"
check "scaling to zero: every pod terminates" bash -c "
  '$K' scale -n '$ns' deploy web --replicas=0 >/dev/null &&
  for i in \$(seq 1 100); do [ -z \"\$('$K' get pods -n '$ns' -o name)\" ] && exit 0; sleep 0.2; done; exit 1"

kill -INT "$sim_pid"; wait "$sim_pid"; rc=$?; sim_pid=""
check "sim exits cleanly on Ctrl-C" test "$rc" -eq 0
check "its nodes are removed" bash -c "[ -z \"\$('$K' get nodes -l karpenter.sh/nodepool=kst-pool -o name)\" ]"
check "no API errors" grep -q '0 API errors' "$tmp/sim.out"
tap_done
