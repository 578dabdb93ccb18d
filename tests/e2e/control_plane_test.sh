#!/usr/bin/env bash
# The control plane end to end, with real processes: lifeboatd and two lifeboat-agents (mutual
# TLS, certificates made here with the openssl CLI), each in a network namespace of its own
# joined to lifeboatd's by a veth pair (or, where `ip netns add` is not allowed, on loopback
# ports — the output says which).
#   1. tokens (lifeboat token create), lifeboatd, the agents; apply a service of two localfs
#      data sets and a policy through the API; a first backup; doctor: both healthy.
#   2. a second backup; mid-transfer the primary's agent is SIGKILLed and its link cut:
#      lifeboatd keeps serving (/healthz), reports the primary unreachable (health, events).
#   3. failover: refused to an operator, a dry run changes nothing, the real one moves the
#      roles; the endpoint lookup names the secondary.
#   4. the service changes on the secondary; the old primary's agent comes back: it is fenced
#      at once (the owed fence is paid) and stays secondary.
#   5. failback: first refused, naming the write a took after its last point (the file the lost
#      backup was carrying); a unfenced and the file saved, then only the change is copied (the
#      replicate step's bytes are printed); the
#      endpoint lookup names the primary again.
#   6. push mode (policy `transfer: push`): b's route to a is cut, so b cannot open a connection
#      to a; a backup still lands on b — a's agent connects to b's and sends the bytes. SIGTERM
#      stops every process cleanly (exit 0).
# Bulk data goes agent to agent through the peer stream (agent.v1.Read): each cluster's config
# says `peer_access: stream`, and each agent runs in a mount namespace of its own where the
# other cluster's root is hidden under an empty tmpfs (where `unshare -m` is allowed), so no
# byte can come by path. The agents' namespaces are joined by a veth pair of their own.
# Usage: control_plane_test.sh LIFEBOAT LIFEBOATD LIFEBOAT_AGENT PLUGIN_DIR
set -euo pipefail
bin="$1"
lifeboatd="$2"
agent_bin="$3"
plugins="$4"
work="$(mktemp -d /tmp/lifeboat-e2e-cp-XXXXXX)"
id=$(($$ % 100000))
ns_c="lbc$id" ns_a="lba$id" ns_b="lbb$id"
netns=0
pids=()
started=$(date +%s)

cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$netns" = 1 ]; then
    for n in "$ns_c" "$ns_a" "$ns_b"; do ip netns del "$n" 2>/dev/null || true; done
  fi
  # A fence may have made files immutable; lift it so that the directory can go.
  command -v chattr >/dev/null && chattr -R -i "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in lifeboatd.log agent-a.log agent-b.log; do
    [ -f "$work/$f" ] && { echo "--- $f" >&2; tail -n 25 "$work/$f" >&2; }
  done
  exit 1
}
step() { echo "[$(($(date +%s) - started))s] $*"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }
# Runs a command where lifeboatd is (its namespace, or here).
at_ctl() { if [ "$netns" = 1 ]; then ip netns exec "$ns_c" "$@"; else "$@"; fi; }
as() { local role="$1"; shift; at_ctl "$bin" --server "$url" --token-file "$work/$role.token" "$@"; }
api() { local role="$1" path="$2"; shift 2; at_ctl curl -fsS -H @"$work/$role.header" "$@" "$url$path"; }
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local limit="$1" what="$2"; shift 2
  local end=$(($(date +%s) + limit))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || fail "waited ${limit}s for: $what"
    sleep 0.2
  done
}

