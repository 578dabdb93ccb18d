#!/usr/bin/env bash
# A point with an hdfs and a kafka member, restored through the lifeboat CLI against the HDFS
# and Kafka rigs (labels rig, e2e) — issue 11, finding 18 (and 2 and 3 on these plugins):
#   - one destination for both (`--destination /acc-restore`): hdfs gets the path prefix,
#     kafka makes a topic prefix of it (acc-restore.<topic>); the restore succeeds;
#   - destinations per component (`--destination hdfs=/... --destination kafka=restored-`);
#   - a kafka destination that cannot be a topic prefix is refused by the dry run and by the
#     real run as bad input (exit 4, not INTERNAL), before the hdfs member is written;
#   - a restore into an hdfs place holding a file the point does not have is refused naming
#     it (the file stays), and `--overwrite` replaces it;
#   - the same point restored again where it already is changes nothing and needs no consent.
# Usage: mixed_restore_rig_test.sh LIFEBOAT_BINARY PLUGIN_DIR KAFKA_RIG_TOOL
# Needs LIFEBOAT_RIG_HDFS and LIFEBOAT_RIG_KAFKA (`eval "$(tools/scripts/rig.sh env hdfs
# kafka)"`); skips (exit 77) without them unless LIFEBOAT_RIG_REQUIRED=1.
set -euo pipefail
bin="$1"
plugins="$2"
ktool="$3"
. "$(dirname "$0")/lib/rig_env.sh"
require_rigs hdfs kafka
hdfs_env
bs1="$(field "$LIFEBOAT_RIG_KAFKA" '["clusters"]["primary"]["bootstrap_servers"]')"
bs2="$(field "$LIFEBOAT_RIG_KAFKA" '["clusters"]["secondary"]["bootstrap_servers"]')"
id="acc$$"
dir="/$id/data"
topic="$id-events"
work="$(mktemp -d /tmp/lifeboat-mixed-e2e-XXXXXX)"

cleanup() {
  hdfs_clean "$dir"
  for nn in "$nn1" "$nn2"; do
    for p in "/$id" /acc-restore-$id /acc-r2-$id /acc-r3-$id "/.lifeboat/state/$id" \
      "/.lifeboat/restores/acc-restore-$id" "/.lifeboat/restores/acc-r2-$id"; do
      op DELETE "$nn" "$p" DELETE "&recursive=true" >/dev/null 2>&1 || true
    done
  done
  rm -rf "$work"
}
trap cleanup EXIT

put "$nn1" "$dir/a/one.txt" "one"
put "$nn1" "$dir/two.txt" "two"
"$ktool" create "$bs1" "$topic" 2
"$ktool" produce "$bs1" "$topic" 50
cat >"$work/p.yaml" <<YAML
kind: Cluster
name: prim
components:
  - {component: hdfs, config: {namenodes: ["$nn1"], user: "$user"}}
  - {component: kafka, config: {bootstrap_servers: "$bs1", state_topic: "$id-state"}}
---
kind: Cluster
name: sec
components:
  - {component: hdfs, config: {namenodes: ["$nn2"], user: "$user"}}
  - {component: kafka, config: {bootstrap_servers: "$bs2", state_topic: "$id-state"}}
---
kind: Service
name: acc
primary: prim
secondary: sec
data_sets: ["hdfs:$dir", "kafka:$topic"]
---
kind: Policy
name: acc-hourly
service: acc
schedule: {cron: "0 * * * *"}
YAML
lb apply -f "$work/p.yaml" >/dev/null
lb run acc-hourly >"$work/run.log" 2>&1 || fail "the backup failed: $(tail -5 "$work/run.log")"
rp="$(lb --output json points list acc | json 'print([p["id"] for p in d if p["state"] == "RP_COMMITTED"][-1])')"

# 1. One name for both members: hdfs below the path, kafka under the prefix made of it.
lb restore acc "$rp" --destination "/acc-restore-$id" --dry-run --details >"$work/dry1.log" 2>&1 ||
  fail "the dry run with one destination failed: $(cat "$work/dry1.log")"
