#!/usr/bin/env bash
# make demo (steps 1-4 of 6 so far): start the local Kubernetes control plane (building it
# the first time), bring simulated EKS + Karpenter nodes with `kswarm sim` playing scenarios
# (a crash-looping service whose Secret differs from Vault, an image typo, an OOM kill, a
# missing ConfigMap key, a Service selecting nothing, a bad rollout), Prometheus scraping the
# simulator's metrics when installed, then each scenario's documented fix applied with
# kubectl until the cluster is healthy; on the way, `kswarm analyze` (step 3) shows each
# problem's root cause, evidence and fix, and `kswarm optimize` (step 4) the cheapest node
# mix of an overprovisioned NodePool, whose patch is applied and the cost measured after. (The
# swarm that fixes them by itself comes in steps 5-6.) Everything it started is stopped on exit or Ctrl-C; it exits non-zero when
# a scenario did not heal.
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
  [ "${prom:-0}" = 1 ] && scripts/prometheus.sh stop --name "$env_name" >/dev/null 2>&1 || true
  [ -n "${state:-}" ] && rm -rf "$state"
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
demo_scenarios=(baseline payment-db-secret image-typo oom-limit missing-config-key
                service-selector-mismatch bad-rollout overprovisioned-nodepool)
say "kswarm sim --list   (the simulator's scenarios: each breaks something, and knows the fix)"
$ks sim --list
# A previous demo on this environment left its scenarios' namespaces, fixed: start from a
# clean stage (the objects a fix changed would otherwise stay fixed).
demo_namespaces=()
for sc in "${demo_scenarios[@]}"; do
  demo_namespaces+=("$($ks sim --describe "$sc" -o json | jq -r '[.objects[]? | select(.kind == "Namespace") | .metadata.name] | first')")
done
if [ -n "$("$tools/kubectl" get ns "${demo_namespaces[@]}" --ignore-not-found --no-headers 2>/dev/null)" ]; then
  say "removing the previous demo's namespaces (${demo_namespaces[*]})"
  "$tools/kubectl" delete ns "${demo_namespaces[@]}" --ignore-not-found --wait=false >/dev/null
  "$tools/kubectl" delete nodepools.karpenter.sh internal-tools --ignore-not-found >/dev/null 2>&1 || true
  for _ in $(seq 1 90); do
    [ -z "$("$tools/kubectl" get ns "${demo_namespaces[@]}" --ignore-not-found --no-headers 2>/dev/null)" ] && break
    sleep 2
  done
fi
args=(); for sc in "${demo_scenarios[@]}"; do args+=(--scenario "$sc"); done
say "kswarm sim: 4 simulated m5.xlarge nodes, kubelets, a Vault, metrics; playing ${demo_scenarios[*]}"
state=$(mktemp -d)
$ks sim --nodes 4 --instance-type m5.xlarge --nodepool general --time-scale 60 \
  --metrics-listen 127.0.0.1:0 --vault-env "$state/vault.env" "${args[@]}" >"$state/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 1 100); do grep -q "^sim: metrics at" "$state/sim.log" && break; sleep 0.3; done
cat "$state/sim.log"
metrics=$(sed -n 's|^sim: metrics at http://\([^/]*\)/metrics.*|\1|p' "$state/sim.log" | head -1)
prom=0
if [ -x /usr/bin/prometheus ] && [ -n "$metrics" ]; then
  say "Debian's Prometheus scraping the simulator at $metrics"
  scripts/prometheus.sh start --name "$env_name" --target "$metrics" && prom=1
fi
$ks get nodes -o wide

say "waiting for each scenario's fault to show (kswarm sim --check broken)"
for sc in "${demo_scenarios[@]}"; do
  $ks sim --check broken --scenario "$sc" --wait 90s || true
done
say "kswarm get pods -A -o wide"
$ks get pods -A -o wide
say "kubectl logs --previous: why payment-service exits"
pod=$("$tools/kubectl" get pods -n payments -l app=payment-service -o jsonpath='{.items[0].metadata.name}')
"$tools/kubectl" logs -n payments "$pod" --previous || true

say "kswarm analyze: what is broken and why (one finding per root cause, with the fix)"
prom_args=()
if [ "$prom" = 1 ]; then
  eval "$(scripts/prometheus.sh env --name "$env_name")"
  prom_args=(--prometheus "$KSWARM_PROM_URL")
fi
$ks analyze -A "${prom_args[@]}" || true

say "kswarm optimize: the cheapest node mix for each NodePool, with proof and the patch"
$ks optimize "${prom_args[@]}" || true

say "applying each scenario's documented fix with kubectl"
for sc in "${demo_scenarios[@]}"; do
  if [ "$sc" = overprovisioned-nodepool ]; then
    # kswarm's own recommendation instead of the scenario's documented fix
    patch=$($ks optimize --nodepool internal-tools -o json | jq -c '.nodepools[0].patch')
    echo "-- $sc: kswarm optimize's patch: $patch"
    "$tools/kubectl" patch nodepools.karpenter.sh internal-tools --type merge -p "$patch" || true
    continue
  fi
  echo "-- $sc: $($ks sim --describe "$sc" -o json | jq -r .ground_truth.fix.description)"
  KUBECTL="$tools/kubectl" scripts/scenario-fix.sh "$sc" "$state/vault.env" || true
done
say "waiting for the cluster to heal (kswarm sim --check healthy)"
healthy=0
for sc in "${demo_scenarios[@]}"; do
  $ks sim --check healthy --scenario "$sc" --wait 120s && healthy=$((healthy + 1)) || true
done
$ks get pods -A
echo "${healthy}/${#demo_scenarios[@]} scenarios healthy after their fixes"
say "NodePool internal-tools after the patch: the simulator's Karpenter replaced the nodes"
# drift replaces one node at a time (the default budget), then consolidation merges; the
# other scenarios' pods that landed on these nodes move too: give it up to 5 minutes
for _ in $(seq 1 150); do
  "$tools/kubectl" get nodes -l karpenter.sh/nodepool=internal-tools --no-headers 2>/dev/null |
    grep -q -e m5.8xlarge -e SchedulingDisabled || break
  sleep 2
done
"$tools/kubectl" get nodes -l karpenter.sh/nodepool=internal-tools -L node.kubernetes.io/instance-type
$ks optimize --nodepool internal-tools | sed -n '/^NodePool/,/^  current/p' || true
if [ "$prom" = 1 ]; then
  eval "$(scripts/prometheus.sh env --name "$env_name")"
  say "Prometheus: CPU used per namespace (cores, simulated) from cAdvisor's counters"
  sleep 12
  curl -sf "$KSWARM_PROM_URL/api/v1/query" \
    --data-urlencode 'query=sum by (namespace) (rate(container_cpu_usage_seconds_total{container!=""}[1m])) / scalar(max(sim_time_scale))' |
    jq -r '.data.result[] | "\(.metric.namespace)\t\(.value[1] | tonumber * 1000 | floor)m"' || true
fi

if [ -z "${KSWARM_DEMO_SHORT:-}" ] && [ -t 0 ]; then
  say "live: kswarm watch pods -A (Ctrl-C to stop and shut everything down)"
  echo "In another terminal: eval \"\$(scripts/localcp.sh env --name $env_name)\" and use kubectl or build/kswarm."
  $ks watch pods -A || true
fi
[ "$healthy" = "${#demo_scenarios[@]}" ]
