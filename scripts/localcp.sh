#!/usr/bin/env bash
# localcp.sh — a real Kubernetes v1.20.2 control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler) on 127.0.0.1, built from Debian 12's `kubernetes`
# source package, for kswarm's tests and demos. See docs/LOCALCP.md.
#
# Usage:
#   scripts/localcp.sh build                     build (or find cached) the three binaries
#   scripts/localcp.sh tools                     install helm + kubectl (scripts/helm.sh)
#   scripts/localcp.sh start  [--name ENV] [--port-base N]
#   scripts/localcp.sh stop   [--name ENV]       stop the processes it started (keeps data)
#   scripts/localcp.sh reset  [--name ENV]       stop and delete the environment's state dir
#   scripts/localcp.sh status [--name ENV]       exit 0 when running, 3 when not
#   scripts/localcp.sh env    [--name ENV]       print `export` lines for eval
#   scripts/localcp.sh list                      every environment and whether it runs
#
# Layout:
#   ${KSWARM_CACHE:-~/.cache/kswarm}/k8s-v1.20.2/   apt/ dl/ gopath/src/k8s.io/kubernetes/
#                                                   gocache/ tools/ logs/ stages/ bin/
#   ${KSWARM_STATE:-~/.local/state/kswarm}/cp-ENV/  env kubeconfig *.kubeconfig pki/ etcd/
#                                                   logs/ run/ certs/
#
# Design. `build` runs numbered stages (fetch, unpack, patch, openapi, three go builds);
# each leaves a marker in stages/, so an interrupted build resumes where it stopped, and
# bin/.stamp (written last) makes a finished build a no-op. A flock on k8s-v1.20.2/.lock
# keeps two invocations from building at once.
# `start` takes a per-environment lock, picks ports under a global port lock (so two
# environments starting at once get different ports), makes the PKI once, then launches
# etcd -> kube-apiserver (/readyz) -> kube-controller-manager + kube-scheduler (/healthz) and
# waits for the `default` ServiceAccount and its token, so Pods can be created. Every daemon
# binds 127.0.0.1 only. `stop` signals only PIDs recorded in run/*.pid whose /proc/PID/exe is
# the expected binary and whose command line names this environment's state dir.
set -euo pipefail

readonly K8S_VERSION="v1.20.2"
readonly K8S_GIT_COMMIT="faecb196815e248d3ecfb03c680a4507229c2a56" # upstream tag v1.20.2
readonly RECIPE="kswarm-localcp-build 1 kubernetes $K8S_VERSION"
readonly COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler)
readonly SERVICE_CIDR="10.0.0.0/24"
readonly SA_ISSUER="https://kubernetes.default.svc.cluster.local"
readonly ETCD_BIN="${KSWARM_ETCD:-/usr/bin/etcd}"
readonly PORT_SCAN_FIRST=20000 PORT_SCAN_LAST=31990 PORT_STEP=10

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${KSWARM_CACHE:-$HOME/.cache/kswarm}"
K8S_DIR="$CACHE_ROOT/k8s-$K8S_VERSION"
GOPATH_DIR="$K8S_DIR/gopath"
SRC_DIR="$GOPATH_DIR/src/k8s.io/kubernetes"
BIN_DIR="$K8S_DIR/bin"
STAMP="$BIN_DIR/.stamp"
STATE_ROOT="${KSWARM_STATE:-$HOME/.local/state/kswarm}"
READY_TIMEOUT="${KSWARM_READY_TIMEOUT:-120}"
readonly SCRIPT_DIR CACHE_ROOT K8S_DIR GOPATH_DIR SRC_DIR BIN_DIR STAMP STATE_ROOT READY_TIMEOUT

# Lock file descriptors; launched daemons close them so they never hold a lock.
BUILD_LOCK_FD=""
ENV_LOCK_FD=""
PORT_LOCK_FD=""

log() { printf 'localcp: %s\n' "$*" >&2; }
die() {
  printf 'localcp: error: %s\n' "$*" >&2
  exit 1
}

# ---------------------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------------------

build_done() {
  local c
  for c in "${COMPONENTS[@]}"; do [ -x "$BIN_DIR/$c" ] || return 1; done
  [ -f "$STAMP" ] && [ "$(head -n1 "$STAMP")" = "$RECIPE" ]
}

BUILD_T0=0
BUILD_STAGES=7
stage() { # N title
  log "[build $1/$BUILD_STAGES] $2 (elapsed $((SECONDS - BUILD_T0))s; a cold build takes ~4.5 min on 2 idle cores, longer on a busy machine)"
}
stage_done() { [ -f "$K8S_DIR/stages/$1" ]; }
stage_mark() { mkdir -p "$K8S_DIR/stages" && date -u +%FT%TZ >"$K8S_DIR/stages/$1"; }

