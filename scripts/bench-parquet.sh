#!/usr/bin/env bash
# Times `process` on one tree for every output kind (TSV gzip/plain, Parquet with each codec), N runs
# each in turn, and prints medians of wall and CPU seconds, peak RSS and output size as a Markdown table.
# usage: scripts/bench-parquet.sh [TREE] [RUNS]   (run from an empty scratch folder; needs GNU time and bc)
set -euo pipefail
B=${TRAILMERGE:-$(cd "$(dirname "$0")/.." && pwd)/.build/release/trailmerge}; T=${1:-/tmp/pq/S}; N=${2:-7}
TIMES=$(mktemp); trap 'rm -f "$TIMES"' EXIT
declare -A W C R
kinds="tsv.gz tsv parquet-none parquet-snappy parquet-zstd parquet-gzip"
for i in $(seq $N); do
  for k in $kinds; do
    case $k in
      parquet-*) args=(-o out-${k#parquet-}.parquet --parquet-codec ${k#parquet-}); out=out-${k#parquet-}.parquet;;
      *) args=(-o out.$k); out=out.$k;;
    esac
    /usr/bin/time -f "%e %U %S %M" -o "$TIMES" $B process $T "${args[@]}" --quiet
    read e u s m < "$TIMES"
    W[$k]+="$e "; C[$k]+="$(echo "$u + $s" | bc) "; R[$k]+="$m "
  done
done
med() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf "| output | wall s (median of %d) | cpu s (user+sys) | peak RSS MB | size MB | size vs tsv.gz |\n|---|---|---|---|---|---|\n" $N
for k in $kinds; do
  out=$([[ $k == parquet-* ]] && echo out-${k#parquet-}.parquet || echo out.$k)
  sz=$(stat -c %s $out); base=$(stat -c %s out.tsv.gz)
  printf "| %s | %s | %s | %d | %.2f | %.2fx |\n" $k "$(echo ${W[$k]} | med)" "$(echo ${C[$k]} | med)" $(( $(echo ${R[$k]} | med) / 1024 )) $(echo "$sz/1000000" | bc -l) $(echo "$sz/$base" | bc -l)
done
