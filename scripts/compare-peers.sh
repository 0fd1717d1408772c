#!/usr/bin/env bash
# Runs the default trailmerge job on ROOT through trailmerge and its peers (ClickHouse embedded,
# DuckDB, jq + GNU sort, a plain Python json script), times each with peak RSS, times four
# inflate floors (`find | xargs -0 -P THREADS -n500 TOOL >/dev/null` for zcat, pigz -dc,
# libdeflate-gunzip -c and igzip -dc; a missing tool is reported as such; --install installs
# them), reports trailmerge against the fastest floor, and checks that every output holds the
# same rows in the same order (sha256 of the rows after undoing each tool's escaping; with
# --memory, against trailmerge at its default budget). --one-thread adds trailmerge --threads 1;
# --baseline BIN adds the same job through another trailmerge binary (e.g. a build of main).
# --big adds the big-file cases: the whole tree grouped into one file by `group --output-codec
# keep` and by `--output-codec gzip`, each processed with THREADS threads and with 1 (their rows
# must be the tree's).
#
# usage: scripts/compare-peers.sh [--install] [--threads N] [--one-thread] [--baseline BIN]
#                                 [--big] [--skip PEER[,PEER]] [--memory SIZE] ROOT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
install=0 threads=2 skip="" memory="" one_thread=0 baseline="" big=0
while [ $# -gt 0 ]; do
  case $1 in
    --install) install=1; shift ;;
    --threads) threads=$2; shift 2 ;;
    --skip) skip=$2; shift 2 ;;
    --one-thread) one_thread=1; shift ;;
    --big) big=1; shift ;;
    --baseline) baseline=$2; shift 2 ;;
    --memory) memory=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || { echo "usage: $0 [--install] [--threads N] [--one-thread] [--baseline BIN] [--big] [--skip PEER,...] [--memory SIZE] ROOT" >&2; exit 2; }
root=$(cd "$1" && pwd)

