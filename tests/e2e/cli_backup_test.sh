#!/usr/bin/env bash
# End to end through the lifeboat CLI and the real localfs plugin:
#   backup (full), restore --dry-run changes nothing, restore equals the source,
#   an interrupted backup (SIGINT, then kill -9) resumes without copying finished files,
#   verify finds a flipped byte (exit 5), unknown point (exit 3), bad usage (exit 2).
# Usage: cli_backup_test.sh LIFEBOAT_BINARY PLUGIN_DIR
set -euo pipefail
lb="$1"
plugins="$2"
work="$(mktemp -d /tmp/lifeboat-e2e-XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
run() { "$lb" --plugin-dir "$plugins" "$@"; }
pair=(--primary "$work/a" --secondary "$work/b" --data-set /data --state-dir "$work/state")

mkdir -p "$work/a/data/sub" "$work/b"
for i in $(seq 1 40); do head -c $((i * 1000)) /dev/urandom > "$work/a/data/sub/f$i"; done
head -c $((24 * 1024 * 1024)) /dev/urandom > "$work/a/data/big"
ln -s sub/f1 "$work/a/data/link"

# 1. A full backup; JSON output is parseable and says full.
out="$(run --output json backup "${pair[@]}")"
echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["incremental"] is False, d; assert d["bytes_copied"] > 24*1024*1024, d'
p1="$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"

# 2. restore --dry-run lists changes and writes nothing; a real restore equals the source.
dry="$(run restore "${pair[@]}" --point "$p1" --destination /check --dry-run)"
echo "$dry" | grep -q "would create" || fail "dry run listed no change: $dry"
[ ! -e "$work/b/check" ] || fail "dry run created the destination"
run restore "${pair[@]}" --point "$p1" --destination /check >/dev/null
diff -r --no-dereference "$work/a/data" "$work/b/check" || fail "restore differs from the source"

# 3. An interrupted backup resumes. Throttled so that it is still running when stopped.
head -c $((16 * 1024 * 1024)) /dev/urandom > "$work/a/data/big2"
set +e
"$lb" --plugin-dir "$plugins" backup "${pair[@]}" --bandwidth 4000000 >/dev/null 2>"$work/int.log" &
pid=$!
sleep 1.5
kill -INT "$pid"
wait "$pid"
rc=$?
set -e
[ "$rc" -eq 130 ] || fail "an interrupted backup exited $rc, wanted 130: $(cat "$work/int.log")"
run points "${pair[@]}" | grep -q interrupted || fail "the interrupted backup is not listed"
# kill -9 in the middle of the resumed run, then resume again.
set +e
"$lb" --plugin-dir "$plugins" backup "${pair[@]}" --bandwidth 4000000 >/dev/null 2>&1 &
pid=$!
sleep 1
kill -9 "$pid"
wait "$pid" 2>/dev/null
set -e
out="$(run --output json backup "${pair[@]}" 2>"$work/resume.log")"
grep -q "resuming interrupted backup" "$work/resume.log" || fail "did not resume: $(cat "$work/resume.log")"
echo "$out" | python3 -c '
import json,sys
d=json.load(sys.stdin)
assert d["incremental"] is True, d
assert d["resumed"] is True, d
# The two interrupted runs had copied part of big2: the last run skips what they finished.
assert d["bytes_copied"] < 16*1024*1024, d
'
p2="$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
run restore "${pair[@]}" --point "$p2" --destination /check2 >/dev/null
diff -r --no-dereference "$work/a/data" "$work/b/check2" || fail "resumed point differs from the source"

# 4. verify: clean point OK (0); one flipped byte is found (5).
run verify "${pair[@]}" --point "$p2" >/dev/null || fail "verify of a clean point failed"
f="$(find "$work/b/.lifeboat/points" -path "*$p2/tree/big2")"
python3 - "$f" <<'PY'
import os, sys
p = sys.argv[1]
st = os.stat(p)
with open(p, "r+b") as fh:
    fh.seek(1000); b = fh.read(1); fh.seek(1000); fh.write(bytes([b[0] ^ 1]))
os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
PY
set +e
run verify "${pair[@]}" --point "$p2" >"$work/verify.out"; rc=$?
run restore "${pair[@]}" --point rp-does-not-exist --destination /x >/dev/null 2>&1; rc_nf=$?
run backup --no-such-flag >/dev/null 2>&1; rc_usage=$?
set -e
[ "$rc" -eq 5 ] || fail "verify of a corrupted point exited $rc, wanted 5"
grep -q big2 "$work/verify.out" || fail "verify did not name the damaged file"
[ "$rc_nf" -eq 3 ] || fail "restore of an unknown point exited $rc_nf, wanted 3"
[ "$rc_usage" -eq 2 ] || fail "bad usage exited $rc_usage, wanted 2"
echo "cli_backup_test: all checks passed"
