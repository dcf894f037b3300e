#!/usr/bin/env bash
# kswarm optimize --aws end to end, against the AWS stand-ins of tests/fake_aws.h run by
# build/tests/helper_fake_aws (one for Pricing, one for EC2, each checking every request's
# SigV4 signature, headers and parameters as AWS would): two pages of GetProducts (the second
# holds the snapshot's types) and two of DescribeSpotPriceHistory price the snapshot's
# NodePools, the report names the live source, the planted secret key appears in no output;
# without credentials, or with AWS refusing, --aws fails with exit 1 and AWS's error. Needs no
# control plane. TAP output.
set -uo pipefail
: "${KSWARM_BIN:?}" "${KSWARM_SRCDIR:?}"
tmp=$(mktemp -d)
FAKE=$(dirname "$KSWARM_BIN")/tests/helper_fake_aws
snap=$KSWARM_SRCDIR/tests/fixtures/cost/optimize-pools.yaml
secret='wJalrXUtnFEMI/K7MDENG+bPxRfiCYzzSECRETzz' # fake_aws.h's SECRET
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
. "$KSWARM_SRCDIR/tests/integration/tap.sh"

# start NAME SERVICE FIXTURE...: a stand-in fed from a fifo kept open; its port in $port
start() {
  local name=$1; shift
  mkfifo "$tmp/$name.in"
  "$FAKE" "$@" <"$tmp/$name.in" >"$tmp/$name.port" 2>"$tmp/$name.err" &
  pids+=($!); eval "pid_$name=$!"
  exec {fd}>"$tmp/$name.in"; eval "fd_$name=$fd"
  for _ in $(seq 1 50); do [ -s "$tmp/$name.port" ] && break; sleep 0.1; done
  port=$(cat "$tmp/$name.port")
}
# stop NAME: close its stdin, wait for its verdict
stop() { local fd="fd_$1" pid="pid_$1"; eval "exec ${!fd}>&-"; wait "${!pid}"; }

export AWS_ACCESS_KEY_ID=AKIDEXAMPLEKSWARM01 AWS_SECRET_ACCESS_KEY=$secret
export AWS_SESSION_TOKEN=FwoGZXIvYXdzEBkaDEXAMPLESESSIONTOKEN==
start pricing pricing us-east-1 getproducts-page1.json getproducts-page2-cli.json; pport=$port
start ec2 ec2 us-east-1 spot-page1.xml spot-page2.xml; eport=$port
"$KSWARM_BIN" optimize --snapshot "$snap" --aws --region us-east-1 -o json \
  --aws-endpoint-pricing "http://127.0.0.1:$pport/" --aws-endpoint-ec2 "http://127.0.0.1:$eport/" \
  >"$tmp/out.json" 2>"$tmp/out.err"
rc=$?
stop ec2; ec2_rc=$?
stop pricing; pricing_rc=$?
check "optimize --aws succeeds" test "$rc" -eq 0
check "the Pricing stand-in verified every request" bash -c \
  "[ $pricing_rc -eq 0 ] && grep -qx 'requests 2' '$tmp/pricing.err'"
check "the EC2 stand-in verified every request" bash -c \
  "[ $ec2_rc -eq 0 ] && grep -qx 'requests 2' '$tmp/ec2.err'"
check "stderr counts the live prices" grep -q \
  "6 on-demand and 2 spot prices from AWS for us-east-1" "$tmp/out.err"
check "the report prices from GetProducts" grep -q "GetProducts us-east-1 (2026-11-01T00:00:00Z)" \
  "$tmp/out.json"
check "the secret key is in no output" bash -c \
  "! grep -qF '$secret' '$tmp/out.json' '$tmp/out.err'"

unset AWS_SECRET_ACCESS_KEY
"$KSWARM_BIN" optimize --snapshot "$snap" --aws >/dev/null 2>"$tmp/nocreds.err"
check "no credentials: exit 1" test $? -eq 1
check "no credentials: the variable is named" grep -q "AWS_SECRET_ACCESS_KEY not set" \
  "$tmp/nocreds.err"

export AWS_SECRET_ACCESS_KEY=$secret
start denied pricing us-east-1 400:getproducts-error-access-denied.json; pport=$port
"$KSWARM_BIN" optimize --snapshot "$snap" --aws --aws-endpoint-pricing "http://127.0.0.1:$pport/" \
  >/dev/null 2>"$tmp/denied.err"
check "access denied: exit 1" test $? -eq 1
stop denied
check "access denied: AWS's code and message" grep -q \
  "GetProducts us-east-1: HTTP 400 AccessDeniedException: User: arn:aws:iam::123456789012" \
  "$tmp/denied.err"
tap_done
