#!/usr/bin/env python3
"""Score a vibeward JSON report against a directory of test files annotated the semgrep way.

Usage:
    vibeward scan SUITE --format json --fail-on none --no-default-excludes --output report.json
    python3 bench/annotated-suite.py SUITE report.json [--depth 2] [--misses] [--noisy]
                                     [--families injection,code,...] [--by-rule] [--safe-dir NAME]

An annotation is a comment holding `ruleid: <id>` (the next code line is a flaw) or `ok: <id>` (the next
code line is safe); `todoruleid:` and `todook:` mark known gaps of the suite's own rules and are skipped.
Several comment lines in a row all apply to the first code line after them; a comment written at the end
of a code line applies to that line. `//`, `/* */`, `#`, `<!-- -->` and `{# #}` comments are read.

A flaw counts as found when a vibeward finding of one of the families (default: injection, code, sql, http,
crypto, tls, auth) starts on the annotated line or has a related location there (a flow's source or sink);
a safe line counts as wrongly flagged under the same test.
With --safe-dir NAME, every file under a directory called NAME (njsscan's `true_negatives`) is a safe
file, and one with any finding of the families counts as a false alarm, annotated or not.
Totals are printed per directory (the first --depth path parts under SUITE) and overall. --misses lists
every flaw not found, --noisy every safe line flagged, --by-rule the found/total per annotated rule id.
Nothing is fetched: the suites are public repositories the user checks out (see README, Benchmarks).
The injection rules skip test paths (`tests/`, `*.test.js`): lay a suite out outside such folders.
Standard library only (Python 3.11).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import defaultdict

DEFAULT_FAMILIES = "injection,code,sql,http,crypto,tls,auth"
EXTENSIONS = (
    ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts", ".vue", ".svelte",
    ".html", ".ejs", ".hbs", ".handlebars", ".pug", ".jade", ".njk", ".nunjucks", ".mustache",
)
# A comment's start, then `ruleid:` / `ok:` (or `todoruleid:` / `todook:`, which are dropped) and the rule ids.
COMMENT = re.compile(r"//|/\*|<!--|\{#|\{\{!--|\{\{!|^\s*#|^\s*\*")
ANNOTATION = re.compile(r"^[\s*]*(todoruleid|todook|ruleid|ok)\s*:\s*([\w.,\- ]*)")


def annotations(path: str) -> dict[int, tuple[str, list[str]]]:
    """Line number (1-based) -> ("flaw" | "safe", annotated rule ids)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().split("\n")
    except OSError:
        return {}
    out: dict[int, tuple[str, list[str]]] = {}
    pending: list[tuple[str, list[str]]] = []
    for number, text in enumerate(lines, start=1):
        comment = COMMENT.search(text)
        code = text[: comment.start()] if comment else text
        found = []
        if comment:
            mark = ANNOTATION.match(text[comment.end():])
            if mark and not mark.group(1).startswith("todo"):
                found.append((mark.group(1), [i.strip() for i in mark.group(2).split(",") if i.strip()]))
        if not code.strip():
            pending.extend(found)
            continue
        # A code line: the pending comment annotations, and any written at the end of this line, apply here.
        marks = pending + found
        pending = []
        if marks:
            kind = "flaw" if any(k == "ruleid" for k, _ in marks) else "safe"
            ids = [i for k, rule_ids in marks for i in rule_ids if (k == "ruleid") == (kind == "flaw")]
            out[number] = (kind, ids)
    return out


