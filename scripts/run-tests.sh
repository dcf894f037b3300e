#!/usr/bin/env bash
# Run test binaries (cmocka, TAP output) and test scripts (TAP), add up the results.
#   scripts/run-tests.sh --unit BUILD_DIR            unit tests (tests/unit/test_*.c)
#   scripts/run-tests.sh --integration BUILD_DIR     integration tests (need the control plane:
#                                                    KSWARM_TEST_KUBECONFIG)
#   --valgrind                                       run each binary under valgrind
#   --label NAME                                     prefix for the summary lines
# Prints "N passed, N failed" last; appends "passed failed" to $KSWARM_RESULTS when set.
# Exits non-zero when anything failed or no test ran.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

kind="" build="build" valgrind=0 label=""
while [ $# -gt 0 ]; do
  case "$1" in
    --unit) kind=unit ;;
    --integration) kind=integration ;;
    --valgrind) valgrind=1 ;;
    --label) label="$2 "; shift ;;
    *) build="$1" ;;
  esac
  shift
done
[ -n "$kind" ] || { echo "usage: run-tests.sh --unit|--integration BUILD_DIR" >&2; exit 2; }

export KSWARM_SRCDIR=$PWD
export KSWARM_DATA_DIR=$PWD/data
export CMOCKA_MESSAGE_OUTPUT=TAP
export KSWARM_BIN=$PWD/$build/kswarm
logdir=$build/test-logs
mkdir -p "$logdir"
passed=0 failed=0 failed_names=()

run_one() { # name, command...
  local name=$1; shift
  local log=$logdir/$name.log start end p f
  start=$(date +%s)
  "$@" >"$log" 2>&1
  local rc=$?
  end=$(date +%s)
  p=$(grep -cE '^ok [0-9]+' "$log")
  f=$(grep -cE '^not ok [0-9]+' "$log")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi  # crashed or valgrind error
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; echo "  (no test result in $log)"; fi
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$f" -gt 0 ]; then
    failed_names+=("$name")
    printf '%sFAIL %-32s %3d passed, %d failed (%ds) — log: %s\n' "$label" "$name" "$p" "$f" $((end - start)) "$log"
    grep -E '^not ok|^# |ERROR|error:|Assertion|ASan|AddressSanitizer|runtime error|definitely lost|Invalid (read|write)' "$log" | head -40 | sed 's/^/    /'
  else
    printf '%sok   %-32s %3d passed (%ds)\n' "$label" "$name" "$p" $((end - start))
  fi
}

vg=()
if [ "$valgrind" = 1 ]; then
  vg=(valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
      --show-leak-kinds=definite,indirect --track-fds=no --suppressions="$PWD/tests/valgrind.supp")
fi

srcdir=tests/$kind
for src in "$srcdir"/test_*.c; do
  [ -e "$src" ] || continue
  name=$(basename "$src" .c)
  bin=$build/tests/$name
  if [ ! -x "$bin" ]; then echo "${label}missing $bin (build it first)"; failed=$((failed + 1)); continue; fi
  run_one "$name" "${vg[@]}" "$bin"
done
# Script tests (TAP): tests/integration/test_*.sh
for src in "$srcdir"/test_*.sh; do
  [ -e "$src" ] || continue
  [ "$valgrind" = 1 ] && continue
  run_one "$(basename "$src" .sh)" bash "$src"
done

echo "${label}${passed} passed, ${failed} failed"
[ -n "${KSWARM_RESULTS:-}" ] && echo "$passed $failed" >>"$KSWARM_RESULTS"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