# apt-get with a private source list, list dir and cache: the system's apt state is not read
# for sources nor written.
APT_OPTS=()
apt_setup() {
  local d="$K8S_DIR/apt"
  mkdir -p "$d/etc" "$d/lists/partial" "$d/cache/archives/partial"
  APT_OPTS=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$d/etc"
    -o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache" -q)
  # As root apt would drop to _apt, which cannot write into $HOME; stay root (no warning).
  [ "$(id -u)" -ne 0 ] || APT_OPTS+=(-o "APT::Sandbox::User=root")
  local sys=/etc/apt/sources.list.d/debian.sources
  # deb-src for `apt-get source kubernetes`, deb for `apt-get download` of reflect2;
  # same URIs, suites and keys as the system's deb822 file, component main only.
  if [ -f "$sys" ]; then
    local t
    for t in deb-src deb; do
      awk -v t="$t" '
        /^[[:space:]]*#/ { next }
        /^Types:/ { print "Types: " t; next }
        /^Components:/ { print "Components: main"; next }
        { print }' "$sys" >"$d/etc/kswarm-$t.sources"
    done
  else
    local t
    for t in deb-src deb; do
      cat >"$d/etc/kswarm-$t.sources" <<EOF
Types: $t
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: $t
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    done
  fi
}

orig_tarball() {
  local f
  f="$(find "$K8S_DIR/dl" -maxdepth 1 -name 'kubernetes_*.orig.tar.gz' 2>/dev/null | sort -V | tail -n1)"
  [ -n "$f" ] && echo "$f"
}
reflect2_deb() {
  find "$K8S_DIR/dl" -maxdepth 1 -name 'golang-github-modern-go-reflect2-dev_*.deb' 2>/dev/null |
    sort -V | tail -n1
}

build_fetch() {
  stage 1 "fetch Debian 12 source package kubernetes and golang-github-modern-go-reflect2-dev"
  local logf="$K8S_DIR/logs/fetch.log"
  apt_setup
  mkdir -p "$K8S_DIR/dl"
  {
    apt-get "${APT_OPTS[@]}" update &&
      (cd "$K8S_DIR/dl" && apt-get "${APT_OPTS[@]}" source --download-only kubernetes) &&
      (cd "$K8S_DIR/dl" && apt-get "${APT_OPTS[@]}" download golang-github-modern-go-reflect2-dev)
  } >"$logf" 2>&1 || die "fetching sources failed; last lines of $logf:
$(tail -n 15 "$logf")"
  [ -n "$(orig_tarball)" ] || die "no kubernetes_*.orig.tar.gz in $K8S_DIR/dl (see $logf)"
  [ -n "$(reflect2_deb)" ] || die "no reflect2 .deb in $K8S_DIR/dl (see $logf)"
  stage_mark fetch
}

build_unpack() {
  local tarball tmp
  tarball="$(orig_tarball)"
  stage 2 "unpack $(basename "$tarball")"
  tmp="$GOPATH_DIR/src/k8s.io/.kubernetes.unpack"
  rm -rf "$tmp" "$SRC_DIR" "$K8S_DIR/stages/patch" "$K8S_DIR/stages/openapi"
  rm -f "$K8S_DIR/stages/build-"*
  mkdir -p "$tmp"
  tar -xzf "$tarball" -C "$tmp" --strip-components=1
  mv "$tmp" "$SRC_DIR"
  stage_mark unpack
}

# Fix 1: Go >= 1.17 reads a module's package lines as belonging to the module line right
# above them; in 1.20's vendor/modules.txt they follow `# path vX => ...` but the wildcard
# `# path => ...` line comes after them, or before them for staging modules. Regroup every
# module as: wildcard line(s), versioned line(s) each with its `## ...` annotations,
# packages. Running it twice gives the same file.
reorder_modules_txt() {
  awk '
    /^# / {
      mod = $2
      if (!(mod in seen)) { seen[mod] = 1; order[++n] = mod }
      if ($3 == "=>") { wild[mod] = wild[mod] $0 "\n"; cur = "w" }
      else { ver[mod] = ver[mod] $0 "\n"; cur = "v" }
      next
    }
    /^## / {
      if (cur == "v") ver[mod] = ver[mod] $0 "\n"; else wild[mod] = wild[mod] $0 "\n"
      next
    }
    { pkgs[mod] = pkgs[mod] $0 "\n" }
    END { for (i = 1; i <= n; i++) { m = order[i]; printf "%s%s%s", wild[m], ver[m], pkgs[m] } }
  ' "$1" >"$1.new"
  [ "$(wc -l <"$1")" -eq "$(wc -l <"$1.new")" ] || die "modules.txt reorder lost lines"
  mv "$1.new" "$1"
}

build_patch() {
  stage 3 "patch: vendor/modules.txt order, reflect2 v1.0.2 from Debian"
  local deb x r2 vr2
  deb="$(reflect2_deb)"
  x="$K8S_DIR/reflect2-deb"
  rm -rf "$x"
  dpkg-deb -x "$deb" "$x"
  r2="$x/usr/share/gocode/src/github.com/modern-go/reflect2"
  vr2="$SRC_DIR/vendor/github.com/modern-go/reflect2"
  [ -f "$r2/reflect2.go" ] || die "$deb has no reflect2 sources at ${r2#"$x"}"
  # Fix 2: reflect2 v1.0.1 crashes on Go >= 1.18 (modern-go/reflect2#24).
  find "$vr2" -maxdepth 1 -name '*.go' -delete
  find "$r2" -maxdepth 1 -name '*.go' ! -name '*_test.go' -exec cp {} "$vr2/" \;
  sed -i '/github\.com\/modern-go\/reflect2/s/v1\.0\.1/v1.0.2/g' \
    "$SRC_DIR/go.mod" "$SRC_DIR/vendor/modules.txt"
  reorder_modules_txt "$SRC_DIR/vendor/modules.txt"
  stage_mark patch
}

