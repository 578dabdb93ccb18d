# Sourced by the end-to-end tests that run on the rigs (tools/scripts/rig.sh): what each of them
# needs before its own steps — skipping or failing when a rig is not running, reading the rigs'
# endpoint files, WebHDFS by hand and the clean-up of an HDFS directory on both clusters.
#   . "$(dirname "$0")/lib/rig_env.sh"      (from tests/e2e; adjust the path elsewhere)
# Functions use the variables the caller sets: bin, plugins, work (lb), user (WebHDFS).

fail() { echo "FAIL: $*" >&2; exit 1; }

# require_rigs SYSTEM...: every rig named is running (LIFEBOAT_RIG_<SYSTEM> names its endpoint
# file), else exit 77 (ctest's SKIP_RETURN_CODE), or fail when LIFEBOAT_RIG_REQUIRED=1.
require_rigs() {
  local s var
  for s in "$@"; do
    var="LIFEBOAT_RIG_$(printf '%s' "$s" | tr '[:lower:]' '[:upper:]')"
    if [ -z "${!var:-}" ] || [ ! -f "${!var}" ]; then
      [ "${LIFEBOAT_RIG_REQUIRED:-0}" = 1 ] && fail "the $s rig is not running ($var)"
      echo "skipped: the $s rig is not running: tools/scripts/rig.sh start $*"
      exit 77
    fi
  done
}

# field FILE EXPR: a value of a rig's endpoint file, e.g. field "$LIFEBOAT_RIG_HDFS"
# '["clusters"]["primary"]["user"]'.
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; }

# hdfs_env: nn1/nn2 (NameNode HTTP), fs1/fs2 (hdfs:// URIs) and user of the HDFS rig.
hdfs_env() {
  nn1="$(field "$LIFEBOAT_RIG_HDFS" '["clusters"]["primary"]["namenode_http"]')"
  nn2="$(field "$LIFEBOAT_RIG_HDFS" '["clusters"]["secondary"]["namenode_http"]')"
  fs1="$(field "$LIFEBOAT_RIG_HDFS" '["clusters"]["primary"]["fs_uri"]')"
  fs2="$(field "$LIFEBOAT_RIG_HDFS" '["clusters"]["secondary"]["fs_uri"]')"
  user="$(field "$LIFEBOAT_RIG_HDFS" '["clusters"]["primary"]["user"]')"
}

# WebHDFS by hand. op METHOD NN PATH OP [EXTRA]; put NN PATH TEXT and putf NN PATH FILE (the
# two-step CREATE); get NN PATH (OPEN, redirect followed); exists NN PATH.
op() { curl -sf -X "$1" "http://$2/webhdfs/v1$3?op=$4&user.name=$user${5:-}"; }
_create_location() {
  curl -s -i -X PUT "http://$1/webhdfs/v1$2?op=CREATE&overwrite=true&user.name=$user" |
    tr -d '\r' | awk 'tolower($1) == "location:" {print $2}'
}
put() { printf '%s' "$3" | curl -sf -X PUT -T - "$(_create_location "$1" "$2")" >/dev/null; }
putf() { curl -sf -X PUT -T "$3" "$(_create_location "$1" "$2")" >/dev/null; }
get() { curl -sfL "http://$1/webhdfs/v1$2?op=OPEN&user.name=$user"; }
exists() { op GET "$1" "$2" GETFILESTATUS "" >/dev/null 2>&1; }

# hdfs_clean DIR: DIR's snapshots, DIR and the plugin's state of it, on both clusters.
hdfs_clean() {
  local nn s
  for nn in "$nn1" "$nn2"; do
    for s in $(op GET "$nn" "$1" GETSNAPSHOTLIST "" 2>/dev/null |
      python3 -c "import json,sys; [print(x['fullPath'].rsplit('/',1)[1]) for x in json.load(sys.stdin)['SnapshotList']]" 2>/dev/null); do
      op DELETE "$nn" "$1" DELETESNAPSHOT "&snapshotname=$s" >/dev/null || true
    done
    op DELETE "$nn" "$1" DELETE "&recursive=true" >/dev/null || true
    op DELETE "$nn" "/.lifeboat/state$1" DELETE "&recursive=true" >/dev/null || true
  done
}

# The CLI on the test's own state directory, and a JSON reader of stdin (`json 'print(d[0])'`).
lb() { "$bin" --plugin-dir "$plugins" --state-dir "$work/state" "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }
