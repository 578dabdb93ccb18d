#!/usr/bin/env bash
# Runs the benchmarks at full size and prints their figures.
#   tools/scripts/bench.sh [--mib N] [--files N]     localfs against rsync
#   tools/scripts/bench.sh kafka [ARGS...]           the Kafka plugin against MirrorMaker 2 on the
#                                                    Kafka rig (started and stopped here; ARGS go
#                                                    to kafka_mm2_bench, e.g. --cases 1000000x100)
set -euo pipefail
top="$(cd "$(dirname "$0")/../.." && pwd)"
build="${LIFEBOAT_BUILD_DIR:-$top/build}"
if [ "${1:-}" = kafka ]; then
  shift
  "$top/tools/scripts/build.sh" --target kafka_mm2_bench >/dev/null
  rig="$top/tools/scripts/rig.sh"
  trap '"$rig" stop kafka' EXIT
  "$rig" start kafka
  eval "$("$rig" env kafka)"
  "$build/tests/bench/kafka_mm2_bench" "$@"
  exit 0
fi
"$top/tools/scripts/build.sh" --target localfs_bench lifeboat_plugin_localfs >/dev/null
"$build/tests/bench/localfs_bench" --dir "${LIFEBOAT_BENCH_DIR:-/tmp/lifeboat-bench}" "$@"
