#!/usr/bin/env bash
# kswarm optimize against the simulator on the real control plane: the overprovisioned-nodepool
# scenario yields the saving its ground truth documents; the JSON follows
# docs/optimize.schema.json; -o yaml is a NodePool the API server accepts; applying the
# recommended patch with real kubectl makes the simulator's Karpenter replace the nodes, and
# the hourly cost measured from the nodes afterwards is what was predicted (within 5%);
# right-sizing reads usage from a real Prometheus scraping the simulator. TAP output.
set -uo pipefail
: "${KSWARM_TEST_KUBECONFIG:?needs the local control plane}" "${KSWARM_TEST_KUBECTL:?}" "${KSWARM_BIN:?}"
export KUBECONFIG=$KSWARM_TEST_KUBECONFIG
K=$KSWARM_TEST_KUBECTL
sc=overprovisioned-nodepool
pool=internal-tools
tmp=$(mktemp -d)
sim_pid=""
prom=""
export KSWARM_STATE=$tmp/state # scripts/prometheus.sh keeps its data here
cleanup() {
  if [ -n "$sim_pid" ]; then kill -INT "$sim_pid" 2>/dev/null; wait "$sim_pid" 2>/dev/null; fi
  [ -n "$prom" ] && "$KSWARM_SRCDIR/scripts/prometheus.sh" stop --name "$prom" >/dev/null 2>&1
  "$K" delete ns internal --wait=false >/dev/null 2>&1
  "$K" delete nodepools.karpenter.sh "$pool" --wait=false >/dev/null 2>&1
  cp "$tmp/sim.out" "${TMPDIR:-/tmp}/kswarm-test-optimize-sim.out" 2>/dev/null; rm -rf "$tmp"
}
trap cleanup EXIT
. "$KSWARM_SRCDIR/tests/integration/tap.sh"

"$K" delete ns internal --ignore-not-found --wait=false >/dev/null 2>&1
"$K" delete nodepools.karpenter.sh "$pool" --ignore-not-found >/dev/null 2>&1
for _ in $(seq 1 90); do
  [ -z "$("$K" get ns internal --ignore-not-found --no-headers 2>/dev/null)" ] && break
  sleep 2
done

"$KSWARM_BIN" sim --describe "$sc" -o json >"$tmp/truth.json"
want() { python3 -c "import json; print(json.load(open('$tmp/truth.json'))['ground_truth']['optimize']['$1'])"; }
check "the scenario documents the saving" test -n "$(want monthly_savings_usd 2>/dev/null)"

# One simulated day per real minute: consolidateAfter (10m) passes in under a second.
"$KSWARM_BIN" sim --nodes 0 --time-scale 1440 --seed $$ --duration 900 \
  --metrics-listen 127.0.0.1:0 --scenario "$sc" >"$tmp/sim.out" 2>&1 &
sim_pid=$!
for _ in $(seq 1 300); do grep -q "acting as kubelet" "$tmp/sim.out" && break; sleep 0.3; done
check "the simulator plays $sc" grep -q "acting as kubelet" "$tmp/sim.out"
metrics=$(sed -n 's|^sim: metrics at http://\([^/]*\)/metrics.*|\1|p' "$tmp/sim.out" | head -1)
prom_url=""
if [ -n "$metrics" ] && "$KSWARM_SRCDIR/scripts/prometheus.sh" start --name "opt$$" --target "$metrics" >"$tmp/prom.out" 2>&1; then
  prom="opt$$"
  prom_url=$("$KSWARM_SRCDIR/scripts/prometheus.sh" env --name "$prom" | sed 's/.*=//; s/'"'"'//g')
