#!/usr/bin/env bash
# Runs the walkthrough of docs/plugin-guide.md exactly as a vendor would type it: every
# ```sh block between the markers <!-- walkthrough:begin --> and <!-- walkthrough:end -->, in
# order, in one shell. What the guide tells a vendor is what CI runs (label sdk).
#
#   plugin_guide_walkthrough.sh <source dir> <build dir>
# The guide's commands use LIFEBOAT_SRC (a Lifeboat checkout), LIFEBOAT_BUILD (its build,
# done) and WORK (an empty directory of the vendor's).
set -euo pipefail
src="$(cd "$1" && pwd)"
build="$(cd "$2" && pwd)"
guide="$src/docs/plugin-guide.md"
work="$(mktemp -d "${TMPDIR:-/tmp}/lifeboat-walkthrough.XXXXXX")"
trap 'rm -rf "$work"' EXIT

script="$work/walkthrough.sh"
python3 - "$guide" "$script" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r'<!-- walkthrough:begin -->(.*?)<!-- walkthrough:end -->', text, re.S)
if not m:
    sys.exit("docs/plugin-guide.md has no walkthrough markers")
blocks = re.findall(r'```sh\n(.*?)```', m.group(1), re.S)
if len(blocks) < 4:
    sys.exit("the walkthrough has %d sh blocks; expected at least 4" % len(blocks))
with open(sys.argv[2], 'w') as out:
    out.write('set -euxo pipefail\n')
    for b in blocks:
        out.write(b + '\n')
PY
echo "walkthrough: $(grep -c . "$script") lines from $guide" >&2
export LIFEBOAT_SRC="$src" LIFEBOAT_BUILD="$build" WORK="$work/vendor"
mkdir -p "$WORK"
bash "$script"
echo "walkthrough: every step of the guide passed" >&2
