#!/usr/bin/env bash
# Times `trailmerge group` per day on ROOT against the shell baselines of the group issue:
#   keep: a loop that cats each day's files (in path order) into one file;
#   gzip: a loop that runs `zcat <day's files> | pigz -p 2 -6` per day.
# usage: scripts/bench-group.sh [--install] ROOT      (prints a markdown table)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
if [ "${1:-}" = --install ]; then
  shift
  command -v pigz >/dev/null || { apt-get update -qq && apt-get install -y -qq pigz; }
  command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
fi
[ $# -eq 1 ] || { echo "usage: $0 [--install] ROOT" >&2; exit 2; }
root=$(cd "$1" && pwd)
tm="$repo/.build/release/trailmerge"
[ -x "$tm" ] || (cd "$repo" && swift build -c release >/dev/null)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/days.sh" <<'SH'
#!/usr/bin/env bash
# days.sh MODE ROOT OUT: one output per day, MODE cat or pigz
mode=$1 root=$2 out=$3
mkdir -p "$out"
find "$root" -name '*.json.gz' | sed -E 's#.*/([0-9]{4})/([0-9]{2})/([0-9]{2})/[^/]+$#\1/\2/\3#' | sort -u | while read -r day; do
  files=$(find "$root" -path "*/$day/*.json.gz" | LC_ALL=C sort)
  if [ "$mode" = cat ]; then cat $files > "$out/${day//\//}.json.gz"
  else zcat $files | pigz -p 2 -6 > "$out/${day//\//}.json.gz"; fi
done
SH
chmod +x "$work/days.sh"
pattern='.*/([0-9]{4})/([0-9]{2})/([0-9]{2})/[^/]+\.json\.gz'
hyperfine --warmup 1 --runs 5 --export-json "$work/h.json" --prepare "rm -rf $work/o" \
  -n "cat loop" "$work/days.sh cat $root $work/o" \
  -n "group keep" "$tm group $root $work/o --group-by '$pattern' --quiet" \
  -n "zcat | pigz -p 2 -6 loop" "$work/days.sh pigz $root $work/o" \
  -n "group gzip (2 threads)" "$tm group $root $work/o --group-by '$pattern' --output-codec gzip --threads 2 --quiet" >/dev/null
python3 - "$work/h.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
def row(name, base):
    m, b = r[name]["mean"], r[base]["mean"]
    return f"| {name} | {m:.3f} ± {r[name]['stddev']:.3f} s | {m / b:.2f}× {base.replace('|', chr(92) + '|')} |"
print("| command | mean ± sd (5 runs) | ratio |\n|---|---|---|")
print(f"| cat loop | {r['cat loop']['mean']:.3f} ± {r['cat loop']['stddev']:.3f} s | baseline |")
print(row("group keep", "cat loop"))
print(f"| zcat \\| pigz -p 2 -6 loop | {r['zcat | pigz -p 2 -6 loop']['mean']:.3f} ± {r['zcat | pigz -p 2 -6 loop']['stddev']:.3f} s | baseline |")
print(row("group gzip (2 threads)", "zcat | pigz -p 2 -6 loop"))
PY
