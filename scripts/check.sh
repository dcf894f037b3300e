#!/usr/bin/env bash
# make check: everything, on a fresh Debian 12 machine included (deps.sh ran first).
#   1. build (release) and run the unit tests, and the unit tests under valgrind;
#   2. start a private local control plane (scripts/localcp.sh, env "check") and run the
#      integration tests against it;
#   3. run every fuzz target over its seed corpus;
#   4. build everything again with ASan+UBSan and run the unit and integration tests again.
# The control plane is stopped on exit. The last line is "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
jobs=$(nproc 2>/dev/null || echo 2)
export KSWARM_RESULTS
KSWARM_RESULTS=$(mktemp)
env_name=check-$$
status=0

step() { printf '\n== %s\n' "$*"; }
cleanup() {
  scripts/localcp.sh stop --name "$env_name" >/dev/null 2>&1 || true
  scripts/localcp.sh reset --name "$env_name" >/dev/null 2>&1 || true
}
trap cleanup EXIT

step "build"
make -s -j"$jobs" all tests-built || { echo "0 passed, 1 failed"; exit 1; }

step "unit tests"
scripts/run-tests.sh --unit build || status=1

step "unit tests under valgrind"
scripts/run-tests.sh --unit --valgrind --label valgrind build || status=1

step "local control plane (first run builds Kubernetes v1.20.2: about 5 minutes)"
# Started twice: the API server's watch caches begin at the resourceVersion of its start, so
# on a brand-new etcd (revision ~1) no version is old enough to be answered 410 Gone. After
# a restart they begin at the bootstrap's last revision, and the 410 tests can use version 1.
if tools=$(scripts/helm.sh ensure) && scripts/localcp.sh start --name "$env_name" &&
   scripts/localcp.sh stop --name "$env_name" && scripts/localcp.sh start --name "$env_name"; then
  eval "$(scripts/localcp.sh env --name "$env_name")"
  export KSWARM_TEST_KUBECONFIG=$KUBECONFIG
  export KSWARM_TEST_KUBECTL=$tools/kubectl KSWARM_TEST_HELM=$tools/helm
  step "integration tests"
  scripts/run-tests.sh --integration build || status=1
else
  echo "control plane did not start"; echo "0 1" >>"$KSWARM_RESULTS"; status=1
fi

step "fuzz targets over their corpora"
if scripts/fuzz.sh regress >build/fuzz-regress.log 2>&1; then
  p=$(grep -c '^ok' build/fuzz-regress.log); echo "$p passed, 0 failed"; echo "$p 0" >>"$KSWARM_RESULTS"
else
  tail -40 build/fuzz-regress.log
  p=$(grep -c '^ok' build/fuzz-regress.log); f=$(grep -c '^not ok' build/fuzz-regress.log)
  [ "$f" -gt 0 ] || f=1
  echo "$p $f" >>"$KSWARM_RESULTS"; status=1
fi

step "ASan + UBSan build"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp
if make -s -j"$jobs" BUILD=asan tests-built; then
  scripts/run-tests.sh --unit --label asan build/asan || status=1
  if [ -n "${KSWARM_TEST_KUBECONFIG:-}" ]; then
    scripts/run-tests.sh --integration --label asan build/asan || status=1
  fi
else
  echo "0 1" >>"$KSWARM_RESULTS"; status=1
fi

read -r P F < <(awk '{p+=$1; f+=$2} END {print p+0, f+0}' "$KSWARM_RESULTS")
rm -f "$KSWARM_RESULTS"
echo
echo "$P passed, $F failed"
[ "$status" -eq 0 ] && [ "$F" -eq 0 ]
