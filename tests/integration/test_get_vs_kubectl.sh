#!/usr/bin/env bash
# `kswarm get` and kubectl agree on the same objects of the local control plane: the default
# table, -o wide, -o name, -o json and -o yaml (compared as data), -A, -l, and errors.
# TAP output. Needs KSWARM_TEST_KUBECONFIG, KSWARM_TEST_KUBECTL and KSWARM_BIN.
set -uo pipefail
: "${KSWARM_TEST_KUBECONFIG:?needs the local control plane}" "${KSWARM_TEST_KUBECTL:?}" "${KSWARM_BIN:?}"
export KUBECONFIG=$KSWARM_TEST_KUBECONFIG
kubectl() { "$KSWARM_TEST_KUBECTL" "$@"; }
ks() { "$KSWARM_BIN" "$@"; }
ns=kst-get-$$
tmp=$(mktemp -d)
cleanup() { "$KSWARM_TEST_KUBECTL" delete ns "$ns" --wait=false >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT

. "$KSWARM_SRCDIR/tests/integration/tap.sh"

# Same output from both commands; ages can tick between the two runs, so retry a few times.
same() { # description, args...
  local what=$1; shift
  for attempt in 1 2 3 4 5; do
    kubectl get "$@" >"$tmp/kubectl.out" 2>"$tmp/kubectl.err"; local krc=$?
    ks get "$@" >"$tmp/ks.out" 2>"$tmp/ks.err"; local src=$?
    grep -v -i 'version' "$tmp/kubectl.err" >"$tmp/kubectl.err2" || true
    if [ "$krc" = "$src" ] && cmp -s "$tmp/kubectl.out" "$tmp/ks.out" && cmp -s "$tmp/kubectl.err2" "$tmp/ks.err"; then
      ok "$what"; return
    fi
    sleep 0.3
  done
  not_ok "$what" "exit kubectl=$krc kswarm=$src" "$(diff "$tmp/kubectl.out" "$tmp/ks.out" | head -20)" \
    "$(diff "$tmp/kubectl.err2" "$tmp/ks.err" | head -5)"
}

same_data() { # description, format(json|yaml), args...
  local what=$1 fmt=$2; shift 2
  kubectl get "$@" -o "$fmt" >"$tmp/k.$fmt" 2>/dev/null
  ks get "$@" -o "$fmt" >"$tmp/s.$fmt"
  if [ "$fmt" = yaml ]; then
    fy-tool --mode json "$tmp/k.yaml" | jq -S . >"$tmp/k.norm" 2>/dev/null
    fy-tool --mode json "$tmp/s.yaml" | jq -S . >"$tmp/s.norm" 2>/dev/null
  else
    jq -S . "$tmp/k.json" >"$tmp/k.norm" 2>/dev/null; jq -S . "$tmp/s.json" >"$tmp/s.norm" 2>/dev/null
  fi
  if [ -s "$tmp/k.norm" ] && cmp -s "$tmp/k.norm" "$tmp/s.norm"; then ok "$what"
  else not_ok "$what" "$(diff "$tmp/k.norm" "$tmp/s.norm" | head -20)"; fi
}

"$KSWARM_TEST_KUBECTL" create ns "$ns" >/dev/null
cat <<YAML | "$KSWARM_TEST_KUBECTL" apply -n "$ns" -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web, tier: front}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec: {containers: [{name: web, image: "nginx:1.25", resources: {requests: {cpu: 100m, memory: 64Mi}}}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, labels: {tier: back}}
data: {a: "1", b: "two"}
---
apiVersion: batch/v1beta1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: j, image: busybox}]}}}}
YAML
# Let the controllers create the ReplicaSet and Pods.
for _ in $(seq 1 50); do
  [ "$("$KSWARM_TEST_KUBECTL" get pods -n "$ns" --no-headers 2>/dev/null | wc -l)" -ge 2 ] && break
  sleep 0.2
done

same "table: namespaces" namespaces
same "table: pods" pods -n "$ns"
same "table: deployments (short name)" deploy -n "$ns"
same "table: replicasets" rs -n "$ns"
same "table: services -o wide" svc -n "$ns" -o wide
same "table: configmaps -A with a selector" configmaps -A -l tier=back
same "table: set-based selector" pods -n "$ns" -l 'app in (web,api),tier!=back'
same "table: cronjobs (batch/v1beta1 on 1.20)" cronjobs -n "$ns"
same "table: one object by name" deployment web -n "$ns"
same "table: KIND/NAME" configmap/settings -n "$ns"
same "table: --no-headers" pods -n "$ns" --no-headers
same "name: pods -o name" pods -n "$ns" -o name
same "name: deployments -o name" deployments.apps -n "$ns" -o name
same "empty: no resources message" secrets -n "$ns" -l none=here
same "error: not found" configmap nope -n "$ns"
same "error: unknown kind" nosuchkinds
same "several kinds: tables with kind-prefixed names" deploy,rs,svc -n "$ns"
same "several kinds: -o name" deploy,configmaps -n "$ns" -o name
same "several kinds: none found" secrets,cm -n "$ns" -l none=here
same_data "several kinds: one List in JSON" json deploy,rs -n "$ns"
same_data "json: one deployment" json deployment web -n "$ns"
same_data "json: a list of pods" json pods -n "$ns"
same_data "yaml: a configmap" yaml configmap settings -n "$ns"
same_data "yaml: a list of services" yaml services -n "$ns"
if "$KSWARM_TEST_KUBECTL" get crd nodepools.karpenter.sh >/dev/null 2>&1; then
  same "table: CRD printer columns (nodepools)" nodepools -o wide
fi

tap_done