def group_of(rel: str, depth: int) -> str:
    parts = rel.split(os.sep)
    return os.sep.join(parts[: min(depth, len(parts) - 1)]) or "."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("suite")
    parser.add_argument("report")
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--families", default=DEFAULT_FAMILIES)
    parser.add_argument("--misses", action="store_true")
    parser.add_argument("--noisy", action="store_true")
    parser.add_argument("--by-rule", action="store_true")
    parser.add_argument("--safe-dir", default=None)
    args = parser.parse_args()

    suite = os.path.realpath(args.suite)
    families = {f.strip() for f in args.families.split(",") if f.strip()}
    with open(args.report, encoding="utf-8") as handle:
        report = json.load(handle)
    flagged: dict[str, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for finding in report.get("findings", []):
        if finding["rule_id"].split(".")[0] not in families:
            continue
        # A finding points at its start line and at the lines of its related locations (a flow's source and
        # sink): suites written with multi-line patterns annotate where the match starts, often the source.
        places = [(finding["path"], finding["start"]["line"])]
        places += [(r["path"], r["start"]["line"]) for r in finding.get("related", []) if "path" in r]
        for path, line in sorted(set(places)):
            flagged[resolve(path, suite)][line].append(finding["rule_id"])

    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # flaws, found, safe, flagged
    by_rule: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses: list[str] = []
    noisy: list[str] = []
    for root, dirs, files in os.walk(suite):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith(EXTENSIONS):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, suite)
            group = group_of(rel, args.depth)
            hits = flagged.get(os.path.realpath(path), {})
            for line, (kind, ids) in sorted(annotations(path).items()):
                rules = hits.get(line, [])
                if kind == "flaw":
                    totals[group][0] += 1
                    totals[group][1] += bool(rules)
                    for rule in ids or ["?"]:
                        by_rule[rule][0] += 1
                        by_rule[rule][1] += bool(rules)
                    if not rules:
                        misses.append(f"{rel}:{line}: {', '.join(ids)}: {line_text(path, line)}")
                else:
                    totals[group][2] += 1
                    totals[group][3] += bool(rules)
                    if rules:
                        noisy.append(f"{rel}:{line}: {', '.join(sorted(set(rules)))} (ok: {', '.join(ids)})")

    if args.safe_dir:
        safe_files = flagged_files = 0
        for root, dirs, files in os.walk(suite):
            if args.safe_dir not in os.path.relpath(root, suite).split(os.sep):
                continue
            for name in sorted(files):
                if name.endswith(EXTENSIONS):
                    safe_files += 1
                    path = os.path.realpath(os.path.join(root, name))
                    if flagged.get(path):
                        flagged_files += 1
                        noisy.append(f"{os.path.relpath(path, suite)}: {', '.join(sorted({r for rs in flagged[path].values() for r in rs}))} (safe file)")
        print(f"safe files under {args.safe_dir}/ with a finding: {flagged_files}/{safe_files}\n")

    print_table(totals)
    if args.by_rule:
        print("\nfound/total by annotated rule id:")
        for rule, (total, hit) in sorted(by_rule.items(), key=lambda kv: (-kv[1][0] + kv[1][1], kv[0])):
            print(f"  {hit:>3}/{total:<3} {rule}")
    print_lists(misses if args.misses else None, noisy if args.noisy else None)
    return 0


def resolve(path: str, suite: str) -> str:
    """A report path (absolute, or relative to wherever the scan ran) as a real path under the suite."""
    if os.path.isabs(path) or os.path.exists(path):
        return os.path.realpath(path)
    parts = path.split("/")
    for i in range(len(parts)):
        candidate = os.path.join(suite, *parts[i:])
        if os.path.exists(candidate):
            return os.path.realpath(candidate)
    return path


def line_text(path: str, line: int) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read().split("\n")[line - 1].strip()
    except (OSError, IndexError):
        return ""
    return text if len(text) <= 100 else text[:97] + "..."


def print_lists(misses: list[str] | None, noisy: list[str] | None) -> None:
    """The --misses and --noisy listings, each only when asked for (not None)."""
    if misses is not None:
        print("\nmissed flaws:")
        print("\n".join(f"  {m}" for m in misses))
    if noisy is not None:
        print("\nsafe lines flagged:")
        print("\n".join(f"  {n}" for n in noisy))


def print_table(totals: dict[str, list[int]]) -> None:
    """Per directory and in total: flaws found of flaws, safe lines flagged of safe lines."""
    width = max([len(g) for g in totals] + [10])
    print(f"{'directory':<{width}}  flaws found      safe lines flagged")
    grand = [0, 0, 0, 0]
    for group in sorted(totals):
        flaws, found, safe, bad = totals[group]
        grand = [a + b for a, b in zip(grand, totals[group])]
        print(f"{group:<{width}}  {found:>4}/{flaws:<4} {pct(found, flaws):>5}  {bad:>4}/{safe:<4}")
    flaws, found, safe, bad = grand
    print(f"{'TOTAL':<{width}}  {found:>4}/{flaws:<4} {pct(found, flaws):>5}  {bad:>4}/{safe:<4}")


def pct(part: int, whole: int) -> str:
    return f"{100 * part // whole}%" if whole else "-"


if __name__ == "__main__":
    sys.exit(main())