# ---- network: three namespaces, lifeboatd's joined to each agent's by a veth pair ----------
# LIFEBOAT_E2E_NO_NETNS=1 takes the loopback path even where namespaces work.
if [ "${LIFEBOAT_E2E_NO_NETNS:-0}" != 1 ] && ip netns add "$ns_c" 2>/dev/null; then
  netns=1
  ip netns add "$ns_a"
  ip netns add "$ns_b"
  for n in "$ns_c" "$ns_a" "$ns_b"; do ip -n "$n" link set lo up; done
  ip link add "vca$id" netns "$ns_c" type veth peer name "vac$id" netns "$ns_a"
  ip link add "vcb$id" netns "$ns_c" type veth peer name "vbc$id" netns "$ns_b"
  ip -n "$ns_c" addr add 10.77.1.1/24 dev "vca$id"
  ip -n "$ns_a" addr add 10.77.1.2/24 dev "vac$id"
  ip -n "$ns_c" addr add 10.77.2.1/24 dev "vcb$id"
  ip -n "$ns_b" addr add 10.77.2.2/24 dev "vbc$id"
  for l in "$ns_c vca$id" "$ns_a vac$id" "$ns_c vcb$id" "$ns_b vbc$id"; do
    set -- $l
    ip -n "$1" link set "$2" up
  done
  # Agent to agent (the peer stream): a pair of their own, and a host route to the other's
  # agent address through it.
  ip link add "vab$id" netns "$ns_a" type veth peer name "vba$id" netns "$ns_b"
  ip -n "$ns_a" addr add 10.77.3.1/24 dev "vab$id"
  ip -n "$ns_b" addr add 10.77.3.2/24 dev "vba$id"
  ip -n "$ns_a" link set "vab$id" up
  ip -n "$ns_b" link set "vba$id" up
  ip -n "$ns_a" route add 10.77.2.2/32 dev "vab$id"
  ip -n "$ns_b" route add 10.77.1.2/32 dev "vba$id"
  addr_a=10.77.1.2 addr_b=10.77.2.2
  step "network: namespaces $ns_c (lifeboatd), $ns_a (agent a), $ns_b (agent b), veth pairs (c-a, c-b, a-b)"
else
  addr_a=127.0.0.1 addr_b=127.0.0.1
  step "network: no network namespaces ('ip netns add' refused, or LIFEBOAT_E2E_NO_NETNS=1):" \
    "FALLING BACK to loopback ports (the primary's agent is killed; there is no link to cut)"
fi

# ---- certificates, with the openssl CLI as docs/operations.md shows -----------------------
pki="$work/pki"
mkdir -p "$pki"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=lifeboat e2e CA" -keyout "$pki/ca.key" -out "$pki/ca.pem" 2>/dev/null
cert() {  # cert NAME SAN EXTENDED_KEY_USAGE
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
    -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=%s\n%s\n' \
    "$3" "${2:+subjectAltName=$2}" > "$pki/$1.ext"
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
    -CAcreateserial -days 2 -extfile "$pki/$1.ext" -out "$pki/$1.pem" 2>/dev/null
  chmod 600 "$pki/$1.key"
}
# Agents serve (serverAuth) and call each other for the peer stream (clientAuth).
cert agent-a "IP:$addr_a,DNS:agent-a" serverAuth,clientAuth
cert agent-b "IP:$addr_b,DNS:agent-b" serverAuth,clientAuth
cert lifeboatd "" clientAuth
step "pki: a CA, agent-a and agent-b certificates (server and client), a lifeboatd client certificate"

# ---- the clusters' data and the configuration ---------------------------------------------
mkdir -p "$work/a/sales/2026" "$work/a/meta" "$work/b"
for i in $(seq 1 8); do head -c 131072 /dev/urandom > "$work/a/sales/2026/part-$i"; done
printf 'id,amount\n1,10\n' > "$work/a/sales/orders.csv"
echo '{"v": 1}' > "$work/a/meta/schema.json"

# Each agent in a mount namespace of its own, the other cluster's root hidden (empty tmpfs).
if unshare -m --propagation private true 2>/dev/null; then
  hide=1
  step "mount namespaces: each agent sees only its own cluster's root"
else
  hide=0
  step "mount namespaces: 'unshare -m' refused; the roots stay visible (peer_access: stream" \
    "still sends every byte through the agents)"
