#!/usr/bin/env bash
# Build and run the libFuzzer targets under fuzz/ (one fuzz/fuzz_NAME.c each, seed corpus
# in fuzz/corpus/NAME/).
#   scripts/fuzz.sh build            build every target with clang into build/fuzz/
#   scripts/fuzz.sh run [SECONDS]    fuzz each target for SECONDS (default 60), new inputs
#                                    go to build/fuzz/corpus/NAME/ (not into the repo)
#   scripts/fuzz.sh regress          run each target once over its seed corpus (make check)
#   scripts/fuzz.sh NAME [SECONDS]   fuzz one target
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/fuzz
mkdir -p "$out/obj"

cflags=(-std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter -Isrc
        $(pkg-config --cflags libcurl libcjson libfyaml libmicrohttpd gnutls expat sqlite3)
        -DKSWARM_VERSION='"fuzz"' -DKSWARM_GIT_REV='"fuzz"'
        -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined)
libs=($(pkg-config --libs libcurl libcjson libfyaml libmicrohttpd gnutls expat sqlite3) -lglpk -lm -lpthread)  # GLPK: no .pc file

build() {
  local srcs objs=() changed=0 lock
  # Two fuzz.sh runs at once would race on the shared objects.
  exec {lock}>"$out/.lock"; flock "$lock"
  # The embedded-files table (src/base/embed.h) is generated, as the Makefile does.
  local embed=(); for f in deploy/crds/*.yaml scenarios/*.yaml; do [ -e "$f" ] && embed+=("$f"); done
  scripts/embed.sh "$out/embedded.c.new" ${embed[@]+"${embed[@]}"}
  cmp -s "$out/embedded.c.new" "$out/embedded.c" 2>/dev/null && rm "$out/embedded.c.new" ||
    mv "$out/embedded.c.new" "$out/embedded.c"
  mapfile -t srcs < <({ find src -name '*.c' ! -path 'src/cli/*'; echo "$out/embedded.c"; } | sort)
  for s in "${srcs[@]}"; do
    local o="$out/obj/${s//\//_}.o"
    if [ ! -f "$o" ] || [ "$s" -nt "$o" ] || [ -n "$(find src -name '*.h' -newer "$o" | head -1)" ]; then
      clang "${cflags[@]}" -c -o "$o" "$s"; changed=1
    fi
    objs+=("$o")
  done
  for f in fuzz/fuzz_*.c; do
    [ -e "$f" ] || continue
    local name; name=$(basename "$f" .c)
    if [ "$changed" = 1 ] || [ ! -f "$out/$name" ] || [ "$f" -nt "$out/$name" ]; then
      clang "${cflags[@]}" -fsanitize=fuzzer -o "$out/$name" "$f" "${objs[@]}" "${libs[@]}"
    fi
  done
}

# Ceiling on one input, as the parsers have their own ceilings: 1 MiB is enough to reach them.
fuzz_one() {
  local name=$1 secs=$2 target=fuzz_$1
  mkdir -p "$out/corpus/$name" "fuzz/corpus/$name"
  echo "fuzz: $name for ${secs}s" >&2
  "$out/$target" -artifact_prefix="$out/" -max_total_time="$secs" -max_len=1048576 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "$out/corpus/$name" "fuzz/corpus/$name" 2>"$out/$name.log" ||
    { tail -40 "$out/$name.log" >&2; echo "fuzz: $name FAILED (log: $out/$name.log)" >&2; return 1; }
  grep -E 'stat::number_of_executed_units|cov:' "$out/$name.log" | tail -1 >&2 || true
}

regress() {
  local n=0 failed=0
  for f in fuzz/fuzz_*.c; do
    [ -e "$f" ] || continue
    local name; name=$(basename "$f" .c); name=${name#fuzz_}
    mkdir -p "fuzz/corpus/$name"
    n=$((n + 1))
    if "$out/fuzz_$name" -runs=0 "fuzz/corpus/$name" >"$out/$name.regress.log" 2>&1 &&
       "$out/fuzz_$name" -runs=2000 -max_len=65536 -seed=1 "$out/empty-$name" "fuzz/corpus/$name" \
         >>"$out/$name.regress.log" 2>&1; then
      echo "ok $n - fuzz corpus $name"
    else
      echo "not ok $n - fuzz corpus $name (log: $out/$name.regress.log)"
      tail -30 "$out/$name.regress.log" >&2
      failed=1
    fi
  done
  echo "1..$n"
  return $failed
}

cmd=${1:-run}
case "$cmd" in
  build) build ;;
  regress) build
           for f in fuzz/fuzz_*.c; do n=$(basename "$f" .c); mkdir -p "$out/empty-${n#fuzz_}"; done
           regress ;;
  run) build; secs=${2:-60}; rc=0
       for f in fuzz/fuzz_*.c; do [ -e "$f" ] || continue; n=$(basename "$f" .c); fuzz_one "${n#fuzz_}" "$secs" || rc=1; done
       exit $rc ;;
  *) build; fuzz_one "$cmd" "${2:-60}" ;;
esac
