#!/usr/bin/env python3
"""Writes a synthetic package-lock.json (v3) with N entries, for the lockfile-parsing benchmark.

Usage: python3 benches/gen-package-lock.py 50000 /tmp/vw-bench-lock/package-lock.json
Not committed output: a 50k-entry file is ~20 MB. About 1 in 500 entries is nested, 1 in 1000 has
an install script, and a few pin curated malicious versions, so every check runs.
"""
import json, os, sys

n = int(sys.argv[1])
out = sys.argv[2]
os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
packages = {"": {"name": "bench", "version": "1.0.0", "dependencies": {}}}
for i in range(n):
    name = f"pkg-{i:06d}"
    version = f"{i % 7}.{i % 13}.{i % 17}"
    key = f"node_modules/{name}" if i % 500 else f"node_modules/pkg-host/node_modules/{name}"
    entry = {
        "version": version,
        "resolved": f"https://registry.npmjs.org/{name}/-/{name}-{version}.tgz",
        "integrity": "sha512-" + "A" * 86 + "==",
        "dependencies": {f"pkg-{(i * 7 + 1) % n:06d}": "^1.0.0"},
    }
    if i % 1000 == 0:
        entry["hasInstallScript"] = True
    packages[key] = entry
    if i < 200:
        packages[""]["dependencies"][name] = f"^{version}"
for name, version in [("event-stream", "3.3.6"), ("chalk", "5.6.1"), ("lodash", "4.17.20")]:
    packages[f"node_modules/{name}"] = {
        "version": version,
        "resolved": f"https://registry.npmjs.org/{name}/-/{name}-{version}.tgz",
        "integrity": "sha512-" + "B" * 86 + "==",
    }
with open(out, "w") as f:
    json.dump({"name": "bench", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
               "packages": packages}, f, indent=2)
