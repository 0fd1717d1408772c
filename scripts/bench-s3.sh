#!/usr/bin/env bash
# Reading a generated tree from a local S3 server (moto, on 127.0.0.1) against reading it from disk,
# and where the time goes: the server's CPU, the client's CPU, wall time. Also the AWS CLI's
# `aws s3 cp --recursive` of the same objects when it is installed, as a peer.
# Usage: scripts/bench-s3.sh [TREE] (default: generates S, 2,000 files x 100 records, seed 7)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product trailmerge 2>&1 | tail -n 1
bin=.build/release/trailmerge
work=$(mktemp -d /tmp/trailmerge-bench-s3-XXXXXX)
trap 'exec 3>&-; rm -rf "$work"' EXIT
tree=${1:-}
if [ -z "$tree" ]; then
  tree=$work/S
  "$bin" generate "$tree" --files 2000 --records-per-file 100 --seed 7 >/dev/null 2>&1
fi
objects=$(find "$tree" -type f | wc -l)
bytes=$(find "$tree" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
# The server: seeded straight into its backend; it serves until fd 3 closes.
mkfifo "$work/in"
python3 scripts/moto-server.py --seed-dir "bench:AWSLogs/:$tree/AWSLogs" < "$work/in" > "$work/moto.json" 2>/dev/null &
server=$!
exec 3> "$work/in"
while ! grep -q port "$work/moto.json" 2>/dev/null; do sleep 0.2; done
port=$(python3 -c "import json;print(json.load(open('$work/moto.json'))['port'])")
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_ENDPOINT_URL=http://127.0.0.1:$port
cpu() { awk '{print ($14+$15)/100}' "/proc/$1/stat"; }
run() { # label, command...
  local label=$1; shift
  local before after
  before=$(cpu "$server")
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err"; exit 1; }
  after=$(cpu "$server")
  read -r wall user sys rss < "$work/time"
  awk -v l="$label" -v w="$wall" -v o="$objects" -v b="$bytes" -v u="$user" -v s="$sys" -v a="$after" -v z="$before" -v r="$rss" \
    'BEGIN { printf "| %s | %s | %.0f | %.1f | %.2f | %.2f | %.0f |\n", l, w, o / w, b / w / 1e6, u + s, a - z, r / 1024 }' 
}
echo "tree: $tree ($objects objects, $((bytes / 1000000)) MB of gzip); $(nproc) cores; $(date -u +%F)"
echo "| run | wall s | objects/s | MB/s of gzip | client CPU s | server CPU s | client peak RSS MB |"
echo "|---|---|---|---|---|---|---|"
run "process from disk" "$bin" process "$tree" -o "$work/disk.tsv.gz" --quiet
run "process from S3 (moto)" "$bin" process s3://bench/AWSLogs/ -o "$work/s3.tsv.gz" --quiet
cmp <(gzip -dc "$work/disk.tsv.gz") <(gzip -dc "$work/s3.tsv.gz") || { echo "outputs differ"; exit 1; }
run "process from S3, --s3-concurrency 8" "$bin" process s3://bench/AWSLogs/ -o "$work/s3b.tsv.gz" --quiet --s3-concurrency 8
run "group keep S3 to S3 (one object a day)" "$bin" group s3://bench/AWSLogs s3://bench/daily --quiet \
  --group-by '([0-9]+)/CloudTrail/([^/]+)/([0-9]{4})/([0-9]{2})/([0-9]{2})/[^/]+\.json\.gz' --name '$1/$2/$3-$4-$5'
if command -v aws >/dev/null 2>&1; then
  run "aws s3 cp --recursive (peer)" aws s3 cp --recursive --quiet s3://bench/AWSLogs/ "$work/dl" --endpoint-url "$AWS_ENDPOINT_URL"
fi
echo "outputs from disk and from S3: identical"
