#!/usr/bin/env bash
# Install the browser test's npm packages (tests/browser/package-lock.json, with `npm ci`)
# into a cache outside the repository and print that directory. Reinstalls only when the
# lock file changed. Usage: tests/browser/install.sh   ->  /root/.cache/kswarm/browser-test
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${KSWARM_BROWSER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kswarm/browser-test}
mkdir -p "$dir"
if ! cmp -s "$here/package-lock.json" "$dir/package-lock.json" ||
   [ ! -f "$dir/node_modules/playwright-core/package.json" ]; then
  cp "$here/package.json" "$here/package-lock.json" "$dir/"
  # No browser download: the test drives Debian's chromium (scripts/deps.sh installs it).
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit \
     --no-fund --loglevel=error >&2)
fi
echo "$dir"
