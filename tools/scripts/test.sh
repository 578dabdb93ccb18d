#!/usr/bin/env bash
# Sets up, builds, checks formatting, and runs the whole test suite.
#   tools/scripts/test.sh              everything
#   tools/scripts/test.sh -L unit      only the fast unit tests (any ctest arguments work)
# Tests labelled rig run against real clusters (tools/scripts/rig.sh), started here and stopped
# on exit, also when a test fails; LIFEBOAT_RIG=0 leaves them out (`ctest -LE rig` is the same
# fast suite by hand).
set -euo pipefail
top="$(cd "$(dirname "$0")/../.." && pwd)"
build="${LIFEBOAT_BUILD_DIR:-$top/build}"
"$top/tools/scripts/build.sh"
"$top/tools/scripts/check-format.sh"
cd "$build"
if [ "${LIFEBOAT_RIG:-1}" != 0 ]; then
  rig="$top/tools/scripts/rig.sh"
  export LIFEBOAT_RIG_WATCH_PID=$$ LIFEBOAT_RIG_REQUIRED=1
  # The rigs start at once (rig.sh overlaps their starts): HDFS, Kafka 4.x, Kafka 3.9, HBase
  # and the Hive metastores.
  systems=(hdfs kafka kafka39 hbase hive)
  trap '"$rig" stop "${systems[@]}"' EXIT
  "$rig" start "${systems[@]}"
  eval "$("$rig" env "${systems[@]}")"
  ctest --output-on-failure -j 2 "$@"
  "$rig" stop "${systems[@]}"
else
  ctest --output-on-failure -j 2 -LE rig "$@"
fi
LIFEBOAT_FUZZ_SECONDS="${LIFEBOAT_FUZZ_SECONDS:-15}" "$top/tools/scripts/fuzz.sh"
