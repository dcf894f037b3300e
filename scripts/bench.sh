#!/usr/bin/env bash
# Benchmarks: ingest of synthetic cluster snapshots into the object store, the informer cache,
# kswarm analyze and kswarm optimize on them, and the packing and right-sizing modules alone
# (docs/BENCHMARKS.md).
#   scripts/bench.sh BUILD_DIR          (make bench calls it with build/)
# Generates 1k, 10k and 150k-pod snapshots with BUILD_DIR/bench/snapshot_gen into
# ${KSWARM_CACHE:-$HOME/.cache/kswarm}/bench/ (kept between runs; a change to
# bench/snapshot_gen.c makes new ones), runs BUILD_DIR/bench/ingest on each — every kind
# cached, then only pods — and prints a table. The JSON result lines go to
# BUILD_DIR/bench/results.jsonl.
# KSWARM_BENCH_SIZES="1000 10000" overrides the sizes; KSWARM_BENCH_SEED (default 1) the seed.
# With KSWARM_BENCH_KUBECONFIG set, the measurement against a live API server runs too.
# optimize and pack read the instance catalog from KSWARM_DATA_DIR (default: the checkout's
# data/; the other benchmarks run as before, without it).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
data_dir=${KSWARM_DATA_DIR:-$PWD/data}
gen="$B/bench/snapshot_gen"
ingest="$B/bench/ingest"
for x in "$gen" "$ingest"; do
  [ -x "$x" ] || { echo "bench: $x missing (make $x)" >&2; exit 1; }
done

cache="${KSWARM_CACHE:-$HOME/.cache/kswarm}/bench"
mkdir -p "$cache"
sizes=${KSWARM_BENCH_SIZES:-"1000 10000 150000"}
seed=${KSWARM_BENCH_SEED:-1}
genv=$(sha256sum bench/snapshot_gen.c | cut -c1-12)
results="$B/bench/results.jsonl"
: >"$results"

# snapshot PODS -> path of the cached snapshot, generated when missing
snapshot() {
  local f="$cache/snapshot-$1pods-seed$seed-$genv.json"
  if [ ! -s "$f" ]; then
    echo "bench: generating $1-pod snapshot -> $f" >&2
    "$gen" --pods "$1" --seed "$seed" -o "$f.tmp"
    mv "$f.tmp" "$f"
  fi
  echo "$f"
}