# The build's Go environment: vendored modules only, no network, own cache, 2 packages at
# a time (2 cores; peak memory about 1.3 GB).
GO_ENV=(env GOPATH="$GOPATH_DIR" GOCACHE="$K8S_DIR/gocache" GOFLAGS=-mod=vendor CGO_ENABLED=0
  GOPROXY=off GOSUMDB=off GO111MODULE=on GOWORK=off GOTOOLCHAIN=local)
readonly GO_BUILD_PARALLEL="${KSWARM_GO_BUILD_P:-2}"

# Runs a long command in the background with its output in a log file, printing a
# "still ..." line every 10 s; dies with the log's tail when it fails.
BG_PID=""
run_with_progress() { # label logfile dir cmd...
  local label="$1" logf="$2" dir="$3" t0=$SECONDS next=10
  shift 3
  (cd "$dir" && exec "$@") >"$logf" 2>&1 &
  BG_PID=$!
  while kill -0 "$BG_PID" 2>/dev/null; do
    sleep 1
    if [ $((SECONDS - t0)) -ge "$next" ]; then
      log "still $label… $((SECONDS - t0))s"
      next=$((next + 10))
    fi
  done
  if ! wait "$BG_PID"; then
    BG_PID=""
    die "$label failed after $((SECONDS - t0))s; last lines of $logf:
$(tail -n 25 "$logf")"
  fi
  BG_PID=""
  log "done $label in $((SECONDS - t0))s"
}

build_openapi() {
  stage 4 "generate pkg/generated/openapi/zz_generated.openapi.go with openapi-gen"
  local gen="$K8S_DIR/tools/openapi-gen" dirs report="$K8S_DIR/logs/openapi-violations.report"
  mkdir -p "$K8S_DIR/tools"
  run_with_progress "building openapi-gen" "$K8S_DIR/logs/build-openapi-gen.log" "$SRC_DIR" \
    "${GO_ENV[@]}" go build -p "$GO_BUILD_PARALLEL" -o "$gen" k8s.io/kube-openapi/cmd/openapi-gen
  # Fix 3: the tarball lacks pkg/generated/openapi/zz_generated.openapi.go. Inputs as in
  # upstream's Makefile.generated_files: every directory (staging/src written as vendor/)
  # with a .go file carrying a `// +k8s:` tag and `+k8s:openapi-gen=`, less code-generator
  # and sample-apiserver.
  dirs="$(cd "$SRC_DIR" &&
    find -H . \( -path './_*' -o -path './.*' -o -path ./vendor \) -prune -o \
      -type f -name '*.go' -print0 |
    xargs -0 grep -l --null -e '+k8s:openapi-gen=' |
    xargs -0 grep -l '^// *+k8s:' |
    sed -e 's|/[^/]*$||' -e 's|^\./||' -e 's|^staging/src/|vendor/|' |
    grep -v -e '^vendor/k8s\.io/code-generator/' -e '^vendor/k8s\.io/sample-apiserver/' |
    LC_ALL=C sort -u | sed 's|^|k8s.io/kubernetes/|' | paste -sd, -)"
  [ -n "$dirs" ] || die "found no +k8s:openapi-gen= directories under $SRC_DIR"
  rm -f "$SRC_DIR/pkg/generated/openapi/zz_generated.openapi.go"
  run_with_progress "running openapi-gen" "$K8S_DIR/logs/openapi-gen.log" "$SRC_DIR" \
    env GOPATH="$GOPATH_DIR" GO111MODULE=off GOFLAGS= GOCACHE="$K8S_DIR/gocache" \
    "$gen" --logtostderr -i "$dirs" \
    -o "$GOPATH_DIR/src" -p k8s.io/kubernetes/pkg/generated/openapi -O zz_generated.openapi \
    -h "$SRC_DIR/vendor/k8s.io/code-generator/hack/boilerplate.go.txt" -r "$report"
  [ -s "$SRC_DIR/pkg/generated/openapi/zz_generated.openapi.go" ] ||
    die "openapi-gen wrote no zz_generated.openapi.go (see $K8S_DIR/logs/openapi-gen.log)"
  if ! cmp -s "$report" "$SRC_DIR/api/api-rules/violation_exceptions.list"; then
    log "warning: openapi-gen's API rule report $report differs from api/api-rules/violation_exceptions.list"
  fi
  stage_mark openapi
}

ldflags() {
  local p flags="-s -w" date
  date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=20"
    flags+=" -X $p.gitCommit=$K8S_GIT_COMMIT -X $p.gitTreeState=clean -X $p.buildDate=$date"
  done
  echo "$flags"
}

build_component() { # N name
  local n="$1" c="$2"
  stage "$n" "go build $c"
  mkdir -p "$BIN_DIR"
  run_with_progress "building $c" "$K8S_DIR/logs/build-$c.log" "$SRC_DIR" \
    "${GO_ENV[@]}" go build -p "$GO_BUILD_PARALLEL" -trimpath -ldflags "$(ldflags)" \
    -o "$BIN_DIR/.$c.new" "./cmd/$c"
  mv -f "$BIN_DIR/.$c.new" "$BIN_DIR/$c"
  stage_mark "build-$c"
}

