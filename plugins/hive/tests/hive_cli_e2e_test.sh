#!/usr/bin/env bash
# End to end through the lifeboat CLI, the engine and the hive plugin against the Hive rig
# (labels rig, e2e): a service of one database, a full run, an incremental run that replays
# only the events (a table created, one altered), `points list`, a restore of the first point
# under a database prefix on the secondary, then failover, a table created on the new
# primary, a backup back and the failback: the old primary holds it, on its own file system.
# Usage: hive_cli_e2e_test.sh LIFEBOAT_BINARY PLUGIN_DIR HIVE_RIG_TOOL   (needs
# LIFEBOAT_RIG_HIVE, from `tools/scripts/rig.sh env hive`; skips (exit 77) without it unless
# LIFEBOAT_RIG_REQUIRED=1)
set -euo pipefail
bin="$1"
plugins="$2"
tool="$3"
fail() { echo "FAIL: $*" >&2; exit 1; }
if [ -z "${LIFEBOAT_RIG_HIVE:-}" ] || [ ! -f "$LIFEBOAT_RIG_HIVE" ]; then
  [ "${LIFEBOAT_RIG_REQUIRED:-0}" = 1 ] && fail "the Hive rig is not running (LIFEBOAT_RIG_HIVE)"
  echo "skipped: the Hive rig is not running: tools/scripts/rig.sh start hive"
  exit 77  # SKIP_RETURN_CODE
fi
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$1)" "$LIFEBOAT_RIG_HIVE"; }
ms1="$(field '["clusters"]["primary"]["thrift"]')"
ms2="$(field '["clusters"]["secondary"]["thrift"]')"
wh1="$(field '["clusters"]["primary"]["external_warehouse"]')"
wh2="$(field '["clusters"]["secondary"]["external_warehouse"]')"
db="e2e_$$_$RANDOM"
work="$(mktemp -d /tmp/lifeboat-hive-e2e-XXXXXX)"
cleanup() {
  "$tool" drop primary "$db" || true
  "$tool" drop secondary "$db" || true
  rm -rf "$work"
}
trap cleanup EXIT
lb() { "$bin" --plugin-dir "$plugins" --state-dir "$work/state" "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }
# same A B: the two captures are equal, or the test fails naming the differences.
same() { diff "$1" "$2" >"$work/diff.txt" || fail "$3: $(cat "$work/diff.txt")"; }

"$tool" populate primary "$db"
cat >"$work/p.yaml" <<YAML
kind: Cluster
name: prim
components: [{component: hive, config: {metastore: "$ms1", state_dir: "$work/hive-prim",
              location_map: {"$wh2": "$wh1"}}}]
---
kind: Cluster
name: sec
components: [{component: hive, config: {metastore: "$ms2", state_dir: "$work/hive-sec",
              location_map: {"$wh1": "$wh2"}}}]
---
kind: Service
name: svc
primary: prim
secondary: sec
data_sets: ["hive:$db"]
---
kind: Policy
name: svc-hourly
service: svc
schedule: {cron: "0 * * * *"}
rpo: 1h
retention: {keep: 5}
YAML
lb apply -f "$work/p.yaml" >/dev/null

# 1. Full, then incremental.
lb run svc-hourly >"$work/run1.log" 2>&1 || fail "the first run failed: $(tail -5 "$work/run1.log")"
"$tool" capture primary "$db" >"$work/at-rp1.txt"
"$tool" capture secondary "$db" primary >"$work/sec-1.txt"
same "$work/at-rp1.txt" "$work/sec-1.txt" "the secondary differs from the primary after the first run"
"$tool" locations secondary "$db" | grep -v "^$wh2/" | grep . &&
  fail "locations on the secondary outside its warehouse"
"$tool" create-table primary "$db" added
"$tool" alter primary "$db" plain "changed for the second run"
lb run svc-hourly >"$work/run2.log" 2>&1 || fail "the incremental run failed: $(tail -5 "$work/run2.log")"
"$tool" capture primary "$db" >"$work/at-rp2.txt"
"$tool" capture secondary "$db" primary >"$work/sec-2.txt"
same "$work/at-rp2.txt" "$work/sec-2.txt" "the secondary differs from the primary after the second run"
lb --output json jobs list | json '
jobs = [j for j in d if j.get("kind") == "JOB_BACKUP"]
first, second = jobs[-2], jobs[-1]
assert second["state"] == "JOB_SUCCEEDED", second
assert not [l for l in second.get("log", []) if "full copy" in l], second.get("log")
b1 = int(first.get("bytes_total", first.get("bytesTotal", 0)))
b2 = int(second.get("bytes_total", second.get("bytesTotal", 0)))
assert 0 < b2 < b1, "the incremental planned %d bytes, the full run %d" % (b2, b1)'

# 2. Points, and a restore of the first under a prefix on the secondary.
rp1="$(lb --output json points list svc | json '
pts = sorted(d, key=lambda p: p.get("id", p.get("restore_point_id", "")))
assert len(pts) == 2, d
print(pts[0].get("id", pts[0].get("restore_point_id")))')"
lb restore svc "$rp1" --destination hive=r1_ --yes >"$work/restore.log" 2>&1 ||
  fail "the restore failed: $(tail -5 "$work/restore.log")"
"$tool" capture secondary "r1_$db" primary >"$work/restored.txt"
same "$work/at-rp1.txt" "$work/restored.txt" "the restore of $rp1 differs from the primary at its cut"

# 3. Failover, a table made on the new primary, a backup back, failback.
lb failover svc --reason "e2e: planned" --yes >"$work/failover.log" 2>&1 ||
  fail "the failover failed: $(tail -5 "$work/failover.log")"
"$tool" create-table secondary "$db" made_on_secondary
lb run svc-hourly >"$work/run3.log" 2>&1 || fail "the backup sec -> prim failed: $(tail -5 "$work/run3.log")"
lb failback svc --yes >"$work/failback.log" 2>&1 || fail "the failback failed: $(tail -5 "$work/failback.log")"
"$tool" capture secondary "$db" >"$work/sec-3.txt"
"$tool" capture primary "$db" secondary >"$work/prim-3.txt"
same "$work/sec-3.txt" "$work/prim-3.txt" "the primary differs from the secondary after the failback"
grep -q "^made_on_secondary	" "$work/prim-3.txt" || fail "the failback did not bring made_on_secondary"
"$tool" locations primary "$db" | grep -v "^$wh1/" | grep . &&
  fail "locations on the primary outside its warehouse after the failback"
echo "hive cli e2e: full, incremental, points, restore under a prefix, failover, backup back and failback passed"
