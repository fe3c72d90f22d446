#!/usr/bin/env bash
# Two builds side by side: parse-only, scan with BASE, scan with NEW, alternating in one run, so
# machine noise hits all three alike; prints the medians of wall and CPU (user + sys) time and
# each scan's ratio to the parse. CPU time is the steadier figure on a shared machine.
#
#   bench/ab.sh CORPUS RUNS BASE_BINARY NEW_BINARY
set -euo pipefail
corpus=$1; runs=$2; base=$3; new=$4
flags=(--no-default-excludes)
scan=(--format json --fail-on none -o /dev/null)
timing=$(mktemp); trap 'rm -f "$timing"' EXIT
measure() {
  /usr/bin/time -f "%e:%U:%S" -o "$timing" "$@" >/dev/null 2>&1
  python3 -c "w,u,s=open('$timing').read().split(':'); print(f'{w}:{float(u)+float(s):.2f}')"
}
p=(); b=(); n=()
for _ in $(seq "$runs"); do
  p+=("$(measure "$new" parse-only "$corpus" "${flags[@]}")")
  b+=("$(measure "$base" scan "$corpus" "${flags[@]}" "${scan[@]}")")
  n+=("$(measure "$new" scan "$corpus" "${flags[@]}" "${scan[@]}")")
done
python3 - "${p[*]}" "${b[*]}" "${n[*]}" "$corpus" <<'PY'
import statistics, sys
p, b, n = [[tuple(map(float, x.split(":"))) for x in a.split()] for a in sys.argv[1:4]]
for i, name in ((0, "wall"), (1, "cpu ")):
    mp, mb, mn = (statistics.median(x[i] for x in v) for v in (p, b, n))
    print(f"{sys.argv[4]} {name}: parse-only {mp:.2f}s  base {mb:.2f}s ({mb / mp:.2f}x)  new {mn:.2f}s ({mn / mp:.2f}x)")
PY
