#!/usr/bin/env bash
# Every scenario of scenarios/ on the real control plane: one `kswarm sim` plays them all at
# once (each has its own namespace and nodes), each reaches its documented broken state as
# kswarm's checks and, independently, real kubectl see it; then the documented fix is applied
# with real kubectl (the vault's value fetched over Vault's HTTP API, as a user would) and
# the scenario's healthy checks hold. TAP output.
set -uo pipefail
: "${KSWARM_TEST_KUBECONFIG:?needs the local control plane}" "${KSWARM_TEST_KUBECTL:?}" "${KSWARM_BIN:?}"
export KUBECONFIG=$KSWARM_TEST_KUBECONFIG
K=$KSWARM_TEST_KUBECTL
tmp=$(mktemp -d)
sim_pid=""
mapfile -t scenarios < <("$KSWARM_BIN" sim --list | awk '{print $1}')
namespaces=(shop payments catalog analytics checkout search ml ledger orders media events internal)
prom=""
export KSWARM_STATE=$tmp/state # scripts/prometheus.sh keeps its data here
cleanup() {
  if [ -n "$sim_pid" ]; then kill -INT "$sim_pid" 2>/dev/null; wait "$sim_pid" 2>/dev/null; fi
  [ -n "$prom" ] && "$KSWARM_SRCDIR/scripts/prometheus.sh" stop --name "$prom" >/dev/null 2>&1
  "$K" delete ns "${namespaces[@]}" --wait=false >/dev/null 2>&1
  "$K" delete nodepools.karpenter.sh events internal-tools --wait=false >/dev/null 2>&1
  cp "$tmp/sim.out" "${TMPDIR:-/tmp}/kswarm-test-scenarios-sim.out" 2>/dev/null; rm -rf "$tmp"
}
trap cleanup EXIT
. "$KSWARM_SRCDIR/tests/integration/tap.sh"

# A previous run's namespaces may still be terminating: the stage needs them gone.
"$K" delete ns "${namespaces[@]}" --ignore-not-found --wait=false >/dev/null 2>&1
for _ in $(seq 1 90); do
  [ -z "$("$K" get ns "${namespaces[@]}" --ignore-not-found --no-headers 2>/dev/null)" ] && break
  sleep 2
done

check "twelve scenarios are listed" test "${#scenarios[@]}" -ge 12
for sc in "${scenarios[@]}"; do
  "$KSWARM_BIN" sim --describe "$sc" -o json >"$tmp/$sc.json" 2>"$tmp/last" ||
    not_ok "describe $sc" "$(cat "$tmp/last")"
done
check "--describe never shows a secret value" bash -c "! grep -h -e 'Vr7-q2Lm' -e 'old-password' '$tmp'/*.json"
check "a bad scenario file is refused with the field named" bash -c "
  printf 'name: x\nsummary: s\nbehaviors:\n  - exit: {code: 300}\n' > '$tmp/bad.yaml'
  '$KSWARM_BIN' sim --scenario '$tmp/bad.yaml' --nodes 0 2>&1 | grep -q 'behaviors\[0\].exit: code must be an integer from 0 to 255'"

args=()
for sc in "${scenarios[@]}"; do args+=(--scenario "$sc"); done
# One simulated day per real minute: timelines (a replica every 6 h) and back-offs pass quickly.
"$KSWARM_BIN" sim --nodes 6 --instance-type m5.2xlarge --time-scale 1440 --seed $$ \
  --vault-env "$tmp/vault.env" --duration 600 --metrics-listen 127.0.0.1:0 "${args[@]}" \
  >"$tmp/sim.out" 2>&1 &
sim_pid=$!
for _ in $(seq 1 300); do grep -q "acting as kubelet" "$tmp/sim.out" && break; sleep 0.3; done
# Prometheus scraping the simulator: kswarm analyze reads usage from it (cost-spike).
metrics=$(sed -n 's|^sim: metrics at http://\([^/]*\)/metrics.*|\1|p' "$tmp/sim.out" | head -1)
prom_url=""
if [ -n "$metrics" ] && "$KSWARM_SRCDIR/scripts/prometheus.sh" start --name "scen$$" --target "$metrics" >"$tmp/prom.out" 2>&1; then
  prom="scen$$"
  prom_url=$("$KSWARM_SRCDIR/scripts/prometheus.sh" env --name "$prom" | sed 's/.*=//; s/'"'"'//g')
