#!/usr/bin/env bash
# Real clusters for the tests: builds the launchers in tests/rig (Maven, once; the cache in
# ~/.m2 is reused), starts one JVM per system in the background, waits until its endpoints
# file appears, and stops it again.
#
#   tools/scripts/rig.sh start SYSTEM...    start (or keep, if already up) all at once, wait until they answer
#   tools/scripts/rig.sh stop [SYSTEM...]   stop (all running when none is named)
#   tools/scripts/rig.sh status [SYSTEM...] what runs: pid, memory, endpoints (exit 3 if one is down)
#   tools/scripts/rig.sh env SYSTEM...      `export LIFEBOAT_RIG_<SYSTEM>=<endpoints file>` lines
#   tools/scripts/rig.sh build              only build the launchers
#
# Systems: the folders of tests/rig with a jvm.flags file (now: hdfs, hive, kafka, kafka39). Files, under
# ${LIFEBOAT_RIG_DIR:-${LIFEBOAT_BUILD_DIR:-build}/rig}: SYSTEM.json (endpoints, present only
# while the system answers), SYSTEM.log, SYSTEM.pid, SYSTEM/ (data, wiped at each start),
# jars/. Environment: LIFEBOAT_RIG_TIMEOUT (seconds to wait for a start, default 300),
# LIFEBOAT_RIG_WATCH_PID (the launchers stop by themselves when that process ends).
#
# A caller that runs tests stops the rig in a trap, so that failing tests stop it too:
#   tools/scripts/rig.sh start hdfs && trap 'tools/scripts/rig.sh stop hdfs' EXIT
#   eval "$(tools/scripts/rig.sh env hdfs)"
set -euo pipefail
top="$(cd "$(dirname "$0")/../.." && pwd)"
build="${LIFEBOAT_BUILD_DIR:-$top/build}"
rigdir="${LIFEBOAT_RIG_DIR:-$build/rig}"
src="$top/tests/rig"
timeout_s="${LIFEBOAT_RIG_TIMEOUT:-300}"

# The launchers are built and run with Java 17 (Hadoop 3.5's flags are for it), even where
# another JDK is the default.
if [ -z "${JAVA_HOME:-}" ] && [ -x /usr/lib/jvm/java-17-openjdk-amd64/bin/java ]; then
  export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
fi
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"

die() {
  echo "rig: $*" >&2
  exit 1
}

known_systems() {
  local f
  for f in "$src"/*/jvm.flags; do basename "$(dirname "$f")"; done
}

check_system() {
  [ -f "$src/$1/jvm.flags" ] || die "unknown system '$1' (known: $(known_systems | tr '\n' ' '))"
}

pid_of() {
  local pid
  pid="$(cat "$rigdir/$1.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi
}

rss_mib() {
  awk '/^VmRSS:/ {printf "%d", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo "?"
}

# Builds the jars when a file under tests/rig is newer than the last build.
build_jars() {
  command -v mvn >/dev/null || die "Maven is missing: run tools/scripts/setup.sh"
  [ -x "$(command -v "$java")" ] || die "Java 17 is missing: run tools/scripts/setup.sh"
  local stamp="$rigdir/jars/.built"
  if [ -f "$stamp" ] && [ -z "$(find "$src" -newer "$stamp" -type f -print -quit)" ]; then
    return 0
  fi
  mkdir -p "$rigdir/jars"
  echo "rig: building the launchers (Maven; the first run downloads to ~/.m2)" >&2
  local t0=$SECONDS
  if ! (cd "$src" && mvn -B -q package -Drig.build.dir="$rigdir/jars") >"$rigdir/jars/build.log" 2>&1; then
    tail -40 "$rigdir/jars/build.log" >&2
    die "the Maven build failed (log: $rigdir/jars/build.log)"
  fi
  touch "$stamp"
  echo "rig: launchers built in $((SECONDS - t0)) s" >&2
}

# Launches the JVM of one system in the background (unless it is already up); wait_one waits.
launch_one() {
  local sys="$1" pid
  pid="$(pid_of "$sys")"
  if [ -n "$pid" ] && [ -f "$rigdir/$sys.json" ]; then
    echo "rig: $sys already up (pid $pid, $rigdir/$sys.json)" >&2
    return 0
  fi
  [ -z "$pid" ] || stop_one "$sys"
  local jar="$rigdir/jars/rig-$sys/rig-$sys.jar"
  [ -f "$jar" ] || die "$jar is missing after the build"
  local flags
  flags="$(sed -e 's/#.*//' "$src/$sys/jvm.flags" | tr '\n' ' ')"
  rm -rf "${rigdir:?}/$sys" "$rigdir/$sys.json"
  mkdir -p "$rigdir/$sys"
  local watch=()
  if [ -n "${LIFEBOAT_RIG_WATCH_PID:-}" ]; then watch=(--exit-with-pid "$LIFEBOAT_RIG_WATCH_PID"); fi
  date +%s%N >"$rigdir/$sys.t0"
  # shellcheck disable=SC2086  # the flags are words
  setsid "$java" $flags -jar "$jar" --work-dir "$rigdir/$sys" --endpoints "$rigdir/$sys.json" \
    "${watch[@]}" </dev/null >"$rigdir/$sys.log" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$rigdir/$sys.pid"
}

