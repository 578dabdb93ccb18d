#!/usr/bin/env bash
# End to end through a real HTTP server: `lifeboat daemon --listen 127.0.0.1:0` on a state
# directory, and the CLI with --server and a token of each role:
#   tokens made before the daemon starts (shown once, file mode 0600); no token or a revoked
#   one is refused (exit 1, UNAUTHENTICATED); a viewer reads but cannot run (exit 4, names
#   the operator role); an operator applies, runs (with progress), verifies, but cannot
#   restore; an admin restores (dry run and real) and manages tokens over HTTP; the audit
#   trail names each token; /metrics parses; a second daemon on the same state is refused.
# Usage: cli_api_test.sh LIFEBOAT_BINARY PLUGIN_DIR
set -euo pipefail
bin="$1"
plugins="$2"
work="$(mktemp -d /tmp/lifeboat-e2e-api-XXXXXX)"
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ]; then kill -TERM "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$work/daemon.log" ] && tail -n 20 "$work/daemon.log" >&2; exit 1; }
local_lb() { "$bin" --plugin-dir "$plugins" --state-dir "$work/state" "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

mkdir -p "$work/a/data/sub" "$work/b"
for i in $(seq 1 20); do head -c $((i * 3000)) /dev/urandom > "$work/a/data/sub/f$i"; done
cat > "$work/p.yaml" <<YAML
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
name: svc-daily
service: svc
schedule: {cron: "0 3 * * *"}
rpo: 1d
retention: {keep: 10}
YAML

# 1. Tokens, made in-process (the local admin) before the daemon holds the state directory.
for role in viewer operator admin; do
  local_lb token create "$role-1" --role "$role" --out "$work/$role.token" >/dev/null
  [ "$(stat -c %a "$work/$role.token")" = "600" ] || fail "$role.token is not mode 600"
done
grep -q '^lbt_' "$work/admin.token" || fail "the token file holds no token"
local_lb token list | grep -q "operator-1 *operator" || fail "token list lacks operator-1"
! local_lb token list | grep -q "$(cut -d_ -f3 "$work/admin.token")" || fail "token list shows a secret"

# 2. The daemon, on any free loopback port.
"$bin" --plugin-dir "$plugins" --state-dir "$work/state" daemon --listen 127.0.0.1:0 \
  >"$work/daemon.out" 2>"$work/daemon.log" &
daemon_pid=$!
url=""
for _ in $(seq 1 100); do
  url="$(grep -o 'http://127.0.0.1:[0-9]*' "$work/daemon.log" | head -n 1 || true)"
  [ -n "$url" ] && break
  kill -0 "$daemon_pid" 2>/dev/null || fail "the daemon exited"
  sleep 0.1
done
[ -n "$url" ] || fail "the daemon did not say where it listens"
as() { local role="$1"; shift; "$bin" --server "$url" --token-file "$work/$role.token" "$@"; }

# A second process on the same state directory is refused while the daemon holds it.
set +e
local_lb policy list >/dev/null 2>"$work/locked.err"; rc=$?
set -e
[ "$rc" -ne 0 ] && grep -qi "in use" "$work/locked.err" || fail "the state directory was not locked"

# 3. Without a token, or with a forged one: refused.
set +e
"$bin" --server "$url" policy list >/dev/null 2>"$work/anon.err"; rc_anon=$?
printf 'lbt_0000000000000000_%064d\n' 0 > "$work/forged.token"; chmod 600 "$work/forged.token"
"$bin" --server "$url" --token-file "$work/forged.token" policy list >/dev/null 2>&1; rc_forged=$?
set -e
[ "$rc_anon" -ne 0 ] && grep -q UNAUTHENTICATED "$work/anon.err" || fail "no token was let in ($rc_anon)"
[ "$rc_forged" -ne 0 ] || fail "a forged token was let in"
curl -fsS "$url/healthz" | json 'assert d["status"] == "ok", d'

# 4. Viewer: reads, cannot apply or run.
set +e
as viewer apply -f "$work/p.yaml" >/dev/null 2>"$work/viewer.err"; rc=$?
set -e
[ "$rc" -eq 4 ] || fail "a viewer's apply exited $rc, wanted 4"
grep -q "needs the operator role" "$work/viewer.err" || fail "the refusal does not name the role: $(cat "$work/viewer.err")"

# 5. Operator: apply (file:line errors survive the trip), run with progress, verify.
printf 'kind: Policy\nname: broken\nservice: svc\nschedule: {cron: "0 3 * * *"}\nretention: {keep: lots}\n' > "$work/bad.yaml"
set +e
out="$(as operator apply -f "$work/bad.yaml" 2>&1)"; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "a malformed policy (bad input) exited $rc, wanted 2"
echo "$out" | grep -q "bad.yaml:5:" || fail "the error lost file:line: $out"
as operator apply -f "$work/p.yaml" | grep -q "policy svc-daily applied" || fail "apply failed"
as operator run svc-daily >"$work/run.out" 2>"$work/run.err" || fail "run failed: $(cat "$work/run.err")"
grep -q "succeeded rp-" "$work/run.out" || fail "run did not report its point: $(cat "$work/run.out")"
set +e
as viewer run svc-daily >/dev/null 2>&1; rc=$?
set -e
[ "$rc" -eq 4 ] || fail "a viewer's run exited $rc, wanted 4"
p1="$(as viewer --output json points list svc | json 'print([p["id"] for p in d if p["state"] == "RP_COMMITTED"][-1])')"
as operator points verify svc "$p1" | grep -q '^OK$' || fail "verify over HTTP failed"
as viewer --output json jobs list | json 'assert d[-1]["state"] == "JOB_SUCCEEDED", d[-1]'
as viewer policy show svc-daily | grep -q "kind: Policy" || fail "policy show (YAML) failed"
as viewer service status >/dev/null || fail "service status failed"

# 6. Operator cannot restore; admin can (dry run writes nothing, the real one equals the source).
set +e
as operator restore svc "$p1" --destination /check --yes >/dev/null 2>"$work/op-restore.err"; rc=$?
set -e
[ "$rc" -eq 4 ] || fail "an operator's restore exited $rc, wanted 4"
grep -q "needs the admin role" "$work/op-restore.err" || fail "the restore refusal is unclear"
as admin restore svc "$p1" --destination /dry --dry-run >/dev/null
[ ! -e "$work/b/dry" ] || fail "a dry run created the destination"
as admin restore svc "$p1" --destination /check --yes >/dev/null
diff -r --no-dereference "$work/a/data" "$work/b/check/data" || fail "restore differs from the source"
set +e
as admin restore svc rp-does-not-exist >/dev/null 2>&1; rc=$?
set -e
[ "$rc" -eq 3 ] || fail "restore of an unknown point exited $rc, wanted 3"

# 7. Tokens over HTTP (admin only); a revoked token stops working at once.
set +e
as operator token create sneaky --role admin >/dev/null 2>&1; rc=$?
set -e
[ "$rc" -eq 4 ] || fail "an operator made a token (exit $rc)"
as admin token create ci --role viewer --out "$work/ci.token" >/dev/null
as ci jobs list >/dev/null || fail "a fresh token does not work"
as admin token revoke ci >/dev/null
set +e
as ci jobs list >/dev/null 2>&1; rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a revoked token still works"

# 8. Metrics (viewer token) parse; every state change is audited under its token's name.
# curl reads the header from a file: a token never goes on a command line.
for role in viewer admin; do
  (umask 077; printf 'Authorization: Bearer %s\n' "$(cat "$work/$role.token")" > "$work/$role.header")
done
curl -fsS -H @"$work/viewer.header" "$url/metrics" > "$work/metrics.txt"
python3 - "$work/metrics.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
types, samples = {}, {}
for line in text.splitlines():
    if line.startswith("# TYPE "):
        _, _, name, kind = line.split(" ", 3)
        assert name not in types, "TYPE twice: " + name
        types[name] = kind
    elif line and not line.startswith("#"):
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$', line)
        assert m, "bad sample line: " + line
        name = m.group(1)
        for suffix in ("_bucket", "_sum", "_count"):  # a histogram's samples
            if name not in types and name.endswith(suffix) and types.get(name[:-len(suffix)]) == "histogram":
                name = name[:-len(suffix)]
        assert name in types, "sample before TYPE: " + line
        samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
assert samples['lifeboat_jobs{kind="backup",state="succeeded"}'] == 1, samples
assert samples['lifeboat_service_rpo_breached{service="svc"}'] == 0, samples
assert types["lifeboat_job_bytes_transferred_total"] == "counter"
PY
as admin --output json jobs list >/dev/null
curl -fsS -H @"$work/admin.header" "$url/v1/audit" | json '
actors = {(a["action"], a["actor"]) for a in d["audit"]}
for want in [("apply", "operator-1"), ("job.backup", "operator-1"), ("restore_point.verify", "operator-1"),
             ("restore", "admin-1"), ("restore.dry_run", "admin-1"), ("token.create", "local"),
             ("token.create", "admin-1"), ("token.revoke", "admin-1")]:
    assert want in actors, (want, sorted(actors))'

# 9. SIGTERM stops the daemon cleanly, and the state directory is free again.
kill -TERM "$daemon_pid"
wait "$daemon_pid" || fail "the daemon exited non-zero on SIGTERM"
daemon_pid=""
local_lb --output json jobs list | json 'assert all(j["state"] == "JOB_SUCCEEDED" for j in d), d'
echo "cli_api_test: all checks passed"
