#!/usr/bin/env bash
# Builds the libFuzzer targets (record scanner, gzip reader) with the toolchain's -sanitize=fuzzer
# plus AddressSanitizer, and runs them.
#
# usage: scripts/fuzz.sh [scanner|gzip|all] [SECONDS per target] [JOBS]
#   corpora live in .build/fuzz/<target>-corpus (seeded from the test fixtures); crashes are written
#   to .build/fuzz/<target>-crash-*; turn each into a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
which_target=${1:-all}
seconds=${2:-60}
jobs=${3:-1}
out=.build/fuzz
mkdir -p "$out"
lib_sources=$(find Sources/TrailMerge -name '*.swift' | sort)

build() {
  local name=$1; shift
  echo "building $name fuzzer"
  swiftc -O -g -swift-version 6 -sanitize=fuzzer,address -D TRAILMERGE_BOUNDS_CHECKS -parse-as-library -module-name TrailMerge \
    -I Sources/CZlib -I Sources/CDeflate -I Sources/CZstd -I Sources/CCrypto -lz -l:libdeflate.so.0 -l:libzstd.so.1 -lcrypto $lib_sources "$@" -o "$out/fuzz-$name"
}

seed() {
  set +o pipefail
  local name=$1 dir=$out/$1-corpus
  mkdir -p "$dir"
  if [ "$name" = scanner ]; then
    for f in Tests/TrailMergeTests/Fixtures/JSONTestSuite/test_parsing/*.json; do cp "$f" "$dir/" 2>/dev/null || true; done
    find Tests/TrailMergeTests/Fixtures/cloudtrail-real -name '*.json.gz' -size -8k | head -40 | while read -r f; do
      gzip -dc "$f" > "$dir/real-$(basename "$f" .gz)"; done
  else
    find Tests/TrailMergeTests/Fixtures -name '*.json.gz' -size -6k | head -60 | while read -r f; do cp "$f" "$dir/"; done
    printf '{}' | gzip -c > "$dir/tiny.gz"
    { printf 'a' | gzip -c; printf 'b' | gzip -c; } > "$dir/two-members.gz"
  fi
  set -o pipefail
}

run() {
  local name=$1
  seed "$name"
  echo "fuzzing $name for $seconds s with $jobs job(s)"
  local parallel=()
  [ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
  (cd "$out" && "./fuzz-$name" -max_total_time="$seconds" -max_len=8192 "${parallel[@]}" \
      -artifact_prefix="$name-crash-" -print_final_stats=1 "$name-corpus" > "$name.log" 2>&1) || true
  grep -E 'Done|stat::|ERROR|crash|#[0-9]+.*(DONE|pulse)' "$out/$name.log" | tail -n 12
  ls "$out" | grep -q "^$name-crash-" && { echo "$name: crashes found in $out"; return 1; }
  return 0
}

case $which_target in
  scanner) build scanner Tests/Fuzz/ScannerFuzz.swift Tests/TrailMergeTests/Oracle/*.swift; run scanner ;;
  gzip) build gzip Tests/Fuzz/GzipFuzz.swift; run gzip ;;
  all)
    build scanner Tests/Fuzz/ScannerFuzz.swift Tests/TrailMergeTests/Oracle/*.swift
    build gzip Tests/Fuzz/GzipFuzz.swift
    run scanner
    run gzip ;;
  *) echo "usage: $0 [scanner|gzip|all] [SECONDS] [JOBS]" >&2; exit 2 ;;
esac
