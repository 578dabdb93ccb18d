#!/usr/bin/env bash
# End to end through the lifeboat CLI, the engine and the real localfs plugin:
#   apply (and a malformed policy refused with file:line:column), run (full), Ctrl-C
#   (exit 130, nothing left behind), kill -9 in the middle of a run then `jobs resume`,
#   restore --dry-run changes nothing, restore equals the source at its cut, verify finds a
#   flipped byte (exit 5), a locked state directory, unknown point (3), bad usage (2).
# Usage: cli_engine_test.sh LIFEBOAT_BINARY PLUGIN_DIR
set -euo pipefail
bin="$1"
plugins="$2"
work="$(mktemp -d /tmp/lifeboat-e2e-XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
lb() { "$bin" --plugin-dir "$plugins" --state-dir "$work/state" "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }
# Waits (up to a minute) until the run of PID has printed PHASE to LOG (a phase that lasts:
# a short one may pass between two polls of the progress and never be printed): the job exists
# and the run holds the state directory. A condition, not a timed assertion.
wait_for_phase() {
  for _ in $(seq 1 600); do
    tr '\r' '\n' < "$2" 2>/dev/null | grep -q "^$3" && return 0
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
}

mkdir -p "$work/a/data/sub" "$work/b"
for i in $(seq 1 40); do head -c $((i * 1000)) /dev/urandom > "$work/a/data/sub/f$i"; done
head -c $((24 * 1024 * 1024)) /dev/urandom > "$work/a/data/big"
ln -s sub/f1 "$work/a/data/link"
cat > "$work/p.yaml" <<YAML
kind: Cluster
name: a
components: [{component: localfs, config: {root: "$work/a", chunk_bytes: 1048576}}]
---
kind: Cluster
name: b
components: [{component: localfs, config: {root: "$work/b", chunk_bytes: 1048576}}]
---
kind: Service
name: svc
primary: a
secondary: b
data_sets: [localfs:/data]
---
kind: Policy
name: svc-daily
service: svc
schedule: {cron: "0 3 * * *"}
rpo: 1d
retention: {keep: 10}
bandwidth: 8MiB/s
parallelism: 1
YAML

# 1. A malformed policy is refused with where and why; nothing is applied.
printf 'kind: Policy\nname: broken\nservice: svc\nschedule: {cron: "0 3 * * *"}\nretention: {keep: lots}\n' > "$work/bad.yaml"
set +e
out="$(lb apply -f "$work/bad.yaml" 2>&1)"; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "a malformed policy (bad input) exited $rc, wanted 2: $out"
echo "$out" | grep -q "bad.yaml:5:" || fail "the error does not say file:line: $out"
echo "$out" | grep -q "retention.keep" || fail "the error does not name the field: $out"

lb apply -f "$work/p.yaml" >/dev/null
lb apply -f "$work/p.yaml" | grep -q "policy svc-daily unchanged" || fail "apply is not idempotent"

# 2. Ctrl-C during a run: exit 130, the job is cancelled, nothing is left behind.
set +e
"$bin" --plugin-dir "$plugins" --state-dir "$work/state" run svc-daily >/dev/null 2>"$work/int.log" &
pid=$!
# Interrupted once the transfer runs (it takes ~3 s at 8 MiB/s), not after a fixed sleep: a
# background job of a non-interactive shell starts with SIGINT ignored until the CLI installs
# its handler, and on a loaded machine start-up took longer than the 1.5 s this slept.
wait_for_phase "$pid" "$work/int.log" transfer
kill -INT "$pid"
wait "$pid"; rc=$?
set -e
[ "$rc" -eq 130 ] || fail "an interrupted run exited $rc, wanted 130: $(cat "$work/int.log")"
lb --output json jobs list | json 'assert d[-1]["state"] == "JOB_CANCELLED", d[-1]'
[ -z "$(ls -A "$work/a/.lifeboat/snapshots/"* 2>/dev/null | grep rp- || true)" ] || fail "a snapshot was left behind"

# 3. kill -9 in the middle of a run, then `jobs resume` finishes it.
set +e
"$bin" --plugin-dir "$plugins" --state-dir "$work/state" run svc-daily >/dev/null 2>"$work/kill.log" &
pid=$!
wait_for_phase "$pid" "$work/kill.log" transfer
kill -9 "$pid"
wait "$pid" 2>/dev/null
set -e
lb --output json jobs list | json 'assert d[-1]["state"] == "JOB_RUNNING", d[-1]'
lb jobs resume | grep -q succeeded || fail "resume did not finish the job"
p1="$(lb --output json points list svc | json 'print([p["id"] for p in d if p["state"] == "RP_COMMITTED"][-1])')"

# 4. restore --dry-run writes nothing; a real restore equals the source.
lb restore svc "$p1" --destination /check --dry-run >/dev/null
[ ! -e "$work/b/check" ] || fail "a dry run created the destination"
lb restore svc "$p1" --destination /check --yes >/dev/null
diff -r --no-dereference "$work/a/data" "$work/b/check/data" || fail "restore differs from the source"

# 5. verify: a clean point is OK; one flipped byte is found (exit 5).
lb points verify svc "$p1" >/dev/null || fail "verify of a clean point failed"
f="$(find "$work/b/.lifeboat/points" -path "*$p1/tree/big")"
python3 - "$f" <<'PY'
import os, sys
p = sys.argv[1]
st = os.stat(p)
with open(p, "r+b") as fh:
    fh.seek(1000); b = fh.read(1); fh.seek(1000); fh.write(bytes([b[0] ^ 1]))
os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
PY
set +e
lb points verify svc "$p1" >"$work/verify.out"; rc=$?
# 6. A second process on the same state directory is refused while the first holds it.
head -c $((16 * 1024 * 1024)) /dev/urandom > "$work/a/data/big2"  # keeps the holder busy ~2 s
"$bin" --plugin-dir "$plugins" --state-dir "$work/state" run svc-daily >/dev/null 2>"$work/holder.log" &
holder=$!
wait_for_phase "$holder" "$work/holder.log" transfer
lb policy list >/dev/null 2>"$work/locked.err"; rc_locked=$?
wait "$holder"
lb restore svc rp-does-not-exist >/dev/null 2>&1; rc_nf=$?
lb run --no-such-flag >/dev/null 2>&1; rc_usage=$?
set -e
[ "$rc" -eq 5 ] || fail "verify of a corrupted point exited $rc, wanted 5"
grep -q big "$work/verify.out" || fail "verify did not name the damaged file"
[ "$rc_locked" -ne 0 ] || fail "a second process was let into a locked state directory (the holder printed: $(tr '\r' '\n' < "$work/holder.log" | head -5))"
grep -qi "in use" "$work/locked.err" || fail "the lock error is unclear: $(cat "$work/locked.err")"
[ "$rc_nf" -eq 3 ] || fail "restore of an unknown point exited $rc_nf, wanted 3"
[ "$rc_usage" -eq 2 ] || fail "bad usage exited $rc_usage, wanted 2"
echo "cli_engine_test: all checks passed"
