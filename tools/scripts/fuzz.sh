#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in their own tree and runs each one briefly.
#   tools/scripts/fuzz.sh                       every fuzzer, ${LIFEBOAT_FUZZ_SECONDS:-20} s each
#   LIFEBOAT_FUZZ_SECONDS=600 tools/scripts/fuzz.sh frame_decoder_fuzz    one fuzzer, longer
# Fuzzers are declared with lifeboat_add_fuzzer() (top-level CMakeLists.txt); only they and
# their libraries are built. Seeds: tests/fuzz/corpus/<name>/ when it exists. What a run
# finds is kept in <build>/fuzz-corpus/<name>/; a crash leaves its input in
# <build>/fuzz-artifacts/ and makes this script exit non-zero. LIFEBOAT_FUZZ_SECONDS=0 skips.
set -euo pipefail
top="$(cd "$(dirname "$0")/../.." && pwd)"
build="${LIFEBOAT_FUZZ_BUILD_DIR:-$top/build-fuzz}"
seconds="${LIFEBOAT_FUZZ_SECONDS:-20}"
if [ "$seconds" = "0" ]; then
  echo "fuzz: skipped (LIFEBOAT_FUZZ_SECONDS=0)"
  exit 0
fi
"$top/tools/scripts/setup.sh"
export CCACHE_BASEDIR="$top" CCACHE_NOHASHDIR=1
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLIFEBOAT_FUZZ=ON >/dev/null
fi
cmake --build "$build" -j "${LIFEBOAT_JOBS:-2}" --target fuzzers

shopt -s nullglob
paths=("$build"/fuzzers/*.path)
if [ ${#paths[@]} -eq 0 ]; then
  echo "fuzz: no fuzzers declared (lifeboat_add_fuzzer)" >&2
  exit 1
fi
failed=()
for p in "${paths[@]}"; do
  name="$(basename "$p" .path)"
  if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
  bin="$(cat "$p")"
  corpus="$build/fuzz-corpus/$name"
  artifacts="$build/fuzz-artifacts"
  mkdir -p "$corpus" "$artifacts"
  dirs=("$corpus")
  [ -d "$top/tests/fuzz/corpus/$name" ] && dirs+=("$top/tests/fuzz/corpus/$name")
  echo "fuzz: $name for ${seconds}s"
  if ! "$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$artifacts/$name-" \
      "${dirs[@]}" >"$build/fuzz-$name.log" 2>&1; then
    failed+=("$name")
    tail -n 40 "$build/fuzz-$name.log" >&2
  else
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$build/fuzz-$name.log" |
      sed "s/^/  /" || true
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $build/fuzz-artifacts, logs $build/fuzz-<name>.log)" >&2
  exit 1
fi
echo "fuzz: ${#paths[@]} fuzzer(s) clean"