fi
start_agent() {  # start_agent NAME ADDRESS PORT
  local name="$1" address="$2" port="$3" ns other
  [ "$name" = a ] && ns="$ns_a" other=b || ns="$ns_b" other=a
  local cmd=("$agent_bin" --cluster-file "$work/clusters.yaml" --cluster "$name"
    --listen "$address:$port" --plugin-dir "$plugins" --tls-ca "$pki/ca.pem"
    --tls-cert "$pki/agent-$name.pem" --tls-key "$pki/agent-$name.key" --allow-client lifeboatd
    --allow-client "agent-$other")
  if [ "$hide" = 1 ]; then
    cmd=(unshare -m --propagation private sh -c \
      'mount -t tmpfs -o size=1m,mode=0 lifeboat-hidden "$0" && exec "$@"' "$work/$other" "${cmd[@]}")
  fi
  if [ "$netns" = 1 ]; then cmd=(ip netns exec "$ns" "${cmd[@]}"); fi
  "${cmd[@]}" >>"$work/agent-$name.log" 2>&1 &
  eval "agent_${name}_pid=$!"
  pids+=($!)
}
agent_port() {  # the port an agent printed, once it listens
  sed -nE "s/^lifeboat-agent: cluster $1 on [^ ]*:([0-9]+) .*/\\1/p" "$work/agent-$1.log" | tail -n 1
}
clusters_yaml() {  # clusters_yaml PORT_A PORT_B (0: not known yet, no agent address)
  echo "kind: Cluster"
  echo "name: a"
  [ "$1" = 0 ] || echo "agent: {address: \"$addr_a:$1\"}"
  echo "components: [{component: localfs, config: {root: \"$work/a\", peer_access: stream}}]"
  echo "---"
  echo "kind: Cluster"
  echo "name: b"
  [ "$2" = 0 ] || echo "agent: {address: \"$addr_b:$2\"}"
  echo "components: [{component: localfs, config: {root: \"$work/b\", peer_access: stream}}]"
}

# The agents read their cluster from the same YAML lifeboatd applies. On loopback the ports
# are the system's choice: start, read the ports, then write the addresses in.
if [ "$netns" = 1 ]; then port_a=7443 port_b=7443; else port_a=0 port_b=0; fi
clusters_yaml "$port_a" "$port_b" > "$work/clusters.yaml"
# Bad input is refused before anything listens: no TLS material (2), plain TCP off loopback
# (2), a file of two clusters without --cluster (2, bad input), an unknown cluster (3);
# lifeboatd without agent TLS and without --embedded (2).
bad() {  # bad WANTED_EXIT WHAT COMMAND...
  local want="$1" what="$2" rc=0; shift 2
  "$@" >/dev/null 2>"$work/bad.err" || rc=$?
  [ "$rc" -eq "$want" ] || fail "$what: exit $rc, wanted $want: $(cat "$work/bad.err")"
}
bad 2 "agent without TLS" "$agent_bin" --cluster-file "$work/clusters.yaml" --cluster a \
  --listen 127.0.0.1:0
bad 2 "plain TCP off loopback" "$agent_bin" --cluster-file "$work/clusters.yaml" --cluster a \
  --listen 0.0.0.0:0 --insecure-plaintext
bad 2 "two clusters, none chosen" "$agent_bin" --cluster-file "$work/clusters.yaml" \
  --listen 127.0.0.1:0 --insecure-plaintext
bad 3 "an unknown cluster" "$agent_bin" --cluster-file "$work/clusters.yaml" --cluster nope \
  --listen 127.0.0.1:0 --insecure-plaintext
bad 2 "lifeboatd without agent TLS" "$lifeboatd" --state-dir "$work/nostate" \
  --listen 127.0.0.1:0
step "bad input refused: agent without TLS, plain TCP off loopback, ambiguous or unknown cluster"

