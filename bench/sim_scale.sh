#!/usr/bin/env bash
# How large a cluster `kswarm sim` sustains on the local control plane (docs/BENCHMARKS.md).
#   bench/sim_scale.sh [NODES] [PODS]      (default 500 nodes, 10000 pods)
# Starts a private control plane ("simbench"), registers NODES m5.4xlarge nodes, creates
# PODS pods (10 Deployments), and reports: node registration time, the time until every pod
# is Running and Ready, nodes NotReady at the end (status updates keeping up), and the CPU
# seconds the simulator and the control plane used; then runs `kswarm analyze -A` three
# times and reports its API calls and times. Stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
nodes=${1:-500} pods=${2:-10000}
env_name=simbench
ns=simbench-$$
tools=$(scripts/helm.sh ensure)
K=$tools/kubectl
# A fresh environment each run: a previous run's pods (still terminating) would skew it.
scripts/localcp.sh reset --name "$env_name" >&2
scripts/localcp.sh start --name "$env_name" >&2
eval "$(scripts/localcp.sh env --name "$env_name")"
sim_pid=""
cleanup() {
  if [ -n "$sim_pid" ]; then kill -INT "$sim_pid" 2>/dev/null; wait "$sim_pid" 2>/dev/null || true; fi
  "$K" delete ns "$ns" --wait=false >/dev/null 2>&1 || true
  scripts/localcp.sh stop --name "$env_name" >&2 || true
}
trap cleanup EXIT
cpu_s() { # utime+stime of a pid, in seconds
  awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"
}
cp_pids=$(cat "$HOME/.local/state/kswarm/cp-$env_name/run/"*.pid 2>/dev/null | tr '\n' ' ')
cp_cpu() { local t=0; for p in $cp_pids; do t=$(awk -v a="$t" -v b="$(cpu_s "$p")" 'BEGIN{print a+b}'); done; echo "$t"; }

t0=$(date +%s.%N)
build/kswarm sim --nodes "$nodes" --instance-type m5.4xlarge --nodepool bench --time-scale 60 \
  --seed 1 >/tmp/kswarm-simbench.log 2>&1 &
sim_pid=$!
until [ "$("$K" get nodes -l karpenter.sh/nodepool=bench --no-headers 2>/dev/null | grep -c ' Ready')" -ge "$nodes" ]; do
  sleep 1
  kill -0 "$sim_pid" || { cat /tmp/kswarm-simbench.log; exit 1; }
done
t1=$(date +%s.%N)
echo "bench: $nodes nodes Ready in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s" >&2
sim_cpu0=$(cpu_s "$sim_pid"); cp_cpu0=$(cp_cpu)
"$K" create ns "$ns" >/dev/null
per=$((pods / 10))
for i in $(seq 1 10); do
  cat <<YAML | "$K" apply -n "$ns" -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: app-$i}
spec:
  replicas: $per
  selector: {matchLabels: {app: app-$i}}
  template:
    metadata: {labels: {app: app-$i}}
    spec:
      nodeSelector: {karpenter.sh/nodepool: bench}
      containers: [{name: app, image: "nginx:1.25", resources: {requests: {cpu: 10m, memory: 16Mi}}}]
YAML
done
t2=$(date +%s.%N)
while :; do
  running=$("$K" get pods -n "$ns" --field-selector status.phase=Running --no-headers 2>/dev/null | wc -l)
  now=$(date +%s.%N)
  echo "bench: $running/$pods Running after $(awk -v a="$t2" -v b="$now" 'BEGIN{printf "%.0f", b-a}') s" >&2
  [ "$running" -ge "$pods" ] && break
  sleep 10
done
t3=$(date +%s.%N)
sleep 45   # a lease period: do the nodes stay Ready with every pod running?
notready=$("$K" get nodes -l karpenter.sh/nodepool=bench --no-headers | grep -vc ' Ready ' || true)
sim_cpu1=$(cpu_s "$sim_pid"); cp_cpu1=$(cp_cpu)
wall=$(awk -v a="$t2" -v b="$t3" 'BEGIN{printf "%.1f", b-a}')
sim_cpu=$(awk -v a="$sim_cpu0" -v b="$sim_cpu1" 'BEGIN{printf "%.1f", b-a}')
cp_cpu_used=$(awk -v a="$cp_cpu0" -v b="$cp_cpu1" 'BEGIN{printf "%.1f", b-a}')
rss=$(awk '/VmRSS/ {print int($2/1024)}' "/proc/$sim_pid/status")
# kswarm analyze on this cluster: API calls and times (the first run, then two more).
an=""
for run in 1 2 3; do
  t_an0=$(date +%s.%N)
  KSWARM_LOG=debug build/kswarm analyze -A -o json >"/tmp/kswarm-simbench-analyze.json" \
    2>"/tmp/kswarm-simbench-analyze-$run.log" || true
  t_an1=$(date +%s.%N)
  an="$an{\"run\":$run,\"wall_s\":$(awk -v a="$t_an0" -v b="$t_an1" 'BEGIN{printf "%.2f", b-a}'),\"stats\":$(jq -c .stats /tmp/kswarm-simbench-analyze.json)},"
done
echo "{\"nodes\":$nodes,\"pods\":$pods,\"nodes_ready_s\":$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}'),\"pods_running_s\":$wall,\"nodes_not_ready_after\":$notready,\"sim_cpu_s\":$sim_cpu,\"control_plane_cpu_s\":$cp_cpu_used,\"sim_rss_mib\":$rss,\"analyze\":[${an%,}]}"
tail -3 /tmp/kswarm-simbench.log >&2
