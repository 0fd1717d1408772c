#!/usr/bin/env bash
# Builds trailmerge with the Swift standard library and Foundation linked in statically, for
# machines without a Swift runtime (Spark executors on EMR or Glue), into .build-static/release/.
# Linking FoundationNetworking statically needs libcurl's linker name (libcurl4-openssl-dev);
# this installs it when missing. Checks that the binary needs no Swift shared library and runs.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! ls /usr/lib/*/libcurl.so >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || { echo "build-static: need root to install libcurl4-openssl-dev" >&2; exit 1; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libcurl4-openssl-dev
fi
swift build -c release --static-swift-stdlib --scratch-path .build-static --product trailmerge 2>&1 | tail -n 1
binary=.build-static/release/trailmerge
if ldd "$binary" | grep -q 'libswift\|libFoundation\|libdispatch'; then
  echo "build-static: $binary still needs Swift shared libraries:" >&2
  ldd "$binary" | grep 'libswift\|libFoundation\|libdispatch' >&2
  exit 1
fi
"$binary" --version
echo "build-static: $binary needs no Swift runtime ($(ldd "$binary" | wc -l) shared libraries, all system ones)"