fi
check "Prometheus scrapes the simulator" test -n "$prom_url"
running() { [ "$("$K" get pods -n internal --no-headers 2>/dev/null | grep -c ' Running ')" -eq 6 ]; }
eventually 120 "the six pods run on two m5.8xlarge nodes" bash -c "
  $(declare -f running); K='$K'; running &&
  [ \"\$('$K' get nodes -l karpenter.sh/nodepool=$pool,node.kubernetes.io/instance-type=m5.8xlarge --no-headers | wc -l)\" -eq 2 ]"

# pool FIELD [FILE]: a field of the pool's entry in optimize's JSON
field() {
  python3 -c "
import json, sys
d = json.load(open('${2:-$tmp/opt.json}'))
p = [p for p in d['nodepools'] if p['name'] == '$pool'][0]
v = p
for k in '$1'.split('.'): v = v[int(k)] if isinstance(v, list) else v[k]
print(json.dumps(v) if isinstance(v, (dict, list)) else v)"
}
"$KSWARM_BIN" optimize -o json >"$tmp/opt.json" 2>"$tmp/opt.err"
check "kswarm optimize -o json runs" test -s "$tmp/opt.json"
check "the JSON follows docs/optimize.schema.json" python3 -c "
import json, jsonschema
schema = json.load(open('$KSWARM_SRCDIR/docs/optimize.schema.json'))
jsonschema.Draft202012Validator.check_schema(schema)
jsonschema.validate(json.load(open('$tmp/opt.json')), schema, cls=jsonschema.Draft202012Validator)"
near() { awk -v a="$1" -v b="$2" -v t="${3:-0.01}" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }
check "current cost: two m5.8xlarge, \$$(want current_monthly_usd) a month" near "$(field current.monthly_usd)" "$(want current_monthly_usd)"
check "recommended: \$$(want recommended_monthly_usd) a month (the documented mix)" near "$(field recommended.monthly_usd)" "$(want recommended_monthly_usd)"
check "saving: \$$(want monthly_savings_usd) a month, as documented" near "$(field monthly_savings_usd)" "$(want monthly_savings_usd)"
check "the images only ran on amd64: no arm64 type is recommended" bash -c "
  ! grep -q 'g\.' <<<'$(field recommended.mix)'"
check "the lower bound is at most the recommendation" awk -v b="$(field lower_bound_monthly_usd)" -v r="$(field recommended.monthly_usd)" 'BEGIN { exit !(b <= r + 0.005) }'
check "the alternatives say why they lost" bash -c "
  python3 -c \"
import json
d = json.load(open('$tmp/opt.json'))
p = [p for p in d['nodepools'] if p['name'] == '$pool'][0]
assert sum(a['chosen'] for a in p['alternatives']) == 1
assert all(a['why_not'] for a in p['alternatives'] if not a['chosen'])
assert any(a['name'] == 'spot' and 'keep' in a['why_not'] for a in p['alternatives'])
\""
check "the patch pins the instance types and keeps on-demand" bash -c "
  grep -q 'node.kubernetes.io/instance-type' <<<'$(field patch)' && grep -q 'on-demand' <<<'$(field patch)'"

"$KSWARM_BIN" optimize >"$tmp/opt.txt" 2>&1
check "text: a table per NodePool and a verdict" bash -c "
  grep -q '^NodePool $pool' '$tmp/opt.txt' && grep -q '^  recommended' '$tmp/opt.txt' &&
  grep -q '^Verdict: ' '$tmp/opt.txt' && grep -q 'kubectl patch nodepools.karpenter.sh $pool --type merge' '$tmp/opt.txt'"
"$KSWARM_BIN" optimize -o yaml >"$tmp/opt.yaml" 2>&1
check "yaml: the patched NodePool, accepted by the API server (server-side dry run)" bash -c "
  grep -q '^kind: NodePool' '$tmp/opt.yaml' &&
  '$K' apply --dry-run=server -f '$tmp/opt.yaml' >/dev/null"
check "--nodepool names one pool" bash -c "
  '$KSWARM_BIN' optimize --nodepool $pool -o json | python3 -c 'import json,sys; assert [p[\"name\"] for p in json.load(sys.stdin)[\"nodepools\"]] == [\"$pool\"]'"
check "--nodepool with an unknown pool fails, naming it" bash -c "
  '$KSWARM_BIN' optimize --nodepool nope >/dev/null 2>'$tmp/nope.err'; [ \$? -eq 1 ] &&
  grep -q 'NodePool nope not found' '$tmp/nope.err'"
check "a bad -o is a usage error" bash -c "'$KSWARM_BIN' optimize -o xml >/dev/null 2>&1; [ \$? -eq 2 ]"
check "another region needs an offer file" bash -c "
  '$KSWARM_BIN' optimize --region eu-west-1 2>&1 | grep -q 'needs --prices'"
"$KSWARM_BIN" snapshot -o "$tmp/snap.json" >/dev/null 2>&1
"$KSWARM_BIN" optimize --snapshot "$tmp/snap.json" -o json >"$tmp/opt-snap.json" 2>/dev/null
check "a snapshot gives the same recommendation" test "$(field recommended.monthly_usd "$tmp/opt-snap.json")" = "$(field recommended.monthly_usd)"

# Usage history (the simulator's time scale included): right-sizing for every container.
if [ -n "$prom_url" ]; then
  sleep 30 # a few scrapes: half a simulated day
  "$KSWARM_BIN" optimize --prometheus "$prom_url" -o json >"$tmp/opt-prom.json" 2>"$tmp/opt-prom.err"
  check "with --prometheus: every container of the scenario gets a recommendation" python3 -c "
import json
d = json.load(open('$tmp/opt-prom.json'))
assert d['usage_source'].startswith('Prometheus')
w = [w for w in d['workloads'] if w['namespace'] == 'internal']
assert len(w) == 3, w
for x in w:
    for c in x['containers']:
        assert c['status'] in ('ok', 'short-history'), c
        # usage is ~90m a container: a time scale left unhandled would read 1440x that
        assert c['cpu_target_cores'] < 1, c"
fi

# Apply the recommended patch as a user would, and measure.
predicted=$(field recommended.hourly_usd)
predicted_nodes=$(field recommended.nodes)
patch=$(field patch)
check "kubectl applies the patch" "$K" patch nodepools.karpenter.sh "$pool" --type merge -p "$patch"
settled() { # the pool's nodes are the predicted count, none draining, every pod running on them
  local nodes
  nodes=$("$K" get nodes -l karpenter.sh/nodepool=$pool --no-headers 2>/dev/null)
  [ "$(grep -c . <<<"$nodes")" -eq "$predicted_nodes" ] && ! grep -q SchedulingDisabled <<<"$nodes" &&
    ! grep -q m5.8xlarge < <("$K" get nodes -l karpenter.sh/nodepool=$pool -L node.kubernetes.io/instance-type --no-headers) &&
    running
}
eventually 180 "the simulator's Karpenter replaces the nodes ($predicted_nodes predicted)" bash -c "
  $(declare -f settled running); K='$K'; pool='$pool'; predicted_nodes='$predicted_nodes'; settled"
"$KSWARM_BIN" optimize -o json >"$tmp/after.json" 2>"$tmp/after.err" ||
  echo "# optimize after the change: exit $?: $(head -c 2000 "$tmp/after.err")"
measured=$(field current.hourly_usd "$tmp/after.json" 2>/dev/null)
check "the measured hourly cost (\$$measured) is the predicted one (\$$predicted) within 5%" \
  awk -v m="$measured" -v p="$predicted" 'BEGIN { d = m - p; if (d < 0) d = -d; exit !(m != "" && p > 0 && d <= 0.05 * p) }'
if [ "$(field patch "$tmp/after.json")" = "None" ]; then
  ok "after the change, optimize has nothing more to save on the pool"
else
  not_ok "after the change, optimize has nothing more to save on the pool" \
    "$(field verdict "$tmp/after.json")" "$(field patch "$tmp/after.json")"
fi
tap_done
