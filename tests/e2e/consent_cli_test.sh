#!/usr/bin/env bash
# Nothing destroyed or moved without the operator's consent, through the lifeboat CLI with the
# engine and the real localfs plugin in-process (issue 11, findings 2, 3, 4 and 5):
#   2. a restore into a directory holding a file the point does not have is refused naming it
#      (exit 4, the file stays), and --overwrite replaces it; over the live primary too;
#   3. a restore --dry-run into the fenced old primary is refused as the real run is;
#      `unfence --dry-run` says what it would lift, `unfence` lifts it;
#   4. failover, failback and restore ask on a terminal (the service, the point, its age, the
#      writes left behind, a warning when the primary looks healthy) and do nothing unless the
#      service's name is typed; without a terminal they refuse (exit 4, "pass --yes");
#      `--yes` agrees; over HTTP a failover without {"confirm": ...} is refused (400);
#   5. a failback over a write the old primary took after its last point: the dry run and the
#      real run name it (exit 4; the job parks), --discard-writes replaces it.
# Usage: consent_cli_test.sh LIFEBOAT_BINARY PLUGIN_DIR
set -euo pipefail
bin="$1"
plugins="$2"
work="$(mktemp -d /tmp/lifeboat-consent-XXXXXX)"
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ]; then kill -TERM "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
  # A fence may have made files immutable; lift it so the directory can go.
  command -v chattr >/dev/null && chattr -R -i "$work" 2>/dev/null || true
  chmod -R u+rwX "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
