#!/usr/bin/env bash
# Start-up: `vibeward scan` of an empty directory (rules loaded, analyzers built, nothing to read)
# and of a directory holding one small Express handler (a fixture: the first file builds what it
# needs, the prefilter, taint and query tables), each binary in turn, alternating in one run;
# prints the medians of wall and CPU (user + sys) time. Issue 22's target: under 15 ms.
#
#   bench/startup.sh RUNS BINARY [BINARY ...]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=$1; shift
empty=$(mktemp -d); one=$(mktemp -d); out=$(mktemp -d); trap 'rm -rf "$empty" "$one" "$out"' EXIT
cp "$here/fixtures/injection/command-from-request.js" "$one/"
for _ in $(seq "$runs"); do
  n=0
  for bin in "$@"; do
    for dir in empty one; do
      /usr/bin/time -f "%e %U %S" -a -o "$out/$n.$dir" "$bin" scan "${!dir}" --fail-on none --format json -o /dev/null
    done
    n=$((n + 1))
  done
done
n=0
for bin in "$@"; do
  for dir in empty one; do
    python3 - "$out/$n.$dir" "$bin" "$dir" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l[:1].isdigit()]
wall = statistics.median(float(r[0]) for r in rows)
cpu = statistics.median(float(r[1]) + float(r[2]) for r in rows)
what = "empty directory" if sys.argv[3] == "empty" else "one small file "
print(f"{sys.argv[2]}: {what} wall {wall * 1000:.0f} ms, cpu {cpu * 1000:.0f} ms (median of {len(rows)})")
PY
  done
  n=$((n + 1))
done
