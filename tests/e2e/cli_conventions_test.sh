#!/usr/bin/env bash
# The conventions an operator expects of the lifeboat CLI, end to end with the real localfs
# plugin, in-process and against `lifeboat daemon --listen`:
#   --version; where the state is when --state-dir is not given; exit codes (bad input 2, not
#   found 3, refused 4) the same in-process and over HTTP; -o json / -o yaml on every command
#   with numbers as numbers and one shape per record; readable `jobs show` / `points show`;
#   each error printed once (a failed restore, doctor); a Ctrl-C recorded as a job_cancelled warning that tells the truth,
#   its progress not ending on 100%, and `jobs resume` refusing it (4); dry-run summaries and
#   their marking in `jobs list`; filters on `jobs list` and `events`; `jobs logs`;
#   `jobs show --watch`; `audit`; `completion bash`; token expiry (--ttl); the flags
#   `lifeboat daemon` shares with lifeboatd.
# Usage: cli_conventions_test.sh LIFEBOAT_BINARY LIFEBOATD_BINARY PLUGIN_DIR
set -euo pipefail
bin="$(realpath "$1")"
lifeboatd="$(realpath "$2")"
plugins="$(realpath "$3")"
work="$(mktemp -d /tmp/lifeboat-e2e-conv-XXXXXX)"
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ]; then kill -TERM "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
lb() { "$bin" --plugin-dir "$plugins" --state-dir "$work/state" "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }
# rc CMD...: runs CMD, prints its exit code (never fails the script).
rc() { set +e; "$@" >"$work/out" 2>"$work/err"; local r=$?; set -e; echo "$r"; }
unset LIFEBOAT_STATE_DIR LIFEBOAT_SERVER LIFEBOAT_TOKEN LIFEBOAT_TOKEN_FILE

mkdir -p "$work/a/data/sub" "$work/b"
for i in $(seq 1 12); do head -c $((i * 5000)) /dev/urandom > "$work/a/data/sub/f$i"; done
head -c $((6 * 1024 * 1024)) /dev/urandom > "$work/a/data/big"
cat > "$work/p.yaml" <<YAML
kind: Cluster
name: a
components: [{component: localfs, config: {root: "$work/a", chunk_bytes: 262144}}]
---
kind: Cluster
name: b
components: [{component: localfs, config: {root: "$work/b", chunk_bytes: 262144}}]
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
parallelism: 2
YAML
cat > "$work/slow.yaml" <<YAML
kind: Policy
name: svc-slow
service: svc
schedule: {cron: "0 4 * * *"}
parallelism: 1
bandwidth: 2MiB/s
YAML

# 1. --version, and both programs take the daemon flags they share under one spelling.
"$bin" --version | grep -Eq '^lifeboat [0-9]+\.[0-9]+\.[0-9]+$' || fail "lifeboat --version: $("$bin" --version 2>&1)"
"$lifeboatd" --version | grep -Eq '^lifeboatd [0-9]+\.' || fail "lifeboatd --version"
"$bin" daemon --help > "$work/daemon.help"
"$lifeboatd" --help > "$work/lifeboatd.help"
for flag in --listen --api-tls-cert --api-tls-key --public-metrics --webhook --health-interval \
            --max-concurrent-jobs; do
  grep -q -- "$flag" "$work/daemon.help" || fail "lifeboat daemon has no $flag"
  grep -q -- "$flag" "$work/lifeboatd.help" || fail "lifeboatd has no $flag"
done

# 2. Without --state-dir the CLI says where its state is.
mkdir "$work/cwd"
(cd "$work/cwd" && "$bin" --plugin-dir "$plugins" policy list >/dev/null 2>"$work/notice1")
(cd "$work/cwd" && "$bin" --plugin-dir "$plugins" policy list >/dev/null 2>"$work/notice2")
grep -q "making a new state in $work/cwd/.lifeboat" "$work/notice1" || fail "no notice of a new state: $(cat "$work/notice1")"
grep -q "using the state in $work/cwd/.lifeboat (choose with --state-dir or LIFEBOAT_STATE_DIR)" "$work/notice2" \
  || fail "no notice of the state used: $(cat "$work/notice2")"
lb policy list >/dev/null 2>"$work/quiet"
! grep -q "state in" "$work/quiet" || fail "a notice although --state-dir was given"

# 3. Exit codes in-process: bad input 2, not found 3, refused 4.
printf 'kind: Policy\nname: broken\nservice: svc\nschedule: {cron: "0 3 * * *"}\nretention: {keep: lots}\n' > "$work/bad.yaml"
[ "$(rc lb apply -f "$work/bad.yaml")" = 2 ] || fail "a malformed file is bad input (2): $(cat "$work/err")"
lb apply -f "$work/p.yaml" >/dev/null
[ "$(rc lb points list ghost)" = 3 ] || fail "points list of an unknown service: not 3 ($(cat "$work/out"))"
grep -q "no service named 'ghost'" "$work/err" || fail "points list ghost: $(cat "$work/err")"
[ "$(rc lb jobs show job-999999)" = 3 ] || fail "jobs show of an unknown job: not 3"
[ "$(rc lb jobs list --state broken)" = 2 ] || fail "a bad --state is bad input (2)"
grep -q "not one of" "$work/err" || fail "a bad --state does not say what is valid: $(cat "$work/err")"
[ "$(rc lb events --since yesterday)" = 2 ] || fail "a bad --since is bad input (2)"
[ "$(rc lb token create t --ttl soon)" = 2 ] || fail "a bad --ttl is bad input (2)"

# 4. -o json / -o yaml: the records as the API gives them, numbers as numbers.
lb -o json run svc-daily > "$work/run.json" 2>"$work/run.err"
json 'assert d["state"] == "JOB_SUCCEEDED", d; assert isinstance(d["bytes_done"], int) and d["bytes_done"] > 0, d["bytes_done"]' < "$work/run.json"
job1="$(json 'print(d["id"])' < "$work/run.json")"
p1="$(json 'print(d["restore_point_id"])' < "$work/run.json")"
lb -o json jobs show "$job1" | json "
import json as j
run = j.load(open('$work/run.json'))
assert set(d) == set(run), set(d) ^ set(run)
assert isinstance(d['created_unix_nanos'], int)"
lb -o json jobs list | json "assert sorted(d[0]) == sorted(json.load(open('$work/run.json'))), 'one shape per record'"
lb -o yaml jobs list | python3 -c "
import sys, yaml
d = yaml.safe_load(sys.stdin)
assert d[0]['id'] == '$job1' and isinstance(d[0]['bytes_done'], int), d[0]"
lb -o yaml points show svc "$p1" | python3 -c "
import sys, yaml
d = yaml.safe_load(sys.stdin)
assert d['id'] == '$p1' and isinstance(d['members'][0]['total_bytes'], int), d"
lb -o json apply -f "$work/p.yaml" | json 'assert d["objects"] and all(o["action"] == "unchanged" for o in d["objects"]), d'
lb -o json service status | json 'assert d[0]["service"] == "svc" and isinstance(d[0]["age_seconds"], int), d'
# For people: durations read as durations (the policy's rpo is 1d), seconds in -o json above.
lb service status | grep -Eq '^svc +rp-[^ ]+ +[0-9.]+(ms|s|m [0-9]+s) +1d 0h +ok$' ||
  fail "service status: $(lb service status)"
lb -o json points verify svc "$p1" | json 'assert d["ok"] is True, d'
lb -o json roles svc | json 'assert d["epoch"] == 1, d'

# 5. Readable descriptions, not raw JSON.
lb jobs show "$job1" > "$work/show.txt"
grep -Eq '^kind +backup by policy svc-daily \(revision 1\)' "$work/show.txt" || fail "jobs show: $(cat "$work/show.txt")"
grep -Eq '^finished +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z \(took ' "$work/show.txt" || fail "jobs show lacks times: $(cat "$work/show.txt")"
grep -Eq '^moved +6\.[0-9] MiB of 6\.[0-9] MiB' "$work/show.txt" || fail "jobs show lacks sizes: $(cat "$work/show.txt")"
! grep -q '"bytes_done"' "$work/show.txt" || fail "jobs show printed raw JSON"
lb points show svc "$p1" > "$work/point.txt"
grep -Eq '^state +committed' "$work/point.txt" || fail "points show: $(cat "$work/point.txt")"
grep -q '^  localfs:/data' "$work/point.txt" || fail "points show lacks its members: $(cat "$work/point.txt")"
grep -Eq 'committed, 6\.[0-9] MiB in 1[0-9] items' "$work/point.txt" || fail "points show lacks member sizes: $(cat "$work/point.txt")"
! grep -q '"members"' "$work/point.txt" || fail "points show printed raw JSON"

# 6. Dry runs: a summary per data set, items only with --details, marked in `jobs list`.
lb restore svc "$p1" --destination /dry --dry-run > "$work/dry.txt"
grep -q "succeeded (dry run)" "$work/dry.txt" || fail "the dry run is not marked: $(cat "$work/dry.txt")"
grep -Eq '^  localfs:/data +1[0-9] create, 0 update, 0 delete, 6\.[0-9] MiB' "$work/dry.txt" || fail "no summary: $(cat "$work/dry.txt")"
! grep -q "create sub/f1$" "$work/dry.txt" || fail "the dry run listed its items without --details"
lb restore svc "$p1" --destination /dry --dry-run --details | grep -q "create sub/f1$" || fail "--details lists no items"
[ ! -e "$work/b/dry" ] || fail "a dry run wrote"
lb jobs list --kind restore | grep -q "restore (dry run)" || fail "jobs list does not mark dry runs"

# 7. Ctrl-C: a job_cancelled warning that tells the truth; the progress does not end on 100%;
#    `jobs resume` refuses the ended job (4) and says what to do.
lb apply -f "$work/slow.yaml" >/dev/null
head -c $((6 * 1024 * 1024)) /dev/urandom > "$work/a/data/big2"  # 3 s at 2 MiB/s
set +e
"$bin" --plugin-dir "$plugins" --state-dir "$work/state" run svc-slow >"$work/int.out" 2>"$work/int.err" &
pid=$!
for _ in $(seq 1 100); do grep -q "transfer" "$work/int.err" && break; sleep 0.1; done
sleep 0.5
kill -INT "$pid"
wait "$pid"; r=$?
set -e
[ "$r" = 130 ] || fail "Ctrl-C exited $r: $(cat "$work/int.err")"
! grep -q "100%" "$work/int.err" || fail "a cancelled run's progress ended on 100%: $(cat "$work/int.err")"
grep -q "transfer stopped" "$work/int.err" || fail "the bar does not say it stopped: $(cat "$work/int.err")"
! grep -q "run the task again" "$work/int.err" || fail "the cancel message invites a resume: $(cat "$work/int.err")"
[ "$(grep -c "was cancelled" "$work/int.err")" = 1 ] || fail "the cancel is not reported once: $(cat "$work/int.err")"
! grep -q '\[warning\]' "$work/int.err" || fail "a log line repeats the error: $(cat "$work/int.err")"
cancelled="$(lb -o json jobs list --state cancelled | json 'print(d[-1]["id"])')"
lb -o json events --job "$cancelled" | json '
assert len(d) == 1, d
assert d[0]["kind"] == "job_cancelled" and d[0]["severity"] == "warning", d
assert "not resumed" in d[0]["message"] and "lifeboat run svc-slow" in d[0]["message"], d'
[ "$(rc lb jobs resume "$cancelled")" = 4 ] || fail "resuming a cancelled job is not refused (4)"
grep -q "is not resumed; \`lifeboat run svc-slow\` starts a new backup" "$work/err" || fail "resume refusal: $(cat "$work/err")"

# 8. Filters and logs.
[ "$(lb -o json jobs list --kind backup --state succeeded | json 'print(len(d))')" = 1 ] || fail "jobs list --kind --state"
[ "$(lb -o json jobs list --service other | json 'print(len(d))')" = 0 ] || fail "jobs list --service"
[ "$(lb -o json jobs list --since 2999-01-01T00:00:00Z | json 'print(len(d))')" = 0 ] || fail "jobs list --since"
lb events --severity warning --since 1h | grep -q "job_cancelled" || fail "events --severity --since"
[ -z "$(lb events --severity critical)" ] || fail "events --severity critical shows others"
lb jobs logs "$cancelled" | grep -q "warning job_cancelled: " || fail "jobs logs lacks the job's event"

# 9. Each error once: a failed restore prints its error once, and no log line repeats it.
echo "in the way" > "$work/b/blocked"
[ "$(rc lb restore svc "$p1" --destination /blocked --yes)" != 0 ] || fail "a restore into a file succeeded"
[ "$(grep -c "error:" "$work/err")" = 1 ] || fail "the error is not printed once: $(cat "$work/err")"
! grep -q '\[warning\]\|\[info\]' "$work/err" || fail "log lines repeat the error: $(cat "$work/err")"
failed="$(lb -o json jobs list --kind restore | json 'print(d[-1]["id"])')"
lb -o json events --job "$failed" | json 'assert len(d) == 1 and d[0]["kind"] in ("restore_failed", "job_parked"), d'

# doctor names each problem once (it printed a component's twice, and a log line a third time).
mv "$work/b" "$work/b.away"
[ "$(rc lb doctor)" = 1 ] || fail "doctor with a lost root did not exit 1: $(cat "$work/out")"
[ "$(cat "$work/out" "$work/err" | grep -c "No such file or directory")" = 1 ] \
  || fail "doctor repeats a problem: $(cat "$work/out" "$work/err")"
mv "$work/b.away" "$work/b"

# 10. Completion.
lb completion bash > "$work/complete.bash"
bash -c "
source '$work/complete.bash'
COMP_WORDS=(lifeboat jobs ''); COMP_CWORD=2; _lifeboat
printf '%s\n' \"\${COMPREPLY[@]}\"" > "$work/words"
for w in list show logs resume cancel; do grep -qx "$w" "$work/words" || fail "completion of 'jobs' lacks $w: $(cat "$work/words")"; done
bash -c "
source '$work/complete.bash'
COMP_WORDS=(lifeboat jobs list --s); COMP_CWORD=3; _lifeboat
printf '%s\n' \"\${COMPREPLY[@]}\"" > "$work/words"
grep -qx -- "--service" "$work/words" && grep -qx -- "--state" "$work/words" && grep -qx -- "--since" "$work/words" \
  || fail "completion of 'jobs list --s': $(cat "$work/words")"
lb completion zsh | grep -q "compdef _lifeboat lifeboat" || fail "no zsh completion"
if command -v zsh >/dev/null; then lb completion zsh | zsh -n || fail "the zsh completion does not parse"; fi

# 11. The audit trail.
lb audit --since 1h | grep -q "apply" || fail "lifeboat audit lacks the apply"
lb -o json audit --limit 1 | json 'assert len(d) == 1, d'

# 12. The same against the daemon: exit codes, output, and an expired token (--ttl).
lb token create viewer --role viewer --out "$work/viewer.token" >/dev/null
lb token create admin --role admin --out "$work/admin.token" >/dev/null
lb token create brief --role viewer --ttl 1s --out "$work/brief.token" | grep -q "expires 20" || fail "no expiry shown"
lb token list | grep -E "^brief " | grep -q " 20[0-9-]*T" || fail "token list lacks the expiry"
# -o json of a token written to a file: its record, the file instead of the secret.
lb -o json token create scripted --role viewer --out "$work/scripted.token" | json "
assert d['name'] == 'scripted' and d['role'] == 'viewer' and d['file'] == '$work/scripted.token', d
assert 'token' not in d and open(d['file']).read().strip() not in json.dumps(d), d"
"$bin" --plugin-dir "$plugins" --state-dir "$work/state" daemon --listen 127.0.0.1:0 \
  --health-interval 0 >"$work/daemon.out" 2>"$work/daemon.log" &
daemon_pid=$!
url=""
for _ in $(seq 1 100); do
  url="$(grep -o 'http://127.0.0.1:[0-9]*' "$work/daemon.log" | head -n 1 || true)"
  [ -n "$url" ] && break
  kill -0 "$daemon_pid" 2>/dev/null || fail "the daemon exited: $(cat "$work/daemon.log")"
  sleep 0.1
done
[ -n "$url" ] || fail "the daemon did not say where it listens"
as() { local who="$1"; shift; "$bin" --server "$url" --token-file "$work/$who.token" "$@"; }
[ "$(rc as admin apply -f "$work/bad.yaml")" = 2 ] || fail "over HTTP a malformed file is not 2"
[ "$(rc as viewer points list ghost)" = 3 ] || fail "over HTTP points list ghost is not 3"
[ "$(rc as admin jobs resume "$cancelled")" = 4 ] || fail "over HTTP resuming a cancelled job is not 4"
[ "$(rc as viewer run svc-daily)" = 4 ] || fail "over HTTP a viewer's run is not refused (4)"
[ "$(rc as viewer jobs list --state broken)" = 2 ] || fail "over HTTP a bad --state is not 2"
as viewer -o json jobs show "$job1" | json "
import json as j
assert d == j.load(open('$work/run.json')), 'the record differs over HTTP'"
sleep 1.1  # brief's 1 s has surely passed (the steps since may take less)
[ "$(rc as brief jobs list)" = 4 ] || fail "an expired token was let in"
grep -q "token 'brief' expired at 20" "$work/err" || fail "the expiry is not explained: $(cat "$work/err")"
# jobs show --watch follows a job the daemon runs to its end, and exits with its code.
head -c $((4 * 1024 * 1024)) /dev/urandom > "$work/a/data/big3"
as admin run svc-slow >/dev/null 2>&1 &
runner=$!
running=""
for _ in $(seq 1 100); do
  running="$(as viewer -o json jobs list --state pending,running | json 'print(d[-1]["id"] if d else "")')"
  [ -n "$running" ] && break
  sleep 0.1
done
[ -n "$running" ] || fail "the slow run was not seen running"
as viewer jobs show --watch "$running" > "$work/watch.txt" || fail "jobs show --watch: $(cat "$work/watch.txt")"
wait "$runner" || fail "the slow run failed"
grep -Eq '^state +running' "$work/watch.txt" || fail "watch did not start on a running job: $(cat "$work/watch.txt")"
grep -Eq '^state +succeeded' "$work/watch.txt" || fail "watch did not follow to the end: $(cat "$work/watch.txt")"
grep -Eq 'T[0-9:]{8}Z  running transfer' "$work/watch.txt" || fail "watch printed no progress line: $(cat "$work/watch.txt")"
curl -fsS -H "Authorization: Bearer $(cat "$work/viewer.token")" "$url/metrics" > "$work/metrics.txt"
grep -q '^lifeboat_jobs{kind="restore",state="succeeded"} 0$' "$work/metrics.txt" || fail "dry runs are counted in /metrics"
grep -q '^lifeboat_job_duration_seconds_count{kind="backup",policy="svc-daily"} 1$' "$work/metrics.txt" || fail "no duration histogram"
grep -q '^lifeboat_policy_last_success_timestamp_seconds{policy="svc-daily",service="svc"} ' "$work/metrics.txt" || fail "no last success time"
kill -TERM "$daemon_pid"
wait "$daemon_pid" || fail "the daemon exited non-zero on SIGTERM"
daemon_pid=""
echo "cli_conventions_test: all checks passed"
