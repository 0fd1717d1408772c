#!/usr/bin/env bash
# Times `process` over a generated 30-day tree: the full run against `--since`/`--until` selecting one
# day (so only that day's folder and the next one, for the default 1-day delivery delay, are read),
# N runs each in turn, and prints medians of wall and CPU seconds, peak RSS, files read, pruned
# folders and rows as a Markdown table.
# usage: scripts/bench-since.sh [TREE] [RUNS]   (makes TREE with `generate --days 30` when missing;
# run from an empty scratch folder; needs GNU time and bc)
set -euo pipefail
B=${TRAILMERGE:-$(cd "$(dirname "$0")/.." && pwd)/.build/release/trailmerge}; T=${1:-/tmp/since/D30}; N=${2:-5}
[[ -d $T ]] || $B generate "$T" --files 3000 --records-per-file 100 --days 30 --seed 30 >/dev/null
TIMES=$(mktemp); trap 'rm -f "$TIMES"' EXIT
declare -A W C R
kinds="full one-day"
for i in $(seq $N); do
  for k in $kinds; do
    case $k in
      full) args=();;
      one-day) args=(--since 2024-03-15 --until 2024-03-16);;
    esac
    /usr/bin/time -f "%e %U %S %M" -o "$TIMES" $B process "$T" -o out-$k.tsv.gz --stats stats-$k.json --quiet ${args[@]+"${args[@]}"}
    read e u s m < "$TIMES"
    W[$k]+="$e "; C[$k]+="$(echo "$u + $s" | bc) "; R[$k]+="$m "
  done
done
med() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { grep -o "\"$1\": [0-9]*" "$2" | grep -o '[0-9]*$'; }
printf "| run | wall s (median of %d) | cpu s (user+sys) | peak RSS MB | files read | pruned folders | rows |\n|---|---|---|---|---|---|---|\n" $N
for k in $kinds; do
  printf "| %s | %s | %s | %d | %s | %s | %s |\n" $k "$(echo ${W[$k]} | med)" "$(echo ${C[$k]} | med)" $(( $(echo ${R[$k]} | med) / 1024 )) \
    "$(field files stats-$k.json)" "$(field prunedFolders stats-$k.json)" "$(field rows stats-$k.json)"
done
