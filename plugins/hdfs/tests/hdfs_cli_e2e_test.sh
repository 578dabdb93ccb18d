#!/usr/bin/env bash
# End to end through the lifeboat CLI, the engine and the hdfs plugin against the HDFS rig
# (label rig): a full run, an incremental run (renames and appends move only the change),
# a run cancelled in the middle of its transfer followed by a run that takes over what it
# wrote (no --force-full), a change made on the secondary refused with a message pointing at
# --force-full, then
# `lifeboat run --force-full` overwrites it and the job records why it copied in full.
# Usage: hdfs_cli_e2e_test.sh LIFEBOAT_BINARY PLUGIN_DIR   (needs LIFEBOAT_RIG_HDFS, from
# `tools/scripts/rig.sh env hdfs`; skips (exit 77) without it unless LIFEBOAT_RIG_REQUIRED=1)
set -euo pipefail
bin="$1"
plugins="$2"
. "$(dirname "$0")/../../../tests/e2e/lib/rig_env.sh"
require_rigs hdfs
hdfs_env
dir="/lifeboat-cli-e2e/$$"
work="$(mktemp -d /tmp/lifeboat-hdfs-e2e-XXXXXX)"

cleanup() {
  hdfs_clean "$dir"
  rm -rf "$work"
}
trap cleanup EXIT

# refused LOG PATH WHAT: a run that must fail, its message naming PATH.
refused() {
  local rc=0
  lb run svc-hourly >"$work/$1.log" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] || fail "$3 succeeded"
  grep -q "$2" "$work/$1.log" || fail "the refusal does not name $2: $(cat "$work/$1.log")"
}
# forced LOG: the refused run's job is parked; cancel it and run again with --force-full.
forced() {
  local parked
  parked="$(lb --output json jobs list | json 'print(d[-1]["id"]); assert d[-1]["state"] == "JOB_PARKED", d[-1]')"
  lb jobs cancel "$parked" >/dev/null
  lb run svc-hourly --force-full >"$work/$1.log" 2>&1 || fail "the forced run failed: $(tail -5 "$work/$1.log")"
}

put "$nn1" "$dir/a/one.txt" "one"
put "$nn1" "$dir/a/two.txt" "two"
put "$nn1" "$dir/log.txt" "line 1
"
cat >"$work/p.yaml" <<YAML
kind: Cluster
name: prim
components: [{component: hdfs, config: {namenodes: ["$nn1"], user: "$user"}}]
---
kind: Cluster
name: sec
components: [{component: hdfs, config: {namenodes: ["$nn2"], user: "$user"}}]
---
kind: Service
name: svc
primary: prim
secondary: sec
data_sets: ["hdfs:$dir"]
---
kind: Policy
name: svc-hourly
service: svc
schedule: {cron: "0 * * * *"}
rpo: 1h
retention: {keep: 5}
parallelism: 2
YAML
lb apply -f "$work/p.yaml" >/dev/null

# 1. Full, then incremental.
lb run svc-hourly >"$work/run1.log" 2>&1 || fail "the first run failed: $(tail -5 "$work/run1.log")"
[ "$(get "$nn2" "$dir/a/one.txt")" = "one" ] || fail "a/one.txt not on the secondary"
op PUT "$nn1" "$dir/a/one.txt" RENAME "&destination=$dir/a/uno.txt" >/dev/null
printf 'line 2\n' | curl -sf -X POST -T - "$(curl -s -i -X POST \
  "http://$nn1/webhdfs/v1$dir/log.txt?op=APPEND&user.name=$user" | tr -d '\r' |
  awk 'tolower($1) == "location:" {print $2}')" >/dev/null
lb run svc-hourly >"$work/run2.log" 2>&1 || fail "the incremental run failed: $(tail -5 "$work/run2.log")"
[ "$(get "$nn2" "$dir/a/uno.txt")" = "one" ] || fail "the rename did not reach the secondary"
[ "$(get "$nn2" "$dir/log.txt")" = "$(printf 'line 1\nline 2')" ] || fail "the append did not reach the secondary"
# The plugin plans from the base's snapshot (CAP_DIFF_FROM_BASE_CUT), so the engine keeps the
# newest committed point's cut on the primary: the second run is an incremental of the change
# alone (the engine used to release every cut, and each run after the first was a full
# comparison), and it releases the first point's snapshot now that a newer one is committed.
lb --output json jobs list | json '
j = d[-1]
assert j["state"] == "JOB_SUCCEEDED", j
total = int(j.get("bytes_total", j.get("bytesTotal", 0)))
assert not [l for l in j.get("log", []) if "full copy" in l], j.get("log")
assert total == 14, "the incremental planned %d bytes, wanted 14 (log.txt; the rename moves nothing)" % total'
snaps="$(op GET "$nn1" "$dir" GETSNAPSHOTLIST "" |
  python3 -c "import json,sys; print(' '.join(sorted(x['fullPath'].rsplit('/',1)[1] for x in json.load(sys.stdin)['SnapshotList'])))")"
