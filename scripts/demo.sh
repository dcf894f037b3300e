#!/usr/bin/env bash
# make demo: `kswarm demo` (kswarm help demo) on a fresh machine, after `make deps all`: it
# starts the local Kubernetes control plane "demo" (building it the first time), removes what
# a previous demo left in it, brings simulated EKS + Karpenter nodes with `kswarm sim` playing
# the demo's scenarios (the database password rotated in Vault only, an OOM kill, a bad
# rollout, a Service selecting nothing, an overprovisioned NodePool), Prometheus scraping the simulator when installed, and
# the daemon (`kswarm run` with deploy/demo-policy.yaml): the agents diagnose, propose, decide
# under the policy, the demo approves what the policy leaves to a person (as "demo"; run
# `build/kswarm demo --interactive` to decide yourself), the reconciler applies and verifies,
# and a summary ends it: problems found and fixed, time to fix, money saved per month, changes
# refused and why. Everything it started is stopped on exit or Ctrl-C; it exits non-zero when
# a scenario did not heal.
# KSWARM_DEMO_SHORT=1 (CI): faster (--speed 4), no web UI announcement, a 10-minute limit.
# KSWARM_DEMO_ARGS: more flags for kswarm demo (e.g. "--scenario oom-limit --interactive").
set -euo pipefail
cd "$(dirname "$0")/.."
# kubectl and helm (the demo removes a previous demo's namespaces with kubectl)
scripts/helm.sh ensure >/dev/null
args=()
if [ -n "${KSWARM_DEMO_SHORT:-}" ]; then
  args+=(--speed 4 --no-ui --timeout 10m)
fi
# shellcheck disable=SC2206 # word splitting of the extra flags is wanted
[ -n "${KSWARM_DEMO_ARGS:-}" ] && args+=(${KSWARM_DEMO_ARGS})
exec build/kswarm demo "${args[@]}" "$@"