if [ $install = 1 ]; then
  command -v jq >/dev/null || { apt-get update -qq && apt-get install -y -qq jq; }
  [ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }
  # Inflate floors: pigz (zlib), libdeflate-gunzip (libdeflate-tools), igzip (isal, ISA-L).
  floor_pkgs=()
  command -v pigz >/dev/null || floor_pkgs+=(pigz)
  command -v libdeflate-gunzip >/dev/null || floor_pkgs+=(libdeflate-tools)
  command -v igzip >/dev/null || floor_pkgs+=(isal)
  if [ ${#floor_pkgs[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${floor_pkgs[@]}"
  fi
  python3 -c 'import chdb' 2>/dev/null || pip install -q chdb
  python3 -c 'import duckdb' 2>/dev/null || pip install -q duckdb
fi

tm="$repo/.build/release/trailmerge"
[ -x "$tm" ] || (cd "$repo" && swift build -c release >/dev/null)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run NAME KIND CMD...: time one tool; KIND says how to read its output for the comparison.
results=()
run() {
  local name=$1 kind=$2; shift 2
  case ",$skip," in *",$name,"*) return ;; esac
  local out="$work/$name.tsv.gz"
  if ! OUT=$out /usr/bin/time -f "%e %M" -o "$work/$name.time" "$@" >"$work/$name.log" 2>&1; then
    echo "$name failed:"; tail -5 "$work/$name.log"; results+=("$name failed - - -"); return
  fi
  read -r secs rss < <(tail -1 "$work/$name.time")
  if [ "$kind" = "-" ]; then
    results+=("$name $secs $rss - -")
  else
    read -r rows sum < <(python3 "$here/peers/canonical.py" "$kind" "$out")
    results+=("$name $secs $rss $rows $sum")
  fi
}

export root threads
# Warm the page cache so the first floor does not pay for the disk.
find "$root" -name '*.json.gz' -print0 | xargs -0 cat >/dev/null
# floor NAME TOOL ARGS...: every input file through one inflater, THREADS processes at a time.
floor() {
  local name=$1 tool=$2; shift 2
  if ! command -v "$tool" >/dev/null; then
    results+=("$name missing - - -"); return
  fi
  /usr/bin/time -f "%e %M" -o "$work/$name.time" bash -c \
    'find "$0" -name "*.json.gz" -print0 | xargs -0 -P"$1" -n500 "${@:2}" >/dev/null' \
    "$root" "$threads" "$tool" "$@"
  local secs rss
  read -r secs rss < <(tail -1 "$work/$name.time")
  results+=("$name $secs $rss - -")
}
floor zcat-floor zcat
floor pigz-floor pigz -dc
floor libdeflate-floor libdeflate-gunzip -c
floor igzip-floor igzip -dc
# The fastest floor present is what trailmerge is measured against.
read -r fast_name floor_secs < <(printf '%s\n' "${results[@]}" | awk '$1 ~ /-floor$/ && $2 != "missing" { print $1, $2 }' | sort -k2,2g | head -1)

export here tm
tm_memory=${memory:+--memory $memory}
export tm_memory
run trailmerge pg bash -c '"$tm" process "$root" -o "$OUT" --threads "$threads" --quiet $tm_memory'
[ $one_thread = 1 ] && run trailmerge-1-thread pg bash -c '"$tm" process "$root" -o "$OUT" --threads 1 --quiet $tm_memory'
export baseline
[ -n "$baseline" ] && run baseline pg bash -c '"$baseline" process "$root" -o "$OUT" --threads "$threads" --quiet $tm_memory'
[ -n "$baseline" ] && [ $one_thread = 1 ] && run baseline-1-thread pg bash -c '"$baseline" process "$root" -o "$OUT" --threads 1 --quiet $tm_memory'
if [ $big = 1 ]; then
  for codec in keep gzip; do
    "$tm" group "$root" "$work/big-$codec" --group-by '(AWSLogs)/.*' --output-codec "$codec" --quiet
    export big_file="$work/big-$codec/AWSLogs.json.gz"
    run "big-$codec" pg bash -c '"$tm" process "$big_file" -o "$OUT" --threads "$threads" --quiet $tm_memory'
    run "big-$codec-1-thread" pg bash -c '"$tm" process "$big_file" -o "$OUT" --threads 1 --quiet $tm_memory'
    rm -rf "$work/big-$codec"
  done
fi
# With --memory, the default-budget output is the reference the small-budget output must equal.
[ -n "$memory" ] && run trailmerge-default-memory pg bash -c '"$tm" process "$root" -o "$OUT" --threads "$threads" --quiet'
run chdb ch bash -c 'python3 "$here/peers/chdb_job.py" "$root" "$OUT" "$threads"'
run duckdb raw bash -c 'python3 "$here/peers/duckdb_job.py" "$root" "$OUT" "$threads"'
run jq-sort pg bash -c '"$here/peers/jq_sort.sh" "$root" "$OUT"'
run python-json pg bash -c 'python3 "$here/peers/python_json.py" "$root" "$OUT"'

# Report.
tm_secs=$(printf '%s\n' "${results[@]}" | awk '$1 == "trailmerge" { print $2 }')
reference=$(printf '%s\n' "${results[@]}" | awk '$1 == "trailmerge" { print $5 }')
[ -n "$memory" ] && reference=$(printf '%s\n' "${results[@]}" | awk '$1 == "trailmerge-default-memory" { print $5 }')
files=$(find "$root" -name '*.json.gz' | wc -l)
json_mb=$(find "$root" -name '*.json.gz' -print0 | xargs -0 zcat | wc -c | awk '{ printf "%.0f", $1 / 1e6 }')
echo "tree: $root ($files files, $json_mb MB of JSON), threads: $threads${memory:+, trailmerge --memory $memory}"
printf '| %-25s | %9s | %12s | %9s | %-34s | %-20s |\n' tool seconds "peak RSS MB" rows "same rows as the reference" "ratio"
printf '|%s|%s|%s|%s|%s|%s|\n' ---------------------------  ----------- -------------- ----------- ------------------------------------ ----------------------
status=0
for line in "${results[@]}"; do
  read -r name secs rss rows sum <<<"$line"
  rss_mb=$([ "$rss" = "-" ] && echo - || awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')
  same="-"
  if [ "$sum" != "-" ] && [ -n "$reference" ]; then
    if [ "$sum" = "$reference" ]; then same="yes"; else same="NO ($sum)"; status=1; fi
  fi
  ratio="-"
  if [ "$secs" != "failed" ] && [ "$secs" != "missing" ] && [ -n "$tm_secs" ]; then
    case $name in
      trailmerge|trailmerge-default-memory|trailmerge-1-thread|baseline|baseline-1-thread|big-*) ratio=$(awk -v a="$secs" -v b="$floor_secs" -v f="$fast_name" 'BEGIN { printf "%.2fx the %s", a / b, f }') ;;
      *-floor) ratio=$(awk -v a="$secs" -v b="$floor_secs" 'BEGIN { printf "%.2fx", a / b }') ;;
      *) ratio=$(awk -v a="$secs" -v b="$tm_secs" 'BEGIN { printf "trailmerge %.1fx faster", a / b }') ;;
    esac
  fi
  printf '| %-25s | %9s | %12s | %9s | %-34s | %-20s |\n' "$name" "$secs" "$rss_mb" "$rows" "$same" "$ratio"
done
exit $status