rp2="$(lb --output json jobs list | json 'print(d[-1].get("restore_point_id", d[-1].get("restorePointId")))')"
[ "$snaps" = "lifeboat-$rp2" ] || fail "the primary holds snapshots '$snaps', wanted only lifeboat-$rp2"

# 1b. A run cancelled (Ctrl-C) while its transfer writes the secondary leaves what it copied
# there, a big file half written. Before, every later run was refused as "the target changed
# since the base" until --force-full; now the next run takes it over: it commits, keeps the
# whole copies and resumes the half one (README "A point that did not commit").
head -c 6291456 /dev/urandom >"$work/big.bin"
putf "$nn1" "$dir/big.bin" "$work/big.bin"
put "$nn1" "$dir/small.txt" "copied whole before the cancel"
cat >"$work/slow.yaml" <<YAML
kind: Policy
name: svc-slow
service: svc
schedule: {cron: "0 3 * * *"}
rpo: 1d
retention: {keep: 5}
bandwidth: 1MiB/s
parallelism: 2
YAML
lb apply -f "$work/slow.yaml" >/dev/null
set +e
"$bin" --plugin-dir "$plugins" --state-dir "$work/state" run svc-slow >"$work/cancelled.log" 2>&1 &
pid=$!
# Ctrl-C once the big file is being written on the secondary (at 1 MiB/s it takes seconds).
for _ in $(seq 1 1200); do
  op GET "$nn2" "$dir/big.bin" GETFILESTATUS "" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -INT "$pid"
wait "$pid"; rc=$?
set -e
[ "$rc" -eq 130 ] || fail "the interrupted run exited $rc, wanted 130: $(tail -5 "$work/cancelled.log")"
cancelled_rp="$(lb --output json jobs list | json '
j = d[-1]
assert j["state"] == "JOB_CANCELLED", j
print(j.get("restore_point_id", j.get("restorePointId")))')"
op GET "$nn2" "$dir/big.bin" GETXATTRS "&xattr.name=user.lifeboat.copy&encoding=text" |
  grep -q ' partial' || fail "the cancelled run left no partial copy of big.bin on the secondary"
lb run svc-hourly >"$work/run-after-cancel.log" 2>&1 ||
  fail "the run after a cancelled one failed: $(tail -5 "$work/run-after-cancel.log")"
lb --output json jobs list | CANCELLED_RP="$cancelled_rp" json '
import os
j = d[-1]
assert j["state"] == "JOB_SUCCEEDED", j
log = j.get("log", [])
assert any("never committed" in l and os.environ["CANCELLED_RP"] in l for l in log), log'
# The half-written big file was resumed, not copied again from its start.
lb --output json points list svc | json '
p = [p for p in d if p["state"] == "RP_COMMITTED"][-1]
copied = sum(int(m.get("bytes_copied", m.get("bytesCopied", 0))) for m in p["members"])
assert 0 < copied < 6291456, "the run after the cancel moved %d bytes: big.bin again from its start" % copied'
[ "$(get "$nn2" "$dir/big.bin" | md5sum)" = "$(md5sum <"$work/big.bin")" ] ||
  fail "big.bin on the secondary differs from the primary's after the run"
[ "$(get "$nn2" "$dir/small.txt")" = "copied whole before the cancel" ] || fail "small.txt not on the secondary"

# 2. Someone writes on the secondary: the next run refuses and says what to do.
put "$nn2" "$dir/intruder.txt" "not from the primary"
put "$nn1" "$dir/a/two.txt" "two, changed"
refused run3 intruder.txt "a run over a changed secondary"
grep -q -- "--force-full" "$work/run3.log" || fail "the refusal does not say --force-full: $(cat "$work/run3.log")"
lb run --help | grep -q -- "--force-full" || fail "run --help does not teach --force-full"