start_agent a "$addr_a" "$port_a"
start_agent b "$addr_b" "$port_b"
agent_listens() { [ -n "$(agent_port "$1")" ]; }
wait_for 20 "agent a listens" agent_listens a
wait_for 20 "agent b listens" agent_listens b
port_a="$(agent_port a)" port_b="$(agent_port b)"
clusters_yaml "$port_a" "$port_b" > "$work/clusters.yaml"
grep -q "component localfs: plugin localfs" "$work/agent-a.log" || fail "agent a has no localfs"
step "agents: a on $addr_a:$port_a, b on $addr_b:$port_b (mutual TLS; allowed CNs: lifeboatd and the peer agent)"

cat > "$work/service.yaml" <<YAML
kind: Service
name: svc
primary: a
secondary: b
data_sets: [localfs:/sales, localfs:/meta]
endpoints:
  - {cluster: a, name: api, address: "http://a.example:8080"}
  - {cluster: b, name: api, address: "http://b.example:8080"}
---
kind: Policy
name: svc-daily
service: svc
schedule: {cron: "0 3 * * *"}
rpo: 1d
retention: {keep: 5}
bandwidth: 4MB/s
sync_security: true
YAML

# ---- lifeboatd, with tokens made before it holds the state directory ----------------------
for role in viewer operator admin; do
  "$bin" --state-dir "$work/state" token create "$role-1" --role "$role" \
    --out "$work/$role.token" >/dev/null
  printf 'Authorization: Bearer %s\n' "$(cat "$work/$role.token")" > "$work/$role.header"
  chmod 600 "$work/$role.header"
done
lbd=("$lifeboatd" --state-dir "$work/state" --listen 127.0.0.1:0 --plugin-dir "$plugins"
  --agent-tls-ca "$pki/ca.pem" --agent-tls-cert "$pki/lifeboatd.pem"
  --agent-tls-key "$pki/lifeboatd.key" --health-interval 1)
if [ "$netns" = 1 ]; then lbd=(ip netns exec "$ns_c" "${lbd[@]}"); fi
"${lbd[@]}" >"$work/lifeboatd.out" 2>"$work/lifeboatd.log" &
lifeboatd_pid=$!
pids+=($lifeboatd_pid)
wait_for 20 "lifeboatd says where its API is" grep -q 'API on http://127.0.0.1:' "$work/lifeboatd.log"
url="$(grep -o 'http://127.0.0.1:[0-9]*' "$work/lifeboatd.log" | head -n 1)"
step "lifeboatd: API on $url (in $([ "$netns" = 1 ] && echo "namespace $ns_c" || echo "this namespace"))"

# ---- 1. configuration, a first backup, doctor ----------------------------------------------
as operator apply -f "$work/clusters.yaml" -f "$work/service.yaml" >/dev/null ||
  fail "apply through the API failed"
as operator run svc-daily >"$work/run1.out" 2>&1 || fail "the first backup failed: $(cat "$work/run1.out")"
rp1="$(as viewer -o json points list svc | json 'print(d[-1]["id"])')"
as viewer doctor >"$work/doctor1.out" || fail "doctor: $(cat "$work/doctor1.out")"
grep -qE "^a +healthy" "$work/doctor1.out" && grep -qE "^b +healthy" "$work/doctor1.out" ||
  fail "doctor does not find both clusters healthy: $(cat "$work/doctor1.out")"
grep -q "peer stream: cluster b reads from the agent of cluster a at $addr_a:$port_a" \
  "$work/agent-b.log" || fail "agent b did not read through the peer stream"
step "backup 1: point $rp1 on b, read by b's agent from a's (peer stream); doctor: a and b healthy"

# ---- 2. the primary is lost in the middle of a backup --------------------------------------
head -c $((24 * 1024 * 1024)) /dev/urandom > "$work/a/sales/2026/big"
job="$(api operator /v1/policies/svc-daily/run -X POST | json 'print(d["job_id"])')"
in_transfer() {
  api viewer "/v1/jobs/$job" | json '
p = d.get("progress", {})
assert p.get("phase") == "PHASE_TRANSFER" and p.get("bytes_done", 0) > 0, p'
}
wait_for 30 "backup $job transfers" in_transfer
kill -KILL "$agent_a_pid"
wait "$agent_a_pid" 2>/dev/null || true
if [ "$netns" = 1 ]; then ip -n "$ns_c" link set "vca$id" down; fi
step "backup 2 ($job) in transfer: agent a SIGKILLed$([ "$netns" = 1 ] && echo ", link vca$id down")"

