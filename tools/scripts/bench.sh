#!/usr/bin/env bash
# Runs the benchmarks at full size and prints their figures.
#   tools/scripts/bench.sh [--mib N] [--files N]
set -euo pipefail
top="$(cd "$(dirname "$0")/../.." && pwd)"
build="${LIFEBOAT_BUILD_DIR:-$top/build}"
"$top/tools/scripts/build.sh" --target localfs_bench lifeboat_plugin_localfs >/dev/null
"$build/tests/bench/localfs_bench" --dir "${LIFEBOAT_BENCH_DIR:-/tmp/lifeboat-bench}" "$@"