lb() { "$bin" --plugin-dir "$plugins" --state-dir "$work/state" "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }
# expect RC LOG CMD...: runs the command, which must exit RC; its output in LOG.
expect() {
  local want="$1" log="$2" rc=0
  shift 2
  "$@" >"$log" 2>&1 || rc=$?
  [ "$rc" -eq "$want" ] || fail "'$*' exited $rc, wanted $want: $(cat "$log")"
}
# on_tty ANSWER LOG ARGS...: runs lb ARGS on a pseudo-terminal, types ANSWER at its prompt.
on_tty() {
  local answer="$1" log="$2"
  shift 2
  python3 - "$answer" "$log" "$bin" --plugin-dir "$plugins" --state-dir "$work/state" "$@" <<'PY'
import os, pty, sys
answer, log, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
out, sent = b"", False
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    if not sent and b"to go on" in out:
        os.write(fd, answer.encode() + b"\n")
        sent = True
_, status = os.waitpid(pid, 0)
open(log, "wb").write(out)
sys.exit(os.waitstatus_to_exitcode(status))
PY
}

mkdir -p "$work/a/data/sub" "$work/b"
head -c 200000 /dev/urandom >"$work/a/data/sub/big"
echo "v1" >"$work/a/data/small"
cat >"$work/p.yaml" <<YAML
kind: Cluster
name: a
components: [{component: localfs, config: {root: "$work/a"}}]
---
kind: Cluster
name: b
components: [{component: localfs, config: {root: "$work/b"}}]
---
kind: Service
name: svc
primary: a
secondary: b
data_sets: [localfs:/data]
---
kind: Policy
name: svc-hourly
service: svc
schedule: {interval: 1h}
YAML
lb apply -f "$work/p.yaml" >/dev/null
lb run svc-hourly >/dev/null 2>&1 || fail "the first backup failed"
p1="$(lb -o json points list svc | json 'print(d[-1]["id"])')"

# ---- 2. restores ask before they delete --------------------------------------------------
lb restore svc "$p1" --destination /restored --yes >/dev/null || fail "the first restore failed"
echo "mine" >"$work/b/restored/data/my-notes.txt"
expect 4 "$work/r-dry.log" lb restore svc "$p1" --destination /restored --dry-run
grep -q "my-notes.txt" "$work/r-dry.log" || fail "the dry run does not name my-notes.txt: $(cat "$work/r-dry.log")"
expect 4 "$work/r-refused.log" lb restore svc "$p1" --destination /restored --yes
grep -q "delete 1 item" "$work/r-refused.log" && grep -q "my-notes.txt" "$work/r-refused.log" &&
  grep -q -- "--overwrite" "$work/r-refused.log" ||
  fail "the refusal does not say what it would delete and how to agree: $(cat "$work/r-refused.log")"
[ "$(cat "$work/b/restored/data/my-notes.txt")" = mine ] || fail "refused, yet my-notes.txt changed"
expect 0 "$work/r-over.log" lb restore svc "$p1" --destination /restored --overwrite --yes --details
[ ! -e "$work/b/restored/data/my-notes.txt" ] || fail "--overwrite left my-notes.txt"
grep -q "delete my-notes.txt" "$work/r-over.log" || fail "the restore does not say what it deleted"
# Over the live primary data set.
echo "written on a after the point" >"$work/a/data/late.txt"
expect 4 "$work/r-live.log" lb restore svc "$p1" --cluster a --yes
grep -q "late.txt" "$work/r-live.log" || fail "the live refusal does not name late.txt: $(cat "$work/r-live.log")"
[ -e "$work/a/data/late.txt" ] || fail "the refused restore deleted late.txt"
rm "$work/a/data/late.txt"

# ---- 4. consent on a terminal, --yes, no terminal, the API ---------------------------------
expect 4 "$work/no-tty.log" lb failover svc </dev/null
grep -q -- "--yes" "$work/no-tty.log" || fail "without a terminal it does not say --yes: $(cat "$work/no-tty.log")"
expect 4 "$work/no-tty-restore.log" lb restore svc "$p1" --destination /elsewhere </dev/null
[ ! -e "$work/b/elsewhere" ] || fail "a restore without consent wrote"
rc=0
on_tty "nope" "$work/tty-no.log" failover svc || rc=$?
[ "$rc" -eq 4 ] || fail "a failover answered 'nope' exited $rc: $(cat "$work/tty-no.log")"
for want in "fail svc over from a to b" "$p1" "ago" "will not come along" "looks healthy" "Type 'svc'"; do
  grep -q "$want" "$work/tty-no.log" || fail "the prompt lacks '$want': $(cat "$work/tty-no.log")"
done
[ "$(lb -o json roles svc | json 'print(d.get("epoch", "1"))')" = 1 ] || fail "a refused prompt moved roles"

# ---- 5. the old primary's late write, found by the failback ------------------------------
echo "taken after the last point" >"$work/a/data/my-notes.txt"
on_tty "svc" "$work/tty-yes.log" failover svc || fail "the failover typed 'svc' failed: $(cat "$work/tty-yes.log")"
[ "$(lb -o json endpoints svc | json 'print(d["active_cluster"])')" = b ] || fail "not active on b"

# ---- 3. dry runs check what the real run checks; unfence --------------------------------
expect 4 "$work/fenced-dry.log" lb restore svc "$p1" --cluster a --overwrite --dry-run
grep -qi "fenced" "$work/fenced-dry.log" || fail "the dry run into fenced a does not say fenced: $(cat "$work/fenced-dry.log")"

echo "v2 written on b" >"$work/b/data/small"
expect 4 "$work/fb-dry.log" lb failback svc --dry-run
grep -q "my-notes.txt" "$work/fb-dry.log" || fail "the failback dry run does not name my-notes.txt: $(cat "$work/fb-dry.log")"
expect 4 "$work/fb.log" lb failback svc --yes
grep -q "my-notes.txt" "$work/fb.log" && grep -q -- "--discard-writes" "$work/fb.log" ||
  fail "the failback does not name the write and the way on: $(cat "$work/fb.log")"
[ "$(cat "$work/a/data/my-notes.txt")" = "taken after the last point" ] || fail "the parked failback touched my-notes.txt"
[ "$(lb -o json endpoints svc | json 'print(d["active_cluster"])')" = b ] || fail "a parked failback moved the service"
parked="$(lb -o json jobs list | json 'j = [j for j in d if j["kind"] == "JOB_FAILBACK"][-1]; assert j["state"] == "JOB_PARKED", j; print(j["id"])')"
lb jobs cancel "$parked" >/dev/null

# unfence: a dry run lifts nothing, the real one lets the dry run of the restore through.
expect 0 "$work/unfence-dry.log" lb unfence svc --cluster a --dry-run
grep -q "would unfence localfs:/data on a" "$work/unfence-dry.log" || fail "unfence --dry-run: $(cat "$work/unfence-dry.log")"
expect 4 "$work/fenced-dry2.log" lb restore svc "$p1" --cluster a --overwrite --dry-run
expect 4 "$work/unfence-no-tty.log" lb unfence svc --cluster a </dev/null
expect 0 "$work/unfence.log" lb unfence svc --cluster a --yes
grep -q "unfenced localfs:/data on a" "$work/unfence.log" || fail "unfence: $(cat "$work/unfence.log")"
expect 0 "$work/unfenced-dry.log" lb restore svc "$p1" --cluster a --overwrite --dry-run
lb -o json events | json 'assert any(e["kind"] == "unfenced" for e in d), "no unfenced event"'

# The write saved elsewhere, the failback replaces it.
expect 0 "$work/fb2.log" lb failback svc --discard-writes --yes
[ ! -e "$work/a/data/my-notes.txt" ] || fail "--discard-writes left my-notes.txt"
[ "$(cat "$work/a/data/small")" = "v2 written on b" ] || fail "the failback did not bring b's change"
grep -q "discarded: --discard-writes" "$work/fb2.log" || fail "the failback does not say what it discarded: $(cat "$work/fb2.log")"

# ---- 4. over HTTP: no confirm, no failover ------------------------------------------------
lb token create root --role admin --out "$work/admin.token" >/dev/null
"$bin" --plugin-dir "$plugins" --state-dir "$work/state" daemon --listen 127.0.0.1:0 \
  >"$work/daemon.out" 2>"$work/daemon.log" &
daemon_pid=$!
url=""
for _ in $(seq 1 100); do
  url="$(grep -o 'http://127.0.0.1:[0-9]*' "$work/daemon.log" | head -n 1 || true)"
  [ -n "$url" ] && break
  kill -0 "$daemon_pid" 2>/dev/null || fail "the daemon exited: $(cat "$work/daemon.log")"
  sleep 0.1
done
[ -n "$url" ] || fail "the daemon did not say where it listens"
auth="Authorization: Bearer $(cat "$work/admin.token")"
code="$(curl -s -o "$work/http.json" -w '%{http_code}' -X POST -H "$auth" "$url/v1/services/svc/failover")"
[ "$code" = 400 ] || fail "a failover without a body answered $code: $(cat "$work/http.json")"
grep -q '{\\"confirm\\": \\"svc\\"}' "$work/http.json" || fail "the 400 does not say what to send: $(cat "$work/http.json")"
code="$(curl -s -o "$work/http.json" -w '%{http_code}' -X POST -H "$auth" -H 'Content-Type: application/json' \
  -d '{"confirm": "other"}' "$url/v1/services/svc/failover")"
[ "$code" = 400 ] || fail "a failover confirming another service answered $code"
code="$(curl -s -o "$work/http.json" -w '%{http_code}' -X POST -H "$auth" -H 'Content-Type: application/json' \
  -d '{"confirm": "a"}' "$url/v1/clusters/a/failover?dry_run=true")"
[ "$code" = 202 ] || fail "a cluster failover dry run answered $code: $(cat "$work/http.json")"
code="$(curl -s -o "$work/http.json" -w '%{http_code}' -X POST -H "$auth" -H 'Content-Type: application/json' \
  -d '{"restore_point": "'"$p1"'", "destination": "/via-http"}' "$url/v1/services/svc/restore")"
[ "$code" = 400 ] || fail "a restore without confirm answered $code"
[ "$("$bin" --server "$url" --token-file "$work/admin.token" -o json roles svc | json 'print(d["epoch"])')" = 3 ] ||
  fail "a refused call moved roles"
echo "consent e2e: OK"
