#!/usr/bin/env bash
# Installs what a fresh machine may lack for building and testing trailmerge: the zlib headers
# (zlib1g-dev), the libdeflate runtime library (libdeflate0; no headers needed, see Sources/CDeflate),
# gzip, the zstd runtime (libzstd1, for Parquet ZSTD pages), and the test-only tools: the Parquet
# readers (pyarrow, duckdb), moto and botocore (S3), PySpark (the Spark job; Java 17 from
# openjdk-17-jre-headless). Safe to run repeatedly; does nothing when everything is present.
set -euo pipefail
missing=()
[ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
dpkg-query -W -f='${Status}' libdeflate0 2>/dev/null | grep -q 'ok installed' || missing+=(libdeflate0)
command -v gzip >/dev/null 2>&1 || missing+=(gzip)
[ -x /usr/bin/time ] || missing+=(time)  # GNU time: peak RSS in benchmarks and peer comparisons
ls /usr/lib/*/libzstd.so.1 /lib/*/libzstd.so.1 >/dev/null 2>&1 || missing+=(libzstd1)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
command -v swift >/dev/null 2>&1 || { echo "install-deps: swift is not on PATH" >&2; exit 1; }

# Test-only Parquet readers (Tests/TrailMergeTests/Output/Parquet, scripts/parquet_dump.py).
if ! python3 -c 'import pyarrow, duckdb' >/dev/null 2>&1; then
  # Debian's python refuses pip installs into the system (PEP 668) unless told otherwise.
  python3 -m pip install --quiet pyarrow duckdb 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages pyarrow duckdb
  python3 -c 'import pyarrow, duckdb' || { echo "install-deps: pyarrow/duckdb failed to install" >&2; exit 1; }
fi

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

# The Spark job's tests (scripts/spark/trailmerge_spark.py) and the Parquet-in-Spark check: PySpark
# from PyPI and a Java 17 runtime from Debian.
if ! command -v java >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || { echo "install-deps: need root to install openjdk-17-jre-headless" >&2; exit 1; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless
fi
if ! python3 -c 'import pyspark' >/dev/null 2>&1 || ! command -v spark-submit >/dev/null 2>&1; then
  python3 -m pip install --quiet pyspark 2>/dev/null || python3 -m pip install --quiet --break-system-packages pyspark
  python3 -c 'import pyspark' || { echo "install-deps: pyspark failed to install" >&2; exit 1; }
  command -v spark-submit >/dev/null 2>&1 || { echo "install-deps: spark-submit is not on PATH after installing pyspark" >&2; exit 1; }
fi
