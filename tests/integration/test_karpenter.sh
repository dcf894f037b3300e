#!/usr/bin/env bash
# The simulator's Karpenter (src/sim/karpenter.c) on the real control plane with the real
# kube-scheduler: `kswarm sim --nodes 0` with the CRDs; pods pending before it starts, and
# before the NodePool that takes them exists, get a node of the cheapest fitting instance type
# (worked out here from data/instance-types.csv, not by the C code), Nominated events,
# NodePool status.resources; a pod no pool can take stays Pending with Karpenter's
# FailedScheduling event; a pool at its limit launches nothing more; an empty node goes after
# consolidateAfter; changed requirements drift a node, which is
# replaced, blocked by a PDB (DisruptionBlocked) until the PDB allows it; underutilized nodes
# are replaced by a cheaper one or deleted when their pods fit elsewhere; an expired node is
# replaced; a spot node gets an interruption notice and its pods move to a new spot node.
# The pools are tainted for the test (its pods tolerate it). TAP output, about a minute.
set -uo pipefail
: "${KSWARM_TEST_KUBECONFIG:?needs the local control plane}" "${KSWARM_TEST_KUBECTL:?}" "${KSWARM_BIN:?}"
export KUBECONFIG=$KSWARM_TEST_KUBECONFIG
K=$KSWARM_TEST_KUBECTL
root=$(cd "$(dirname "$0")/../.." && pwd)
csv=${KSWARM_DATA_DIR:-$root/data}/instance-types.csv
ns=kst-karp-$$ np=kst-od-$$ sp=kst-spot-$$ uu=kst-uu-$$ ex=kst-exp-$$
tmp=$(mktemp -d)
sim_pid=""
cleanup() {
  [ -n "$sim_pid" ] && kill -INT "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  "$K" delete ns "$ns" --wait=false >/dev/null 2>&1
  "$K" delete nodepool "$np" "$sp" "$uu" "$ex" --ignore-not-found --wait=false >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$KSWARM_SRCDIR/tests/integration/tap.sh"
# until SECONDS COMMAND...: retry every 0.5 s
until_ok() { local t=$1; shift; local end=$((SECONDS + t)); while ! "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.5; done; }
pool_nodes() { "$K" get nodes -l karpenter.sh/nodepool="$1" -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'; }
count_nodes() { [ "$(pool_nodes "$1" | grep -c .)" -eq "$2" ]; }
pod_event() { # REASON: some pod of the namespace has an event with this reason (and text $2)
  "$K" get events -n "$ns" --field-selector "reason=$1" -o jsonpath='{range .items[*]}{.message}{"\n"}{end}' |
    grep -q -- "${2:-}"
}
node_event() { # NODE REASON
  "$K" get events -n default --field-selector "involvedObject.name=$1,reason=$2" -o name | grep -q .
}

# The expected type for N x (1 CPU, 2Gi) plus D DaemonSet pods of (1 CPU, 1Gi): category
# c/m/r, amd64, enough allocatable, cheapest on-demand price, then fewer vCPUs, then catalog
# order.
cheapest() {
  awk -F, -v n="$1" -v d="${2:-0}" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    ($c["category"] == "c" || $c["category"] == "m" || $c["category"] == "r") &&
    $c["arch"] == "amd64" && $c["alloc_cpu_millis"] >= 1000 * (n + d) &&
    $c["alloc_memory_mib"] >= 2048 * n + 1024 * d && $c["max_pods"] >= n + d {
      print $c["od_price_usd_hr"], $c["vcpu"], NR, $c["instance_type"] }' "$csv" |
    sort -k1,1g -k2,2n -k3,3n | head -1 | cut -d' ' -f4
}
expected=$(cheapest 3 1)

"$K" create ns "$ns" >/dev/null

# The pools are tainted for this test, so pods other tests leave pending are not theirs.
nodepool() { # NAME CATEGORIES CAPACITY-TYPE CPU-LIMIT [CONSOLIDATION-POLICY [EXPIRE-AFTER]]
cat <<YAML | "$K" apply -f - >/dev/null
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: $1}
spec:
  template:
    metadata: {labels: {kswarm-test: "$ns"}}
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      taints: [{key: kswarm-test, value: "$ns", effect: NoSchedule}]
      expireAfter: ${6:-720h}
      requirements:
      - {key: karpenter.k8s.aws/instance-category, operator: In, values: [$2]}
      - {key: kubernetes.io/arch, operator: In, values: [amd64]}
      - {key: karpenter.sh/capacity-type, operator: In, values: [$3]}
  limits: {cpu: "$4"}
  disruption: {consolidationPolicy: ${5:-WhenEmpty}, consolidateAfter: 5s}
YAML
}
deployment() { # NAME REPLICAS [NODEPOOL]; without one, any node of this test's pools
local sel="{kswarm-test: \"$ns\"}"
[ -n "${3:-}" ] && sel="{karpenter.sh/nodepool: $3}"
cat <<YAML | "$K" apply -n "$ns" -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: $1}
spec:
  replicas: $2
  selector: {matchLabels: {app: $1}}
  template:
    metadata: {labels: {app: $1}}
    spec:
      terminationGracePeriodSeconds: 5
      nodeSelector: $sel
      tolerations: [{key: kswarm-test, value: "$ns", effect: NoSchedule}]
      containers: [{name: app, image: "nginx:1.25", resources: {requests: {cpu: "1", memory: 2Gi}}}]
YAML
}
running_on() { # APP NODE COUNT: COUNT pods of APP Running on NODE
  [ "$("$K" get pods -n "$ns" -l app="$1" --field-selector status.phase=Running \
      -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | grep -cx "$2")" -eq "$3" ]
}

# A DaemonSet for the first pool's nodes: its requests count against each new node.
cat <<YAML | "$K" apply -n "$ns" -f - >/dev/null
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      nodeSelector: {karpenter.sh/nodepool: $np}
      tolerations: [{key: kswarm-test, operator: Exists}]
      containers: [{name: agent, image: "fluent-bit:3.1", resources: {requests: {cpu: "1", memory: 1Gi}}}]
YAML
unschedulable_pods() { # APP COUNT: COUNT pods of APP the scheduler marked Unschedulable
  local jp='{range .items[*]}{.status.conditions[?(@.type=="PodScheduled")].reason}{"\n"}{end}'
  [ "$("$K" get pods -n "$ns" -l app="$1" -o jsonpath="$jp" | grep -cx Unschedulable)" -eq "$2" ]
}

# Pods already pending when the simulator starts, and no NodePool for them until its first
# batch is over: the first LIST and a pool that comes later must both lead to a node. (Its
# first LIST once reached the kubelet's handlers only, and a batch with no NodePool dropped
# its pods: the scheduler does not update an Unschedulable pod again while nothing changes,
# so these pods never got a node.)
deployment web 3
check "three pods Unschedulable before the sim starts" until_ok 30 unschedulable_pods web 3
KSWARM_LOG=info "$KSWARM_BIN" sim --nodes 0 --time-scale 60 --seed $$ --duration 300 \
  --interrupt-spot-every 10m >"$tmp/sim.out" 2>&1 &
sim_pid=$!
check "sim with --nodes 0 starts the provisioner" until_ok 30 \
  grep -q "acting as kubelet" "$tmp/sim.out"
check "its first batch closes before the NodePool exists" until_ok 15 \
  grep -qE "karpenter: batch of [0-9]+ pending pod" "$tmp/sim.out"
nodepool "$np" "c, m, r" on-demand 100
check "one node launched for three pending pods" until_ok 30 count_nodes "$np" 1
node1=$(pool_nodes "$np" | head -1)
check "its type is the cheapest that fits them and the DaemonSet ($expected)" bash -c "
  [ \"\$('$K' get node '$node1' -o jsonpath='{.metadata.labels.node\\.kubernetes\\.io/instance-type}')\" = '$expected' ]"
check "NodePool template labels and taints, capacity type and nodepool-hash on the node" bash -c "
  '$K' get node '$node1' -o jsonpath='{.metadata.labels.kswarm-test} {.metadata.labels.karpenter\\.sh/capacity-type} {.metadata.annotations.karpenter\\.sh/nodepool-hash} {.spec.taints[0].key}={.spec.taints[0].value}' |
  grep -qE '^$ns on-demand [0-9]+ kswarm-test=$ns\$'"
check "the pods run on it" until_ok 30 running_on web "$node1" 3
check "so does the DaemonSet's pod" until_ok 30 running_on agent "$node1" 1
check "Nominated events on the pods" until_ok 20 pod_event Nominated "Pod should schedule on: node/$node1"
vcpu=$(awk -F, -v t="$expected" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } $c["instance_type"] == t { print $c["vcpu"] }' "$csv")
check "NodePool status.resources: $vcpu cpu, 1 node" until_ok 10 bash -c "
  [ \"\$('$K' get nodepool '$np' -o jsonpath='{.status.resources.cpu} {.status.resources.nodes}')\" = '$vcpu 1' ]"

cat <<YAML | "$K" apply -n "$ns" -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: arm-only}
spec:
  nodeSelector: {kubernetes.io/arch: arm64, kswarm-test: "$ns"}
  tolerations: [{key: kswarm-test, value: "$ns", effect: NoSchedule}]
  containers: [{name: app, image: "nginx:1.25", resources: {requests: {cpu: 100m}}}]
YAML
# The message names every pool (by weight, then name): a shared control plane's may come first.
check "a pod no pool satisfies gets Karpenter's FailedScheduling event" until_ok 20 pod_event FailedScheduling \
  "Failed to schedule pod, .*incompatible with nodepool \"$np\", daemonset overhead={.*}, incompatible requirements, key kubernetes.io/arch"
check "and stays Pending" bash -c "[ \"\$('$K' get pod -n '$ns' arm-only -o jsonpath='{.status.phase}{.spec.nodeName}')\" = Pending ]"
"$K" delete pod -n "$ns" arm-only --wait=false >/dev/null

# At its limit: the pool holds $vcpu CPUs and may not grow.
"$K" patch nodepool "$np" --type merge -p "{\"spec\":{\"limits\":{\"cpu\":\"$vcpu\"}}}" >/dev/null
"$K" scale -n "$ns" deploy web --replicas=$((vcpu + 2)) >/dev/null  # more than the node holds
check "a pool at its limit launches nothing more (event says so)" until_ok 25 pod_event FailedScheduling \
  "all available instance types exceed limits for nodepool \"$np\""
check "still one node" count_nodes "$np" 1
"$K" patch nodepool "$np" --type merge -p '{"spec":{"limits":{"cpu":"100"}}}' >/dev/null

"$K" scale -n "$ns" deploy web --replicas=0 >/dev/null
check "scaled to zero: the empty nodes are removed after consolidateAfter" until_ok 60 count_nodes "$np" 0

# Drift: requirements change under a node whose pods a PDB protects.
deployment web 2
check "a node for the new pods" until_ok 30 count_nodes "$np" 1
node2=$(pool_nodes "$np" | head -1)
check "the pods run on it" until_ok 30 running_on web "$node2" 2
cat <<YAML | "$K" apply -n "$ns" -f - >/dev/null
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  maxUnavailable: 0
  selector: {matchLabels: {app: web}}
YAML
cat2=$("$K" get node "$node2" -o jsonpath='{.metadata.labels.karpenter\.k8s\.aws/instance-category}')
other=$(for c in c m r; do [ "$c" != "$cat2" ] && echo "$c"; done | paste -sd, | sed 's/,/, /')
nodepool "$np" "$other" on-demand 100
check "the drifted node is tainted karpenter.sh/disrupted:NoSchedule and cordoned" until_ok 20 bash -c "
  '$K' get node '$node2' -o jsonpath='{.spec.unschedulable} {.spec.taints}' | grep -q 'true.*karpenter.sh/disrupted'"
check "a replacement node from the new requirements" until_ok 20 count_nodes "$np" 2
check "the PDB blocks the drain: DisruptionBlocked on the node" until_ok 40 node_event "$node2" DisruptionBlocked
check "the old node is still there while blocked" bash -c "'$K' get node '$node2' >/dev/null"
"$K" patch pdb -n "$ns" web --type merge -p '{"spec":{"maxUnavailable":1}}' >/dev/null
check "once the PDB allows it, the drift completes: the old node goes" until_ok 60 bash -c "! '$K' get node '$node2' >/dev/null 2>&1"
node3=$(pool_nodes "$np" | head -1)
check "the pods run on the replacement (category $other)" bash -c "
  until_ok() { local end=\$((SECONDS + 30)); while ! \"\$@\"; do [ \$SECONDS -ge \$end ] && return 1; sleep 0.5; done; }
  r() { [ \"\$('$K' get pods -n '$ns' -l app=web --field-selector status.phase=Running -o jsonpath='{range .items[*]}{.spec.nodeName}{\"\\n\"}{end}' | grep -cx '$node3')\" -eq 2 ]; }
  until_ok r && '$K' get node '$node3' -o jsonpath='{.metadata.labels.karpenter\\.k8s\\.aws/instance-category}' | grep -q '[${other//[, ]/}]'"
"$K" delete deploy -n "$ns" web >/dev/null

# Underutilized consolidation: replace a node by a cheaper one, delete one whose pods fit
# elsewhere.
nodepool "$uu" "c, m, r" on-demand 100 WhenEmptyOrUnderutilized
deployment uu 3 "$uu"
check "WhenEmptyOrUnderutilized pool: a node for three pods" until_ok 30 count_nodes "$uu" 1
ux=$(pool_nodes "$uu" | head -1)
check "they run on it" until_ok 30 running_on uu "$ux" 3
"$K" scale -n "$ns" deploy uu --replicas=1 >/dev/null
small=$(cheapest 1)
check "scaled to one pod: the node is replaced by a cheaper $small (Underutilized/Replace)" until_ok 45 bash -c "
  ! '$K' get node '$ux' >/dev/null 2>&1 &&
  [ \"\$('$K' get nodes -l karpenter.sh/nodepool=$uu -o jsonpath='{.items[*].metadata.labels.node\\.kubernetes\\.io/instance-type}')\" = '$small' ]"
uy=$(pool_nodes "$uu" | head -1)
check "the pod runs on the replacement" until_ok 30 running_on uu "$uy" 1
deployment ww 2 "$uu"
check "two more pods that do not fit there: a second node" until_ok 30 count_nodes "$uu" 2
uz=$(pool_nodes "$uu" | grep -vx "$uy" | head -1)
check "the first node's pod fits on the second: it is removed (Underutilized/Delete)" until_ok 45 bash -c "
  ! '$K' get node '$uy' >/dev/null 2>&1 &&
  '$K' get events -n default --field-selector involvedObject.name=$uy,reason=DisruptionTerminating \
    -o jsonpath='{.items[*].message}' | grep -q 'Underutilized/Delete'"
check "all three pods run on the remaining node" until_ok 30 bash -c "
  [ \"\$('$K' get pods -n '$ns' -l 'app in (uu,ww)' --field-selector status.phase=Running -o jsonpath='{range .items[*]}{.spec.nodeName}{\"\\n\"}{end}' | grep -cx '$uz')\" -eq 3 ]"
"$K" delete deploy -n "$ns" uu ww >/dev/null

# Expiration: expireAfter 10m (10 s here) drains and replaces the node.
nodepool "$ex" "c, m, r" on-demand 100 WhenEmpty 10m
deployment ee 1 "$ex"
e1=""
find_e1() {
  e1=$("$K" get pods -n "$ns" -l app=ee --field-selector status.phase=Running \
    -o jsonpath='{.items[0].spec.nodeName}' 2>/dev/null) && [ -n "$e1" ]
}
check "expireAfter pool: the pod runs on a node of it" until_ok 30 find_e1
check "after expireAfter the node goes (Expired/Delete) and the pod runs on a new one" until_ok 40 bash -c "
  ! '$K' get node '$e1' >/dev/null 2>&1 &&
  '$K' get events -n default --field-selector involvedObject.name=$e1,reason=DisruptionTerminating \
    -o jsonpath='{.items[*].message}' | grep -q 'Expired/Delete' &&
  n=\$('$K' get pods -n '$ns' -l app=ee --field-selector status.phase=Running -o jsonpath='{.items[0].spec.nodeName}') &&
  [ -n \"\$n\" ] && [ \"\$n\" != '$e1' ]"
"$K" delete deploy -n "$ns" ee >/dev/null
"$K" delete nodepool "$ex" >/dev/null

# Spot: a spot node, then an interruption notice (every 10 simulated minutes) replaces it.
nodepool "$sp" "c, m, r" spot 100
deployment batch 2 "$sp"
# Interruptions come every 10 simulated minutes (10 s here), so a spot node may go at any
# time: note the first one the pods run on, with its capacity type, in one go.
spot1="" spot1_ct=""
find_spot() {
  spot1=$("$K" get pods -n "$ns" -l app=batch --field-selector status.phase=Running \
    -o jsonpath='{.items[0].spec.nodeName}' 2>/dev/null) && [ -n "$spot1" ] &&
  spot1_ct=$("$K" get node "$spot1" -o jsonpath='{.metadata.labels.karpenter\.sh/capacity-type}' 2>/dev/null)
}
check "pods selecting the spot pool run on a node launched for it" until_ok 30 find_spot
check "its capacity type is spot" test "$spot1_ct" = spot
check "an interruption notice: SpotInterrupted on the node, which is removed" until_ok 45 bash -c "
  '$K' get events -n default --field-selector involvedObject.name=$spot1,reason=SpotInterrupted -o name | grep -q . &&
  ! '$K' get node '$spot1' >/dev/null 2>&1"
check "its pods run on a new spot node" until_ok 30 bash -c "
  nodes=\$('$K' get pods -n '$ns' -l app=batch --field-selector status.phase=Running -o jsonpath='{range .items[*]}{.spec.nodeName}{\"\\n\"}{end}')
  [ \$(echo \"\$nodes\" | grep -c .) -eq 2 ] && ! echo \"\$nodes\" | grep -qx '$spot1' &&
  for x in \$nodes; do '$K' get node \$x -o jsonpath='{.metadata.labels.karpenter\\.sh/capacity-type}' | grep -qx spot || exit 1; done"

"$K" delete ns "$ns" --wait=false >/dev/null
kill -INT "$sim_pid"; wait "$sim_pid"; rc=$?; sim_pid=""
check "sim exits cleanly" test "$rc" -eq 0
check "its nodes are removed" bash -c "[ -z \"\$('$K' get nodes -l kswarm-test=$ns -o name)\" ]"
check "no API errors" grep -q ' 0 API errors' "$tmp/sim.out"
[ "$failed" -eq 0 ] || { echo "# the simulator's log:"; tail -60 "$tmp/sim.out" | sed 's/^/#   /'; }
tap_done
