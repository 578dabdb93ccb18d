#!/usr/bin/env bash
# Lifeboat's main job on the embedded default: the localfs plugin over two local
# directories standing for the primary and the secondary cluster. Makes a sample service
# tree on the first run, takes a restore point, replicates it, verifies and commits it;
# a second run is incremental. State lives in ${LIFEBOAT_STATE_DIR:-.state/embedded}.
set -euo pipefail
top="$(cd "$(dirname "$0")/../.." && pwd)"
build="${LIFEBOAT_BUILD_DIR:-$top/build}"
state="${LIFEBOAT_STATE_DIR:-$top/.state/embedded}"
"$top/tools/scripts/build.sh" --target lifeboat lifeboat_plugin_localfs >/dev/null
primary="$state/primary"
secondary="$state/secondary"
mkdir -p "$primary" "$secondary"
if [ ! -d "$primary/data" ]; then
  echo "making a sample service tree in $primary/data"
  mkdir -p "$primary/data/warehouse/sales" "$primary/data/logs" "$primary/data/empty"
  for i in $(seq 1 200); do
    head -c $(( (i * 7919) % 65536 + 1 )) /dev/urandom > "$primary/data/warehouse/sales/part-$i.bin"
  done
  head -c $((16 * 1024 * 1024)) /dev/urandom > "$primary/data/warehouse/big.bin"
  echo "date,amount" > "$primary/data/warehouse/sales/header.csv"
  ln -s warehouse/sales "$primary/data/sales-link"
else
  # Later runs: a little change, so that the incremental path is exercised.
  date > "$primary/data/logs/run-$(date +%s).log"
fi
lb="$build/tools/lifeboat"
"$lb" --plugin-dir "$build/plugins" backup --primary "$primary" --secondary "$secondary" \
  --data-set /data --state-dir "$state"
"$lb" --plugin-dir "$build/plugins" points --data-set /data --state-dir "$state"