# 3. The refused job is parked (an operator may fix the secondary and resume it); cancel it,
# then --force-full overwrites the secondary, and the job says why it copied in full.
forced run4
curl -sf "http://$nn2/webhdfs/v1$dir/intruder.txt?op=GETFILESTATUS&user.name=$user" >/dev/null &&
  fail "the forced run left the secondary's own file"
[ "$(get "$nn2" "$dir/a/two.txt")" = "two, changed" ] || fail "the forced run did not copy a/two.txt"
lb --output json jobs list | json '
j = d[-1]
assert j["state"] == "JOB_SUCCEEDED", j
assert any("full copy" in l and "force" in l for l in j.get("log", [])), j.get("log")'

# 4. A planned failover to the secondary, a backup back into the fenced old primary, and a
# failback: every HDFS run builds on the newest point's snapshot, whichever way it went.
last_bytes() { lb --output json jobs list | json '
j = [j for j in d if j.get("kind") == "JOB_BACKUP"][-1]
assert j["state"] == "JOB_SUCCEEDED", j
assert not [l for l in j.get("log", []) if "full copy" in l], j.get("log")
print(int(j.get("bytes_total", j.get("bytesTotal", 0))))'; }
lb failover svc --reason "e2e: planned" --yes >"$work/failover.log" 2>&1 ||
  fail "the failover failed: $(tail -5 "$work/failover.log")"
put "$nn2" "$dir/on-secondary.txt" "written while sec was primary"
lb run svc-hourly >"$work/run5.log" 2>&1 || fail "the backup sec -> prim failed: $(tail -5 "$work/run5.log")"
[ "$(last_bytes)" = 29 ] || fail "sec -> prim planned $(last_bytes) bytes, wanted 29 (on-secondary.txt)"
[ "$(get "$nn1" "$dir/on-secondary.txt")" = "written while sec was primary" ] ||
  fail "the backup into the fenced primary did not land"
put "$nn2" "$dir/a/two.txt" "two, changed on sec"
lb failback svc --yes >"$work/failback.log" 2>&1 || fail "the failback failed: $(tail -5 "$work/failback.log")"
[ "$(get "$nn1" "$dir/a/two.txt")" = "two, changed on sec" ] || fail "the failback did not bring a/two.txt"
lb --output json roles svc | json 'assert d["primary_cluster"] == "prim" and int(d["epoch"]) == 3, d'
printf 'line 3\n' | curl -sf -X POST -T - "$(curl -s -i -X POST \
  "http://$nn1/webhdfs/v1$dir/log.txt?op=APPEND&user.name=$user" | tr -d '\r' |
  awk 'tolower($1) == "location:" {print $2}')" >/dev/null
lb run svc-hourly >"$work/run6.log" 2>&1 || fail "the run after the failback failed: $(tail -5 "$work/run6.log")"
[ "$(last_bytes)" = 21 ] || fail "the run after the failback planned $(last_bytes) bytes, wanted 21 (log.txt)"
lb --output json jobs list | json '
j = [j for j in d if j.get("kind") == "JOB_BACKUP"][-1]
assert any(" builds on " in l for l in j.get("log", [])), j.get("log")'
[ "$(get "$nn2" "$dir/log.txt")" = "$(printf 'line 1\nline 2\nline 3')" ] ||
  fail "the run after the failback did not reach the secondary"

# 5. The primary takes a write after its last point, then fails over: the first backup into
# it finds that write, parks naming it (nothing overwritten unasked), and --force-full
# overwrites it with the secondary's state.
put "$nn1" "$dir/late.txt" "written after the last point"
lb failover svc --reason "e2e: second move" --yes >"$work/failover2.log" 2>&1 ||
  fail "the second failover failed: $(tail -5 "$work/failover2.log")"
refused run7 late.txt "a backup over the old primary's late write"
forced run8
curl -sf "http://$nn1/webhdfs/v1$dir/late.txt?op=GETFILESTATUS&user.name=$user" >/dev/null &&
  fail "the forced run left the old primary's late write"
echo "hdfs cli e2e: 8 runs (full, incremental, refused, forced, into the fenced primary, after a failback, over a late write refused then forced) and two failovers and a failback passed"
