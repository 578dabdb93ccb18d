#!/usr/bin/env bash
# A service with hdfs:, hbase: and kafka: data sets through the lifeboat CLI against the HDFS,
# HBase and Kafka rigs (labels rig, e2e; issue 15, "Done when"):
#   - a full run, then an incremental after 1 % of the rows changed: it moves only the new
#     store file (its bytes are a small part of the first run's);
#   - the point restored on the secondary (`--destination /<id>-restore`: hdfs below the
#     path, kafka under the prefix, hbase into the namespace <id>_restore) holds exactly the
#     rows of the point;
#   - failover: the secondary gets the point in place and takes writes; the old primary's
#     table refuses them (fenced: READONLY); failback brings the writes back to the primary,
#     which takes writes again.
# Usage: hbase_cli_e2e_test.sh LIFEBOAT PLUGIN_DIR HBASE_RIG_TOOL KAFKA_RIG_TOOL
# Needs LIFEBOAT_RIG_HBASE, LIFEBOAT_RIG_HDFS and LIFEBOAT_RIG_KAFKA (`eval "$(tools/scripts/
# rig.sh env hbase hdfs kafka)"`); skips (exit 77) without them unless LIFEBOAT_RIG_REQUIRED=1.
set -euo pipefail
bin="$1"
plugins="$2"
htool="$3"
ktool="$4"
. "$(dirname "$0")/../../../tests/e2e/lib/rig_env.sh"
require_rigs hbase hdfs kafka
hdfs_env
bs1="$(field "$LIFEBOAT_RIG_KAFKA" '["clusters"]["primary"]["bootstrap_servers"]')"
bs2="$(field "$LIFEBOAT_RIG_KAFKA" '["clusters"]["secondary"]["bootstrap_servers"]')"
hb() { field "$LIFEBOAT_RIG_HBASE" "[\"clusters\"][\"$1\"][\"$2\"]"; }
t1="$(hb primary thrift2)"; t2="$(hb secondary thrift2)"
m1="$(hb primary master_rpc)"; m2="$(hb secondary master_rpc)"
hn1="$(hb primary namenode_http)"; hn2="$(hb secondary namenode_http)"
r1="$(hb primary root_path)"; r2="$(hb secondary root_path)"
huser="$(hb primary user)"
id="lbe2e$$"
dir="/$id/data"
topic="$id-events"
work="$(mktemp -d /tmp/lifeboat-hbase-e2e-XXXXXX)"

cleanup() {
  "$htool" clean "$t1" "$m1" "$huser" "$id" || true
  "$htool" clean "$t2" "$m2" "$huser" "$id" || true
  curl -sf -X DELETE "http://$hn1/webhdfs/v1$r1/.lifeboat-$id?op=DELETE&recursive=true&user.name=$huser" >/dev/null || true
  curl -sf -X DELETE "http://$hn2/webhdfs/v1$r2/.lifeboat-$id?op=DELETE&recursive=true&user.name=$huser" >/dev/null || true
  hdfs_clean "$dir"
  for nn in "$nn1" "$nn2"; do
    for p in "/$id" "/$id-restore" "/.lifeboat/state/$id" "/.lifeboat/restores/$id-restore"; do
      op DELETE "$nn" "$p" DELETE "&recursive=true" >/dev/null 2>&1 || true
    done
  done
  rm -rf "$work"
}
trap cleanup EXIT
hbcfg() {
  echo "{master: \"$1\", thrift2: \"$2\", namenodes: [\"$3\"], root: \"$4\", user: \"$huser\", state_dir: \"$4/.lifeboat-$id\"}"
}
last_job() { lb --output json jobs list | json "$1"; }

"$htool" create "$t1" "$id:orders" cf
"$htool" put "$t1" "$id:orders" 0 2000 "v1-$(head -c 200 /dev/zero | tr '\0' x)"
put "$nn1" "$dir/a.txt" "alpha"
"$ktool" create "$bs1" "$topic" 2
"$ktool" produce "$bs1" "$topic" 50
cat >"$work/p.yaml" <<YAML
kind: Cluster
name: prim
components:
  - {component: hdfs, config: {namenodes: ["$nn1"], user: "$user"}}
  - {component: kafka, config: {bootstrap_servers: "$bs1", state_topic: "$id-state"}}
  - {component: hbase, config: $(hbcfg "$m1" "$t1" "$hn1" "$r1")}
