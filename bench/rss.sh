#!/usr/bin/env bash
# Peak memory: maximum resident set size of `parse-only` and of a full `scan` of the same tree,
# alternating in one run; prints the medians and the difference (issue 22's target: the scan
# within 100 MiB of the parse, and flat as the repository grows).
#
#   bench/rss.sh CORPUS RUNS [BINARY]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
corpus=$1; runs=$2; bin=${3:-$here/target/release/vibeward}
flags=(--no-default-excludes)
out=$(mktemp); trap 'rm -f "$out"' EXIT
peak() { /usr/bin/time -f "%M" -o "$out" "$@" >/dev/null 2>&1 || true; cat "$out"; }
p=(); s=()
for _ in $(seq "$runs"); do
  p+=("$(peak "$bin" parse-only "$corpus" "${flags[@]}")")
  s+=("$(peak "$bin" scan "$corpus" "${flags[@]}" --format json --fail-on none -o /dev/null)")
done
python3 - "${p[*]}" "${s[*]}" "$corpus" <<'PY'
import statistics, sys
p, s = (statistics.median(int(x) for x in a.split()) / 1024 for a in sys.argv[1:3])
print(f"{sys.argv[3]}: peak RSS parse-only {p:.0f} MiB  scan {s:.0f} MiB  (+{s - p:.0f} MiB)")
PY
