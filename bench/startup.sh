#!/usr/bin/env bash
# Start-up: `vibeward scan` of an empty directory (rules loaded, analyzers built, nothing to read),
# each binary in turn, alternating in one run; prints the medians of wall and CPU (user + sys) time.
# Issue 22's target: under 15 ms.
#
#   bench/startup.sh RUNS BINARY [BINARY ...]
set -euo pipefail
runs=$1; shift
empty=$(mktemp -d); out=$(mktemp -d); trap 'rm -rf "$empty" "$out"' EXIT
for _ in $(seq "$runs"); do
  n=0
  for bin in "$@"; do
    /usr/bin/time -f "%e %U %S" -a -o "$out/$n" "$bin" scan "$empty" --fail-on none --format json -o /dev/null
    n=$((n + 1))
  done
done
n=0
for bin in "$@"; do
  python3 - "$out/$n" "$bin" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l[:1].isdigit()]
wall = statistics.median(float(r[0]) for r in rows)
cpu = statistics.median(float(r[1]) + float(r[2]) for r in rows)
print(f"{sys.argv[2]}: start-up wall {wall * 1000:.0f} ms, cpu {cpu * 1000:.0f} ms (median of {len(rows)})")
PY
  n=$((n + 1))
done