cleanup_build() {
  if [ -n "$BG_PID" ]; then kill "$BG_PID" 2>/dev/null || true; fi
}

cmd_build() {
  if build_done; then
    log "kubernetes $K8S_VERSION binaries cached in $BIN_DIR"
    return 0
  fi
  command -v go >/dev/null 2>&1 || die "go not found (scripts/deps.sh installs golang-go)"
  mkdir -p "$K8S_DIR/logs"
  exec {BUILD_LOCK_FD}>"$K8S_DIR/.lock"
  if ! flock -n "$BUILD_LOCK_FD"; then
    log "another localcp.sh is building in $K8S_DIR; waiting for it"
    flock "$BUILD_LOCK_FD"
  fi
  if build_done; then
    exec {BUILD_LOCK_FD}>&-
    BUILD_LOCK_FD=""
    log "kubernetes $K8S_VERSION binaries cached in $BIN_DIR"
    return 0
  fi
  trap cleanup_build EXIT
  BUILD_T0=$SECONDS
  log "building kubernetes $K8S_VERSION into $K8S_DIR (logs in $K8S_DIR/logs)"
  stage_done fetch || build_fetch
  if ! stage_done unpack || [ ! -f "$SRC_DIR/go.mod" ]; then build_unpack; fi
  stage_done patch || build_patch
  stage_done openapi || build_openapi
  local i=5 c
  for c in "${COMPONENTS[@]}"; do
    if ! stage_done "build-$c" || [ ! -x "$BIN_DIR/$c" ]; then build_component "$i" "$c"; fi
    i=$((i + 1))
  done
  {
    echo "$RECIPE"
    echo "built $(date -u +%FT%TZ) with $(go version) in $((SECONDS - BUILD_T0))s"
  } >"$STAMP.new"
  mv -f "$STAMP.new" "$STAMP"
  trap - EXIT
  exec {BUILD_LOCK_FD}>&-
  BUILD_LOCK_FD=""
  log "build finished in $((SECONDS - BUILD_T0))s; binaries in $BIN_DIR"
}

# ---------------------------------------------------------------------------------------
# environments: names, state files, locks
# ---------------------------------------------------------------------------------------

ENV_NAME="default"
PORT_BASE=""
ENV_DIR=""
APISERVER_PORT="" ETCD_CLIENT_PORT="" ETCD_PEER_PORT="" CONTROLLER_MANAGER_PORT="" SCHEDULER_PORT=""

parse_env_args() { # ALLOW_PORT_BASE(0|1) [--name ENV] [--port-base N]
  local allow_port_base="$1"
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --name)
        [ $# -ge 2 ] || die "--name needs a value"
        ENV_NAME="$2"
        shift 2
        ;;
      --name=*)
        ENV_NAME="${1#--name=}"
        shift
        ;;
      --port-base | --port-base=*)
        [ "$allow_port_base" = 1 ] || die "--port-base is only for start"
        if [ "$1" = --port-base ]; then
          [ $# -ge 2 ] || die "--port-base needs a value"
          PORT_BASE="$2"
          shift 2
        else
          PORT_BASE="${1#--port-base=}"
          shift
        fi
        ;;
      *) die "unknown argument '$1'" ;;
    esac
  done
  [[ "$ENV_NAME" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$ ]] ||
    die "environment name '$ENV_NAME' must be letters, digits, '_', '.', '-' (at most 63)"
  if [ -n "$PORT_BASE" ]; then
    if ! [[ "$PORT_BASE" =~ ^[0-9]+$ ]] || [ "$PORT_BASE" -lt 1024 ] || [ "$PORT_BASE" -gt 65530 ]; then
      die "--port-base must be a number from 1024 to 65530"
    fi
  fi
  ENV_DIR="$STATE_ROOT/cp-$ENV_NAME"
}

env_get() { # KEY -> value from the environment's KEY='value' env file
  local f="$ENV_DIR/env"
  [ -f "$f" ] || return 0
  sed -n "s/^$1='\(.*\)'\$/\1/p" "$f" | tail -n1
}

lock_env() {
  mkdir -p "$STATE_ROOT"
  exec {ENV_LOCK_FD}>"$STATE_ROOT/.cp-$ENV_NAME.lock"
  if ! flock -n "$ENV_LOCK_FD"; then
    log "another localcp.sh is working on environment '$ENV_NAME'; waiting"
    flock -w 600 "$ENV_LOCK_FD" || die "timed out waiting for the lock on '$ENV_NAME'"
  fi
}

# ---------------------------------------------------------------------------------------
# processes
# ---------------------------------------------------------------------------------------

readonly DAEMONS=(etcd kube-apiserver kube-controller-manager kube-scheduler)

daemon_bin() {
  case "$1" in
    etcd) echo "$ETCD_BIN" ;;
    *) echo "$BIN_DIR/$1" ;;
  esac
}

# Prints the PID recorded for daemon $1 when that PID still runs the expected binary with
# this environment's state dir on its command line; prints nothing otherwise.
daemon_pid() {
  local name="$1" pidf pid exe want cmdline
  pidf="$ENV_DIR/run/$name.pid"
  [ -f "$pidf" ] || return 0
  pid="$(cat "$pidf" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
  exe="${exe% (deleted)}"
  want="$(readlink -f "$(daemon_bin "$name")" 2>/dev/null || daemon_bin "$name")"
  [ -n "$exe" ] && [ "$exe" = "$want" ] || return 0
  # A zombie (exited, not yet reaped) is not running.
  [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 0
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  case "$cmdline" in *"$ENV_DIR/"*) echo "$pid" ;; esac
}

