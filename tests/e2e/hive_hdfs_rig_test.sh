#!/usr/bin/env bash
# A service of hdfs:<root> and hive:<db> whose tables live in <root> on the HDFS rig, through
# the lifeboat CLI (labels rig, e2e; issue 14): the point cuts the metastore before HDFS and
# commits it after (the order is in the job's log and in the members' cut times), the
# references check finds every table and partition directory in the point's hdfs member, the
# secondary's metastore names the secondary's HDFS and every directory it names is there; then
# a partition directory removed from HDFS while the metastore still names it: the next backup
# is refused before it commits, naming the directory, and no other point is committed.
# Usage: hive_hdfs_rig_test.sh LIFEBOAT_BINARY PLUGIN_DIR HIVE_RIG_TOOL   (needs
# LIFEBOAT_RIG_HDFS and LIFEBOAT_RIG_HIVE from `tools/scripts/rig.sh env hdfs hive`; skips
# (exit 77) without them unless LIFEBOAT_RIG_REQUIRED=1)
set -euo pipefail
bin="$1"
plugins="$2"
tool="$3"
. "$(dirname "$0")/lib/rig_env.sh"
require_rigs hdfs hive
hdfs_env
ms1="$(field "$LIFEBOAT_RIG_HIVE" '["clusters"]["primary"]["thrift"]')"
ms2="$(field "$LIFEBOAT_RIG_HIVE" '["clusters"]["secondary"]["thrift"]')"
db="refs_$$_$RANDOM"
dir="/lifeboat-hive-hdfs-e2e/$db"
work="$(mktemp -d /tmp/lifeboat-hive-hdfs-e2e-XXXXXX)"
cleanup() {
  "$tool" drop primary "$db" || true
  "$tool" drop secondary "$db" || true
  hdfs_clean "$dir"
  rm -rf "$work"
}
trap cleanup EXIT

# The database's tables and partitions on the primary's HDFS, each partition with a file.
op PUT "$nn1" "$dir" MKDIRS "" >/dev/null || fail "cannot make $dir on the primary HDFS"
"$tool" populate-at primary "$db" "$fs1$dir"
for dt in 2024-01-01 2024-01-02 2024-01-03; do
  put "$nn1" "$dir/$db/orders/dt=$dt/country=de/part-0" "rows of $dt"
done
op PUT "$nn2" "$dir" MKDIRS "" >/dev/null || fail "cannot make $dir on the secondary HDFS"

cat >"$work/p.yaml" <<YAML
kind: Cluster
name: prim
components:
  - {component: hdfs, config: {namenodes: ["$nn1"], user: "$user"}}
  - {component: hive, config: {metastore: "$ms1", state_dir: "$work/hive-prim",
                               location_map: {"$fs2": "$fs1"}}}
---
kind: Cluster
name: sec
components:
  - {component: hdfs, config: {namenodes: ["$nn2"], user: "$user"}}
  - {component: hive, config: {metastore: "$ms2", state_dir: "$work/hive-sec",
                               location_map: {"$fs1": "$fs2"}}}
---
kind: Service
name: svc
primary: prim
secondary: sec
data_sets: ["hdfs:$dir", "hive:$db"]
---
kind: Policy
name: svc-hourly
service: svc
schedule: {cron: "0 * * * *"}
rpo: 1h
verification: size
YAML
lb apply -f "$work/p.yaml" >/dev/null

# 1. A point of both: metadata cut first, committed last, references checked.
lb run svc-hourly >"$work/run1.log" 2>&1 || fail "first run failed: $(tail -5 "$work/run1.log")"
job1="$(lb --output json jobs list | json 'print(d[-1]["id"])')"
lb jobs logs "$job1" >"$work/job1.log"
grep -q "cut order by references: hive:$db before hdfs:$dir" "$work/job1.log" ||
  fail "the job's log does not show hive cut before hdfs: $(cat "$work/job1.log")"
grep -q "references checked: .* hdfs locations, every one held by the point" "$work/job1.log" ||
  fail "the job's log does not show the references checked: $(cat "$work/job1.log")"
point="$(lb --output json points list svc | json 'print(d[-1]["id"])')"
lb --output json points show svc "$point" >"$work/point.json"
python3 - "$work/point.json" <<'PY' || fail "the members' cut times are not in order: $(cat "$work/point.json")"
import json, sys
d = json.load(open(sys.argv[1]))
rp = d.get("restore_point", d)
members = {m["data_set"]["component"]: m for m in rp["members"]}
hive, hdfs = members["hive"], members["hdfs"]
end_hive = int(hive["cut_end_unix_nanos"])
start_hdfs = int(hdfs["cut_start_unix_nanos"])
assert end_hive <= start_hdfs, (end_hive, start_hdfs)
PY

# 2. The secondary's metastore names the secondary's HDFS, and each directory is there.
"$tool" locations secondary "$db" >"$work/locations.txt"
[ -s "$work/locations.txt" ] || fail "no locations on the secondary"
n=0
while read -r loc; do
  case "$loc" in
    "$fs2$dir"*) ;;
    *) fail "a location on the secondary is not on its HDFS under $dir: $loc" ;;
  esac
  path="${loc#"$fs2"}"
  exists "$nn2" "$path" || fail "the secondary's metastore names $loc, which its HDFS lacks"
  n=$((n + 1))
done <"$work/locations.txt"
[ "$n" -ge 5 ] || fail "expected the database, two tables and three partitions, found $n locations"

# 3. A partition's directory gone from HDFS while the metastore still names it: refused before
#    the commit, naming it; no new point.
op DELETE "$nn1" "$dir/$db/orders/dt=2024-01-02" DELETE "&recursive=true" >/dev/null
rc=0
lb run svc-hourly >"$work/run2.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a point naming a directory it lacks was committed: $(cat "$work/run2.log")"
grep -q "dt=2024-01-02" "$work/run2.log" ||
  fail "the refusal does not name the missing partition directory: $(cat "$work/run2.log")"
grep -q "references 1 hdfs locations its hdfs members lack" "$work/run2.log" ||
  fail "the refusal does not say what is wrong: $(cat "$work/run2.log")"
count="$(lb --output json points list svc | json 'print(len([p for p in d if p["state"] == "RP_COMMITTED"]))')"
[ "$count" = 1 ] || fail "expected 1 committed point after the refused run, found $count"
echo "ok: hive cut before hdfs, $n locations held, a missing partition directory refused"