# field NAME JSON-LINE -> the value (numbers and strings without quotes)
field() {
  local v
  v=$(grep -o "\"$1\":[^,}]*" <<<"$2" | head -1 | cut -d: -f2-)
  v=${v#\"}
  echo "${v%\"}"
}

rows=()
run() { # run LABEL PODS FILE INGEST-ARGS...
  local label=$1 pods=$2 file=$3 line
  shift 3
  echo "bench: ingest $label ($pods pods) $*" >&2
  line=$("$ingest" "$file" --json-only "$@")
  echo "$line" >>"$results"
  rows+=("$(printf '%-22s %7s %8.1f %8s %7.1f %7.1f %8s %8.1f %7s %7s %6s' \
    "$label" "$pods" "$(awk "BEGIN{print $(field bytes "$line")/1e6}")" \
    "$(field cached "$line")" "$(field mb_per_s "$line")" "$(field mb_per_cpu_s "$line")" \
    "$(field objects_per_s "$line")" "$(awk "BEGIN{print $(field peak_rss_bytes "$line")/1048576}")" \
    "$(field rss_bytes_per_pod "$line")" "$(field store_bytes_per_pod "$line")" \
    "$(field sharing_ratio "$line")")")
}

for n in $sizes; do
  f=$(snapshot "$n")
  run "snapshot all kinds" "$n" "$f"
  run "snapshot pods only" "$n" "$f" --kind Pod
done
# cJSON on malloc/free instead of the per-item arena, at the largest size
last=${sizes##* }
run "  (cJSON on malloc)" "$last" "$(snapshot "$last")" --malloc

# ---------------------------------------------------------------------------------------
# The informer cache (store + object table + the four indexes), and the live API server.
# informer_ingest --snapshot: pods streamed into an informer as watch events are.
# informer_ingest --kubeconfig: LIST every pod from an API server in pages of 500 (the
# transfers timed alone), then the same bytes ingested as the informer does (timed alone).
# Without KSWARM_BENCH_KUBECONFIG a private local control plane ("bench") is started, loaded
# once with the 10k snapshot's pods, and stopped at the end; KSWARM_BENCH_NO_APISERVER=1
# skips this part.
informer="$B/bench/informer_ingest"
irows=()
for n in $sizes; do
  echo "bench: informer ingest ($n pods)" >&2
  line=$("$informer" --snapshot "$(snapshot "$n")" 2>/dev/null)
  echo "$line" >>"$results"
  irows+=("$(printf '%-22s %7s %8.1f %7.1f %8s %7s' "informer, snapshot" "$n" \
    "$(awk "BEGIN{print $(field json_bytes "$line")/1e6}")" "$(field mb_per_s "$line")" \
    "$(awk "BEGIN{print int($(field peak_rss_kb "$line")/1024)}")" \
    "$(field rss_bytes_per_object "$line")")")
done

# kswarm analyze on the snapshots: load, then the analysis itself (first run, then the
# median of the next ones: the first pays for decoding the unhealthy objects once).
analyzer="$B/bench/analyze"
arows=()
for n in $sizes; do
  [ -x "$analyzer" ] || break
  echo "bench: analyze ($n pods)" >&2
  line=$("$analyzer" "$(snapshot "$n")" --runs 4 2>/dev/null)
  echo "$line" >>"$results"
  arows+=("$(printf '%-22s %7s %8s %10s %10s %9s %8s %8s' "analyze, snapshot" "$n" \
    "$(field load_ms "$line")" "$(field analysis_ms_first "$line")" \
    "$(field analysis_ms_median_later "$line")" "$(field findings "$line")" \
    "$(awk "BEGIN{print int($(field world_rss_kb "$line")/1024)}")" \
    "$(awk "BEGIN{print int($(field peak_rss_kb "$line")/1024)}")")")
done

# kswarm optimize on the snapshots (bench/optimize): opt_run once, as the command does, then
# again; the packings' part of the first run (LP and heuristic, timed inside cost_pack_solve),
# the peak RSS during it over the RSS before, the largest gap of a pool to its LP bound.
optimizer="$B/bench/optimize"
orows=()
for n in $sizes; do
  [ -x "$optimizer" ] || break
  echo "bench: optimize ($n pods)" >&2
  line=$(KSWARM_DATA_DIR="$data_dir" "$optimizer" "$(snapshot "$n")" --json-only 2>/dev/null)
  echo "$line" >>"$results"
  orows+=("$(printf '%-22s %7s %6s %8.0f %8.0f %8.0f %7.0f %7.0f %7.0f %8s %6.2f' \
    "optimize, snapshot" "$n" \
    "$(field nodes "$line")" "$(field optimize_ms_first "$line")" \
    "$(field optimize_cpu_ms_first "$line")" "$(field optimize_ms_again "$line")" \
    "$(field pack_lp_ms "$line")" "$(field pack_heuristic_ms "$line")" \
    "$(field model_and_report_ms "$line")" \
    "$(awk "BEGIN{print int($(field optimize_peak_delta_kb "$line")/1024)}")" \
    "$(field max_gap_pct "$line")")")
done

# The packing and right-sizing modules alone, on their own synthetic inputs (no snapshot):
# bench/pack (200 pod shapes on the m6i, c6i and r6i types) and bench/rightsize (192 CPU
# samples a container).
packer="$B/bench/pack"
rightsizer="$B/bench/rightsize"
mrows=()
for n in $sizes; do
  if [ -x "$packer" ]; then
    echo "bench: pack ($n pods)" >&2
    line=$(KSWARM_DATA_DIR="$data_dir" "$packer" --pods "$n" --shapes 200 --seed "$seed" \
      --families m6i,c6i,r6i)
    echo "$line" >>"$results"
    mrows+=("$(printf '%-22s %7s %8s %8s %8s %8s %7s' "pack, 200 shapes" "$n" \
      "$(field total_ms "$line")" "$(field bound_ms "$line")" "$(field heuristic_ms "$line")" \
      "$(awk "BEGIN{print int($(field peak_rss_kb "$line")/1024)}")" "$(field gap_pct "$line")")")
  fi
  if [ -x "$rightsizer" ]; then
    echo "bench: rightsize ($n pods)" >&2
    line=$("$rightsizer" --pods "$n" | head -1)
    echo "$line" >>"$results"
    mrows+=("$(printf '%-22s %7s %8.0f %8s %8s %8.0f %7s' "rightsize, 192 samples" "$n" \
      "$(awk "BEGIN{print $(field fill_cpu_ms "$line")+$(field recommend_cpu_ms "$line")}")" \
      "-" "-" "$(field set_rss_mib "$line")" "-")")
  fi
done

bench_apiserver() {
  local kubeconfig=$1 load=$2 line
  echo "bench: LIST from the API server vs informer ingest of the same bytes" >&2
  line=$("$informer" --snapshot "$(snapshot 10000)" --kubeconfig "$kubeconfig" ${load:+"$load"})
  echo "$line" >>"$results"
  apirow="$(printf 'API server LIST %s pods: %.1f MB in %s pages at %s MB/s; informer ingest of the same bytes %s MB/s = %sx' \
    "$(field objects "$line")" "$(awk "BEGIN{print $(field json_bytes "$line")/1e6}")" \
    "$(field pages "$line")" "$(field list_mb_per_s "$line")" "$(field ingest_mb_per_s "$line")" \
    "$(field ratio "$line")")"
}
apirow=""
if [ -n "${KSWARM_BENCH_KUBECONFIG:-}" ]; then
  bench_apiserver "$KSWARM_BENCH_KUBECONFIG" ""
elif [ -z "${KSWARM_BENCH_NO_APISERVER:-}" ]; then
  scripts/localcp.sh start --name bench >&2
  trap 'scripts/localcp.sh stop --name bench >&2 || true' EXIT
  # Pods the snapshot names, created once (the env keeps them between runs).
  bench_apiserver "$(scripts/localcp.sh env --name bench | sed -n "s/^export KUBECONFIG='\{0,1\}\([^']*\)'\{0,1\}$/\1/p")" --load
