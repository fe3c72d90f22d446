#!/usr/bin/env bash
# A warm `--cache` re-scan against a plain (cold) scan of the same tree, alternating in one run;
# prints the medians and their ratio (issue 22's target: at most 0.1x).
#
#   bench/cache.sh CORPUS RUNS [BINARY]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
corpus=$1; runs=$2; bin=${3:-$here/target/release/vibeward}
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
scan=("$bin" scan "$corpus" --no-default-excludes --format json --fail-on none -o /dev/null)
"${scan[@]}" --cache="$dir"
seconds() { local t0=$EPOCHREALTIME; "$@" >/dev/null 2>&1; local t1=$EPOCHREALTIME; python3 -c "print(round($t1 - $t0, 3))"; }
cold=(); warm=()
for _ in $(seq "$runs"); do
  cold+=("$(seconds "${scan[@]}")")
  warm+=("$(seconds "${scan[@]}" --cache="$dir")")
done
python3 - "${cold[*]}" "${warm[*]}" "$corpus" <<'PY'
import statistics, sys
cold, warm = ([float(x) for x in a.split()] for a in sys.argv[1:3])
c, w = statistics.median(cold), statistics.median(warm)
print(f"{sys.argv[3]}: cold {c:.2f}s  warm {w:.2f}s  warm/cold {w / c:.2f}  runs {cold} {warm}")
PY
