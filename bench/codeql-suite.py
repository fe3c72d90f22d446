#!/usr/bin/env python3
"""Score a vibeward JSON report against CodeQL's JavaScript security query tests ("suite C").

Usage:
    vibeward scan SUITE --format json --fail-on none --no-default-excludes --output report.json
    python3 bench/codeql-suite.py SUITE report.json [--depth 2] [--misses] [--noisy]
                                  [--queries TaintedPath,Xss,...] [--families injection,code,...]

SUITE is a copy of `javascript/ql/test/query-tests/Security/CWE-*` folders of CodeQL (github/codeql, or
Semmle/ql around 2021), laid out with the CWE folders at its top (`SUITE/CWE-022/TaintedPath/...`): the
injection rules skip test paths, so the leading `ql/test/query-tests` components must go. See README,
Benchmarks, for the folders and the commit measured.

A flaw is an alert location of one of the selected queries: a row of the `#select` section of the query's
`.expected` file (a path query), or a row of the whole file (a plain query); its first column is the alert,
`file:line:col:line:col`, relative to the `.expected` file's folder. The default queries are those whose
alerts are remote-input injection, path traversal, XSS, code injection, open redirect, SSRF and prototype
pollution (DEFAULT_QUERIES); `--queries` picks others by `.expected` file stem.
A safe line is a code line marked `// OK` or `// GOOD` (`/* OK */` too; not `NOT OK`), at the end of the line
or on comment lines right above it, where no query of the suite expects an alert.

A flaw counts as found when a vibeward finding of one of the families (default: injection, code, sql, http)
starts on the alert line or has a related location there (a flow's source or sink); a safe line counts as
wrongly flagged under the same test.
Totals are printed per directory (the first --depth path parts under SUITE) and overall. --misses lists
every flaw not found (with the query that expects it), --noisy every safe line flagged.
Nothing is fetched. Standard library only (Python 3.11).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import defaultdict
import importlib.util

# the report-reading helpers are shared with the semgrep-style scorer next to this file
_spec = importlib.util.spec_from_file_location(
    "annotated_suite", os.path.join(os.path.dirname(os.path.abspath(__file__)), "annotated-suite.py")
)
assert _spec is not None and _spec.loader is not None
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)
group_of, resolve, line_text = _shared.group_of, _shared.resolve, _shared.line_text
print_table, print_lists = _shared.print_table, _shared.print_lists

DEFAULT_FAMILIES = "injection,code,sql,http"
DEFAULT_QUERIES = (
    "TaintedPath,ZipSlip,CommandInjection,ShellCommandInjectionFromEnvironment,"
    "Xss,XssWithAdditionalSources,ExceptionXss,ReflectedXss,ReflectedXssWithCustomSanitizer,StoredXss,"
    "SqlInjection,CodeInjection,HeuristicSourceCodeInjection,UnsafeDynamicMethodAccess,"
    "ClientSideUrlRedirect,ServerSideUrlRedirect,RequestForgery,"
    "PrototypePollutingAssignment,PrototypePollutingFunction,PrototypePollutingMergeCall"
)
EXTENSIONS = (".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts", ".vue", ".html", ".htm")
ALERT = re.compile(r"^\|\s*([^|:\s][^|:]*):(\d+):\d+:\d+:\d+\s*\|")
COMMENT = re.compile(r"//|/\*|<!--")
SAFE_MARK = re.compile(r"^\s*(OK|GOOD)\b")


def alerts(expected: str) -> set[tuple[str, int]]:
    """The (real path, line) of every alert row of one `.expected` file."""
    with open(expected, encoding="utf-8", errors="replace") as handle:
        lines = handle.read().split("\n")
    if "#select" in (line.strip() for line in lines):
        lines = lines[[line.strip() for line in lines].index("#select") + 1 :]
    elif any(line.strip() in ("nodes", "edges") for line in lines):
        return set()  # a path query without a #select section reports nothing
    base = os.path.dirname(expected)
    out = set()
    for line in lines:
        row = ALERT.match(line)
        if row:
            out.add((os.path.realpath(os.path.join(base, row.group(1).strip())), int(row.group(2))))
    return out


def safe_lines(path: str) -> set[int]:
    """Line numbers (1-based) of code lines the test marks OK or GOOD."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().split("\n")
    except OSError:
        return set()
    out: set[int] = set()
    pending = False
    for number, text in enumerate(lines, start=1):
        comment = COMMENT.search(text)
        code = text[: comment.start()] if comment else text
        marked = bool(comment and SAFE_MARK.match(text[comment.end() :]))
        if not code.strip():
            # A comment line (or a blank one inside a comment run) marks the next code line.
            pending = pending or marked
            if not text.strip():
                pending = False
            continue
        if marked or pending:
            out.add(number)
        pending = False
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("suite")
    parser.add_argument("report")
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--families", default=DEFAULT_FAMILIES)
    parser.add_argument("--queries", default=DEFAULT_QUERIES)
    parser.add_argument("--misses", action="store_true")
    parser.add_argument("--noisy", action="store_true")
    args = parser.parse_args()

    suite = os.path.realpath(args.suite)
    families = {f.strip() for f in args.families.split(",") if f.strip()}
    queries = {q.strip() for q in args.queries.split(",") if q.strip()}

    flaws: dict[tuple[str, int], set[str]] = defaultdict(set)
    any_alert: set[tuple[str, int]] = set()
    sources: list[str] = []
    for root, dirs, files in os.walk(suite):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            if name.endswith(".expected") and "Consistency" not in name:
                stem = name[: -len(".expected")]
                found = alerts(path)
                any_alert |= found
                if stem in queries:
                    for place in found:
                        flaws[place].add(stem)
            elif name.endswith(EXTENSIONS):
                sources.append(path)

    with open(args.report, encoding="utf-8") as handle:
        report = json.load(handle)
    flagged: dict[tuple[str, int], set[str]] = defaultdict(set)
    for finding in report.get("findings", []):
        if finding["rule_id"].split(".")[0] not in families:
            continue
        places = [(finding["path"], finding["start"]["line"])]
        places += [(r["path"], r["start"]["line"]) for r in finding.get("related", []) if "path" in r]
        for path, line in set(places):
            flagged[(resolve(path, suite), line)].add(finding["rule_id"])

    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # flaws, found, safe, flagged
    misses: list[str] = []
    noisy: list[str] = []
    for (path, line), stems in sorted(flaws.items()):
        rel = os.path.relpath(path, suite)
        group = group_of(rel, args.depth)
        hit = (path, line) in flagged
        totals[group][0] += 1
        totals[group][1] += hit
        if not hit:
            misses.append(f"{rel}:{line}: {', '.join(sorted(stems))}: {line_text(path, line)}")
    for path in sources:
        real = os.path.realpath(path)
        rel = os.path.relpath(real, suite)
        group = group_of(rel, args.depth)
        for line in sorted(safe_lines(real)):
            if (real, line) in any_alert:
                continue
            rules = flagged.get((real, line))
            totals[group][2] += 1
            totals[group][3] += bool(rules)
            if rules:
                noisy.append(f"{rel}:{line}: {', '.join(sorted(rules))}: {line_text(real, line)}")

    print_table(totals)
    print_lists(misses if args.misses else None, noisy if args.noisy else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