api viewer /healthz | json 'assert d["status"] == "ok", d' || fail "lifeboatd stopped serving"
a_unreachable() {
  api viewer /v1/health | json '
s = {c["cluster"]: c.get("state") for c in d["clusters"]}
assert s.get("a") == "CLUSTER_UNREACHABLE" and s.get("b") == "CLUSTER_HEALTHY", s'
}
wait_for 30 "the health check reports a unreachable" a_unreachable
api viewer /v1/events | json '
kinds = [e["kind"] for e in d["events"]]
assert "primary_unreachable" in kinds, kinds' || fail "no primary_unreachable event"
set +e
as viewer doctor >"$work/doctor2.out"; rc=$?
set -e
[ "$rc" -eq 1 ] && grep -qE "^a +unreachable" "$work/doctor2.out" ||
  fail "doctor (exit $rc) does not say a is unreachable: $(cat "$work/doctor2.out")"
step "lifeboatd serves (/healthz ok); health and doctor: a unreachable, b healthy; event primary_unreachable"

# ---- 3. failover ---------------------------------------------------------------------------
set +e
as operator failover svc --yes >/dev/null 2>"$work/denied.err"; rc=$?
set -e
[ "$rc" -eq 4 ] && grep -q admin "$work/denied.err" ||
  fail "an operator's failover exited $rc: $(cat "$work/denied.err")"
as admin failover svc --dry-run >"$work/dry.out" || fail "the dry run failed: $(cat "$work/dry.out")"
grep -q "would .* fence " "$work/dry.out" || fail "the dry run lists no fence: $(cat "$work/dry.out")"
[ "$(as viewer -o json roles svc | json 'print(d.get("epoch", 1))')" = 1 ] || fail "a dry run moved roles"
as admin failover svc --reason "e2e: primary lost" --yes >"$work/failover.out" 2>&1 ||
  fail "the failover failed: $(cat "$work/failover.out")"
sed 's/^/    /' "$work/failover.out"
grep -q "owed" "$work/failover.out" || fail "the unreachable old primary's fence is not owed"
active="$(api viewer /v1/services/svc/endpoints | json 'print(d["active_cluster"], d["endpoints"][0]["address"])')"
[ "$active" = "b http://b.example:8080" ] || fail "the endpoint lookup answers '$active'"
[ "$(cat "$work/b/sales/orders.csv")" = "$(printf 'id,amount\n1,10')" ] ||
  fail "the newest point was not applied on b"
step "failover: operator refused, dry run changed nothing; endpoints -> $active"

# ---- 4. the service runs on b; the old primary comes back ----------------------------------
printf 'id,amount\n1,10\n2,20\n' > "$work/b/sales/orders.csv"
if [ "$netns" = 1 ]; then ip -n "$ns_c" link set "vca$id" up; fi
start_agent a "$addr_a" "$port_a"
fence_paid() {
  api viewer /v1/events | json '
assert any(e["kind"] == "fence_paid" for e in d["events"]), [e["kind"] for e in d["events"]]'
}
wait_for 40 "a answers again and is fenced" fence_paid
[ -f "$work/a/.lifeboat/fences/%2Fsales/FENCE" ] || fail "a's data set /sales carries no fence"
roles="$(as viewer -o json roles svc | json 'print(d["primary_cluster"], d["secondary_cluster"], d["epoch"], len(d.get("fence_owed", [])))')"
[ "$roles" = "b a 2 0" ] || fail "roles after a came back: '$roles' (primary secondary epoch owed)"
step "agent a is back: fenced at once (event fence_paid), roles: primary b, secondary a, epoch 2"

