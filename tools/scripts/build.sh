#!/usr/bin/env bash
# Configures (once) and builds Lifeboat into ${LIFEBOAT_BUILD_DIR:-build}. Uses at most
# two jobs: this project's machines have two cores and tests run beside builds.
set -euo pipefail
top="$(cd "$(dirname "$0")/../.." && pwd)"
build="${LIFEBOAT_BUILD_DIR:-$top/build}"
"$top/tools/scripts/setup.sh"
"$top/tools/scripts/disk-check.sh" "$build"
# Let ccache hit across clones in different folders (CI builds a fresh clone each time).
export CCACHE_BASEDIR="$top" CCACHE_NOHASHDIR=1
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
# Arguments: target names (`build.sh engine_test lifeboat`), or raw `cmake --build` options.
args=()
for a in "$@"; do
  case "$a" in
    -*) args+=("$a") ;;
    *) args+=(--target "$a") ;;
  esac
done
cmake --build "$build" -j "${LIFEBOAT_JOBS:-2}" "${args[@]}"
