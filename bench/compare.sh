#!/usr/bin/env bash
# Benchmark: a full vibeward scan against a bare tree-sitter parse of the same files, side by side.
#
#   bench/compare.sh [CORPUS] [RUNS] [-- extra scan flags]
#
# CORPUS defaults to /tmp/vw-corpus/medium (built by ../shared/bench/make-corpus.sh when missing).
# VIBEWARD_BIN=path runs that binary instead of building this tree's release binary (to compare
# two builds back to back).
# Runs alternate (parse-only, scan, parse-only, scan, ...) so machine noise hits both alike, and the
# medians are compared. `parse-only` reads and parses exactly the JS/TS files the scan would analyse.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
corpus=${1:-/tmp/vw-corpus/medium}
runs=${2:-3}
shift $(( $# > 2 ? 2 : $# )) || true
[ "${1:-}" = "--" ] && shift
extra=("$@")
if [ ! -d "$corpus" ]; then
  bash "$here/../shared/bench/make-corpus.sh" "$(dirname "$corpus")"
fi
if [ -n "${VIBEWARD_BIN:-}" ]; then
  bin=$VIBEWARD_BIN
else
  cargo build --release --quiet --manifest-path "$here/Cargo.toml"
  bin="$here/target/release/vibeward"
fi
flags=(--no-default-excludes)

parse_times=(); scan_times=()
for _ in $(seq "$runs"); do
  t0=$EPOCHREALTIME; "$bin" parse-only "$corpus" "${flags[@]}" 2>/dev/null; t1=$EPOCHREALTIME
  parse_times+=("$(python3 -c "print(round($t1 - $t0, 3))")")
  t0=$EPOCHREALTIME
  "$bin" scan "$corpus" "${flags[@]}" "${extra[@]}" --format json --fail-on none -o /tmp/vw-bench.json
  t1=$EPOCHREALTIME
  scan_times+=("$(python3 -c "print(round($t1 - $t0, 3))")")
done
python3 - "$corpus" /tmp/vw-bench.json "${parse_times[*]}" "${scan_times[*]}" <<'PY'
import json, statistics, sys
corpus, report, parse, scan = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4].split()
p, s = statistics.median(map(float, parse)), statistics.median(map(float, scan))
summary = json.load(open(report))["summary"]
mb = summary["bytes_analysed"] / 1048576
files = summary["files_analysed"]
print(f"corpus            {corpus}")
print(f"files analysed    {files} ({mb:.1f} MB), parsed {summary['files_parsed']}, findings {summary['findings']}")
print(f"skipped           {summary['files_skipped']}")
print(f"parse-only        median {p:.2f}s  runs {' '.join(parse)}")
print(f"full scan         median {s:.2f}s  runs {' '.join(scan)}")
print(f"ratio scan/parse  {s / p:.2f}x")
print(f"throughput        {mb / s:.1f} MB/s, {files / s:.0f} files/s")
PY