# Waits until the endpoints file of a launched system appears; fails if it exits or times out.
wait_one() {
  local sys="$1" pid t0
  pid="$(pid_of "$sys")"
  [ -f "$rigdir/$sys.t0" ] || return 0  # was already up
  t0="$(cat "$rigdir/$sys.t0")"
  local deadline=$((SECONDS + timeout_s))
  while [ ! -f "$rigdir/$sys.json" ]; do
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
      tail -40 "$rigdir/$sys.log" >&2
      rm -f "$rigdir/$sys.pid" "$rigdir/$sys.t0"
      die "$sys: the launcher exited before it answered (log above: $rigdir/$sys.log)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -40 "$rigdir/$sys.log" >&2
      stop_one "$sys"
      die "$sys: no endpoints after ${timeout_s} s (log above: $rigdir/$sys.log; LIFEBOAT_RIG_TIMEOUT raises the limit)"
    fi
    sleep 0.2
  done
  rm -f "$rigdir/$sys.t0"
  local ms=$((($(date +%s%N) - t0) / 1000000))
  echo "rig: $sys up in $((ms / 1000)).$(printf %03d $((ms % 1000))) s, RSS $(rss_mib "$pid") MiB (pid $pid, $rigdir/$sys.json)" >&2
}

stop_one() {
  local sys="$1" pid
  pid="$(pid_of "$sys")"
  if [ -z "$pid" ]; then
    rm -f "$rigdir/$sys.pid" "$rigdir/$sys.json" "$rigdir/$sys.t0"
    return 0
  fi
  local t0=$SECONDS rss
  rss="$(rss_mib "$pid")"
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if [ $((SECONDS - t0)) -ge 60 ]; then
      echo "rig: $sys (pid $pid) still up 60 s after SIGTERM; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$rigdir/$sys.pid" "$rigdir/$sys.json" "$rigdir/$sys.t0"
  echo "rig: $sys stopped in $((SECONDS - t0)) s (RSS was $rss MiB)" >&2
}

status_one() {
  local sys="$1" pid
  pid="$(pid_of "$sys")"
  if [ -n "$pid" ] && [ -f "$rigdir/$sys.json" ]; then
    echo "$sys: up, pid $pid, RSS $(rss_mib "$pid") MiB, endpoints $rigdir/$sys.json"
  elif [ -n "$pid" ]; then
    echo "$sys: starting, pid $pid (log $rigdir/$sys.log)"
    return 3
  else
    echo "$sys: down"
    return 3
  fi
}

cmd="${1:-}"
shift || true
case "$cmd" in
  build)
    mkdir -p "$rigdir"
    build_jars
    ;;
  start)
    [ $# -gt 0 ] || die "start which system? ($(known_systems | tr '\n' ' '))"
    for s in "$@"; do check_system "$s"; done
    mkdir -p "$rigdir"
    # One build at a time per rig directory (several checkouts' scripts may run at once).
    exec 9>"$rigdir/.lock"
    flock 9
    build_jars
    # All launchers at once: their starts overlap (each JVM is mostly single-threaded while it
    # starts), which costs less wall time than one after the other.
    for s in "$@"; do launch_one "$s"; done
    for s in "$@"; do wait_one "$s"; done
    ;;
  stop)
    if [ $# -eq 0 ]; then set -- $(known_systems); fi
    for s in "$@"; do check_system "$s"; done
    for s in "$@"; do stop_one "$s"; done
    ;;
  status)
    if [ $# -eq 0 ]; then set -- $(known_systems); fi
    rc=0
    for s in "$@"; do
      check_system "$s"
      status_one "$s" || rc=3
    done
    exit "$rc"
    ;;
  env)
    for s in "$@"; do
      check_system "$s"
      echo "export LIFEBOAT_RIG_$(echo "$s" | tr '[:lower:]-' '[:upper:]_')=$rigdir/$s.json"
    done
    ;;
  *)
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
