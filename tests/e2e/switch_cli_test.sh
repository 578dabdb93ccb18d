#!/usr/bin/env bash
# Roles and switches through the CLI (in-process, embedded agents): endpoints and roles,
# failover --dry-run changes nothing, a failover moves roles and endpoints and applies the
# newest point on the secondary, the old primary is fenced (restoring into it is refused),
# failback copies only what changed on the secondary, doctor, and bad input (unknown
# service: exit 3; SERVICE and --cluster together: exit 2).
# Usage: switch_cli_test.sh LIFEBOAT_BINARY PLUGIN_DIR
set -euo pipefail
bin="$1"
plugins="$2"
work="$(mktemp -d /tmp/lifeboat-switch-XXXXXX)"
cleanup() {
  # A fence may have made files immutable; lift it so the directory can go.
  command -v chattr >/dev/null && chattr -R -i "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
lb() { "$bin" --plugin-dir "$plugins" --state-dir "$work/state" "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

mkdir -p "$work/a/data" "$work/b"
head -c $((8 * 1024 * 1024)) /dev/urandom > "$work/a/data/big"
echo "v1" > "$work/a/data/small"
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
endpoints:
  - {cluster: a, name: api, address: "http://a.example:8080"}
  - {cluster: b, name: api, address: "http://b.example:8080"}
---
kind: Policy
name: svc-hourly
service: svc
schedule: {interval: 1h}
YAML
lb apply -f "$work/p.yaml" >/dev/null
lb run svc-hourly >/dev/null 2>&1 || fail "the first backup failed"

[ "$(lb -o json endpoints svc | json 'print(d["active_cluster"])')" = a ] || fail "not active on a"
lb roles svc | grep -q "epoch     1" || fail "roles do not start at epoch 1"

# Bad input.
set +e
lb failover nope >/dev/null 2>&1; rc=$?
[ "$rc" -eq 3 ] || fail "failover of an unknown service exited $rc, wanted 3"
lb failover svc --cluster a >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || fail "SERVICE with --cluster exited $rc, wanted 2"
set -e

# A dry run lists the steps and changes nothing.
out="$(lb failover svc --dry-run)"
for step in stop-backups fence unfence apply swap; do
  echo "$out" | grep -q "would .* $step " || fail "the dry run does not list $step: $out"
done
[ "$(lb -o json roles svc | json 'print(d.get("epoch", "1"))')" = 1 ] || fail "a dry run moved roles"
[ ! -e "$work/b/data" ] || fail "a dry run applied data"

# The failover.
lb failover svc --reason drill --yes >/dev/null || fail "the failover failed"
[ "$(lb -o json endpoints svc | json 'print(d["active_cluster"])')" = b ] || fail "not active on b"
lb endpoints svc | grep -q "http://b.example:8080" || fail "the endpoint is not b's"
cmp "$work/a/data/big" "$work/b/data/big" || fail "the point was not applied on b"
set +e
lb restore svc "$(lb -o json points list svc | json 'print(d[-1]["id"])')" --cluster a --yes \
  >/dev/null 2>"$work/refused.log"; rc=$?
set -e
[ "$rc" -ne 0 ] || fail "restoring into the fenced old primary was allowed"
grep -qi "fence" "$work/refused.log" || fail "the refusal does not say fenced: $(cat "$work/refused.log")"
# doctor names the plugin's version and which cluster holds fenced data sets: a, the old primary.
doctor="$(lb doctor)" || true
echo "$doctor" | grep -qE "^  localfs +HEALTHY version [0-9]" ||
  fail "doctor does not show the plugin's version: $doctor"
fenced="$(echo "$doctor" | awk '/^[^ ]/ {c = $1} /data set\(s\) fenced/ {print c}' | tr '\n' ' ')"
[ "$fenced" = "a " ] || fail "doctor should show a (only) with a fenced data set, shows '$fenced': $doctor"

# The service runs on b and changes a little; failback copies only that.
echo "v2 written on b" > "$work/b/data/small"
out="$(lb failback svc --yes)" || fail "the failback failed: $out"
echo "$out" | grep -E "replicate +job-[0-9]+: point [^,]+, ([0-9]+) bytes copied" >/dev/null ||
  fail "the failback does not report what it copied: $out"
copied="$(echo "$out" | sed -nE 's/.* replicate +job-[0-9]+: point [^,]+, ([0-9]+) bytes copied.*/\1/p')"
[ "$copied" -lt 4096 ] || fail "the failback copied $copied bytes, not just the change"
echo "failback copied $copied bytes (the file changed on b), not the 8 MiB file"
[ "$(cat "$work/a/data/small")" = "v2 written on b" ] || fail "the change did not come back to a"
[ "$(lb -o json endpoints svc | json 'print(d["active_cluster"])')" = a ] || fail "not active on a again"
lb roles svc | grep -q "epoch     3" || fail "roles are not at epoch 3"
doctor="$(lb doctor)" || fail "doctor says a cluster is unhealthy: $doctor"
fenced="$(echo "$doctor" | awk '/^[^ ]/ {c = $1} /data set\(s\) fenced/ {print c}' | tr '\n' ' ')"
[ "$fenced" = "b " ] || fail "after failback b (only) should be fenced, doctor shows '$fenced': $doctor"
echo "switch e2e: OK"
