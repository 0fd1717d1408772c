#!/usr/bin/env bash
# Installs what a fresh machine may lack for building and testing trailmerge: the zlib headers
# (zlib1g-dev) and gzip. Safe to run repeatedly; does nothing when everything is present.
set -euo pipefail
missing=()
[ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
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

# S3 tests: a moto server (moto[server]: flask, werkzeug) and botocore, imported by python3
# (scripts/moto-server.py, scripts/botocore-sign.py).
if ! python3 -c 'import moto.server, flask, werkzeug, botocore' >/dev/null 2>&1; then
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || { echo "install-deps: need root to install python3-pip" >&2; exit 1; }
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-pip
  fi
  python3 -m pip install --quiet 'moto[server]>=5,<6' botocore \
    || python3 -m pip install --quiet --break-system-packages 'moto[server]>=5,<6' botocore
  python3 -c 'import moto.server, flask, werkzeug, botocore'
fi