---
kind: Cluster
name: sec
components:
  - {component: hdfs, config: {namenodes: ["$nn2"], user: "$user"}}
  - {component: kafka, config: {bootstrap_servers: "$bs2", state_topic: "$id-state"}}
  - {component: hbase, config: $(hbcfg "$m2" "$t2" "$hn2" "$r2")}
---
kind: Service
name: svc
primary: prim
secondary: sec
data_sets: ["hdfs:$dir", "kafka:$topic", "hbase:$id"]
---
kind: Policy
name: svc-hourly
service: svc
schedule: {cron: "0 * * * *"}
rpo: 1h
retention: {keep: 5}
YAML
lb apply -f "$work/p.yaml" >/dev/null

# 1. Full, then incremental after 1 % of the rows changed.
lb run svc-hourly >"$work/run1.log" 2>&1 || fail "the first run failed: $(tail -20 "$work/run1.log")"
b1="$(last_job 'j=d[-1]; assert j["state"] == "JOB_SUCCEEDED", j; print(int(j.get("bytes_total", 0)))')"
"$htool" put "$t1" "$id:orders" 2000 2020 "v2"
lb run svc-hourly >"$work/run2.log" 2>&1 || fail "the incremental run failed: $(tail -20 "$work/run2.log")"
b2="$(last_job 'j=d[-1]; assert j["state"] == "JOB_SUCCEEDED", j; print(int(j.get("bytes_total", 0)))')"
[ "$b2" -gt 0 ] && [ $((b2 * 20)) -lt "$b1" ] ||
  fail "the incremental moved $b2 bytes after a first run of $b1: more than the new store file"
"$htool" dump "$t1" "$id:orders" >"$work/at-rp2.txt"
[ "$(wc -l <"$work/at-rp2.txt")" -eq 2020 ] || fail "the primary holds $(wc -l <"$work/at-rp2.txt") cells, wanted 2020"
rp="$(lb --output json points list svc | json 'print([p["id"] for p in d if p["state"] == "RP_COMMITTED"][-1])')"

# 2. The point restored on the secondary, one destination for the three members.
lb restore svc "$rp" --destination "/$id-restore" --yes >"$work/restore.log" 2>&1 ||
  fail "the restore failed: $(tail -20 "$work/restore.log")"
"$htool" dump "$t2" "${id}_restore:orders" >"$work/restored.txt"
cmp -s "$work/at-rp2.txt" "$work/restored.txt" ||
  fail "the restored table differs from the point: $(diff "$work/at-rp2.txt" "$work/restored.txt" | head -5)"
[ "$(get "$nn2" "/$id-restore$dir/a.txt")" = alpha ] || fail "hdfs did not land below /$id-restore"

# 3. Failover: the secondary takes the point in place and takes writes; the old primary's
#    table refuses them.
lb failover svc --yes >"$work/failover.log" 2>&1 || fail "the failover failed: $(tail -20 "$work/failover.log")"
"$htool" dump "$t2" "$id:orders" >"$work/sec-live.txt"
cmp -s "$work/at-rp2.txt" "$work/sec-live.txt" || fail "after the failover the secondary's table differs from the point"
"$htool" put "$t1" "$id:orders" 5000 5001 "late" 2>"$work/fenced.err" &&
  fail "the fenced old primary took a write"
grep -qi "read only\|readonly" "$work/fenced.err" || fail "the fenced write failed otherwise: $(cat "$work/fenced.err")"
"$htool" put "$t2" "$id:orders" 3000 3010 "on-sec" || fail "the new primary refuses writes"
"$htool" dump "$t2" "$id:orders" >"$work/sec-after.txt"

# 4. Failback: the secondary's writes come back to the primary, which takes writes again.
lb failback svc --yes >"$work/failback.log" 2>&1 || fail "the failback failed: $(tail -20 "$work/failback.log")"
"$htool" dump "$t1" "$id:orders" >"$work/prim-back.txt"
cmp -s "$work/sec-after.txt" "$work/prim-back.txt" ||
  fail "after the failback the primary's table differs from the secondary's: $(diff "$work/sec-after.txt" "$work/prim-back.txt" | head -5)"
"$htool" put "$t1" "$id:orders" 4000 4001 "back" || fail "the primary refuses writes after the failback"
echo "hbase cli e2e: full $b1 bytes, incremental $b2 bytes, restore, failover, failback: OK"
