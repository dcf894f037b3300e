#!/usr/bin/env bash
# The web UI end to end: `kswarm run` against the simulator (scenario unschedulable-pending,
# namespace ml) on the control plane, and tests/browser/ui.test.mjs driving Debian's headless
# chromium through playwright-core (npm, cached by tests/browser/install.sh): the stream shows
# messages as they arrive, Approve (after the token is entered) executes a plan, a daemon
# restart in the middle misses no message. Screenshots: ${TMPDIR:-/tmp}/kswarm-ui-*.png.
# Skips (TAP "ok 1 # SKIP") only when chromium is not installed and cannot be.
set -uo pipefail
: "${KSWARM_TEST_KUBECONFIG:?needs the local control plane}" "${KSWARM_TEST_KUBECTL:?}" "${KSWARM_BIN:?}"
export KUBECONFIG=$KSWARM_TEST_KUBECONFIG
K=$KSWARM_TEST_KUBECTL
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
scenario=unschedulable-pending ns=ml
tmp=$(mktemp -d)
sim_pid="" run_pid=""
stop_daemon() { # the daemon may be a child of restart.sh (not ours to wait for)
  if [ -n "$run_pid" ]; then
    kill -TERM "$run_pid" 2>/dev/null
    for _ in $(seq 1 100); do
      [ -e /proc/$run_pid ] && ! grep -q '^[0-9]* (.*) Z' /proc/$run_pid/stat 2>/dev/null || break
      sleep 0.1
    done
    wait "$run_pid" 2>/dev/null
  fi
  run_pid=""
}
cleanup() {
  stop_daemon
  if [ -n "$sim_pid" ]; then kill -INT "$sim_pid" 2>/dev/null; wait "$sim_pid" 2>/dev/null; fi
  "$K" delete ns "$ns" --wait=false >/dev/null 2>&1
  for f in sim.out run.out run.log browser.out; do
    cp "$tmp/$f" "${TMPDIR:-/tmp}/kswarm-ui-$f" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$KSWARM_SRCDIR/tests/integration/tap.sh"

if [ ! -x "$CHROMIUM" ]; then
  "$KSWARM_SRCDIR/scripts/deps.sh" >/dev/null 2>&1
  if [ ! -x "$CHROMIUM" ]; then
    echo "ok 1 # SKIP chromium is not installed and scripts/deps.sh could not install it"
    echo "1..1"
    exit 0
  fi
fi
pw_dir=$("$KSWARM_SRCDIR/tests/browser/install.sh" 2>"$tmp/npm.log")
check "playwright-core is installed (npm ci, cached in ${pw_dir:-?})" \
  test -f "$pw_dir/node_modules/playwright-core/package.json"
[ -f "$pw_dir/node_modules/playwright-core/package.json" ] || { cat "$tmp/npm.log" | sed 's/^/# /'; tap_done; exit 1; }

"$K" delete ns "$ns" --ignore-not-found --wait=false >/dev/null 2>&1
for i in $(seq 1 60); do
  [ -z "$("$K" get ns "$ns" --ignore-not-found --no-headers 2>/dev/null)" ] && break
  [ "$i" = 15 ] && "$K" delete pods --all -n "$ns" --force --grace-period=0 >/dev/null 2>&1
  sleep 2
done
"$KSWARM_BIN" sim --nodes 2 --instance-type m5.2xlarge --time-scale 60 --seed $$ \
  --duration 900 --scenario "$scenario" >"$tmp/sim.out" 2>&1 &
sim_pid=$!
for _ in $(seq 1 300); do grep -q "acting as kubelet" "$tmp/sim.out" && break; sleep 0.3; done
check "the simulator plays $scenario" grep -q "acting as kubelet" "$tmp/sim.out"
eventually 120 "$scenario: broken as documented" "$KSWARM_BIN" sim --check broken --scenario "$scenario"

# A fixed port: the page reconnects to the same address after the restart.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$tmp/token"
chmod 600 "$tmp/token"
cat >"$tmp/kswarm.yaml" <<EOC
cluster: {name: local}
store: $tmp/kswarm.db
listen: 127.0.0.1:$port
auth: {token_file: $tmp/token}
policies: $KSWARM_SRCDIR/tests/fixtures/daemon/policy-ui.yaml
interval: 3s
verify_timeout: 3m
EOC
start_daemon() {
  rm -f "$tmp/addr"
  "$KSWARM_BIN" run --config "$tmp/kswarm.yaml" --ready-file "$tmp/addr" >>"$tmp/run.out" 2>>"$tmp/run.log" &
  run_pid=$!
  for _ in $(seq 1 150); do [ -s "$tmp/addr" ] && break; sleep 0.2; done
}
start_daemon
check "the daemon listens on 127.0.0.1:$port" test "$(cat "$tmp/addr" 2>/dev/null)" = "127.0.0.1:$port"
export KSWARM_SERVER="http://127.0.0.1:$port"
check "the page is served with its CSP" bash -c "
  curl -sfi '$KSWARM_SERVER/' | grep -qi \"^content-security-policy: default-src 'self'\""

# What the browser test runs to restart the daemon (same config, same port).
cat >"$tmp/restart.sh" <<EOR
#!/usr/bin/env bash
# The daemon is the test script's child: once it has exited it stays a zombie (state Z).
pid=\$(cat "$tmp/run.pid")
kill -TERM "\$pid"
while [ -e /proc/\$pid ] && ! grep -q '^[0-9]* (.*) Z' /proc/\$pid/stat 2>/dev/null; do sleep 0.1; done
sleep 2
rm -f "$tmp/addr"
"$KSWARM_BIN" run --config "$tmp/kswarm.yaml" --ready-file "$tmp/addr" >>"$tmp/run.out" 2>>"$tmp/run.log" &
echo \$! >"$tmp/run.pid"
for _ in \$(seq 1 150); do [ -s "$tmp/addr" ] && break; sleep 0.2; done
EOR
chmod +x "$tmp/restart.sh"
echo "$run_pid" >"$tmp/run.pid"
run_pid=""  # from here on the daemon's pid is in run.pid (the restart replaces it)

KSWARM_TOKEN=$(cat "$tmp/token") KSWARM_PW_DIR=$pw_dir KSWARM_UI_NAMESPACE=$ns \
  KSWARM_RESTART="$tmp/restart.sh" KSWARM_SHOTS="${TMPDIR:-/tmp}/kswarm-ui" CHROMIUM=$CHROMIUM \
  timeout 900 node "$KSWARM_SRCDIR/tests/browser/ui.test.mjs" >"$tmp/browser.out" 2>&1
node_rc=$?
while IFS= read -r line; do
  case $line in
    "PASS "*) ok "${line#PASS }" ;;
    "FAIL "*) not_ok "${line#FAIL }" ;;
    *) echo "$line" | sed 's/^\([^#]\)/# \1/' ;;
  esac
done <"$tmp/browser.out"
# A browser test that stopped early (killed, timed out, crashed) fails even if what ran passed.
if [ "$node_rc" -ne 0 ] && ! grep -q '^FAIL ' "$tmp/browser.out"; then
  not_ok "the browser test ran to its end (exit status $node_rc)" "$(tail -20 "$tmp/browser.out")"
fi
run_pid=$(cat "$tmp/run.pid" 2>/dev/null)
eventually 120 "$scenario: healthy as documented" "$KSWARM_BIN" sim --check healthy --scenario "$scenario"
tap_done
