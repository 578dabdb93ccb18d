#!/usr/bin/env bash
# apply and deletes through the CLI (in-process), issue 11 findings 1, 8, 11 and 15:
#   a changed `primary:` never switches a service that has a point (refused, naming failover);
#   after a real failover the old file is accepted and says the roles stay; apply --dry-run
#   shows the difference and changes nothing; -f - and -f DIR; the same object in two files,
#   cron / time zone / RPO errors and clusters their plugin refuses, all at FILE:LINE:COLUMN;
#   a 17 MB file refused; cluster list, service list; points delete (never the newest without
#   --force), service and cluster deletes refused unless forced, delete -f.
# Usage: apply_cli_test.sh LIFEBOAT_BINARY PLUGIN_DIR
set -euo pipefail
bin="$1"
plugins="$2"
work="$(mktemp -d /tmp/lifeboat-apply-XXXXXX)"
cleanup() {
  # A failover fences the old primary's data (immutable or read-only); lift it first.
  command -v chattr >/dev/null && chattr -R -i "$work" 2>/dev/null || true
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
lb() { "$bin" --plugin-dir "$plugins" --state-dir "$work/state" "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }
# Runs lb, keeping its exit code in $rc and its output (both streams) in $out.
try() { set +e; out="$(lb "$@" 2>&1)"; rc=$?; set -e; }
# The exit code of bad input (INVALID_ARGUMENT, tools/lifeboat/cli.h); refusals are 4.
bad_input=2
expect_rc() { [ "$rc" -eq "$1" ] || fail "$2: exit $rc, wanted $1: $out"; }
has() { echo "$out" | grep -qF -- "$1" || fail "$2: no '$1' in: $out"; }

mkdir -p "$work/a/data" "$work/b" "$work/c"
echo "written on a" > "$work/a/data/f.txt"
clusters() {
  cat <<YAML
kind: Cluster
name: a
components: [{component: localfs, config: {root: "$work/a"}}]
---
kind: Cluster
name: b
components: [{component: localfs, config: {root: "$work/b"}}]
YAML
}
service() {  # PRIMARY SECONDARY
  printf -- '---\nkind: Service\nname: svc\nprimary: %s\nsecondary: %s\ndata_sets: [localfs:/data]\n' "$1" "$2"
}
policy() {  # RPO
  printf -- '---\nkind: Policy\nname: hourly\nservice: svc\nschedule: {interval: 1h}\nrpo: %s\n' "$1"
}
{ clusters; service a b; policy 2h; } > "$work/p.yaml"
{ clusters; service b a; policy 2h; } > "$work/swapped.yaml"

# ---- apply --dry-run before anything is stored, then apply -----------------------------------
try apply -f "$work/p.yaml" --dry-run
expect_rc 0 "a dry run of a new file"
has "service svc would be created (revision 1)" "the dry run does not say what it would create"
has "dry run: nothing was changed" "the dry run is not marked"
[ "$(lb -o json cluster list | json 'print(len(d))')" = 0 ] || fail "a dry run stored clusters"
lb apply -f "$work/p.yaml" >/dev/null
lb run hourly >/dev/null 2>&1 || fail "the first backup failed"

# ---- finding 1: primary: b in the file never switches the service ----------------------------
mkdir -p "$work/b/data"  # b has the directory too (as in the finding); b/data is empty
try apply -f "$work/swapped.yaml"
expect_rc 4 "changing primary: of a service with a point"
has "swapped.yaml:11:10: primary: service svc has 1 restore point(s); apply never switches its active side" \
  "the refusal does not say where and why"
has '`lifeboat failover svc`' "the refusal does not name the command to use"
[ "$(lb -o json roles svc | json 'print(d["primary_cluster"], d.get("epoch", "1"))')" = "a 1" ] ||
  fail "the roles moved: $(lb roles svc)"
try apply -f "$work/swapped.yaml" --dry-run
expect_rc 4 "the dry run of the same change"
lb run hourly >/dev/null 2>&1 || fail "the second backup failed"
src="$(lb -o json points list svc | json 'print(d[-1]["source_cluster"], d[-1]["target_cluster"])')"
[ "$src" = "a b" ] || fail "the next point went $src, wanted a b (the old primary stays the source)"

# ---- finding 15: the diff of a dry run ---------------------------------------------------------
{ clusters; service a b; policy 3h; } > "$work/p3.yaml"
try apply -f "$work/p3.yaml" --dry-run
expect_rc 0 "a dry run of a changed policy"
has "policy hourly would change (revision 1 -> 2)" "the dry run does not say what would change"
has "    - rpo: 2h" "the dry run does not show the old value"
has "    + rpo: 3h" "the dry run does not show the new value"
has "service svc unchanged (revision 1)" "the dry run does not list unchanged objects"
has "    roles: primary a, secondary b, epoch 1" "the dry run does not show the roles"
[ "$(lb -o json policy show hourly | json 'print(d["rpo_seconds"])')" = 7200 ] ||
  fail "the dry run changed the policy"
lb -o json apply -f "$work/p3.yaml" --dry-run |
  json 'o = [x for x in d["objects"] if x["kind"] == "policy"][0]; assert o["action"] == "changed" and o["changes"] == ["- rpo: 2h", "+ rpo: 3h"], o'

# ---- finding 15: -f - and -f DIR ----------------------------------------------------------------
policy 4h | lb apply -f - | grep -q "policy hourly applied (revision 2)" || fail "apply -f - failed"
mkdir -p "$work/conf"
clusters > "$work/conf/10-clusters.yaml"
{ service a b; policy 4h; } > "$work/conf/20-svc.yml"
echo "not yaml at all: [" > "$work/conf/README.txt"
try apply -f "$work/conf"
expect_rc 0 "apply -f DIR"
[ "$(echo "$out" | head -1)" = "cluster a unchanged (revision 1)" ] || fail "the directory's files are not in name order: $out"

# ---- finding 11: the same object twice, at both places ----------------------------------------
policy 5h > "$work/again.yaml"
try apply -f "$work/p.yaml" -f "$work/again.yaml"
expect_rc "$bad_input" "one policy in two files"
has "again.yaml:3:7: name: a Policy named 'hourly' is defined twice: here and at $work/p.yaml:16:7" \
  "the refusal does not name both places"
[ "$(lb -o json policy show hourly | json 'print(d["rpo_seconds"])')" = 14400 ] ||
  fail "one of the two definitions was applied"

# ---- finding 11: cron, time zone and RPO at the field ----------------------------------------
printf 'kind: Policy\nname: x\nservice: svc\nschedule: {cron: "61 * * * *"}\n' > "$work/cron.yaml"
try apply -f "$work/cron.yaml"
expect_rc "$bad_input" "a bad cron"
has "cron.yaml:4:18: schedule.cron: cron '61 * * * *': minute field '61' is out of range" "the cron error"
printf 'kind: Policy\nname: x\nservice: svc\nschedule:\n  cron: "0 * * * *"\n  time_zone: Mars/Base\n' > "$work/tz.yaml"
try apply -f "$work/tz.yaml"
expect_rc "$bad_input" "an unknown time zone"
has "tz.yaml:6:14: schedule.time_zone: unknown time zone 'Mars/Base'" "the time zone error"
printf 'kind: Policy\nname: x\nservice: svc\nschedule: {cron: "0 * * * *"}\nrpo: 30m\n' > "$work/rpo.yaml"
try apply -f "$work/rpo.yaml"
expect_rc "$bad_input" "an RPO the schedule cannot meet"
has "rpo.yaml:5:6: rpo: 30m is shorter than the 1h the schedule leaves between its runs" "the RPO error"
printf 'kind: Policy\nname: x\nservice: nope\nschedule: {interval: 1h}\n' > "$work/ref.yaml"
try apply -f "$work/ref.yaml"
expect_rc 3 "a policy of an unknown service"
has "ref.yaml:3:10: service: policy x: service 'nope' is not defined" "the reference error"

# ---- finding 8: clusters their plugin refuses ---------------------------------------------------
printf 'kind: Cluster\nname: x\ncomponents:\n  - component: localfs\n    config: {rooot: %s}\n' "$work/c" > "$work/rooot.yaml"
try apply -f "$work/rooot.yaml"
expect_rc "$bad_input" "a cluster with rooot"
has "rooot.yaml:5:13: components[0].config.root: cluster x, component localfs:" "the rooot error's place"
has "required field 'root' is missing" "the rooot error's reason"
printf 'kind: Cluster\nname: x\ncomponents:\n  - component: localfs\n    config: {root: %s/nowhere}\n' "$work" > "$work/noroot.yaml"
try apply -f "$work/noroot.yaml"
expect_rc "$bad_input" "a cluster whose root does not exist"
has "noroot.yaml:5:20: components[0].config.root:" "the missing root's place"
printf 'kind: Cluster\nname: x\ncomponents:\n  - {component: cassandra}\n' > "$work/noplugin.yaml"
try apply -f "$work/noplugin.yaml"
expect_rc 4 "a component without a plugin"
has "noplugin.yaml:4:17: components[0].component:" "the missing plugin's place"
has "put the plugin 'cassandra' in a trusted plugin directory" "what to do about a missing plugin"
[ "$(lb -o json cluster list | json 'print(len(d))')" = 2 ] || fail "a refused cluster was stored"

# ---- finding 11: a file over 16 MiB ----------------------------------------------------------
{ cat "$work/p.yaml"; printf '# '; head -c $((17 * 1000 * 1000)) /dev/zero | tr '\0' x; echo; } > "$work/big.yaml"
try apply -f "$work/big.yaml"
expect_rc "$bad_input" "a 17 MB file"
has "big.yaml: 17000" "the size refusal does not name the file and its size"
has "too large for a policy file (the limit is 16777216 bytes, 16 MiB)" "the size refusal"
set +e; out="$(lb apply -f - < "$work/big.yaml" 2>&1)"; rc=$?; set -e
expect_rc "$bad_input" "17 MB on standard input"
has "(stdin): " "the size refusal of standard input"

# ---- finding 15: cluster list, service list ---------------------------------------------------
try cluster list
expect_rc 0 "cluster list"
echo "$out" | grep -qE "^a +in-process +localfs +1$" || fail "cluster list: $out"
try service list
expect_rc 0 "service list"
echo "$out" | grep -qE "^svc +a +b +1 +1 +1 +1$" || fail "service list: $out"
[ "$(lb -o json service list | json 'print(d[0]["name"], d[0]["primary_cluster"])')" = "svc a" ] ||
  fail "service list -o json"

# ---- finding 8: points delete ---------------------------------------------------------------------
old="$(lb -o json points list svc | json 'print(d[0]["id"])')"
new="$(lb -o json points list svc | json 'print(d[-1]["id"])')"
try points delete svc "$new"
expect_rc 4 "deleting the newest point"
has "is the newest committed point on cluster b; retention never removes it. Give --force" "the newest's refusal"
try points delete svc "$old" --dry-run
expect_rc 0 "points delete --dry-run"
has "would delete restore point $old of service svc (expire 1 member on cluster b)" "the dry run of a point delete"
find "$work/b/.lifeboat" -name "$old" | grep -q . || fail "a dry run removed the point"
try points delete svc "$old"
expect_rc 0 "deleting an older point"
has "deleted restore point $old" "points delete says what it did"
[ -z "$(find "$work/b/.lifeboat" -name "$old")" ] || fail "the point is still on b"
[ "$(lb -o json points list svc | json "print([p['state'] for p in d if p['id'] == '$old'][0])")" = RP_EXPIRED ] ||
  fail "the deleted point is not recorded expired"

# ---- finding 8: service and cluster deletes ------------------------------------------------------
try cluster delete a
expect_rc 4 "deleting a cluster in use"
has "cluster a is used by service svc (as its primary)" "the cluster's refusal"
try service delete svc
expect_rc 4 "deleting a service with a policy and points"
has "service svc has 1 policy (hourly) that would go with it" "the service's refusal names its policy"
has "committed restore point" "the service's refusal names its points"
try service delete svc --dry-run --force
expect_rc 0 "service delete --dry-run --force"
has "would delete service svc" "the dry run of a service delete"
[ "$(lb -o json service list | json 'print(len(d))')" = 1 ] || fail "a dry run deleted the service"

# ---- after a real failover the old file is accepted and says the roles stay -----------------
fo=(failover svc --reason drill)
lb failover --help | grep -q -- "--yes" && fo+=(--yes)
lb "${fo[@]}" >/dev/null 2>&1 || fail "the failover failed"
try apply -f "$work/p3.yaml"
expect_rc 0 "the old file after a failover"
has "    roles: primary b, secondary a, epoch 2 — the file names a primary, but the service was switched (drill)" \
  "apply does not say the roles differ from the file"
has '`lifeboat failback svc`' "apply does not say how roles change"
[ "$(lb -o json roles svc | json 'print(d["primary_cluster"], d["epoch"])')" = "b 2" ] || fail "apply moved the roles"
echo "$(lb service list)" | grep -qE "^svc +b +a +2 " || fail "service list does not show the roles in effect: $(lb service list)"

# ---- delete -f ---------------------------------------------------------------------------------
mkdir -p "$work/c/x"
printf 'kind: Cluster\nname: c\ncomponents: [{component: localfs, config: {root: "%s"}}]\n---\nkind: Service\nname: other\nprimary: c\nsecondary: b\ndata_sets: [localfs:/x]\n---\nkind: Policy\nname: other-daily\nservice: other\nschedule: {interval: 1d}\n' "$work/c" > "$work/other.yaml"
lb apply -f "$work/other.yaml" >/dev/null
try delete -f "$work/other.yaml" --dry-run
expect_rc 0 "delete -f --dry-run"
has "would delete policy other-daily" "delete -f's dry run"
has "would delete cluster c" "delete -f's dry run"
[ "$(lb -o json cluster list | json 'print(len(d))')" = 3 ] || fail "a dry run deleted"
try delete -f "$work/other.yaml"
expect_rc 0 "delete -f"
[ "$(lb -o json cluster list | json 'print(sorted(c["name"] for c in d))')" = "['a', 'b']" ] ||
  fail "delete -f left: $(lb cluster list)"
echo "apply_cli_test: all checks passed"
