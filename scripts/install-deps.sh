#!/usr/bin/env bash
# Installs what a fresh machine may lack for building and testing trailmerge: the zlib headers
# (zlib1g-dev), the libdeflate runtime library (libdeflate0; no headers needed, see
# Sources/CDeflate) and gzip. Safe to run repeatedly; does nothing when everything is present.
set -euo pipefail
missing=()
[ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
dpkg-query -W -f='${Status}' libdeflate0 2>/dev/null | grep -q 'ok installed' || missing+=(libdeflate0)
command -v gzip >/dev/null 2>&1 || missing+=(gzip)
[ -x /usr/bin/time ] || missing+=(time)  # GNU time: peak RSS in benchmarks and peer comparisons
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
command -v swift >/dev/null 2>&1 || { echo "install-deps: swift is not on PATH" >&2; exit 1; }