grep -q "into acc-restore-$id.$topic" "$work/dry1.log" ||
  fail "the dry run does not name the topic it would write: $(cat "$work/dry1.log")"
exists "$nn2" "/acc-restore-$id" && fail "a dry run wrote /acc-restore-$id"
lb restore acc "$rp" --destination "/acc-restore-$id" --yes >"$work/r1.log" 2>&1 ||
  fail "the restore with one destination failed: $(cat "$work/r1.log")"
[ "$(get "$nn2" "/acc-restore-$id$dir/a/one.txt")" = one ] || fail "hdfs did not land below /acc-restore-$id"
n="$("$ktool" records "$bs2" "acc-restore-$id.$topic")"
[ "$n" != absent ] && [ "$n" -ge 50 ] || fail "kafka topic acc-restore-$id.$topic holds '$n' records, wanted 50"

# 2. Per component.
lb restore acc "$rp" --destination "hdfs=/acc-r2-$id" --destination "kafka=r2-$id-" --yes \
  >"$work/r2.log" 2>&1 || fail "the restore per component failed: $(cat "$work/r2.log")"
[ "$(get "$nn2" "/acc-r2-$id$dir/two.txt")" = two ] || fail "hdfs did not land below /acc-r2-$id"
n="$("$ktool" records "$bs2" "r2-$id-$topic")"
[ "$n" != absent ] && [ "$n" -ge 50 ] || fail "kafka topic r2-$id-$topic holds '$n' records"

# 3. A kafka destination that cannot be a topic prefix: bad input, in the dry run too, and
#    the hdfs member is not written before it is found.
for mode in --dry-run --yes; do
  rc=0
  lb restore acc "$rp" --destination "hdfs=/acc-r3-$id" --destination "kafka=bad topic!" $mode \
    >"$work/bad.log" 2>&1 || rc=$?
  [ "$rc" -eq 2 ] || fail "a bad kafka destination ($mode) exited $rc, wanted 2 (bad input): $(cat "$work/bad.log")"
  grep -q "bad topic!" "$work/bad.log" || fail "the refusal does not name the destination: $(cat "$work/bad.log")"
  grep -q "INTERNAL" "$work/bad.log" && fail "a bad destination reported as INTERNAL: $(cat "$work/bad.log")"
  exists "$nn2" "/acc-r3-$id" && fail "the hdfs member was written before the kafka one was checked ($mode)"
done

# 4. The same point again where it is: nothing to change, no consent needed. A file the point
#    does not have: refused naming it (it stays), then replaced with --overwrite.
lb restore acc "$rp" --destination "/acc-restore-$id" --yes >"$work/again.log" 2>&1 ||
  fail "restoring the same point again failed: $(cat "$work/again.log")"
put "$nn2" "/acc-restore-$id$dir/my-notes.txt" "not Lifeboat's"
rc=0
lb restore acc "$rp" --destination "/acc-restore-$id" --yes >"$work/notes.log" 2>&1 || rc=$?
[ "$rc" -eq 4 ] || fail "a restore over my-notes.txt exited $rc, wanted 4: $(cat "$work/notes.log")"
grep -q "my-notes.txt" "$work/notes.log" || fail "the refusal does not name my-notes.txt: $(cat "$work/notes.log")"
grep -q -- "--overwrite" "$work/notes.log" || fail "the refusal does not say --overwrite: $(cat "$work/notes.log")"
[ "$(get "$nn2" "/acc-restore-$id$dir/my-notes.txt")" = "not Lifeboat's" ] || fail "refused, yet my-notes.txt changed"
lb restore acc "$rp" --destination "/acc-restore-$id" --overwrite --yes >"$work/over.log" 2>&1 ||
  fail "the restore with --overwrite failed: $(cat "$work/over.log")"
exists "$nn2" "/acc-restore-$id$dir/my-notes.txt" && fail "--overwrite left my-notes.txt"
echo "mixed restore e2e: one destination for both, per component, a bad kafka prefix refused before hdfs wrote, consent over a foreign file: OK"