fi
# ---------------------------------------------------------------------------------------

printf '\n%-22s %7s %8s %8s %7s %7s %8s %8s %7s %7s %6s\n' "run" "pods" "MB" "cached" \
  "MB/s" "MB/cpu" "obj/s" "peakMiB" "RSS/pod" "st/pod" "share"
for r in "${rows[@]}"; do echo "$r"; done
echo
echo "MB/s: raw JSON read, scanned, parsed, stripped and interned per wall second (MB/cpu:"
echo "per CPU second). RSS/pod: resident bytes added by the cache / pods (objects freed,"
echo "malloc_trim). st/pod: the store's own count (live nodes + table) / pods. share:"
echo "stripped JSON bytes / store bytes. Results: $results"
echo
printf '%-22s %7s %8s %7s %8s %7s\n' "run" "pods" "MB" "MB/s" "peakMiB" "RSS/pod"
for r in "${irows[@]}"; do echo "$r"; done
echo "informer: pods streamed as watch events into the informer (store, table, indexes);"
echo "RSS/pod: resident growth while the cache fills / pods."
[ -z "$apirow" ] || { echo; echo "$apirow"; }
echo
printf '%-22s %7s %8s %10s %10s %9s %8s %8s\n' "run" "pods" "load ms" "first ms" "median ms" \
  "findings" "worldMiB" "peakMiB"
for r in "${arows[@]}"; do echo "$r"; done
echo "analyze: the snapshot read into the world (load), then every default analyzer: the"
echo "first run (what kswarm analyze does) and the median of the later ones (decoded objects"
echo "cached)."
if [ ${#orows[@]} -gt 0 ]; then
  echo
  printf '%-22s %7s %6s %8s %8s %8s %7s %7s %7s %8s %6s\n' "run" "pods" "nodes" "first ms" \
    "cpu ms" "again ms" "LP ms" "heur ms" "rest ms" "peakMiB" "gap%"
  for r in "${orows[@]}"; do echo "$r"; done
  echo "optimize: opt_run on the loaded world (first, its CPU time, a second run); LP and heur:"
  echo "the packings' own split; rest: the model and the report; peakMiB: peak RSS during the"
  echo "first run over the RSS before it; gap%: the largest of the pools' gaps to the LP bound."
fi
if [ ${#mrows[@]} -gt 0 ]; then
  echo
  printf '%-22s %7s %8s %8s %8s %8s %7s\n' "run" "pods" "ms" "LP ms" "heur ms" "peakMiB" "gap%"
  for r in "${mrows[@]}"; do echo "$r"; done
  echo "pack: cost_pack_solve alone (wall ms); rightsize: filling the histograms and the"
  echo "recommendations (CPU ms), the set's memory."
fi
