#!/usr/bin/env bash
# Lifeboat's main job on the embedded default, end to end: the localfs plugin over two local
# directories standing for the primary and the secondary cluster, the engine with its state
# in RocksDB. A sample service with two data sets, a policy, a backup with live progress,
# a change to the data, an incremental, the restore points, a verification, and a restore
# of the older point into a new directory, compared with what the source held then.
# Everything lives under ${LIFEBOAT_EMBEDDED_DIR:-.state/embedded}; each run starts afresh.
set -euo pipefail
top="$(cd "$(dirname "$0")/../.." && pwd)"
build="${LIFEBOAT_BUILD_DIR:-$top/build}"
work="${LIFEBOAT_EMBEDDED_DIR:-$top/.state/embedded}"
"$top/tools/scripts/build.sh" lifeboat lifeboat_plugin_localfs >/dev/null
rm -rf "$work"
mkdir -p "$work/primary" "$work/secondary"
lb() { "$build/tools/lifeboat" --plugin-dir "$build/plugins" --state-dir "$work/state" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "a sample service: /warehouse/sales (files) and /meta (its metadata) on the primary"
data="$work/primary"
mkdir -p "$data/warehouse/sales/2026" "$data/meta/tables"
for i in $(seq 1 300); do
  head -c $(( (i * 7919) % 65536 + 1 )) /dev/urandom > "$data/warehouse/sales/2026/part-$i.bin"
done
head -c $((48 * 1024 * 1024)) /dev/urandom > "$data/warehouse/sales/big.bin"
printf 'id,amount\n1,10\n' > "$data/warehouse/sales/orders.csv"
printf '{"table": "orders", "location": "/warehouse/sales"}\n' > "$data/meta/tables/orders.json"
ln -s tables/orders.json "$data/meta/current"
echo "primary: $(find "$data" -type f | wc -l) files, $(du -sh "$data" | cut -f1)"

step "the policy (YAML)"
cat > "$work/sales.yaml" <<YAML
kind: Cluster
name: primary
components:
  - component: localfs
    config: {root: "$work/primary"}
---
kind: Cluster
name: dr
components:
  - component: localfs
    config: {root: "$work/secondary"}
---
kind: Service
name: sales
primary: primary
secondary: dr
data_sets:
  - localfs:/warehouse/sales
  - {component: localfs, selector: /meta, commit_stage: 1}
---
kind: Policy
name: sales-hourly
service: sales
schedule: {cron: "0 * * * *", time_zone: Europe/Paris}
rpo: 2h
retention: {keep: 24, max_age: 7d}
consistency: crash
verification: digest
parallelism: 2
YAML
cat "$work/sales.yaml"
lb apply -f "$work/sales.yaml"

step "backup 1 (full)"
lb run sales-hourly
cp -a "$data" "$work/primary-at-point-1"   # what the source held at point 1, to compare later

step "the data changes: one file modified, one added, one deleted, one renamed"
printf 'id,amount\n1,10\n2,20\n' > "$data/warehouse/sales/orders.csv"
head -c 100000 /dev/urandom > "$data/warehouse/sales/2026/part-new.bin"
rm "$data/warehouse/sales/2026/part-7.bin"
mv "$data/warehouse/sales/2026/part-8.bin" "$data/warehouse/sales/2026/part-8-renamed.bin"
printf '{"table": "orders", "location": "/warehouse/sales", "v": 2}\n' > "$data/meta/tables/orders.json"

step "backup 2 (incremental)"
lb run sales-hourly

step "restore points"
lb points list sales
mapfile -t points < <(lb --output json points list sales | python3 -c 'import json,sys; [print(p["id"]) for p in json.load(sys.stdin)]')
older="${points[0]}"
newer="${points[${#points[@]}-1]}"

step "verify the newest point again, on the secondary"
lb points verify sales "$newer"

step "restore the older point ($older) into a new directory: dry run, then for real"
dest="/restored-$(date +%s)"
lb restore sales "$older" --destination "$dest" --dry-run   # a summary per data set
lb restore sales "$older" --destination "$dest" --yes   # --yes: no terminal to ask on
for ds in warehouse/sales meta; do
  diff -r --no-dereference "$work/primary-at-point-1/$ds" "$work/secondary$dest/$ds"
done
echo "restored $older matches what the primary held at that point, byte for byte"

step "service status (RPO)"
lb service status
