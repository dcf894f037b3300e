#!/usr/bin/env bash
# kswarm analyze as a user runs it, on snapshots (no cluster needed): the JSON against its
# schema, the text, flags refused with a reason, and --explain through a stand-in Ollama
# server speaking its exact streaming format — the answer streamed under the finding, and
# with --anonymize no name, namespace or planted Secret value in any request. TAP output.
set -uo pipefail
: "${KSWARM_BIN:?}" "${KSWARM_SRCDIR:?}"
tmp=$(mktemp -d)
llm_pid=""
cleanup() { [ -n "$llm_pid" ] && kill "$llm_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
. "$KSWARM_SRCDIR/tests/integration/tap.sh"
fx=$KSWARM_SRCDIR/tests/fixtures/diag
export NO_COLOR=1 XDG_CACHE_HOME=$tmp/cache

check "analyze --snapshot -o json follows docs/findings.schema.json" bash -c "
  '$KSWARM_BIN' analyze --snapshot '$fx/pod-payment-db-secret.yaml' -o json >'$tmp/a.json' &&
  /usr/bin/python3 -c \"
import json, jsonschema
s = json.load(open('$KSWARM_SRCDIR/docs/findings.schema.json'))
jsonschema.validate(json.load(open('$tmp/a.json')), s, cls=jsonschema.Draft202012Validator)\""
check "the top finding is the Secret, one finding for the two pods" jq -e '
  .findings[0].cause == "CredentialsRejected" and .findings[0].object.kind == "Secret" and
  .findings[0].affected_count >= 2' "$tmp/a.json"
check "text: the cause, the object and the fix" bash -c "
  '$KSWARM_BIN' analyze --snapshot '$fx/pod-payment-db-secret.yaml' >'$tmp/a.txt' &&
  grep -q 'CRITICAL CredentialsRejected  Secret payments/db-secret' '$tmp/a.txt' &&
  grep -q 'fix:' '$tmp/a.txt' && ! grep -q \$'\\033' '$tmp/a.txt'"
check "--severity critical hides the rest" bash -c "
  '$KSWARM_BIN' analyze --snapshot '$fx/pod-payment-db-secret.yaml' --severity critical -o json |
  jq -e '[.findings[] | select(.severity != \"critical\")] | length == 0'"
check "--filter Service runs only that analyzer" bash -c "
  '$KSWARM_BIN' analyze --snapshot '$fx/service-selector-mismatch.yaml' --filter service -o json |
  jq -e '.stats.analyzers_run == 1 and .findings[0].cause == \"ServiceSelectorMismatch\"'"
check "-n scopes the analysis to one namespace" bash -c "
  '$KSWARM_BIN' analyze --snapshot '$fx/pod-payment-db-secret.yaml' -n nowhere -o json |
  jq -e '.findings | length == 0'"
check "a bad --severity is refused (exit 2)" bash -c "
  '$KSWARM_BIN' analyze --snapshot '$fx/pod-payment-db-secret.yaml' --severity loud 2>&1;
  [ \$? -eq 2 ]" 
check "a missing snapshot is an error that names it (exit 1)" bash -c "
  out=\$('$KSWARM_BIN' analyze --snapshot '$tmp/none.jsonl' 2>&1); rc=\$?
  [ \$rc -eq 1 ] && echo \"\$out\" | grep -q '$tmp/none.jsonl'"
check "--list names every analyzer, Security opt-in" bash -c "
  '$KSWARM_BIN' analyze --list | grep -q '^Security .*(opt-in)' &&
  [ \$('$KSWARM_BIN' analyze --list | wc -l) -ge 24 ]"

# --explain through the stand-in Ollama.
/usr/bin/python3 "$KSWARM_SRCDIR/tests/integration/fake_ollama.py" "$tmp/port" "$tmp/requests.log" &
llm_pid=$!
for _ in $(seq 1 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$tmp/port" 2>/dev/null)"
llm=(--explain --llm-backend ollama --llm-url "$url" --llm-model tiny)
check "--explain streams the LLM's words under the finding" bash -c "
  '$KSWARM_BIN' analyze --snapshot '$fx/llm-payments.yaml' ${llm[*]} >'$tmp/e.txt' &&
  grep -q '^  explained:  Reworded: the pods of ' '$tmp/e.txt'"
check "--anonymize: no name, namespace, image or Secret value reaches the LLM" bash -c "
  : >'$tmp/requests.log'
  '$KSWARM_BIN' analyze --snapshot '$fx/llm-payments.yaml' ${llm[*]} --anonymize -o json >'$tmp/e.json' &&
  [ -s '$tmp/requests.log' ] &&
  ! grep -q -e payment -e 'pg-main' -e 'ghcr.io' -e 'Pl4nted-S3cret' -e 'svc-payments-rw' '$tmp/requests.log' &&
  jq -e '.findings[0].explanation | startswith(\"Reworded:\")' '$tmp/e.json'"
check "the root cause and the remediation stay kswarm's" bash -c "
  '$KSWARM_BIN' analyze --snapshot '$fx/llm-payments.yaml' -o json >'$tmp/plain.json' &&
  diff <(jq -S '[.findings[] | {cause, root_cause, remediation}]' '$tmp/plain.json') \
       <(jq -S '[.findings[] | {cause, root_cause, remediation}]' '$tmp/e.json')"
check "an answer is cached: the same analysis again sends no request" bash -c "
  : >'$tmp/requests.log'
  '$KSWARM_BIN' analyze --snapshot '$fx/llm-payments.yaml' ${llm[*]} --anonymize -o json >/dev/null &&
  [ ! -s '$tmp/requests.log' ]"
kill "$llm_pid" 2>/dev/null; wait "$llm_pid" 2>/dev/null; llm_pid=""
check "no LLM listening: the built-in explanations stand, one warning" bash -c "
  XDG_CACHE_HOME='$tmp/cache2' '$KSWARM_BIN' analyze --snapshot '$fx/llm-payments.yaml' ${llm[*]} -o json 2>'$tmp/err' >'$tmp/n.json' &&
  [ \$(grep -c 'built-in explanations stand' '$tmp/err') -eq 1 ] &&
  jq -e '.findings | length > 0' '$tmp/n.json'"
tap_done
