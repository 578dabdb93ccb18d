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
  python3 python3-yaml               # JSON and YAML checks in the end-to-end tests
  curl openssl                       # the end-to-end tests' HTTP calls; the console test's TLS certificate
  clang libclang-rt-14-dev           # libFuzzer targets (frame decoder, API requests)
  libacl1-dev                        # localfs: POSIX ACLs in sync_security
  iproute2                           # network namespaces in the control-plane test
  maven openjdk-17-jdk-headless      # tests/rig: real clusters for the tests labelled rig
  librdkafka-dev                     # Kafka: the plugin's client, rig tests, the MM2 benchmark
  chromium chromium-driver fonts-dejavu-core  # the web console's browser tests (headless)
  thrift-compiler libthrift-dev      # HBase, Hive metastore: Thrift clients (IDL subsets generated at build time)
  zlib1g-dev                         # Hive metastore: gzip(json-2.0) notification messages
  libsqlite3-dev sqlite3             # the SDK's example plugin (sdk/examples/sqlite) and its walkthrough
)
# Node.js and npm run the console's browser tests (playwright-core, pinned in
# tests/e2e/console/package-lock.json; any Node.js from 18 on). Debian's only when none is
# installed: a machine image may bring its own node, whose package conflicts with Debian's npm.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  PACKAGES+=(nodejs npm)
fi

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
