#!/usr/bin/env python3
"""Regenerates rules/deps/popular-npm.json from an npm name list (TSV: name, version, downloads_a_month, summary).

popular: the 2,000 most downloaded names (a name in this list is never a typosquat).
known: less popular names with >= 100,000 downloads a month that sit within one edit of a popular name;
they are real, used packages (preact, redux, ...), so the typosquat rule never flags them either.
Usage: python3 rules/deps/popular-npm.py npm.tsv > rules/deps/popular-npm.json
"""
import csv, json, sys

def variants(name):
    """All strings at Damerau-Levenshtein distance 1 over the npm name alphabet."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-._"
    out = set()
    for i in range(len(name) + 1):
        for c in alphabet:
            out.add(name[:i] + c + name[i:])
        if i < len(name):
            out.add(name[:i] + name[i + 1:])
            for c in alphabet:
                out.add(name[:i] + c + name[i + 1:])
        if i + 1 < len(name):
            out.add(name[:i] + name[i + 1] + name[i] + name[i + 2:])
    out.discard(name)
    return out

rows = []
with open(sys.argv[1], newline="") as f:
    r = csv.reader(f, delimiter="\t")
    next(r)
    for row in r:
        try:
            if "-security" in row[1] or "security holding" in (row[3] if len(row) > 3 else "").lower():
                continue  # npm's placeholders for removed squats are not real packages
            rows.append((row[0], int(row[2])))
        except (IndexError, ValueError):
            pass
rows.sort(key=lambda x: (-x[1], x[0]))
popular = [n for n, _ in rows[:2000]]
pop = set(popular)
downloads = dict(rows)
known = set()
for p in popular:
    if len(p) < 5:
        continue
    for v in variants(p):
        if v not in pop and downloads.get(v, 0) >= 100000:
            known.add(v)
json.dump({
    "source": "top 2,000 npm package names by monthly downloads (npm.tsv snapshot); see popular-npm.py",
    "popular": popular,
    "known": sorted(known),
}, sys.stdout, indent=0)
print()
