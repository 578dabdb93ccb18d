#!/usr/bin/env bash
# Sets up, builds, checks formatting, and runs the whole test suite.
#   tools/scripts/test.sh              everything
#   tools/scripts/test.sh -L unit      only the fast unit tests (any ctest arguments work)
set -euo pipefail
top="$(cd "$(dirname "$0")/../.." && pwd)"
build="${LIFEBOAT_BUILD_DIR:-$top/build}"
"$top/tools/scripts/build.sh"
"$top/tools/scripts/check-format.sh"
cd "$build"
ctest --output-on-failure -j 2 "$@"
LIFEBOAT_FUZZ_SECONDS="${LIFEBOAT_FUZZ_SECONDS:-15}" "$top/tools/scripts/fuzz.sh"
