#!/usr/bin/env bash
# Runs the test suite under a sanitizer, in its own build folder so the normal build stays intact.
# usage: scripts/sanitize.sh thread|address
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-thread}
case $kind in
  thread|address) ;;
  *) echo "usage: $0 thread|address" >&2; exit 2 ;;
esac
if [ "$kind" = address ]; then
  export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan-suppressions.txt:print_suppressions=0"
fi
# The CLI tests run the executable next to the test bundle, which is built with the same sanitizer.
swift test --sanitize="$kind" --scratch-path ".build-$kind" "${@:2}"
