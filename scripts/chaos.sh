#!/usr/bin/env bash
# Chaos test for crash safety: kills `process`, `group` and `merge` with SIGKILL at random moments, then
# checks that no final name holds a partial file, that group outputs appear all together or not
# at all, and that a follow-up run of the same command gives the oracle's output (an independent
# Python implementation) and leaves no temp file anywhere.
# usage: scripts/chaos.sh [SECONDS] [SEED]   (default 60 s, a random seed; both are printed)
set -uo pipefail  # no -e: every check reports through fail(), and find on a missing folder is fine
cd "$(dirname "$0")/.."
seconds=${1:-60}
seed=${2:-$(( $(date +%s) % 32768 ))}
RANDOM=$seed
echo "chaos: $seconds s, seed $seed (rerun: scripts/chaos.sh $seconds $seed)"
swift build -c release --product trailmerge 2>&1 | tail -n 1
bin=$PWD/.build/release/trailmerge
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

"$bin" generate src --files 400 --records-per-file 60 --seed 11 --days 2 2>/dev/null
sort_all=eventTime,eventName,eventSource,awsRegion,userIdentity.userName,sourceIPAddress,requestParameters.instancesSet.items[].instanceId
python3 "$OLDPWD/scripts/peers/python_json.py" src oracle.tsv.gz
gzip -dc oracle.tsv.gz > oracle.tsv
group_by='([0-9]+)/CloudTrail/([^/]+)/([0-9]{4})/([0-9]{2})/([0-9]{2})/[^/]+\.json\.gz'
mkdir -p tmp out
printf 'an earlier complete output\n' | gzip > old.tsv.gz

# `exec`, so that `cmd &` gives the pid of trailmerge itself (run them in a subshell otherwise).
process_cmd() { exec "$bin" process src -o out/events.tsv.gz --sort-by "$sort_all" --memory 256KiB --temp-dir tmp --threads 2 --stats out/stats.json --quiet "$@"; }
group_cmd() { exec "$bin" group src/AWSLogs dest --group-by "$group_by" --name '$1/$2/$3-$4-$5' --output-codec "$codec" --target-size 0.02 --output-manifest out/manifest.gz --quiet "$@"; }

merge_cmd() { exec "$bin" merge parts/p0.tsv.gz parts/p1.tsv.gz parts/p2.tsv.gz parts/p3.tsv.gz -o out/merged.tsv.gz --sort-by "$sort_all" --temp-dir tmp --quiet "$@"; }
# merge's inputs: the tree's files in four shares, each processed alone.
mkdir -p parts
"$bin" process src --dry-run --quiet > parts/all.txt
split -n l/4 -d -a 1 parts/all.txt parts/share
for k in 0 1 2 3; do "$bin" process --files-from "parts/share$k" -o "parts/p$k.tsv.gz" --sort-by "$sort_all" --quiet; done

# Reference runs: the oracle check, the group listing of a clean run, and how long each takes.
codec=gzip
t0=$(date +%s%N); (process_cmd); t1=$(date +%s%N)
cmp -s <(gzip -dc out/events.tsv.gz) oracle.tsv || { echo "chaos: a clean process run differs from the oracle"; exit 1; }
process_ms=$(( (t1 - t0) / 1000000 ))
t0=$(date +%s%N); (group_cmd); t1=$(date +%s%N)
group_ms=$(( (t1 - t0) / 1000000 ))
(cd dest && find . -type f | sort) > group.list
parts=$(wc -l < group.list)
rm -rf dest out/manifest.gz
echo "chaos: clean process $process_ms ms, clean group $group_ms ms ($parts parts)"

declare -A stages=()
kills=0 failures=0
fail() { echo "chaos: FAIL (kill $kills, $1): $2"; failures=$((failures + 1)); }

# The stage a killed run was in, from what it left behind.
stage_of() {
  local journal
  journal=$(find out dest -maxdepth 1 -name '.trailmerge-run-*.lock' 2>/dev/null | head -n 1 || true)
  if [ -n "$journal" ] && grep -q '^rename ' "$journal" && ! grep -q '^done$' "$journal"; then echo committing; return; fi
  # Killed after its commit's renames (fsyncing the folders) but before removing its journal.
  if [ -n "$journal" ] && grep -q '^done$' "$journal"; then echo "committed (journal left)"; return; fi
  if [ -n "$(find out dest -name '.*.tmp-*' -size +0 2>/dev/null | head -n 1 || true)" ]; then echo writing; return; fi
  if [ -n "$(ls -A tmp)" ]; then echo reading-spilling; return; fi
  if [ -n "$journal" ]; then echo "starting (journal only)"; return; fi
  echo "starting (nothing on disk yet)"
}