# ---- 5. failback: first what a took after its last point, then only the delta ------------------
# a took 2026/big after rp1 (the backup that would have carried it was cut short by the loss):
# the failback's check finds it and parks, naming it, before anything moves. The operator
# lifts a's fence, saves the file out of the data set, and fails back again.
rc=0
as admin failback svc --yes >"$work/failback0.out" 2>&1 || rc=$?
[ "$rc" -eq 4 ] && grep -q "2026/big" "$work/failback0.out" ||
  fail "the failback did not stop at a's write after its last point (rc $rc): $(cat "$work/failback0.out")"
parked="$(as viewer -o json jobs list | json 'j = [j for j in d if j["kind"] == "JOB_FAILBACK"][-1]; assert j["state"] == "JOB_PARKED", j; print(j["id"])')"
as admin jobs cancel "$parked" >/dev/null
as admin unfence svc --cluster a --yes >"$work/unfence.out" 2>&1 || fail "unfence a: $(cat "$work/unfence.out")"
mv "$work/a/sales/2026/big" "$work/saved-big"
step "failback refused first: a's write after $rp1 (2026/big) named; a unfenced, the file saved"
total=$(du -sb "$work/b/sales" | cut -f1)
as admin failback svc --yes >"$work/failback.out" 2>&1 || fail "the failback failed: $(cat "$work/failback.out")"
sed 's/^/    /' "$work/failback.out"
copied="$(sed -nE 's/.* replicate +job-[0-9]+: point [^,]+, ([0-9]+) bytes copied.*/\1/p' "$work/failback.out")"
[ -n "$copied" ] || fail "the failback does not report the bytes it copied"
[ "$copied" -lt 65536 ] || fail "the failback copied $copied bytes, more than the change"
echo "    failback replicate copied $copied bytes (the changed orders.csv) of the $total bytes of /sales on b"
[ "$(cat "$work/a/sales/orders.csv")" = "$(printf 'id,amount\n1,10\n2,20')" ] ||
  fail "the change made on b did not come back to a"
active="$(api viewer /v1/services/svc/endpoints | json 'print(d["active_cluster"])')"
[ "$active" = a ] || fail "after the failback the endpoint lookup answers $active"
as viewer doctor >/dev/null || fail "doctor after the failback: $(as viewer doctor 2>&1)"
grep -q "peer stream: cluster a reads from the agent of cluster b at $addr_b:$port_b" \
  "$work/agent-a.log" || fail "agent a did not read the failback through the peer stream"
step "failback: $copied bytes copied (a's agent read them from b's); endpoints -> a; doctor: healthy"

# cut_route FROM TO: FROM's agent can no longer connect to TO's (its host route goes), shown
# by a TCP connect that fails; sets cut_note. On the loopback fallback nothing can be cut.
cut_route() {
  local from="$1" to="$2" ns dev dst port
  if [ "$netns" != 1 ]; then
    cut_note="loopback fallback: nothing to cut, $from could still reach $to"
    return
  fi
  if [ "$from" = a ]; then ns="$ns_a" dev="vab$id" dst="$addr_b" port="$port_b"
  else ns="$ns_b" dev="vba$id" dst="$addr_a" port="$port_a"; fi
  ip -n "$ns" route del "$dst/32" dev "$dev"
  if ip netns exec "$ns" timeout 3 bash -c "exec 3<>/dev/tcp/$dst/$port" 2>/dev/null; then
    fail "$from still reaches $to's agent after its route was cut"
  fi
  cut_note="$from's route to $to cut: $from cannot connect to $to"
}

# ---- 6. push mode: the reading side cannot reach the source ---------------------------------
cut_route b a
sed 's/^bandwidth: 4MB\/s$/bandwidth: 4MB\/s\ntransfer: push/' "$work/service.yaml" > "$work/push.yaml"
grep -q "^transfer: push" "$work/push.yaml" || fail "could not write the push policy"
as operator apply -f "$work/push.yaml" >/dev/null || fail "applying the push policy failed"
head -c 300000 /dev/urandom > "$work/a/sales/2026/pushed"
as operator run svc-daily >"$work/run-push.out" 2>&1 ||
  fail "the push-mode backup failed: $(cat "$work/run-push.out")"
