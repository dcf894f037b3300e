#!/usr/bin/env bash
# refresh-catalog.sh — rebuild data/instance-types.csv from the two catalog source CSVs.
#   scripts/refresh-catalog.sh MAIN.csv EXTENDED.csv [OUT.csv]
# MAIN.csv is aws-us-east-1-instance-types.csv and EXTENDED.csv the .extended.csv of the same
# build (see data/README.md). OUT defaults to data/instance-types.csv. The output has the 16
# columns of MAIN.csv in their documented order, then gpu_name and local_nvme_gb from
# EXTENDED.csv, one row per row of MAIN.csv in MAIN.csv's order, LF line endings. Columns are
# found by header name, so reordered or extra source columns are fine. The sources are plain
# CSV without quotes; a quote, a short row, a duplicate or an unmatched instance type is an
# error and nothing is written. Same inputs give the same bytes (the script is idempotent).
set -euo pipefail
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: $0 MAIN.csv EXTENDED.csv [OUT.csv]" >&2
  exit 2
fi
main=$1 ext=$2
out=${3:-"$(cd "$(dirname "$0")/.." && pwd)/data/instance-types.csv"}
tmp=$(mktemp "${out}.XXXXXX")
trap 'rm -f "$tmp"' EXIT

LC_ALL=C awk -F, -v OFS=, -v mainf="$main" -v extf="$ext" '
function die(msg) { print "refresh-catalog: " msg > "/dev/stderr"; err = 1; exit 1 }
BEGIN {
	ncols = split("instance_type,family,category,generation,size,arch,vcpu,memory_mib," \
		"cpu_manufacturer,gpu_count,max_pods,alloc_cpu_millis,alloc_memory_mib," \
		"od_price_usd_hr,spot_savings_pct,spot_interruption_bucket", cols, ",")
	nextra = split("gpu_name,local_nvme_gb", extra, ",")
}
{ sub(/\r$/, "") }
index($0, "\"") { die(FILENAME ":" FNR ": quoted fields are not supported") }
FILENAME == extf && FNR == 1 {
	enf = NF
	for (i = 1; i <= NF; i++) ecol[$i] = i
	if (!("instance_type" in ecol)) die(extf ": no instance_type column")
	for (j = 1; j <= nextra; j++)
		if (!(extra[j] in ecol)) die(extf ": no " extra[j] " column")
	next
}
FILENAME == extf {
	if (NF != enf) die(extf ":" FNR ": " NF " fields, header has " enf)
	k = $(ecol["instance_type"])
	if (k in erow) die(extf ":" FNR ": duplicate instance type " k)
	v = ""
	for (j = 1; j <= nextra; j++) v = v (j > 1 ? OFS : "") $(ecol[extra[j]])
	erow[k] = v
	next
}
FILENAME == mainf && FNR == 1 {
	mnf = NF
	for (i = 1; i <= NF; i++) mcol[$i] = i
	line = ""
	for (j = 1; j <= ncols; j++) {
		if (!(cols[j] in mcol)) die(mainf ": no " cols[j] " column")
		line = line cols[j] OFS
	}
	for (j = 1; j <= nextra; j++) line = line extra[j] (j < nextra ? OFS : "")
	print line
	next
}
FILENAME == mainf {
	if (NF != mnf) die(mainf ":" FNR ": " NF " fields, header has " mnf)
	k = $(mcol["instance_type"])
	if (k == "") die(mainf ":" FNR ": empty instance_type")
	if (k in seen) die(mainf ":" FNR ": duplicate instance type " k)
	seen[k] = 1
	if (!(k in erow)) die(mainf ":" FNR ": " k " is not in " extf)
	line = ""
	for (j = 1; j <= ncols; j++) line = line $(mcol[cols[j]]) OFS
	print line erow[k]
	rows++
}
END { if (!err && rows == 0) die(mainf ": no data rows") }
' "$ext" "$main" >"$tmp"
chmod 644 "$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "refresh-catalog: wrote $(($(wc -l <"$out") - 1)) rows to $out" >&2
