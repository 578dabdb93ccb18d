#!/usr/bin/env bash
# Backups of an HDFS directory that is being written, through the lifeboat CLI, the engine and
# the hdfs plugin against the HDFS rig (labels rig, e2e; issue 11, finding 17). A writer
# (live_writer.py) keeps files open for a few hundred milliseconds each, as real writers do,
# while RUNS backups run one after the other, each policy's consistency mode in turn (crash,
# aligned, quiesced: its hook pauses the writer), so that each point builds on one taken in
# another mode. Every backup must commit and verify, and each point must hold no byte written
# after its cut unless its record says the file was open at the cut (live_point_check.py).
# At least one point must have held a file open at its cut (else the test proved nothing).
# Once the writer stops, one more backup must equal the primary exactly.
# Usage: hdfs_live_writer_e2e_test.sh LIFEBOAT_BINARY PLUGIN_DIR [RUNS]   (needs
# LIFEBOAT_RIG_HDFS from `tools/scripts/rig.sh env hdfs`; skips (77) without it unless
# LIFEBOAT_RIG_REQUIRED=1)
set -euo pipefail
bin="$1"
plugins="$2"
runs="${3:-12}"
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../../../tests/e2e/lib/rig_env.sh"
require_rigs hdfs
hdfs_env
dir="/lifeboat-live-e2e/$$"
work="$(mktemp -d /tmp/lifeboat-hdfs-live-XXXXXX)"
ctl="$work/control"
mkdir -p "$ctl"

writer=""
cleanup() {
  touch "$ctl/stop"
  [ -n "$writer" ] && wait "$writer" 2>/dev/null || true
  hdfs_clean "$dir"
  rm -rf "$work"
}
trap cleanup EXIT

op PUT "$nn1" "$dir" MKDIRS "" >/dev/null
{
  cat <<YAML
kind: Cluster
name: prim
components: [{component: hdfs, config: {namenodes: ["$nn1"], user: "$user"}}]
---
kind: Cluster
name: sec
components: [{component: hdfs, config: {namenodes: ["$nn2"], user: "$user"}}]
---
kind: Service
name: live
primary: prim
secondary: sec
data_sets: ["hdfs:$dir"]
---
kind: Policy
name: live-crash
service: live
schedule: {cron: "0 * * * *"}
retention: {keep: 100}
consistency: crash
---
kind: Policy
name: live-aligned
service: live
schedule: {cron: "0 * * * *"}
retention: {keep: 100}
consistency: aligned
verification: size
---
kind: Policy
name: live-quiesced
service: live
schedule: {cron: "0 * * * *"}
retention: {keep: 100}
consistency: quiesced
hooks:
  - {name: writer, kind: command, timeout: 30s,
     pause: "touch $ctl/pause; while [ ! -f $ctl/paused ]; do sleep 0.02; done",
     resume: "rm -f $ctl/pause"}
YAML
} >"$work/live.yaml"
lb apply -f "$work/live.yaml" >/dev/null

python3 "$here/live_writer.py" "$nn1" "$user" "$dir" "$ctl" 2>"$work/writer.err" &
writer=$!
# Let it start its first files.
until [ -s "$ctl/pieces" ]; do
  kill -0 "$writer" 2>/dev/null || fail "the writer died: $(cat "$work/writer.err")"
  sleep 0.1
done

modes=(crash aligned quiesced)
open_total=0
closed_total=0
for i in $(seq 1 "$runs"); do
  mode="${modes[$(((i - 1) % 3))]}"
  if ! lb run "live-$mode" >"$work/run$i.log" 2>&1; then
    fail "backup $i ($mode) failed while the writer wrote: $(grep -m1 -E 'error|DATA_LOSS' "$work/run$i.log")"
  fi
  kill -0 "$writer" 2>/dev/null || fail "the writer died: $(cat "$work/writer.err")"
  read -r rp cut_end < <(lb --output json points list live | json '
p = [p for p in d if p["state"] == "RP_COMMITTED"][-1]
print(p["id"], p["members"][0]["cut_end_unix_nanos"])')
  counts="$(python3 "$here/live_point_check.py" point "$nn1" "$nn2" "$user" "$dir" \
    "lifeboat-$rp" "$cut_end" "$ctl")" || fail "backup $i ($mode): the point $rp is wrong (above)"
  echo "backup $i ($mode): $rp committed and verified; files held open at the cut: $counts"
  open_total=$((open_total + $(sed 's/open=\([0-9]*\).*/\1/' <<<"$counts")))
  closed_total=$((closed_total + $(sed 's/.*closed_after=\([0-9]*\)/\1/' <<<"$counts")))
done
[ $((open_total + closed_total)) -gt 0 ] ||
  fail "no point held a file open at its cut: the writer did not keep files open across a cut"

touch "$ctl/stop"
wait "$writer" || fail "the writer failed: $(cat "$work/writer.err")"
writer=""
lb run live-crash >"$work/final.log" 2>&1 || fail "the backup after the writer stopped failed: $(tail -3 "$work/final.log")"
rp="$(lb --output json points list live | json 'print([p for p in d if p["state"] == "RP_COMMITTED"][-1]["id"])')"
python3 "$here/live_point_check.py" final "$nn1" "$nn2" "$user" "$dir" "lifeboat-$rp" >/dev/null ||
  fail "the last point differs from the primary"
echo "hdfs live writer e2e: $runs backups in crash, aligned and quiesced modes while writing, each committed and verified ($open_total files held open at a cut, $closed_total closed after one); the last point equals the primary ($(cat "$ctl/written") files and appends written)"
