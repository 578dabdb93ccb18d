#!/usr/bin/env bash
# The web console in a real browser: headless Chromium (Debian's), driven by playwright-core
# from npm, against `lifeboatd --embedded` with the localfs plugin and real jobs. The checks
# are in console/console.test.mjs (node's test runner); this script installs the pinned npm
# packages into the build directory (npm ci, only when the lock file changed), makes the
# clusters, services, tokens and a first backup, starts the daemon, runs the browser tests,
# and checks that `lifeboat daemon --listen` serves the same page, over TLS.
# Screenshots of every page are left in BUILD_DIR/console-screenshots.
# Usage: console_test.sh LIFEBOAT LIFEBOATD PLUGIN_DIR BUILD_DIR
set -euo pipefail
bin="$1"
lifeboatd="$2"
plugins="$3"
build="$4"
here="$(cd "$(dirname "$0")" && pwd)"
chromium="${LIFEBOAT_CHROMIUM:-/usr/bin/chromium}"
work="$(mktemp -d /tmp/lifeboat-console-XXXXXX)"
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ]; then kill -TERM "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
  command -v chattr >/dev/null && chattr -R -i "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$work/daemon.log" ] && tail -n 30 "$work/daemon.log" >&2; exit 1; }
started=$(date +%s)

command -v node >/dev/null || fail "node is missing; tools/scripts/setup.sh installs it"
command -v npm >/dev/null || fail "npm is missing; tools/scripts/setup.sh installs it"
[ -x "$chromium" ] || fail "no Chromium at $chromium; tools/scripts/setup.sh installs Debian's"

# 1. The pinned driver and accessibility engine, into the build directory (never into the
#    source tree). --ignore-scripts: no package may fetch a browser of its own.
deps="$build/console-test"
if ! cmp -s "$here/console/package-lock.json" "$deps/package-lock.json" ||
   [ ! -d "$deps/node_modules/playwright-core" ] || [ ! -d "$deps/node_modules/axe-core" ]; then
  rm -rf "$deps" && mkdir -p "$deps"
  cp "$here/console/package.json" "$here/console/package-lock.json" "$deps/"
  (cd "$deps" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) ||
    fail "npm ci of the console tests' packages failed"
fi

# 2. Two clusters, two services: sales (backed up, within its RPO) and logs (never backed up:
#    its RPO is breached). Small chunks and a bandwidth cap make a backup take seconds, so that
#    its progress can be watched.
mkdir -p "$work/a/sales" "$work/a/logs" "$work/b"
for i in 1 2 3; do head -c $((i * 400000)) /dev/urandom > "$work/a/sales/f$i"; done
echo "first line" > "$work/a/logs/app.log"
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
name: sales
description: Orders and invoices
primary: a
secondary: b
data_sets: [localfs:/sales]
endpoints:
  - {cluster: a, name: api, address: "http://a.example:8080"}
  - {cluster: b, name: api, address: "http://b.example:8080"}
---
kind: Policy
name: sales-hourly
service: sales
schedule: {interval: 1h}
rpo: 1d
bandwidth: 3MiB/s
parallelism: 1
---
kind: Service
name: logs
primary: a
secondary: b
data_sets: [localfs:/logs]
---
kind: Policy
name: logs-hourly
service: logs
schedule: {interval: 1h}
rpo: 2h
YAML
lb() { "$bin" --plugin-dir "$plugins" --state-dir "$work/state" "$@"; }
lb apply -f "$work/p.yaml" >/dev/null || fail "apply failed"
lb run sales-hourly >/dev/null 2>&1 || fail "the first backup failed"
echo "second version" > "$work/a/sales/f1"
lb run sales-hourly >/dev/null 2>&1 || fail "the second backup failed"
for role in viewer operator admin; do
  lb token create "$role-1" --role "$role" --out "$work/$role.token" >/dev/null
done

# 3. lifeboatd, every cluster in-process, on any free loopback port.
"$lifeboatd" --plugin-dir "$plugins" --state-dir "$work/state" --listen 127.0.0.1:0 --embedded \
  >"$work/daemon.out" 2>"$work/daemon.log" &
daemon_pid=$!
url=""
for _ in $(seq 1 200); do
  url="$(grep -o 'http://127.0.0.1:[0-9]*' "$work/daemon.log" | head -n 1 || true)"
  [ -n "$url" ] && break
  kill -0 "$daemon_pid" 2>/dev/null || fail "lifeboatd exited"
  sleep 0.1
done
[ -n "$url" ] || fail "lifeboatd did not say where it listens"
setup_done=$(date +%s)

# 4. The browser tests.
shots="$build/console-screenshots"
rm -rf "$shots" && mkdir -p "$shots"
CONSOLE_URL="$url" CONSOLE_WORK="$work" CONSOLE_DEPS="$deps" CONSOLE_SHOTS="$shots" \
  CONSOLE_CHROMIUM="$chromium" CONSOLE_DAEMON_LOG="$work/daemon.log" \
  node --test --test-concurrency=1 "$here/console/console.test.mjs" || fail "the browser tests failed"
browser_done=$(date +%s)

# 5. `lifeboat daemon --listen` shares the API server, so it serves the same page; with the
#    API's TLS flags it serves it over HTTPS (a certificate made here for 127.0.0.1).
kill -TERM "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=""
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$work/tls.key" -out "$work/tls.pem" 2>/dev/null ||
  fail "openssl could not make the test certificate"
"$bin" --plugin-dir "$plugins" --state-dir "$work/state" daemon --listen 127.0.0.1:0 \
  --api-tls-cert "$work/tls.pem" --api-tls-key "$work/tls.key" >"$work/daemon.out" 2>"$work/daemon.log" &
daemon_pid=$!
url=""
for _ in $(seq 1 200); do
  url="$(grep -o 'https://127.0.0.1:[0-9]*' "$work/daemon.log" | head -n 1 || true)"
  [ -n "$url" ] && break
  kill -0 "$daemon_pid" 2>/dev/null || fail "lifeboat daemon exited"
  sleep 0.1
done
[ -n "$url" ] || fail "lifeboat daemon with --api-tls-cert did not say it listens on https"
curl -fsS --cacert "$work/tls.pem" -D "$work/headers" "$url/" -o "$work/index.html" ||
  fail "lifeboat daemon does not serve / over TLS"
grep -qi "^content-security-policy: default-src 'self'" "$work/headers" || fail "no CSP from lifeboat daemon"
grep -q 'src="/console/app.js"' "$work/index.html" || fail "lifeboat daemon's page is not the console"
curl -fsS --cacert "$work/tls.pem" "$url/console/app.js" -o /dev/null || fail "no console script over TLS"
code="$(curl -sS --cacert "$work/tls.pem" -o /dev/null -w '%{http_code}' "$url/v1/services")"
[ "$code" = 401 ] || fail "the API over TLS answered $code without a token, wanted 401"
echo "console e2e: OK (setup $((setup_done - started)) s, browser $((browser_done - setup_done)) s, total $(( $(date +%s) - started )) s; screenshots in $shots)"
