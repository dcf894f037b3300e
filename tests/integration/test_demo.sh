#!/usr/bin/env bash
# kswarm demo end to end, CI-sized: three scenarios (oom-limit, service-selector-mismatch,
# bad-rollout) against the test control plane (--kubeconfig: the demo starts no control
# plane), fast (--speed 4), unattended, --no-ui, no Prometheus. The demo starts the
# simulator and the daemon, approves as "demo" what the policy leaves to a person, waits for
# every scenario to heal, writes the summary and stops what it started. Asserts on the
# summary, on the transcript (GET /api/v1/transcript of the demo's daemon while it runs, and
# the whole transcript the summary was computed from: --transcript-json), on the stream and
# on the cleanup. TAP output.
set -uo pipefail
: "${KSWARM_TEST_KUBECONFIG:?needs the local control plane}" "${KSWARM_TEST_KUBECTL:?}" "${KSWARM_BIN:?}"
export KUBECONFIG=$KSWARM_TEST_KUBECONFIG
K=$KSWARM_TEST_KUBECTL
tmp=$(mktemp -d)
demo_pid="" llm_pid=""
scenarios=(oom-limit service-selector-mismatch bad-rollout)
namespaces=(analytics search orders ml)
cleanup() {
  [ -n "$demo_pid" ] && kill -INT "$demo_pid" 2>/dev/null && wait "$demo_pid" 2>/dev/null
  [ -n "$llm_pid" ] && kill "$llm_pid" 2>/dev/null
  "$K" delete ns "${namespaces[@]}" --wait=false >/dev/null 2>&1
  cp "$tmp/demo.out" "${TMPDIR:-/tmp}/kswarm-test-demo.out" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$KSWARM_SRCDIR/tests/integration/tap.sh"

check "kswarm demo --list names the default set" bash -c "
  '$KSWARM_BIN' demo --list | grep -q '^payment-db-secret  *\*'"
check "kswarm demo refuses a bad --speed" bash -c "
  '$KSWARM_BIN' demo --speed fast 2>&1 | grep -q 'speed takes a number'"

args=()
for sc in "${scenarios[@]}"; do args+=(--scenario "$sc"); done
# --clean: what an earlier run left in these namespaces goes first (kubectl from helm.sh);
# one is made to exist, so that there is something to remove.
"$K" create ns search >/dev/null 2>&1
# The stand-in Ollama (no LLM exists here): the agents' messages explained as they come.
/usr/bin/python3 "$KSWARM_SRCDIR/tests/integration/fake_ollama.py" "$tmp/llm-port" "$tmp/llm.log" &
llm_pid=$!
for _ in $(seq 1 50); do [ -s "$tmp/llm-port" ] && break; sleep 0.1; done
TMPDIR=$tmp "$KSWARM_BIN" demo --clean --kubeconfig "$KSWARM_TEST_KUBECONFIG" --no-prometheus \
  --no-ui --speed 4 --timeout 8m --summary-json "$tmp/summary.json" \
  --llm-url "http://127.0.0.1:$(cat "$tmp/llm-port")" --llm-model tiny \
  --transcript-json "$tmp/transcript.json" "${args[@]}" >"$tmp/demo.out" 2>&1 &
demo_pid=$!
eventually 120 "the demo's daemon answers GET /api/v1/transcript with a diagnosis" bash -c "
  s=\$(sed -n 's|.*the daemon.s API listens at \\(http://[^ ]*\\).*|\\1|p' '$tmp/demo.out' | head -1)
  [ -n \"\$s\" ] && curl -sf \"\$s/api/v1/transcript?limit=1000\" | jq -e '[.messages[] | select(.type == \"diagnosis\")] | length > 0' >/dev/null"
wait "$demo_pid"; demo_rc=$?; demo_pid=""
check "the demo exits 0 (every scenario ended healthy)" test "$demo_rc" = 0
check "the summary: found >= 3, fixed >= 2, a time to fix, savings a number, refused an array" \
  jq -e '.found >= 3 and .fixed >= 2 and .time_to_fix_s > 0 and (.monthly_savings_usd | type == "number") and (.refused | type == "array")' "$tmp/summary.json"
check "the summary: every scenario healthy" \
  jq -e '.scenarios | length == 3 and all(.[]; . == true)' "$tmp/summary.json"
check "the stream says the demo approves as \"demo\"" grep -q 'the demo approves p[0-9]* itself, as "demo"' "$tmp/demo.out"
check "the timeline tells each scenario's story, and its healing" bash -c "
  grep -q 'oom-limit: .*OOMKilled' '$tmp/demo.out' && grep -q 'service-selector-mismatch: healthy again' '$tmp/demo.out'"
check "the conversation streamed (diagnosis, plan, outcome lines)" bash -c "
  grep -qi 'diagnos' '$tmp/demo.out' && grep -qi 'outcome\|succeeded' '$tmp/demo.out'"
check "on a cluster it does not own, the demo says nothing is automatic" \
  grep -q 'a cluster the demo does not own (--kubeconfig): every change waits for a person' "$tmp/demo.out"
check "every plan the demo approved is about its scenarios' namespaces" bash -c "
  jq -e '[.[] | select(.type == \"plan\") | {p: .body.plan_id, ns: .subject.namespace}] as \$plans |
    [.[] | select(.type == \"approval\" and .body.approver == \"demo\") | .body.plan_id as \$id |
     (\$plans[] | select(.p == \$id) | .ns)] | all(. == \"analytics\" or . == \"search\" or . == \"orders\")' '$tmp/transcript.json'"
check "--llm-url: the LLM's explanations stream under the messages they explain" bash -c "
  grep -Eq '^[0-9:.]{12}   +llm  explains m[0-9]+  Reworded: ' '$tmp/demo.out'"
check "kswarm demo refuses an --llm-url that would break its YAML" bash -c "
  '$KSWARM_BIN' demo --llm-url 'http://x\", y: 1' 2>&1 | grep -q 'no spaces, quotes'"
check "the summary is printed" grep -q '== kswarm demo: summary ==' "$tmp/demo.out"
check "transcript: every fixed plan has plan, approval, outcome succeeded" bash -c "
  jq -e '[.[] | select(.type == \"outcome\" and .body.result == \"succeeded\")] | length >= 2' '$tmp/transcript.json' &&
  jq -e '[.[] | select(.type == \"approval\" and .body.approver == \"demo\")] | length >= 1' '$tmp/transcript.json'"
check "--clean: the earlier run's namespaces were removed first" \
  grep -q "removing the previous demo's namespaces and NodePools first" "$tmp/demo.out"
check "the demo stopped the simulator and the daemon it started" bash -c "
  ! pgrep -f -- '[-]-vault-env $tmp/' >/dev/null && ! pgrep -f -- '[r]un --config $tmp/' >/dev/null"
check "it removed its state directory" bash -c "! ls -d '$tmp'/kswarm-demo.* 2>/dev/null | grep -q ."

# --interactive: the person answers at the prompt (here through a pipe, read as the prompt
# comes); when the input ends, what is left waits for the web UI.
printf 'y\n' | TMPDIR=$tmp "$KSWARM_BIN" demo --clean --interactive --kubeconfig "$KSWARM_TEST_KUBECONFIG" \
  --no-prometheus --no-ui --speed 4 --timeout 4m --scenario unschedulable-pending \
  --transcript-json "$tmp/transcript2.json" >"$tmp/demo2.out" 2>&1
demo_rc=$?
check "--interactive: the demo asks 'approve pN? [y/N/reason]'" grep -q 'approve p[0-9]*? \[y/N/reason\]' "$tmp/demo2.out"
check "--interactive: the answer approves, in the person's name (not \"demo\")" \
  jq -e '[.[] | select(.type == "approval")] | length >= 1 and all(.[]; .body.approver != "demo")' "$tmp/transcript2.json"
check "--interactive: unschedulable-pending healed, exit 0" test "$demo_rc" = 0
tap_done
