#!/usr/bin/env bash
# Runs the benchmarks at full size and prints their figures.
#   tools/scripts/bench.sh [--mib N] [--files N]          localfs against rsync
#   tools/scripts/bench.sh hdfs [hdfs_distcp_bench args]  the hdfs plugin against DistCp on the
#                                                          HDFS rig (started and stopped here
#                                                          unless LIFEBOAT_RIG_HDFS names one)
#   tools/scripts/bench.sh kafka [kafka_mm2_bench args]   the Kafka plugin against MirrorMaker 2
#                                                          on the Kafka rig (started and stopped
#                                                          here unless LIFEBOAT_RIG_KAFKA names one)
set -euo pipefail
top="$(cd "$(dirname "$0")/../.." && pwd)"
build="${LIFEBOAT_BUILD_DIR:-$top/build}"
if [ "${1:-}" = "hdfs" ]; then
  shift
  "$top/tools/scripts/build.sh" hdfs_distcp_bench >/dev/null
  if [ -z "${LIFEBOAT_RIG_HDFS:-}" ]; then
    "$top/tools/scripts/rig.sh" start hdfs
    trap '"$top/tools/scripts/rig.sh" stop hdfs' EXIT
    eval "$("$top/tools/scripts/rig.sh" env hdfs)"
  fi
  "$build/tests/bench/hdfs_distcp_bench" --work "${LIFEBOAT_BENCH_DIR:-/tmp/lifeboat-bench}/hdfs" "$@"
  exit 0
fi
if [ "${1:-}" = "kafka" ]; then
  shift
  "$top/tools/scripts/build.sh" kafka_mm2_bench >/dev/null
  if [ -z "${LIFEBOAT_RIG_KAFKA:-}" ]; then
    "$top/tools/scripts/rig.sh" start kafka
    trap '"$top/tools/scripts/rig.sh" stop kafka' EXIT
    eval "$("$top/tools/scripts/rig.sh" env kafka)"
  fi
  "$build/tests/bench/kafka_mm2_bench" "$@"
  exit 0
fi
"$top/tools/scripts/build.sh" localfs_bench lifeboat_plugin_localfs >/dev/null
"$build/tests/bench/localfs_bench" --dir "${LIFEBOAT_BENCH_DIR:-/tmp/lifeboat-bench}" "$@"
