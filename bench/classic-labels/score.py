#!/usr/bin/env python3
"""Score a vibeward report of the classic vulnerable apps against labels.tsv.

A thin wrapper over the dev corpus scorer (/work/shared/dev-corpus/score.py, or
$SCORE_PY) that adds the classes these apps need and the dev corpus does not
(XXE, deserialization, ReDoS, log injection, CSRF, security headers) and maps
CWE-204 (response discrepancy, a child of CWE-203) to exposure. Every other rule
of matching is the shared scorer's. Arguments are passed through; --labels
defaults to labels.tsv beside this file.
"""
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("SCORE_PY", "/work/shared/dev-corpus/score.py")

EXTRA_CWES = {
    "xxe": [611, 776, 827],
    "deserialization": [502],
    "redos": [1333, 730],
    "log-injection": [117, 93],
    "csrf": [352],
    "headers": [693, 1021, 16],
    "exposure": [204],
}
EXTRA_WORDS = {
    "xxe": ["xxe", "xml-external", "external-entit"],
    "deserialization": ["deserializ", "unserializ"],
    "redos": ["redos", "regex-dos"],
    "log-injection": ["log-injection", "log-forging"],
    "csrf": ["csrf"],
    "headers": ["security-headers", "helmet", "x-powered-by"],
}

spec = importlib.util.spec_from_file_location("devscore", SHARED)
sc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sc)
for cls, ids in EXTRA_CWES.items():
    sc.CLASS_CWES.setdefault(cls, [])
    for i in ids:
        sc.CLASS_CWES[cls].append(i)
        sc.CWE_CLASS[i].add(cls)
for cls, words in EXTRA_WORDS.items():
    sc.RULE_WORDS.setdefault(cls, []).extend(words)

if "--labels" not in sys.argv:
    sys.argv += ["--labels", os.path.join(HERE, "labels.tsv")]
sc.main()
