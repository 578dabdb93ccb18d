#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in their own tree and runs each one briefly.
#   tools/scripts/fuzz.sh                       every fuzzer, ${LIFEBOAT_FUZZ_SECONDS:-20} s each
#   LIFEBOAT_FUZZ_SECONDS=600 tools/scripts/fuzz.sh frame_decoder_fuzz    one fuzzer, longer
# Fuzzers are declared with lifeboat_add_fuzzer() (top-level CMakeLists.txt); only they and
# their libraries are built. Seeds: tests/fuzz/corpus/<name>/ when it exists. What a run
# finds is kept in <build>/fuzz-corpus/<name>/; a crash leaves its input in
# <build>/fuzz-artifacts/ and makes this script exit non-zero. LIFEBOAT_FUZZ_SECONDS=0 skips.
# Bounds, so that a hang or a runaway allocation is a finding and never stalls CI: one input
# may take ${LIFEBOAT_FUZZ_INPUT_SECONDS:-10} s (-timeout), allocate 1 GiB at once
# (-malloc_limit_mb) and grow the process to 2 GiB (-rss_limit_mb); the whole run of a fuzzer
# is killed 60 s past its time.
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
ran=0
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
  ran=$((ran + 1))
  if ! timeout --kill-after=10 "$((seconds + 60))" \
      "$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$artifacts/$name-" \
      -timeout="${LIFEBOAT_FUZZ_INPUT_SECONDS:-10}" -malloc_limit_mb=1024 -rss_limit_mb=2048 \
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
if [ "$ran" -eq 0 ]; then
  echo "fuzz: no fuzzer named $* (declared: $(for p in "${paths[@]}"; do basename "$p" .path; done | tr '\n' ' '))" >&2
  exit 1
fi
echo "fuzz: $ran fuzzer(s) clean"