deadline=$(( $(date +%s) + seconds ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  kills=$((kills + 1))
  pick=$(( RANDOM % 3 ))
  if [ "$pick" = 2 ]; then
    what=merge
    rm -f out/merged.tsv.gz
    if (( RANDOM % 2 )); then cp old.tsv.gz out/merged.tsv.gz; fi
    cp out/merged.tsv.gz before.tsv.gz 2>/dev/null || rm -f before.tsv.gz
    delay=$(( RANDOM % (process_ms / 2 + 1) ))
    merge_cmd & pid=$!
  elif [ "$pick" = 1 ]; then
    what=process
    # The previous output is either absent or an earlier complete file.
    rm -f out/events.tsv.gz out/stats.json
    if (( RANDOM % 2 )); then cp old.tsv.gz out/events.tsv.gz; fi
    cp out/events.tsv.gz before.tsv.gz 2>/dev/null || rm -f before.tsv.gz
    delay=$(( RANDOM % (process_ms * 12 / 10 + 1) ))
    process_cmd & pid=$!
  else
    what=group
    codec=$([ $(( RANDOM % 2 )) = 0 ] && echo gzip || echo keep)
    rm -rf dest out/manifest.gz
    delay=$(( RANDOM % (group_ms * 12 / 10 + 1) ))
    group_cmd & pid=$!
  fi
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill -9 "$pid" 2>/dev/null || true
  status=0
  wait "$pid" 2>/dev/null || status=$?
  if [ "$status" = 0 ]; then stage="finished before the kill"; else stage=$(stage_of); fi
  stages["$what $stage"]=$(( ${stages["$what $stage"]:-0} + 1 ))

  # Right after the kill: no final name is partial (a commit cut midway is the one exception,
  # and it is rolled back by the next run, checked below).
  if [ "$what" = merge ]; then
    if [ -e out/merged.tsv.gz ] && ! cmp -s out/merged.tsv.gz before.tsv.gz 2>/dev/null \
        && ! cmp -s <(gzip -dc out/merged.tsv.gz 2>/dev/null) oracle.tsv; then
      fail "$what $stage" "out/merged.tsv.gz is neither the earlier file nor a complete new one"
    fi
  elif [ "$what" = process ]; then
    if [ -e out/events.tsv.gz ]; then
      if ! cmp -s out/events.tsv.gz before.tsv.gz 2>/dev/null && ! cmp -s <(gzip -dc out/events.tsv.gz 2>/dev/null) oracle.tsv; then
        fail "$what $stage" "out/events.tsv.gz is neither the earlier file nor a complete new one"
      fi
    fi
  elif [ "$stage" != committing ] && [ -d dest ]; then
    have=$(cd dest && find . -type f ! -name '.*' | wc -l)
    if [ "$have" != 0 ] && [ "$have" != "$parts" ]; then fail "$what $stage" "$have of $parts group outputs visible"; fi
  fi

  # The follow-up run: reclaims the debris, then gives exactly what a clean run gives.
  if [ "$what" = merge ]; then
    (merge_cmd) || fail "$what $stage" "follow-up merge run failed"
    cmp -s <(gzip -dc out/merged.tsv.gz) oracle.tsv || fail "$what $stage" "follow-up merge output differs from the oracle"
  elif [ "$what" = process ]; then
    (process_cmd) || fail "$what $stage" "follow-up process run failed"
    cmp -s <(gzip -dc out/events.tsv.gz) oracle.tsv || fail "$what $stage" "follow-up output differs from the oracle"
  else
    # A kill inside the commit's renames is rolled back by the follow-up run, which then writes
    # the whole set; otherwise visible parts mean the killed run had committed all of them.
    if [ "$stage" != committing ] && [ -d dest ] && [ -n "$(cd dest && find . -type f ! -name '.*' | head -n 1)" ]; then
      # The killed run committed (all parts): a re-run groups nothing new only with its manifest.
      # It still runs: a run killed after its commit leaves its journal, which only the next run
      # into DEST removes (skipping the re-run here left that lock file behind).
      cmp -s <(cd dest && find . -type f ! -name '.*' | sort) group.list || fail "$what $stage" "committed parts differ from a clean run's"
      (group_cmd --previous-manifest out/manifest.gz) || fail "$what $stage" "follow-up group run (with the manifest) failed"
      cmp -s <(cd dest && find . -type f | sort) group.list || fail "$what $stage" "the follow-up run with the manifest changed DEST"
    else
      (group_cmd) || fail "$what $stage" "follow-up group run failed"
      cmp -s <(cd dest && find . -type f | sort) group.list || fail "$what $stage" "parts differ from a clean run's (e.g. -1 parts)"
    fi
    cmp -s <("$bin" process dest -o - --sort-by "$sort_all" --quiet) oracle.tsv || fail "$what $stage" "grouped events differ from the oracle"
  fi
  debris=$(find out tmp dest \( -name '.*.tmp-*' -o -name '.*.bak-*' -o -name '.trailmerge-run-*' -o -name 'trailmerge-*' \) 2>/dev/null | head -n 3 || true)
  if [ -n "$debris" ]; then
    fail "$what $stage" "temp files left after the follow-up run: $debris"
    for f in $debris; do [ -f "$f" ] && { echo "  $f holds:"; sed 's/^/    /' "$f" | head -n 5; }; done
    # Start the next kill from a clean slate, so one failure is reported once.
    rm -rf dest tmp/* out/.trailmerge-run-* out/.*.tmp-*
  fi
done

echo "chaos: $kills kills, $failures failures; kills by command and stage:"
for key in "${!stages[@]}"; do echo "  $key: ${stages[$key]}"; done | sort
[ "$failures" -eq 0 ]