running_count() {
  local n=0 d
  for d in "${DAEMONS[@]}"; do [ -z "$(daemon_pid "$d")" ] || n=$((n + 1)); done
  echo "$n"
}

stop_daemon() {
  local name="$1" pid pidf="$ENV_DIR/run/$1.pid" i
  [ -f "$pidf" ] || return 0
  pid="$(daemon_pid "$name")"
  if [ -z "$pid" ]; then
    log "$name is not running (stale $pidf named PID $(cat "$pidf" 2>/dev/null), left alone); removed the file"
    rm -f "$pidf"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    [ -n "$(daemon_pid "$name")" ] || break
    sleep 0.1
  done
  if [ -n "$(daemon_pid "$name")" ]; then
    log "$name (pid $pid) still runs 15s after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      [ -n "$(daemon_pid "$name")" ] || break
      sleep 0.1
    done
  fi
  rm -f "$pidf"
  log "stopped $name (pid $pid)"
}

stop_all() {
  local i
  for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do stop_daemon "${DAEMONS[$i]}"; done
}

# Starts daemon $1 (arguments $2...) in a session of its own with output in logs/NAME.log
# (the previous one kept as NAME.log.1) and records its PID in run/NAME.pid.
launch() {
  local name="$1" bin pid logf
  shift
  bin="$(daemon_bin "$name")"
  [ -x "$bin" ] || start_failed "$bin is missing" ""
  logf="$ENV_DIR/logs/$name.log"
  [ ! -f "$logf" ] || mv -f "$logf" "$logf.1"
  # The subshell closes the lock descriptors and execs setsid, which does not fork here (a
  # non-interactive shell's background job is no process group leader) and execs the
  # daemon: $! is the daemon's PID.
  (
    if [ -n "$ENV_LOCK_FD" ]; then exec {ENV_LOCK_FD}>&-; fi
    if [ -n "$PORT_LOCK_FD" ]; then exec {PORT_LOCK_FD}>&-; fi
    exec setsid "$bin" "$@" </dev/null >"$logf" 2>&1
  ) &
  pid=$!
  echo "$pid" >"$ENV_DIR/run/$name.pid"
  sleep 0.2
  [ -n "$(daemon_pid "$name")" ] || start_failed "$name (pid $pid) exited right after start" "$logf"
  log "started $name (pid $pid, log $logf)"
}

start_failed() { # message logfile
  log "error: $1"
  if [ -n "$2" ] && [ -f "$2" ]; then
    log "last lines of $2:"
    tail -n 20 "$2" | sed 's/^/    /' >&2
  fi
  log "stopping what this start launched"
  stop_all
  exit 1
}

# ---------------------------------------------------------------------------------------
# ports
# ---------------------------------------------------------------------------------------
# Five ports per environment from a base B: B kube-apiserver, B+1 etcd client, B+2 etcd
# peer, B+3 kube-controller-manager, B+4 kube-scheduler. Without --port-base an environment
# keeps the base it had while those ports are free, else takes the first base from 20000
# (step 10; below Linux's ephemeral range) whose ports nothing listens on and no other
# environment has recorded.

