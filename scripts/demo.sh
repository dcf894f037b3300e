#!/usr/bin/env bash
# make demo (steps 1-2 of 6 so far): start the local Kubernetes control plane (building it
# the first time), bring simulated EKS + Karpenter nodes with `kswarm sim`, show what runs
# with `kswarm get`, and stream changes with `kswarm watch` while a Deployment is created,
# scaled, drained and deleted. Everything it started is stopped on exit or Ctrl-C.
# KSWARM_DEMO_SHORT=1 skips the final live watch (for CI).
set -euo pipefail
cd "$(dirname "$0")/.."
ks=build/kswarm
env_name=demo
bold=$(tput bold 2>/dev/null || true); reset=$(tput sgr0 2>/dev/null || true)
[ -t 1 ] && [ -z "${NO_COLOR:-}" ] || { bold=""; reset=""; }
say() { printf '\n%s==> %s%s\n' "$bold" "$*" "$reset"; }
started=0
cleanup() {
  [ -n "${watch_pid:-}" ] && kill "$watch_pid" 2>/dev/null || true
  if [ -n "${sim_pid:-}" ]; then kill -INT "$sim_pid" 2>/dev/null; wait "$sim_pid" 2>/dev/null || true; fi
  if [ "$started" = 1 ]; then say "stopping the control plane"; scripts/localcp.sh stop --name "$env_name" || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "starting the local control plane (etcd, kube-apiserver, controller-manager, scheduler v1.20.2)"
scripts/localcp.sh status --name "$env_name" >/dev/null 2>&1 || started=1
scripts/localcp.sh start --name "$env_name"
eval "$(scripts/localcp.sh env --name "$env_name")"
tools=$(scripts/helm.sh ensure)

say "kswarm version"
$ks version
say "kswarm get namespaces"
$ks get namespaces
say "kswarm get pods -A   (the control plane's own pods: none — it runs as processes)"
$ks get pods -A || true
say "kswarm sim: 3 simulated m5.large nodes (EKS + Karpenter labels), kubelets included"
$ks sim --nodes 3 --instance-type m5.large --nodepool general --time-scale 30 >/tmp/kswarm-demo-sim.log 2>&1 &
sim_pid=$!
for _ in $(seq 1 50); do [ "$($ks get nodes --no-headers 2>/dev/null | wc -l)" -ge 3 ] && break; sleep 0.2; done
$ks get nodes -o wide

say "kswarm watch deployments while a Deployment is created, scaled and deleted"
$ks watch deployments -n default --no-initial &
watch_pid=$!
sleep 1
"$tools/kubectl" create deployment hello --image=nginx:1.25 --replicas=2 -n default >/dev/null 2>&1 || true
sleep 2
"$tools/kubectl" scale deployment hello --replicas=4 -n default >/dev/null 2>&1 || true
sleep 3
say "kswarm get deploy,rs,pods -n default -o wide"
$ks get deploy -n default -o wide
$ks get rs -n default
$ks get pods -n default -o wide
say "draining one node: its pods move to the others"
node=$("$tools/kubectl" get pods -n default -o jsonpath='{.items[0].spec.nodeName}')
"$tools/kubectl" drain "$node" --ignore-daemonsets --delete-emptydir-data --timeout=60s 2>&1 | grep -v '^WARNING' || true
sleep 2
$ks get pods -n default -o wide
"$tools/kubectl" delete deployment hello -n default >/dev/null 2>&1 || true
sleep 2
kill "$watch_pid" 2>/dev/null || true; wait "$watch_pid" 2>/dev/null || true; watch_pid=""

if [ -z "${KSWARM_DEMO_SHORT:-}" ] && [ -t 0 ]; then
  say "live: kswarm watch pods -A (Ctrl-C to stop and shut the control plane down)"
  echo "In another terminal: eval \"\$(scripts/localcp.sh env --name $env_name)\" and use kubectl or build/kswarm."
  $ks watch pods -A || true
fi
