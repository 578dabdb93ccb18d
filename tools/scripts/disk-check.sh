#!/usr/bin/env bash
# Checks that the disk holding the build and the temp directory has room for a build and a
# test run, before either starts: a full disk otherwise shows up as a compiler's "No space
# left on device" half-way through (seen on CI). Scratch trees of earlier test runs that could
# not be removed (a fenced data set is immutable) are the usual cause; those older than an hour
# are removed first, and only those: directories that this project's tests name
# /tmp/lifeboat-<test>-XXXXXX or /tmp/localfs-test-XXXXXX.
#   disk-check.sh <build dir>     exit 0 when there is room, 1 with what to do otherwise
# LIFEBOAT_MIN_FREE_GB (default 8) sets the room wanted.
set -euo pipefail
build="${1:?usage: disk-check.sh <build dir>}"
want_gb="${LIFEBOAT_MIN_FREE_GB:-8}"
tmp="${TMPDIR:-/tmp}"

free_gb() {  # free GiB on the file system holding $1 (or its nearest existing parent)
  local d="$1"
  while [ ! -e "$d" ]; do d="$(dirname "$d")"; done
  df -Pk "$d" | awk 'NR == 2 { printf "%d", $4 / 1048576 }'
}

stale=()
while IFS= read -r -d '' d; do stale+=("$d"); done < <(
  find "$tmp" -maxdepth 1 -regextype posix-extended -type d -mmin +60 \
    -regex '.*/(lifeboat-[a-z-]+|localfs-test)-[A-Za-z0-9]{6}' -print0 2>/dev/null)
if [ "${#stale[@]}" -gt 0 ]; then
  command -v chattr >/dev/null && chattr -R -i "${stale[@]}" 2>/dev/null || true
  chmod -R u+rwx "${stale[@]}" 2>/dev/null || true
  rm -rf "${stale[@]}" 2>/dev/null || true
  echo "disk-check: removed ${#stale[@]} scratch trees of earlier test runs from $tmp" >&2
fi

for where in "$build" "$tmp"; do
  have="$(free_gb "$where")"
  if [ "$have" -lt "$want_gb" ]; then
    echo "disk-check: only ${have} GiB free on the file system of $where; a build and test run" \
         "need about ${want_gb} GiB (the build directory alone is ~7 GiB)." >&2
    echo "  Free space there (old build directories, ccache: 'ccache -C') or set" \
         "LIFEBOAT_BUILD_DIR/TMPDIR to a disk with room; LIFEBOAT_MIN_FREE_GB=<n> lowers the bar." >&2
    df -h "$where" >&2 || true
    exit 1
  fi
done
