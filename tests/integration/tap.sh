# tap.sh — the TAP helpers every integration script shares. Source it after setting $tmp (a
# scratch directory): `. "$KSWARM_SRCDIR/tests/integration/tap.sh"`. TAP_CONTEXT (default
# 20) is how many lines of a failed command's output are shown.
#   ok WHAT / not_ok WHAT [LINES...]   one result
#   check WHAT COMMAND...              ok when COMMAND succeeds
#   eventually SECS WHAT COMMAND...    ok when COMMAND succeeds within SECS (retried each second)
#   tap_done                           the plan line; the exit status says whether all passed
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
check() {
  local what=$1; shift
  if "$@" >"$tmp/last" 2>&1; then ok "$what"; else not_ok "$what" "$(head -"${TAP_CONTEXT:-20}" "$tmp/last")"; fi
}
eventually() {
  local secs=$1 what=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@" >"$tmp/last" 2>&1; do
    if [ $SECONDS -ge $end ]; then not_ok "$what" "$(head -"${TAP_CONTEXT:-20}" "$tmp/last")"; return; fi
    sleep 1
  done
  ok "$what"
}
tap_done() { echo "1..$n"; [ "$failed" -eq 0 ]; }
