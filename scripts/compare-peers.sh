#!/usr/bin/env bash
# Runs the default trailmerge job on ROOT through trailmerge and its peers (ClickHouse embedded,
# DuckDB, jq + GNU sort, a plain Python json script), times each with peak RSS, times the zcat
# inflate floor, and checks that every output holds the same rows in the same order (sha256 of
# the rows after undoing each tool's escaping; with --memory, against trailmerge at its default budget).
#
# usage: scripts/compare-peers.sh [--install] [--threads N] [--skip PEER[,PEER]] [--memory SIZE] ROOT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
install=0 threads=2 skip="" memory=""
while [ $# -gt 0 ]; do
  case $1 in
    --install) install=1; shift ;;
    --threads) threads=$2; shift 2 ;;
    --skip) skip=$2; shift 2 ;;
    --memory) memory=$2; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || { echo "usage: $0 [--install] [--threads N] [--skip PEER,...] [--memory SIZE] ROOT" >&2; exit 2; }
root=$(cd "$1" && pwd)

if [ $install = 1 ]; then
  command -v jq >/dev/null || { apt-get update -qq && apt-get install -y -qq jq; }
  [ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }
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

floor() { find "$root" -name '*.json.gz' -print0 | xargs -0 -P"$threads" -n500 zcat >/dev/null; }
export -f floor; export root threads
/usr/bin/time -f "%e %M" -o "$work/floor.time" bash -c floor
read -r floor_secs floor_rss < <(tail -1 "$work/floor.time")
results+=("zcat-floor $floor_secs $floor_rss - -")

export here tm
tm_memory=${memory:+--memory $memory}
export tm_memory
run trailmerge pg bash -c '"$tm" process "$root" -o "$OUT" --threads "$threads" --quiet $tm_memory'
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
printf '| %-11s | %9s | %12s | %9s | %-34s | %-20s |\n' tool seconds "peak RSS MB" rows "same rows as the reference" "ratio"
printf '|%s|%s|%s|%s|%s|%s|\n' -------------  ----------- -------------- ----------- ------------------------------------ ----------------------
status=0
for line in "${results[@]}"; do
  read -r name secs rss rows sum <<<"$line"
  rss_mb=$([ "$rss" = "-" ] && echo - || awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')
  same="-"
  if [ "$sum" != "-" ] && [ -n "$reference" ]; then
    if [ "$sum" = "$reference" ]; then same="yes"; else same="NO ($sum)"; status=1; fi
  fi
  ratio="-"
  if [ "$secs" != "failed" ] && [ -n "$tm_secs" ]; then
    case $name in
      trailmerge|trailmerge-default-memory) ratio=$(awk -v a="$secs" -v b="$floor_secs" 'BEGIN { printf "%.2fx the zcat floor", a / b }') ;;
      zcat-floor) ratio="1.00x" ;;
      *) ratio=$(awk -v a="$secs" -v b="$tm_secs" 'BEGIN { printf "trailmerge %.1fx faster", a / b }') ;;
    esac
  fi
  printf '| %-11s | %9s | %12s | %9s | %-34s | %-20s |\n' "$name" "$secs" "$rss_mb" "$rows" "$same" "$ratio"
done
exit $status