fi
check "Prometheus scrapes the simulator" test -n "$prom_url"
check "the simulator sets every stage" grep -q "acting as kubelet" "$tmp/sim.out"
check "the vault token is written only to the env file (mode 0600)" bash -c "
  [ \"\$(stat -c %a '$tmp/vault.env')\" = 600 ] && . '$tmp/vault.env' && [ -n \"\$VAULT_TOKEN\" ] &&
  ! grep -q \"\$VAULT_TOKEN\" '$tmp/sim.out'"

for sc in "${scenarios[@]}"; do
  eventually 120 "$sc: broken as documented (kswarm checks)" \
    "$KSWARM_BIN" sim --check broken --scenario "$sc"
done

# The same states, as kubectl shows them (retried: at this time scale a crash loop
# alternates between running and back-off every second or so).
pods() { "$K" get pods -n "$1" -l "$2" --no-headers 2>&1; }
describe() { "$K" describe pods -n "$1" -l "$2" 2>&1; }
eventually 30 "payment-db-secret: kubectl shows CrashLoopBackOff and the back-off event" bash -c "
  $(declare -f pods describe); K='$K'
  pods payments app=payment-service | grep -q CrashLoopBackOff &&
  describe payments app=payment-service | grep -q 'Back-off restarting failed container' &&
  describe payments app=payment-service | grep -q 'Exit Code:    1'"
eventually 30 "payment-db-secret: repeated back-offs are one Event with a count, as a kubelet records them" bash -c "
  '$K' get events -n payments --field-selector reason=BackOff -o jsonpath='{range .items[*]}{.count}{\"\\n\"}{end}' |
    awk '\$1 > 1 {found=1} END {exit !found}'"
eventually 30 "payment-db-secret: kubectl logs --previous shows why the last run exited" bash -c "
  pod=\$('$K' get pods -n payments -l app=payment-service -o jsonpath='{.items[0].metadata.name}')
  '$K' logs -n payments \$pod --previous | grep -q 'Failed to connect to database: authentication failed'"
eventually 30 "image-typo: kubectl shows the pull failure with the missing reference" bash -c "
  $(declare -f pods describe); K='$K'
  pods catalog app=catalog-api | grep -Eq 'ImagePullBackOff|ErrImagePull' &&
  describe catalog app=catalog-api | grep -q 'Failed to pull image \"ghcr.io/acme/catalog-api:4.2.O\": rpc error: code = NotFound'"
eventually 30 "oom-limit: kubectl shows OOMKilled, exit code 137" bash -c "
  $(declare -f pods describe); K='$K'
  describe analytics app=report-builder | grep -q 'Reason:       OOMKilled' &&
  describe analytics app=report-builder | grep -q 'Exit Code:    137'"
eventually 30 "missing-config-key: kubectl shows the kubelet's message" bash -c "
  $(declare -f pods describe); K='$K'
  pods checkout app=checkout | grep -q CreateContainerConfigError &&
  describe checkout app=checkout | grep -q \"Error: couldn't find key FEATURE_FLAGS in ConfigMap checkout/checkout-config\""
eventually 30 "service-selector-mismatch: the Service has no endpoints, its pods are ready" bash -c "
  $(declare -f pods); K='$K'
  '$K' get endpoints -n search search --no-headers | grep -q '<none>' &&
  [ \$(pods search app=search-api | grep -c '1/1') -eq 2 ]"
eventually 30 "unschedulable-pending: the scheduler says why" bash -c "
  $(declare -f describe); K='$K'
  describe ml app=trainer | grep -Eq \"didn't match (node selector|Pod's node affinity)\""
eventually 30 "pdb-blocks-drain: a ledger node is cordoned and the PDB allows 0" bash -c "
  '$K' get nodes -l karpenter.sh/nodepool=ledger --no-headers | grep -q SchedulingDisabled &&
  [ \"\$('$K' get pdb -n ledger ledger -o jsonpath='{.status.disruptionsAllowed}')\" = 0 ]"
eventually 30 "bad-rollout: the new pod is not ready and the readiness probe failure is an event" bash -c "
  $(declare -f describe); K='$K'
  describe orders app=orders-api | grep -q 'Readiness probe failed: HTTP probe failed with statuscode: 500' &&
  ! '$K' rollout status -n orders deployment/orders-api --timeout=2s"

# kswarm analyze (Layer 2) on the broken cluster: for each scenario, the first finding about
# its namespace (its object there, or a related or affected object there) has the cause and
# the root-cause object its ground truth names; the healthy baseline has none.
analyze() { "$KSWARM_BIN" analyze -A -o json ${prom_url:+--prometheus "$prom_url"} "$@"; }
first_finding() { # $1: analysis JSON file, $2: namespace
  jq -c --arg ns "$2" '[.findings[] | select(.object.namespace == $ns or
      any((.related // [])[], (.affected // [])[]; .namespace == $ns))] | first // null' "$1"
}
expect_diagnosis() { # $1: scenario
  local sc=$1 ns d got
  analyze >"$tmp/an.json" || return 1
  ns=$(jq -r '[.objects[]? | select(.kind == "Namespace") | .metadata.name] | first' "$tmp/$sc.json")
  d=$(jq -c .ground_truth.diagnosis "$tmp/$sc.json")
  got=$(first_finding "$tmp/an.json" "$ns")
  echo "namespace $ns, expected $d, first finding: $(echo "$got" | jq -c '{cause, object}')"
  if [ "$(echo "$d" | jq -r '.none // false')" = true ]; then
    [ "$got" = null ]
  else
    [ "$got" != null ] && echo "$got" | jq -e --argjson d "$d" '.cause == $d.cause and
      .object.kind == $d.kind and .object.name == $d.name and
      (.object.namespace // "") == ($d.namespace // "")' >/dev/null
  fi
}
for sc in "${scenarios[@]}"; do
  eventually 90 "$sc: kswarm analyze reports the ground truth's cause and object first" \
    expect_diagnosis "$sc"
done
eventually 30 "analyze: one finding per cause (payment-service's two crashing pods are one finding)" bash -c "
  '$KSWARM_BIN' analyze -n payments -o json | jq -e '[.findings[] | select(.cause == \"CredentialsRejected\")] |
    length == 1 and .[0].affected_count >= 2'"
check "analyze: every finding has its evidence and a typed remediation" jq -e '
  all(.findings[]; (.evidence | length) > 0 and (.remediation.type == "patch" or
      .remediation.type == "human") and (.root_cause | length) > 0)' "$tmp/an.json"
check "analyze: the JSON follows docs/findings.schema.json" /usr/bin/python3 -c "
import json, sys, jsonschema
schema = json.load(open('$KSWARM_SRCDIR/docs/findings.schema.json'))
jsonschema.Draft202012Validator.check_schema(schema)
jsonschema.validate(json.load(open('$tmp/an.json')), schema, cls=jsonschema.Draft202012Validator)"
check "analyze: one LIST per kind, logs only of failing containers" jq -e '
  .stats.list_calls <= 40 and .stats.log_calls <= 40' "$tmp/an.json"
causes() { jq -r '.findings[] | .cause + " " + .object.kind + " " + (.object.namespace // "") + "/" + .object.name' "$1" | sort; }
same_after_snapshot() { # live and snapshot analyses a moment apart name the same causes
  "$KSWARM_BIN" analyze -A -o json >"$tmp/an-live.json" &&
  "$KSWARM_BIN" snapshot -o "$tmp/snap.jsonl" 2>"$tmp/snap.err" &&
  "$KSWARM_BIN" analyze --snapshot "$tmp/snap.jsonl" -o json >"$tmp/an-snap.json" &&
  diff <(causes "$tmp/an-live.json") <(causes "$tmp/an-snap.json")
}
eventually 30 "analyze: kswarm snapshot, then analyze --snapshot finds the same causes" same_after_snapshot
check "analyze: no Secret or Vault value in the snapshot, the JSON or the text" bash -c "
  '$KSWARM_BIN' analyze -A >'$tmp/an.txt' &&
  ! grep -h -e 'Vr7-q2Lm' -e 'old-password' -e 'b2xkLXBhc3N3b3Jk' -e 'VnI3LXEyTG0' \
    '$tmp/snap.jsonl' '$tmp/an.json' '$tmp/an-snap.json' '$tmp/an.txt'"
check "analyze -n payments: the text names the root cause and the fix" bash -c "
  '$KSWARM_BIN' analyze -n payments | tee '$tmp/pay.txt' | grep -q 'CredentialsRejected' &&
  grep -q 'Secret payments/db-secret' '$tmp/pay.txt'"
check "analyze: a bad --filter is refused with the list of analyzers" bash -c "
  '$KSWARM_BIN' analyze --filter Nope 2>&1 >/dev/null | grep -q \"no analyzer 'Nope' (there are: \""

# The documented fixes, with real kubectl (the vault's value read over its HTTP API).
for sc in "${scenarios[@]}"; do
  check "$sc: the documented fix applies" env KUBECTL="$K" \
    "$KSWARM_SRCDIR/scripts/scenario-fix.sh" "$sc" "$tmp/vault.env"
done
for sc in "${scenarios[@]}"; do
  eventually 120 "$sc: healthy after the fix" "$KSWARM_BIN" sim --check healthy --scenario "$sc"
done
check "pdb-blocks-drain: the drained node is empty of ledger pods" bash -c "
  node=\$('$K' get nodes -l karpenter.sh/nodepool=ledger -o jsonpath='{range .items[?(@.spec.unschedulable==true)]}{.metadata.name}{end}')
  [ -n \"\$node\" ] && for _ in \$(seq 30); do
    [ -z \"\$('$K' get pods -n ledger --field-selector spec.nodeName=\$node --no-headers 2>/dev/null)\" ] && exit 0; sleep 1; done; exit 1"
for sc in "${scenarios[@]}"; do
  case $sc in overprovisioned-nodepool|capacity-exhaustion|cost-spike) continue ;; esac # cost: issue 5
  ns=$(jq -r '[.objects[]? | select(.kind == "Namespace") | .metadata.name] | first' "$tmp/$sc.json")
  eventually 60 "$sc: after the fix, kswarm analyze finds nothing in $ns" bash -c "
    '$KSWARM_BIN' analyze -n '$ns' -o json | jq -e '.findings | length == 0'"
done
kill -INT "$sim_pid"; wait "$sim_pid"; sim_pid=""
check "the simulator made no API error" bash -c "grep -q ' 0 API errors' '$tmp/sim.out' || { tail -5 '$tmp/sim.out'; false; }"
tap_done
