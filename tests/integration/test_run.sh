#!/usr/bin/env bash
# kswarm run end to end on the real control plane with the simulator (seven scenarios at once):
# for each the swarm detects, diagnoses, proposes, decides and asks; a person approves with
# `kswarm plans approve`; the reconciler applies, verifies, and the scenario's healthy checks
# hold. The transcript holds the expected message sequence; a change the policies deny and a
# change the reliability agent vetoes never reach the API server; what only a person can fix
# gets a diagnosis and no plan; the database password (planted in the simulated Vault) is in no
# message, log line, API answer or stream; kill -9 of the daemon mid-plan and a restart
# finish the plan without applying anything twice. TAP output.
set -uo pipefail
: "${KSWARM_TEST_KUBECONFIG:?needs the local control plane}" "${KSWARM_TEST_KUBECTL:?}" "${KSWARM_BIN:?}"
export KUBECONFIG=$KSWARM_TEST_KUBECONFIG
K=$KSWARM_TEST_KUBECTL
tmp=$(mktemp -d)
sim_pid="" run_pid="" llm_pid=""
scenarios=(oom-limit payment-db-secret bad-rollout image-typo overprovisioned-nodepool
           service-selector-mismatch missing-config-key)
namespaces=(analytics payments orders catalog internal search checkout)
new_password="Vr7-q2Lm-9xTz-Ke4w" old_password="old-password-2026-10"
run_rc=""
stop_daemon() {
  if [ -n "$run_pid" ]; then kill -TERM "$run_pid" 2>/dev/null; wait "$run_pid" 2>/dev/null; run_rc=$?; fi
  run_pid=""
}
cleanup() {
  stop_daemon
  [ -n "$llm_pid" ] && kill "$llm_pid" 2>/dev/null
  if [ -n "$sim_pid" ]; then kill -INT "$sim_pid" 2>/dev/null; wait "$sim_pid" 2>/dev/null; fi
  "$K" delete ns "${namespaces[@]}" --wait=false >/dev/null 2>&1
  "$K" delete nodepools.karpenter.sh internal-tools --wait=false >/dev/null 2>&1
  for f in sim.out run.out run.log run2.out run2.log; do
    cp "$tmp/$f" "${TMPDIR:-/tmp}/kswarm-test-run-$f" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$KSWARM_SRCDIR/tests/integration/tap.sh"

"$K" delete ns "${namespaces[@]}" --ignore-not-found --wait=false >/dev/null 2>&1
"$K" delete nodepools.karpenter.sh internal-tools --ignore-not-found >/dev/null 2>&1
for i in $(seq 1 90); do
  [ -z "$("$K" get ns "${namespaces[@]}" --ignore-not-found --no-headers 2>/dev/null)" ] && break
  # Pods of a simulator that is gone (nodes left behind) never finish terminating.
  [ "$i" = 15 ] && for ns in "${namespaces[@]}"; do
    "$K" delete pods --all -n "$ns" --force --grace-period=0 >/dev/null 2>&1
  done
  sleep 2
done

args=()
for sc in "${scenarios[@]}"; do args+=(--scenario "$sc"); done
"$KSWARM_BIN" sim --nodes 4 --instance-type m5.2xlarge --time-scale 60 --seed $$ \
  --vault-env "$tmp/vault.env" --duration 900 "${args[@]}" >"$tmp/sim.out" 2>&1 &
sim_pid=$!
for _ in $(seq 1 300); do grep -q "acting as kubelet" "$tmp/sim.out" && break; sleep 0.3; done
check "the simulator plays ${scenarios[*]}" grep -q "acting as kubelet" "$tmp/sim.out"
for sc in "${scenarios[@]}"; do
  eventually 120 "$sc: broken as documented" "$KSWARM_BIN" sim --check broken --scenario "$sc"
done

# The daemon's configuration: the simulated Vault as the source of db-secret's password.
. "$tmp/vault.env"
printf '%s\n' "$VAULT_TOKEN" >"$tmp/vault-token"
head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$tmp/token"
chmod 600 "$tmp/vault-token" "$tmp/token"
# The stand-in Ollama that rewords kswarm ask's answers (no LLM exists here).
/usr/bin/python3 "$KSWARM_SRCDIR/tests/integration/fake_ollama.py" "$tmp/llm-port" "$tmp/llm.log" &
llm_pid=$!
for _ in $(seq 1 50); do [ -s "$tmp/llm-port" ] && break; sleep 0.1; done
cat >"$tmp/kswarm.yaml" <<EOF
cluster: {name: local}
store: $tmp/kswarm.db
listen: 127.0.0.1:0
auth: {token_file: $tmp/token}
policies: $KSWARM_SRCDIR/tests/fixtures/daemon/policy-e2e.yaml
interval: 3s
goals: {cut_cost: true}
vault: {addr: $VAULT_ADDR, token_file: $tmp/vault-token}
secret_sources:
  - {secret: payments/db-secret, key: password, vault: {mount: secret, path: payments/db, field: password}}
verify_timeout: 3m
llm: {backend: ollama, url: "http://127.0.0.1:$(cat "$tmp/llm-port")", model: tiny}
EOF
start_daemon() { # $1: output suffix
  rm -f "$tmp/addr"
  KSWARM_LOG_FORMAT=json "$KSWARM_BIN" run --config "$tmp/kswarm.yaml" --ready-file "$tmp/addr" \
    >"$tmp/run$1.out" 2>"$tmp/run$1.log" &
  run_pid=$!
  for _ in $(seq 1 150); do [ -s "$tmp/addr" ] && break; sleep 0.2; done
  export KSWARM_SERVER="http://$(cat "$tmp/addr" 2>/dev/null)"
}
check "kswarm run refuses a bad config with FILE:LINE:COL" bash -c "
  printf 'interval: soon\n' >'$tmp/bad.yaml'
  ! '$KSWARM_BIN' run --config '$tmp/bad.yaml' >'$tmp/bad.out' 2>&1 &&
  grep -q '^kswarm run: $tmp/bad.yaml:1:11: interval:' '$tmp/bad.out'"
start_daemon ""
check "the daemon listens and says where" test -s "$tmp/addr"
check "/healthz answers ok" bash -c "curl -sf '$KSWARM_SERVER/healthz' | grep -q ok"
eventually 60 "/metrics counts rounds" bash -c "
  curl -sf '$KSWARM_SERVER/metrics' | awk '/^kswarm_rounds_total / && \$2 >= 1 {f=1} END {exit !f}'"
check "every log line is one JSON object" bash -c "
  [ -s '$tmp/run.log' ] && jq -e -s 'all(.[]; has(\"ts\") and has(\"level\") and has(\"msg\"))' '$tmp/run.log' >/dev/null"

plans() { "$KSWARM_BIN" plans list -o json "$@"; }
transcript() { # every recorded message, as one JSON array (paged as docs/API.md says)
  local since=0 page
  while :; do
    page=$(curl -sf "$KSWARM_SERVER/api/v1/transcript?since=$since&limit=1000") || return 1
    jq -c '.messages[]' <<<"$page"
    [ "$(jq -r .more <<<"$page")" = true ] || break
    since=$(jq -r .next_since <<<"$page")
  done | jq -s .
}
plan_for() { # $1: namespace, [$2: status] -> the newest plan id about it
  plans ${2:+--status "$2"} | jq -r --arg ns "$1" '[.[] | select(.subject.namespace == $ns)] | first | .plan_id // empty'
}
for ns in analytics payments orders search; do
  eventually 120 "a plan for $ns awaits a person (production)" bash -c "
    $(declare -f plans plan_for); KSWARM_BIN='$KSWARM_BIN'; [ -n \"\$(plan_for $ns pending)\" ]"
done
oom=$(plan_for analytics pending) pay=$(plan_for payments pending) ord=$(plan_for orders pending)
sel=$(plan_for search pending)
check "missing-config-key: only a person can fix it: a diagnosis says what to check, no plan" bash -c "
  [ -z \"\$($(declare -f plans plan_for); KSWARM_BIN='$KSWARM_BIN'; plan_for checkout)\" ] &&
  $(declare -f transcript); transcript | jq -e '[.[] | select(.type == \"diagnosis\" and .subject.namespace == \"checkout\" and (.text | test(\"FEATURE_FLAGS\")))] | length > 0' >/dev/null"

check "kswarm plans show: the diff, the predicted benefit, the risk and the rollback" bash -c "
  '$KSWARM_BIN' plans show '$oom' -o json | jq -e '.approval_request.body // .approval_request |
    (.diff // .dry_run) != null and .risk != null and (.rollback // \"\") != \"\"' >/dev/null"
check "approving with a wrong token is refused (401)" bash -c "
  KSWARM_TOKEN=wrong '$KSWARM_BIN' plans approve '$oom' 2>&1 | grep -q 'the daemon rejected the token'"
check "the image-typo fix is denied by policy freeze-catalog" bash -c "
  [ -z \"\$($(declare -f plans plan_for); KSWARM_BIN='$KSWARM_BIN'; plan_for catalog pending)\" ] &&
  $(declare -f transcript); transcript | jq -e '[.[] | select(.type == \"veto\" and .subject.namespace == \"catalog\" and (.body.rule | test(\"freeze-catalog\")))] | length > 0' >/dev/null"
pool_spec() { "$K" get nodepools.karpenter.sh internal-tools -o jsonpath='{.spec}'; }
pool_before=$(pool_spec)
# The cost agent's mix for the overprovisioned pool: vetoed by the reliability agent when it is
# one node under replicated workloads; with two nodes (other scenarios' pods may land on the
# pool's nodes) it waits for a person. Either way nothing reaches the NodePool unapproved.
eventually 90 "the NodePool internal-tools change is decided: vetoed, or awaiting a person" bash -c "
  $(declare -f transcript); transcript | jq -e '[.[] | select(.subject.kind == \"NodePool\" and .subject.name == \"internal-tools\" and
    (.type == \"veto\" or .type == \"approval_request\"))] | length > 0' >/dev/null"
export KSWARM_TOKEN
KSWARM_TOKEN=$(cat "$tmp/token")

# kill -9 in the middle of a plan: approve report-builder's fix, kill the daemon as soon as
# the reconciler has started its first step, restart it; the plan ends once, applied once.
gen_before=$("$K" get deploy -n analytics report-builder -o jsonpath='{.metadata.generation}')
check "kswarm plans approve (oom-limit)" "$KSWARM_BIN" plans approve "$oom" --comment "e2e"
eventually 60 "the reconciler starts the oom-limit plan" bash -c "
  $(declare -f transcript); transcript |
    jq -e '[.[] | select(.type == \"step_started\" and .body.plan_id == \"$oom\")] | length > 0' >/dev/null"
kill -KILL "$run_pid"; wait "$run_pid" 2>/dev/null; run_pid=""
start_daemon 2
check "the daemon restarts after kill -9" test -s "$tmp/addr"
eventually 240 "oom-limit: the plan ends succeeded after the restart" bash -c "
  '$KSWARM_BIN' plans show '$oom' -o json | jq -e '.status == \"succeeded\"' >/dev/null"
eventually 120 "oom-limit: healthy as documented" "$KSWARM_BIN" sim --check healthy --scenario oom-limit
check "oom-limit: the patch was applied once (generation +1)" bash -c "
  [ \"\$('$K' get deploy -n analytics report-builder -o jsonpath='{.metadata.generation}')\" -eq $((gen_before + 1)) ]"

check "kswarm plans approve (payment-db-secret)" "$KSWARM_BIN" plans approve "$pay"
check "kswarm plans approve (bad-rollout)" "$KSWARM_BIN" plans approve "$ord"
check "kswarm plans approve (service-selector-mismatch)" "$KSWARM_BIN" plans approve "$sel"
for p in "$pay:payment-db-secret" "$ord:bad-rollout" "$sel:service-selector-mismatch"; do
  eventually 300 "${p#*:}: the plan succeeds" bash -c "
    '$KSWARM_BIN' plans show '${p%%:*}' -o json | jq -e '.status == \"succeeded\"' >/dev/null"
  eventually 120 "${p#*:}: healthy as documented" "$KSWARM_BIN" sim --check healthy --scenario "${p#*:}"
done
check "the NodePool change nobody approved never reached the API server" test "$(pool_spec)" = "$pool_before"
check "image-typo: the denied change never reached the API server" bash -c "
  '$K' get deploy -n catalog catalog-api -o jsonpath='{.spec.template.spec.containers[0].image}' | grep -q ':4.2.O$'"

transcript >"$tmp/transcript.json"
seq_of() { # $1: plan id -> the types of the messages about it, in order
  jq -r --arg p "$1" '.[] | select(.body.plan_id == $p) | .type' "$tmp/transcript.json" | uniq | tr '\n' ' '
}
check "transcript: plan, approval_request, approval, step_started, step_done, verification, outcome (oom-limit)" bash -c "
  grep -Eq '^plan approval_request approval step_started .*step_done .*verification .*outcome' <<<'$(seq_of "$oom")'"
check "transcript: diagnosis, proposal and decision come before the plan (payment-db-secret)" bash -c "
  jq -r '.[] | select(.subject.namespace == \"payments\") | .type' '$tmp/transcript.json' | uniq | tr '\n' ' ' |
    grep -Eq 'diagnosis .*proposal .*decision .*plan '"
check "the audit says who approved, what changed and the outcome" bash -c "
  '$KSWARM_BIN' plans show '$oom' -o json | jq -e '[.audit[] | select(.approved_by != \"\" and .before != null and .after != null)] | length > 0' >/dev/null"
check "the audit of the secret step shows fingerprints only" bash -c "
  '$KSWARM_BIN' plans show '$pay' -o json | jq -c .audit | grep -q 'sha256:'"
check "the approval names who approved" bash -c "
  jq -e '[.[] | select(.type == \"approval\" and .body.plan_id == \"$oom\")][0].body.approver | length > 0' '$tmp/transcript.json'"
check "the passwords are in no message" bash -c "! grep -q -e '$new_password' -e '$old_password' '$tmp/transcript.json'"
check "... in no log line or stream line" bash -c "! grep -q -e '$new_password' -e '$old_password' '$tmp'/run*.out '$tmp'/run*.log"
check "... in no API answer (plans, findings)" bash -c "
  ! { '$KSWARM_BIN' plans show '$pay' -o json; curl -sf '$KSWARM_SERVER/api/v1/findings'; } | grep -q -e '$new_password' -e '$old_password'"
check "the secret step is shown by fingerprint" bash -c "
  '$KSWARM_BIN' plans show '$pay' -o json | grep -q 'sha256:'"
check "kswarm ask answers why a plan was chosen, from the decision (reworded by the LLM)" bash -c "
  '$KSWARM_BIN' ask 'why $oom?' -o json >'$tmp/ask.json' &&
  jq -e '(.answer | startswith(\"Reworded: \")) and (.computed_answer | test(\"report-builder\")) and (.refs | length > 0)' '$tmp/ask.json'"
check "... the LLM was given the computed answer, and no password" bash -c "
  grep -q 'report-builder' '$tmp/llm.log' && ! grep -q -e '$new_password' -e '$old_password' '$tmp/llm.log'"
check "the LLM's explanations stream in the terminal, each under the message it explains" bash -c "
  grep -Eq '^[0-9:.]{12}   +llm  explains m[0-9]+  Reworded: the pods of name-1 cannot log in\.\$' '$tmp/run.out'"
check "... the LLM was asked about diagnoses from their text (type, author, subject, text)" \
  grep -q 'type: diagnosis\\nfrom: diagnostics\\nsubject: ' "$tmp/llm.log"
check "... and each explanation is in the transcript once, as an observation answering it" bash -c "
  $(declare -f transcript); transcript >'$tmp/transcript2.json' &&
  jq -e '(map({key: .id, value: .type}) | from_entries) as \$type |
    [.[] | select(.from == \"llm\" and .type == \"observation\")] as \$x |
    (\$x | length > 0) and all(\$x[]; .body.streamed == true and .re[0] == .body.explains and
      (\$type[.re[0]] | IN(\"diagnosis\", \"decision\", \"veto\", \"rollback\", \"outcome\"))) and
    ([\$x[] | .re[0]] | length == (unique | length))' '$tmp/transcript2.json' >/dev/null"
stop_daemon
check "the daemon stops cleanly on SIGTERM (exit 0, no error logged)" bash -c "
  [ '$run_rc' = 0 ] && ! grep -q '\"level\":\"error\"' '$tmp/run2.log'"
tap_done