newest="$work/b/.lifeboat/points/%2Fsales/$(cat "$work/b/.lifeboat/points/%2Fsales/CURRENT")"
cmp -s "$work/a/sales/2026/pushed" "$newest/tree/2026/pushed" ||
  fail "the pushed file did not land in b's newest point"
grep -qE "push session .* to cluster b .* stopped: [1-9][0-9]* reads" "$work/agent-a.log" ||
  fail "agent a did not push: $(grep -i push "$work/agent-a.log" | tail -n 3)"
# b holds a live /sales since the first failover, fenced since the failback: the job does not
# sync security into it (a demoted cluster refuses writes) and says why.
as viewer -o json jobs list | json '
j = [j for j in d if j.get("kind") == "JOB_BACKUP"][-1]
log = j.get("log", [])
assert any(l.startswith("security of localfs:/sales: not synced: it is fenced on b") for l in log), log
assert not any("security sync" in l and "failed" in l for l in log), log' ||
  fail "the push-mode backup into the fenced b did not skip its security sync"
step "push mode: $cut_note; a backup landed on b through a connection a's agent opened" \
  "($(grep -oE 'stopped: [1-9][0-9]* reads, [0-9]+ bytes' "$work/agent-a.log" | tail -n 1))"

# ---- 7. a push-mode failback: the old primary cannot reach the new one's agent ------------
# A planned failover to b and back with `transfer: push` in force: the failback's replicate
# steps read b -> a, and b's agent opens the connection to a's (a's route to b is cut).
[ "$netns" = 1 ] && ip -n "$ns_b" route add 10.77.1.2/32 dev "vba$id"
cut_route a b
as admin failover svc --reason "e2e: planned move" --yes >"$work/failover2.out" 2>&1 ||
  fail "the planned failover failed: $(cat "$work/failover2.out")"
printf 'id,amount\n1,10\n2,20\n3,30\n' > "$work/b/sales/orders.csv"
as admin failback svc --yes >"$work/failback2.out" 2>&1 ||
  fail "the push-mode failback failed: $(cat "$work/failback2.out")"
[ "$(cat "$work/a/sales/orders.csv")" = "$(printf 'id,amount\n1,10\n2,20\n3,30')" ] ||
  fail "the change made on b did not come back to a in push mode"
grep -qE "push session .* to cluster a .* stopped: [1-9][0-9]* reads" "$work/agent-b.log" ||
  fail "agent b did not push the failback: $(grep -i push "$work/agent-b.log" | tail -n 3)"
active="$(api viewer /v1/services/svc/endpoints | json 'print(d["active_cluster"])')"
[ "$active" = a ] || fail "after the push-mode failback the endpoint lookup answers $active"
step "push-mode failback: $cut_note; b's agent pushed the failback to a" \
  "($(grep -oE 'stopped: [1-9][0-9]* reads, [0-9]+ bytes' "$work/agent-b.log" | tail -n 1)); endpoints -> a"

# ---- clean exits ----------------------------------------------------------------------------
for p in "$lifeboatd_pid" "$agent_a_pid" "$agent_b_pid"; do kill -TERM "$p"; done
for p in "$lifeboatd_pid" "$agent_a_pid" "$agent_b_pid"; do
  rc=0
  wait "$p" || rc=$?
  [ "$rc" -eq 0 ] || fail "process $p exited $rc on SIGTERM"
done
pids=()
grep -q "lifeboat-agent: stopped" "$work/agent-b.log" || fail "agent b did not say it stopped"
step "SIGTERM: lifeboatd and both agents exited 0"
echo "control plane e2e: OK ($([ "$netns" = 1 ] && echo "network namespaces" || echo "loopback fallback"))"
