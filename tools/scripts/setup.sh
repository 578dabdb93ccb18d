#!/usr/bin/env bash
# Installs every Debian package that Lifeboat's build and tests need. Idempotent: when all
# are present it only checks (well under a second) and installs nothing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git clang-format
  libboost-dev                       # Boost.DLL (header-only, on std::filesystem)
  libprotobuf-dev protobuf-compiler  # the plugin boundary's messages
  libssl-dev                         # SHA-256 of plugins and content
  libspdlog-dev libfmt-dev           # logs
  nlohmann-json3-dev                 # manifests, plugin configs, CLI JSON output
  libcli11-dev                       # the command line
  libgtest-dev libgmock-dev          # tests
  libbenchmark-dev                   # benchmarks
  librocksdb-dev                     # the engine's state store
  libyaml-cpp-dev                    # policies as YAML
  libabsl-dev tzdata                 # schedules in named time zones (absl::TimeZone)
  libcurl4-openssl-dev               # HTTP hooks (and, later, WebHDFS)
  rsync                              # the peer the localfs benchmark compares against
  python3                            # JSON checks in the end-to-end tests
  clang libclang-rt-14-dev           # libFuzzer targets (frame decoder, API requests)
  libacl1-dev                        # localfs: POSIX ACLs in sync_security
  iproute2                           # network namespaces in the control-plane test
  maven openjdk-17-jdk-headless      # tests/rig: real clusters (HDFS) for the tests labelled rig
  librdkafka-dev                     # Kafka: the plugin's client, rig tests, the MM2 benchmark
  libsqlite3-dev sqlite3             # the SDK's example plugin (sdk/examples/sqlite) and its walkthrough
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists once if they are missing or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]; then
  $SUDO apt-get update -qq
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done" >&2