listening_ports() {
  if command -v ss >/dev/null 2>&1; then
    ss -Htln 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' | sort -un
  else
    # /proc/net/tcp*: state 0A is LISTEN; the local port is the hex after the colon.
    local hex
    awk 'NR > 1 && $4 == "0A" { split($2, a, ":"); print a[2] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null |
      while read -r hex; do echo $((16#$hex)); done | sort -un
  fi
}

reserved_ports() { # ports recorded by the other environments
  local f
  for f in "$STATE_ROOT"/cp-*/env; do
    if [ ! -f "$f" ] || [ "$f" = "$ENV_DIR/env" ]; then continue; fi
    sed -n "s/^[A-Z_]*_PORT='\([0-9]*\)'\$/\1/p" "$f"
  done
}

ports_free() { # BASE BUSY_LIST
  local p
  for ((p = $1; p < $1 + 5; p++)); do
    ! grep -qx "$p" <<<"$2" || return 1
  done
}

choose_ports() {
  local busy base="" old b
  busy="$(listening_ports)"
  if [ -n "$PORT_BASE" ]; then
    ports_free "$PORT_BASE" "$busy" ||
      die "a port in $PORT_BASE-$((PORT_BASE + 4)) is already in use (see: ss -tlnp)"
    base="$PORT_BASE"
  else
    busy+=$'\n'"$(reserved_ports)"
    old="$(env_get APISERVER_PORT)"
    if [ -n "$old" ] && ports_free "$old" "$busy"; then
      base="$old"
    else
      for ((b = PORT_SCAN_FIRST; b <= PORT_SCAN_LAST; b += PORT_STEP)); do
        if ports_free "$b" "$busy"; then
          base="$b"
          break
        fi
      done
      [ -n "$base" ] || die "no free range of 5 ports in $PORT_SCAN_FIRST-$PORT_SCAN_LAST"
    fi
  fi
  APISERVER_PORT="$base"
  ETCD_CLIENT_PORT=$((base + 1))
  ETCD_PEER_PORT=$((base + 2))
  CONTROLLER_MANAGER_PORT=$((base + 3))
  SCHEDULER_PORT=$((base + 4))
}

token_of() { cut -d, -f1 <"$ENV_DIR/pki/tokens.csv" | sed -n "${1}p"; }

write_env_file() {
  local f="$ENV_DIR/env"
  {
    echo "# kswarm local control plane '$ENV_NAME' (written by scripts/localcp.sh start; sourceable)"
    echo "KSWARM_ENV='$ENV_NAME'"
    echo "KSWARM_STATE_DIR='$ENV_DIR'"
    echo "KSWARM_APISERVER='https://127.0.0.1:$APISERVER_PORT'"
    echo "APISERVER_URL='https://127.0.0.1:$APISERVER_PORT'"
    echo "APISERVER_PORT='$APISERVER_PORT'"
    echo "ETCD_CLIENT_PORT='$ETCD_CLIENT_PORT'"
    echo "ETCD_PEER_PORT='$ETCD_PEER_PORT'"
    echo "CONTROLLER_MANAGER_PORT='$CONTROLLER_MANAGER_PORT'"
    echo "SCHEDULER_PORT='$SCHEDULER_PORT'"
    echo "KUBECONFIG='$ENV_DIR/kubeconfig'"
    echo "KSWARM_CA_FILE='$ENV_DIR/pki/ca.crt'"
    echo "KSWARM_ADMIN_TOKEN='$(token_of 1)'"
    echo "KSWARM_UNPRIVILEGED_TOKEN='$(token_of 2)'"
    echo "KSWARM_K8S_BIN='$BIN_DIR'"
  } >"$f.new"
  chmod 600 "$f.new"
  mv -f "$f.new" "$f"
}

# ---------------------------------------------------------------------------------------
# PKI and kubeconfigs (openssl; made once per environment, independent of the ports)
# ---------------------------------------------------------------------------------------

pki_key() { openssl genrsa -out "$1.key" 2048 2>/dev/null; }

pki_cert() { # NAME SUBJECT EXTENDED_KEY_USAGE [SUBJECT_ALT_NAMES]; in the PKI work dir
  pki_key "$1"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$3"
    [ -z "${4:-}" ] || echo "subjectAltName=$4"
  } >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -CAserial ca.srl \
    -days 3650 -sha256 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

make_pki() {
  local pki="$ENV_DIR/pki" tmp="$ENV_DIR/.pki.new"
  [ -f "$pki/.complete" ] && return 0
  command -v openssl >/dev/null 2>&1 || die "openssl not found (scripts/deps.sh installs it)"
  log "making the PKI in $pki"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  chmod 700 "$tmp"
  (
    set -e
    cd "$tmp"
    pki_key ca
    openssl req -x509 -new -key ca.key -subj "/CN=kswarm-localcp-ca-$ENV_NAME" -days 3650 \
      -sha256 -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" -out ca.crt 2>/dev/null
    pki_cert apiserver "/CN=kube-apiserver" serverAuth \
      "IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    pki_cert admin "/O=system:masters/CN=kswarm-admin" clientAuth
    pki_cert controller-manager "/CN=system:kube-controller-manager" clientAuth
    pki_cert scheduler "/CN=system:kube-scheduler" clientAuth
    # kube-apiserver's client cert towards kubelets (kubelet simulators on loopback).
    pki_cert kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
    pki_key sa
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    # token,user,uid[,"groups"]: an admin, and a user with no RBAC bindings at all.
    {
      echo "$(openssl rand -hex 24),kswarm-admin-token,kswarm-admin-token,\"system:masters\""
      echo "$(openssl rand -hex 24),kswarm-unprivileged,kswarm-unprivileged"
    } >tokens.csv
    chmod 600 ./*.key tokens.csv
    touch .complete
  ) || die "making the PKI in $tmp failed"
  rm -rf "$pki"
  mv "$tmp" "$pki"
}

b64() { base64 -w0 <"$1"; }

kubeconfig_cluster() {
  echo "apiVersion: v1"
  echo "kind: Config"
  echo "clusters:"
  echo "- name: kswarm-$ENV_NAME"
  echo "  cluster:"
  echo "    server: https://127.0.0.1:$APISERVER_PORT"
  echo "    certificate-authority-data: $(b64 "$ENV_DIR/pki/ca.crt")"
}

kubeconfig_context() { # NAME USER
  echo "- name: $1"
  echo "  context:"
  echo "    cluster: kswarm-$ENV_NAME"
  echo "    user: $2"
}

kubeconfig_cert_user() { # NAME PKI_BASENAME
  echo "- name: $1"
  echo "  user:"
  echo "    client-certificate-data: $(b64 "$ENV_DIR/pki/$2.crt")"
  echo "    client-key-data: $(b64 "$ENV_DIR/pki/$2.key")"
}

write_file_600() { # FILE; content on stdin
  (umask 077 && cat >"$1.new")
  mv -f "$1.new" "$1"
}

write_kubeconfigs() {
  local c
  for c in controller-manager scheduler; do
    {
      kubeconfig_cluster
      echo "users:"
      kubeconfig_cert_user "$c" "$c"
      echo "contexts:"
      kubeconfig_context "$c" "$c"
      echo "current-context: $c"
    } | write_file_600 "$ENV_DIR/$c.kubeconfig"
  done
  {
    kubeconfig_cluster
    echo "users:"
    kubeconfig_cert_user admin admin
    echo "- name: admin-token"
    echo "  user:"
    echo "    token: $(token_of 1)"
    echo "- name: unprivileged"
    echo "  user:"
    echo "    token: $(token_of 2)"
    echo "contexts:"
    kubeconfig_context admin admin
    kubeconfig_context admin-token admin-token
    kubeconfig_context unprivileged unprivileged
    echo "current-context: admin"
  } | write_file_600 "$ENV_DIR/kubeconfig"
}

# ---------------------------------------------------------------------------------------
# start / stop / reset / status / env / list
# ---------------------------------------------------------------------------------------

api_get() { # PATH -> body on stdout; fails on HTTP errors
  local pki="$ENV_DIR/pki"
  curl -fsS --max-time 3 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT$1" 2>/dev/null
}

etcd_healthy() {
  curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_CLIENT_PORT/health" 2>/dev/null |
    grep -q '"health":"true"'
}
apiserver_ready() { [ "$(api_get /readyz)" = ok ]; }
component_healthy() { [ "$(curl -ksS --max-time 2 "https://127.0.0.1:$1/healthz" 2>/dev/null)" = ok ]; }
# Pods can be created once the default ServiceAccount exists with its token secret
# (v1.20's ServiceAccount admission plugin wants the secret).
default_sa_ready() { api_get /api/v1/namespaces/default/serviceaccounts/default | grep -q '"secrets"'; }

wait_for() { # WHAT TIMEOUT_S LOGFILE COMMAND...
  local what="$1" timeout="$2" logf="$3" t0=$SECONDS d
  shift 3
  until "$@"; do
    [ $((SECONDS - t0)) -lt "$timeout" ] || start_failed "$what: not ready after ${timeout}s" "$logf"
    for d in "${DAEMONS[@]}"; do
      if [ -f "$ENV_DIR/run/$d.pid" ] && [ -z "$(daemon_pid "$d")" ]; then
        start_failed "$d exited while waiting for $what" "$ENV_DIR/logs/$d.log"
      fi
    done
    sleep 0.2
  done
}

print_ready() {
  echo "kubeconfig: $ENV_DIR/kubeconfig"
  echo "apiserver:  $(env_get APISERVER_URL)"
  echo "export KUBECONFIG=$ENV_DIR/kubeconfig"
}

cmd_start() {
  parse_env_args 1 "$@"
  local tool
  for tool in curl openssl setsid flock; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (scripts/deps.sh installs what is needed)"
  done
  [ -x "$ETCD_BIN" ] || die "$ETCD_BIN not found (scripts/deps.sh installs etcd-server)"
  cmd_build
  lock_env
  mkdir -p "$ENV_DIR/logs" "$ENV_DIR/run" "$ENV_DIR/certs" "$ENV_DIR/etcd"
  chmod 700 "$ENV_DIR" "$ENV_DIR/etcd"
  local n
  n="$(running_count)"
  if [ "$n" -eq "${#DAEMONS[@]}" ]; then
    if [ -n "$PORT_BASE" ] && [ "$PORT_BASE" != "$(env_get APISERVER_PORT)" ]; then
      log "warning: '$ENV_NAME' runs with port base $(env_get APISERVER_PORT); --port-base $PORT_BASE ignored"
    fi
    log "environment '$ENV_NAME' is already running"
    print_ready
    return 0
  fi
  if [ "$n" -gt 0 ]; then
    log "environment '$ENV_NAME' is partly running ($n of ${#DAEMONS[@]}); restarting it"
    stop_all
  fi
  local t0=$SECONDS pki="$ENV_DIR/pki" e="$ENV_DIR"
  make_pki
  # Held until kube-apiserver listens, so a concurrent start of another environment sees
  # these ports as taken (they are also recorded in env before anything listens).
  exec {PORT_LOCK_FD}>"$STATE_ROOT/.ports.lock"
  flock -w 300 "$PORT_LOCK_FD" || die "timed out waiting for $STATE_ROOT/.ports.lock"
  choose_ports
  write_env_file
  write_kubeconfigs
  log "starting '$ENV_NAME': apiserver :$APISERVER_PORT, etcd :$ETCD_CLIENT_PORT/:$ETCD_PEER_PORT, controller-manager :$CONTROLLER_MANAGER_PORT, scheduler :$SCHEDULER_PORT (127.0.0.1)"

  launch etcd --name "kswarm-$ENV_NAME" --data-dir "$e/etcd" --logger zap --log-outputs stderr \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "kswarm-$ENV_NAME=http://127.0.0.1:$ETCD_PEER_PORT"
  wait_for "etcd /health" 30 "$e/logs/etcd.log" etcd_healthy

  launch kube-apiserver \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
    --secure-port="$APISERVER_PORT" --insecure-port=0 --cert-dir="$e/certs" \
    --etcd-servers="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --client-ca-file="$pki/ca.crt" --token-auth-file="$pki/tokens.csv" \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --service-account-issuer="$SA_ISSUER" --api-audiences="$SA_ISSUER" \
    --service-cluster-ip-range="$SERVICE_CIDR" --authorization-mode=RBAC \
    --endpoint-reconciler-type=none --allow-privileged=true \
    --enable-priority-and-fairness=false \
    --max-requests-inflight=0 --max-mutating-requests-inflight=0 \
    --kubelet-client-certificate="$pki/kubelet-client.crt" \
    --kubelet-client-key="$pki/kubelet-client.key" \
    --kubelet-preferred-address-types=InternalIP,Hostname,InternalDNS,ExternalDNS,ExternalIP
  wait_for "kube-apiserver /readyz" "$READY_TIMEOUT" "$e/logs/kube-apiserver.log" apiserver_ready
  exec {PORT_LOCK_FD}>&-
  PORT_LOCK_FD=""
  log "kube-apiserver ready after $((SECONDS - t0))s"

  launch kube-controller-manager \
    --kubeconfig="$e/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$e/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$e/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$CONTROLLER_MANAGER_PORT" --port=0 \
    --cert-dir="$e/certs" --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
    --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
    --kube-api-qps=100 --kube-api-burst=200
  launch kube-scheduler \
    --kubeconfig="$e/scheduler.kubeconfig" \
    --authentication-kubeconfig="$e/scheduler.kubeconfig" \
    --authorization-kubeconfig="$e/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$SCHEDULER_PORT" --port=0 \
    --cert-dir="$e/certs" --leader-elect=false
  wait_for "kube-controller-manager /healthz" 60 "$e/logs/kube-controller-manager.log" \
    component_healthy "$CONTROLLER_MANAGER_PORT"
  wait_for "kube-scheduler /healthz" 60 "$e/logs/kube-scheduler.log" \
    component_healthy "$SCHEDULER_PORT"
  wait_for "ServiceAccount default/default and its token" 90 \
    "$e/logs/kube-controller-manager.log" default_sa_ready
  log "environment '$ENV_NAME' ready in $((SECONDS - t0))s"
  print_ready
}

cmd_stop() {
  parse_env_args 0 "$@"
  if [ ! -d "$ENV_DIR" ]; then
    log "no environment '$ENV_NAME' ($ENV_DIR)"
    return 0
  fi
  lock_env
  stop_all
  log "environment '$ENV_NAME' stopped (data kept in $ENV_DIR)"
}

cmd_reset() {
  parse_env_args 0 "$@"
  lock_env
  if [ -d "$ENV_DIR" ]; then
    stop_all
    case "$ENV_DIR" in "$STATE_ROOT"/cp-?*) rm -rf "$ENV_DIR" ;; esac
  fi
  log "environment '$ENV_NAME' removed"
}

status_word() {
  local n
  n="$(running_count)"
  if [ "$n" -eq "${#DAEMONS[@]}" ]; then
    echo running
  elif [ "$n" -eq 0 ]; then
    echo stopped
  else
    echo "partly-running"
  fi
}

cmd_status() {
  parse_env_args 0 "$@"
  echo "environment: $ENV_NAME"
  if [ ! -f "$ENV_DIR/env" ]; then
    echo "state:       absent ($ENV_DIR)"
    return 3
  fi
  local st d pid
  st="$(status_word)"
  echo "state:       $st"
  for d in "${DAEMONS[@]}"; do
    pid="$(daemon_pid "$d")"
    if [ -n "$pid" ]; then pid="pid $pid"; else pid=down; fi
    printf '  %-24s %s\n' "$d" "$pid"
  done
  echo "apiserver:   $(env_get APISERVER_URL)"
  echo "kubeconfig:  $(env_get KUBECONFIG)"
  echo "env file:    $ENV_DIR/env"
  echo "logs:        $ENV_DIR/logs"
  [ "$st" = running ] || return 3
}

cmd_env() {
  parse_env_args 0 "$@"
  [ -f "$ENV_DIR/env" ] || die "environment '$ENV_NAME' was never started (no $ENV_DIR/env)"
  [ "$(status_word)" = running ] ||
    log "warning: environment '$ENV_NAME' is not running (scripts/localcp.sh start --name $ENV_NAME)"
  printf "export KUBECONFIG='%s'\n" "$(env_get KUBECONFIG)"
  printf "export KSWARM_APISERVER='%s'\n" "$(env_get KSWARM_APISERVER)"
}

cmd_list() {
  local d
  for d in "$STATE_ROOT"/cp-*/; do
    [ -f "$d/env" ] || continue
    ENV_DIR="${d%/}"
    ENV_NAME="${ENV_DIR##*/cp-}"
    printf '%-16s %-16s %s\n' "$ENV_NAME" "$(status_word)" "$(env_get APISERVER_URL)"
  done
}

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}

main() {
  local cmd="${1:-}"
  [ $# -eq 0 ] || shift
  case "$cmd" in
    build)
      [ $# -eq 0 ] || die "build takes no arguments"
      cmd_build
      ;;
    tools)
      [ $# -eq 0 ] || die "tools takes no arguments"
      "$SCRIPT_DIR/helm.sh" ensure
      ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    reset) cmd_reset "$@" ;;
    status) cmd_status "$@" ;;
    env) cmd_env "$@" ;;
    list) cmd_list ;;
    -h | --help | help) usage ;;
    "")
      usage >&2
      exit 2
      ;;
    *) die "unknown command '$cmd' (see: scripts/localcp.sh help)" ;;
  esac
}

main "$@"
