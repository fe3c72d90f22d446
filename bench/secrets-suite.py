#!/usr/bin/env python3
"""Lay out, and score, a secrets sample suite built from gitleaks' and trufflehog's own test samples.

Usage:
    python3 bench/secrets-suite.py layout OUT --gitleaks GITDIR [--trufflehog GITDIR]
    vibeward scan OUT --format json --fail-on none --no-default-excludes --output report.json
    python3 bench/secrets-suite.py score OUT report.json [--misses] [--noisy] [--providers]
                                          [--source gitleaks|trufflehog] [--provider NAME]

`layout` reads two public secret scanners' test data straight from their git directories (a bare
clone or a `.git` folder: files are read with `git --git-dir=GITDIR show HEAD:path`, nothing is
checked out, nothing is fetched):

- gitleaks (`github:gitleaks/gitleaks`): each rule of `cmd/generate/config/rules/*.go` validates
  itself with a list of true positives (`tps`) and false positives (`fps`). Those lists are Go
  expressions: string literals, concatenations, `fmt.Sprintf`, `secrets.NewSecret(regex)` (a random
  string matching the regex; here drawn with a fixed seed per rule, so a layout is reproducible),
  `utils.AlphaNumeric("20")` and the other pattern helpers, and `utils.GenerateSampleSecrets(id, s)`,
  which gitleaks expands into ~25 assignment syntaxes; here each call gives ONE sample, its syntax
  taken in turn from that list, so one provider is not counted 25 times. `ValidateWithPaths` maps
  (path -> content) are laid out under their file name.
- trufflehog (`github:trufflesecurity/trufflehog`): the table-driven pattern tests of
  `pkg/detectors/*/*_test.go` (`input:` with `want:`); a case whose `want` is empty is a false
  positive sample. Inputs are evaluated from the file's string constants and `fmt.Sprintf`.

Each sample is one file, `OUT/<source>/<provider>/<tp|fp>-<n>.txt`, holding the sample text as
the scanners' tests feed it (a plain text file: no file-kind hint), and `OUT/manifest.json` lists
them. Expressions the evaluator cannot read are skipped and counted (printed by `layout`).

`score` reads a vibeward JSON report of `OUT` and counts a true-positive sample as found when any
finding of the `secrets` family (or another rule reporting a credential, `--families`) is in its
file, and a false-positive sample as a false alarm when one is. Totals per source, `--providers`
per provider, `--misses` every sample not found (with its text), `--noisy` every false alarm with
the rule that fired. Standard library only (Python 3.11).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import zlib
from collections import defaultdict

try:  # the regex parser Python's own `re` uses; stable in 3.11 (sre_parse is its deprecated alias)
    from re import _constants as sre_c  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older Pythons
    import sre_constants as sre_c  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

# ---------------------------------------------------------------------------------------------
# Reading a git directory


def git_files(gitdir: str, prefix: str) -> list[str]:
    out = subprocess.run(
        ["git", f"--git-dir={gitdir}", "ls-tree", "-r", "--name-only", "HEAD", prefix],
        check=True, capture_output=True, text=True,
    ).stdout
    return [line for line in out.splitlines() if line]


def git_show(gitdir: str, path: str) -> str:
    return subprocess.run(
        ["git", f"--git-dir={gitdir}", "show", f"HEAD:{path}"],
        check=True, capture_output=True,
    ).stdout.decode("utf-8", errors="replace")


# ---------------------------------------------------------------------------------------------
# A tokenizer and evaluator for the Go string expressions the two test suites use

TOKEN = re.compile(
    r"""
      (?P<ws>\s+)
    | (?P<comment>//[^\n]*|/\*.*?\*/)
    | (?P<raw>`[^`]*`)
    | (?P<str>"(?:\\.|[^"\\\n])*")
    | (?P<rune>'(?:\\.|[^'\\\n])+')
    | (?P<num>\d+(?:\.\d+)?)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>\.\.\.|:=|==|!=|&&|\|\||\+=|[-+*/%(){}\[\],:;.=&|<>!^])
    """,
    re.VERBOSE | re.DOTALL,
)

ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\", "a": "\a", "b": "\b",
           "f": "\f", "v": "\v", "0": "\0"}


def go_unquote(text: str) -> str:
    if text.startswith("`"):
        return text[1:-1].replace("\r", "")
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1] if i + 1 < len(body) else ""
        if nxt == "x":
            out.append(chr(int(body[i + 2:i + 4], 16)))
            i += 4
        elif nxt == "u":
            out.append(chr(int(body[i + 2:i + 6], 16)))
            i += 6
        elif nxt == "U":
            out.append(chr(int(body[i + 2:i + 10], 16)))
            i += 10
        elif nxt in "01234567" and body[i + 1:i + 4].isdigit():
            out.append(chr(int(body[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(ESCAPES.get(nxt, nxt))
            i += 2
    return "".join(out)


def tokenize(src: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(src):
        m = TOKEN.match(src, pos)
        if not m:
            tokens.append(("op", src[pos]))
            pos += 1
            continue
        pos = m.end()
        kind = m.lastgroup or "op"
        if kind in ("ws", "comment"):
            continue
        tokens.append((kind, m.group()))
    return tokens


class Unknown(Exception):
    """An expression the evaluator does not model."""


# gitleaks' `GenerateSampleSecrets` syntaxes (utils/generate.go), in its source order.
SAMPLE_SYNTAXES = [
    '{i}Token="{s}"', '{i}Token = "{s}"', "{i}Token={s}", "{i}Token = {s}",
    '{\n    "{i}_token": "{s}"\n}', '{"config.ini": "{I}_TOKEN={s}\\nBACKUP_ENABLED=true"}',
    "<{i}Token>\n    {s}\n</{i}Token>", "{i}_token: {s}", "{i}_token: '{s}'", '{i}_token: "{s}"',
    'string {i}Token = "{s}";', 'var {i}Token string = "{s}"', '{i}Token := "{s}"', "{i}Token := `{s}`",
    'String {i}Token = "{s}";', 'var {i}Token = "{s}"', '${i}Token .= "{s}"', "{i}Token = '{s}'",
    '{i}Token = "{s}"', 'System.setProperty("{I}_TOKEN", "{s}")', '  "{i}Token" => "{s}"',
    '{i}_TOKEN = "{s}"', '{i}_TOKEN := "{s}"', '{i}_TOKEN ::= "{s}"', '{i}_TOKEN :::= "{s}"',
    '{i}_TOKEN ?= "{s}"',
]

PATTERN_HELPERS = {
    "Numeric": "[0-9]{%s}",
    "Hex": "[a-f0-9]{%s}",
    "AlphaNumeric": "[a-z0-9]{%s}",
    "AlphaNumericExtendedShort": "[a-z0-9_-]{%s}",
    "AlphaNumericExtended": r"[a-z0-9=_\-]{%s}",
    "AlphaNumericExtendedLong": r"[a-z0-9\/=_\+\-]{%s}",
}


def sprintf(fmt: str, args: list) -> str:
    out, i, n = [], 0, 0
    while i < len(fmt):
        ch = fmt[i]
        if ch != "%":
            out.append(ch)
            i += 1
            continue
        m = re.match(r"%([-+# 0]*\d*(?:\.\d+)?)([a-zA-Z%])", fmt[i:])
        if not m:
            out.append(ch)
            i += 1
            continue
        verb = m.group(2)
        i += m.end()
        if verb == "%":
            out.append("%")
            continue
        if n >= len(args):
            raise Unknown("sprintf arity")
        arg = args[n]
        n += 1
        if isinstance(arg, list):
            raise Unknown("sprintf list")
        out.append(json.dumps(arg) if verb == "q" else str(arg))
    return "".join(out)


class Evaluator:
    """Evaluates Go expressions of strings (and lists of strings) against a table of known names."""

    def __init__(self, tokens: list[tuple[str, str]], names: dict, seed: str):
        self.t = tokens
        self.names = names
        self.rng = random.Random(zlib.crc32(seed.encode()))
        self.samples_made = 0
        self.skipped = 0

    # -- generators
    def new_secret(self, pattern: str) -> str:
        try:
            parsed = sre_parse.parse(pattern.replace("(?i)", ""))
        except Exception as err:  # noqa: BLE001 - a Go regex Python cannot read
            raise Unknown(f"regex {pattern!r}: {err}") from err
        return self.gen(parsed)

    def gen(self, items) -> str:
        out = []
        for op, av in items:
            out.append(self.gen_one(op, av))
        return "".join(out)

    def gen_one(self, op, av) -> str:
        if op is sre_c.LITERAL:
            return chr(av)
        if op is sre_c.NOT_LITERAL:
            choices = [c for c in "abcdefghijklmnopqrstuvwxyz0123456789" if ord(c) != av]
            return self.rng.choice(choices)
        if op is sre_c.ANY:
            return self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789")
        if op is sre_c.IN:
            return self.gen_in(av)
        if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, getattr(sre_c, "POSSESSIVE_REPEAT", None)):
            lo, hi, sub = av
            if hi == sre_c.MAXREPEAT:
                hi = lo + 1  # reggen's Generate(1): unbounded runs add at most one
            return "".join(self.gen(sub) for _ in range(self.rng.randint(lo, hi)))
        if op is sre_c.SUBPATTERN:
            return self.gen(av[-1])
        if op is sre_c.BRANCH:
            return self.gen(self.rng.choice(av[1]))
        if op in (sre_c.AT, sre_c.ASSERT, sre_c.ASSERT_NOT):
            return ""
        if op is sre_c.CATEGORY:
            return self.gen_in([(op, av)])
        raise Unknown(f"regex op {op}")

    def gen_in(self, av) -> str:
        pool: list[str] = []
        negate = False
        for op, val in av:
            if op is sre_c.NEGATE:
                negate = True
            elif op is sre_c.LITERAL:
                pool.append(chr(val))
            elif op is sre_c.RANGE:
                pool.extend(chr(c) for c in range(val[0], val[1] + 1))
            elif op is sre_c.CATEGORY:
                name = str(val)
                if "DIGIT" in name:
                    cat = "0123456789"
                elif "WORD" in name:
                    cat = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
                else:
                    cat = " "
                if "NOT" in name:
                    cat = "".join(c for c in "abcdefghijklmnopqrstuvwxyz0123456789-" if c not in cat)
                pool.extend(cat)
        if negate:
            pool = [c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" if c not in pool]
        if not pool:
            raise Unknown("empty class")
        return self.rng.choice(pool)

    # -- parsing
    def peek(self, i: int) -> tuple[str, str]:
        return self.t[i] if i < len(self.t) else ("eof", "")

    def expr(self, i: int):
        """Parses an expression at token i; returns (value, next index)."""
        value, i = self.primary(i)
        while self.peek(i)[1] == "+":
            rhs, i = self.primary(i + 1)
            if isinstance(value, list) or isinstance(rhs, list):
                raise Unknown("list +")
            value = str(value) + str(rhs)
        return value, i

    def args(self, i: int):
        """Parses `( a, b, ... )` starting at the `(`; returns (values, spread?, next index)."""
        if self.peek(i)[1] != "(":
            raise Unknown("call without (")
        i += 1
        values, spread = [], False
        while self.peek(i)[1] != ")":
            v, i = self.expr(i)
            values.append(v)
            if self.peek(i)[1] == "...":
                spread = True
                i += 1
            if self.peek(i)[1] == ",":
                i += 1
            elif self.peek(i)[1] != ")":
                raise Unknown(f"args: {self.peek(i)}")
        return values, spread, i + 1

    def skip_group(self, i: int) -> int:
        """Skips a balanced (), [] or {} group starting at i."""
        depth = 0
        while i < len(self.t):
            tok = self.t[i][1]
            if tok in "([{" and self.t[i][0] == "op":
                depth += 1
            elif tok in ")]}" and self.t[i][0] == "op":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return i

    def primary(self, i: int):
        kind, tok = self.peek(i)
        if kind in ("raw", "str"):
            return go_unquote(tok), i + 1
        if kind == "num":
            return tok, i + 1
        if tok == "(":
            v, i = self.expr(i + 1)
            if self.peek(i)[1] != ")":
                raise Unknown("paren")
            return v, i + 1
        if tok == "[" and self.peek(i + 1)[1] == "]":
            # []string{...} or []byte(...)
            j = i + 2
            elem = self.peek(j)[1]
            j += 1
            if self.peek(j)[1] == "(":
                vals, _, j = self.args(j)
                return vals[0], j
            if self.peek(j)[1] != "{":
                raise Unknown("composite")
            if elem != "string":
                raise Unknown(f"[]{elem}")
            return self.list_body(j)
        if tok == "map" and self.peek(i + 1)[1] == "[":
            j = i + 1
            j = self.skip_group(j)  # [string]
            j += 1  # value type
            return self.map_body(j)
        if kind == "ident":
            name, j = tok, i + 1
            while self.peek(j)[1] == "." and self.peek(j + 1)[0] == "ident":
                name += "." + self.peek(j + 1)[1]
                j += 2
            if self.peek(j)[1] == "(":
                return self.call(name, j)
            if self.peek(j)[1] == "[":
                raise Unknown("index")
            if name in ("nil",):
                return [], j
            if name in self.names:
                return self.names[name], j
            raise Unknown(f"name {name}")
        raise Unknown(f"token {tok!r}")

    def list_body(self, i: int):
        """Parses `{ a, b, }` at the `{`."""
        i += 1
        values = []
        while self.peek(i)[1] != "}":
            try:
                v, i = self.expr(i)
            except Unknown:
                # one element we cannot read (a helper of the file's own) leaves the others
                self.skipped += 1
                while self.peek(i)[1] not in (",", "}", ""):
                    i = self.skip_group(i) if self.peek(i)[1] in ("(", "[", "{") else i + 1
                v = []
            if self.peek(i)[1] == "...":
                i += 1
            values.extend(v if isinstance(v, list) else [v])
            if self.peek(i)[1] == ",":
                i += 1
            elif self.peek(i)[1] != "}":
                raise Unknown("list sep")
        return values, i + 1

    def map_body(self, i: int):
        """Parses `{ "path": "content", }` into a list of (path, content) pairs."""
        if self.peek(i)[1] != "{":
            raise Unknown("map")
        i += 1
        pairs = []
        while self.peek(i)[1] != "}":
            k, i = self.expr(i)
            if self.peek(i)[1] != ":":
                raise Unknown("map key")
            v, i = self.expr(i + 1)
            pairs.append(("path", k, v))
            if self.peek(i)[1] == ",":
                i += 1
        return pairs, i + 1

    def call(self, name: str, i: int):
        short = name.rsplit(".", 1)[-1]
        vals, spread, j = self.args(i)
        if name == "append":
            if not vals or not isinstance(vals[0], list):
                raise Unknown("append")
            out = list(vals[0])
            for v in vals[1:]:
                out.extend(v if isinstance(v, list) else [v])
            return out, j
        if short == "NewSecret":
            return self.new_secret(str(vals[0])), j
        if short in PATTERN_HELPERS:
            return PATTERN_HELPERS[short] % vals[0], j
        if short == "Hex8_4_4_4_12":
            return "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", j
        if short == "GenerateSampleSecrets":
            ident, secret = str(vals[0]), str(vals[1])
            syntax = SAMPLE_SYNTAXES[self.samples_made % len(SAMPLE_SYNTAXES)]
            self.samples_made += 1
            return [syntax.replace("{i}", ident).replace("{I}", ident.upper()).replace("{s}", secret)], j
        if short == "GenerateSampleSecret":
            return f'{vals[0]}_api_token = "{vals[1]}"', j
        if name == "fmt.Sprintf":
            return sprintf(str(vals[0]), vals[1:]), j
        if name == "strings.Repeat":
            return str(vals[0]) * int(vals[1]), j
        if name == "strings.Join":
            if not isinstance(vals[0], list):
                raise Unknown("join")
            return str(vals[1]).join(vals[0]), j
        if name in ("strings.ToUpper", "strings.ToLower"):
            return (str(vals[0]).upper() if short == "ToUpper" else str(vals[0]).lower()), j
        if name == "string":
            return vals[0], j
        raise Unknown(f"call {name}")


def collect_names(tokens, ev: Evaluator, start: int = 0, end: int | None = None) -> None:
    """Evaluates `name := expr`, `name = expr`, `var|const name [type] = expr` and `x = append(x, ...)`
    in token order, storing what evaluates into `ev.names` (later assignments win)."""
    end = len(tokens) if end is None else end
    i = start
    while i < end:
        kind, tok = tokens[i]
        if kind == "ident" and tok not in ("var", "const") and i + 1 < end:
            nxt = tokens[i + 1][1]
            j = None
            if nxt in (":=", "="):
                j = i + 2
            elif tokens[i + 1][0] == "ident" and i + 2 < end and tokens[i + 2][1] == "=":
                j = i + 3  # `name string = expr` inside var/const blocks
            if j is not None and (i == 0 or tokens[i - 1][1] not in (".", ",")):
                try:
                    value, k = ev.expr(j)
                    ev.names[tok] = value
                    i = k
                    continue
                except (Unknown, ValueError, IndexError, TypeError):
                    pass
        i += 1


# ---------------------------------------------------------------------------------------------
# gitleaks

def gitleaks_samples(gitdir: str, stats: dict) -> list[dict]:
    samples = []
    for path in git_files(gitdir, "cmd/generate/config/rules/"):
        if not path.endswith(".go") or path.endswith("_test.go"):
            continue
        src = git_show(gitdir, path)
        tokens = tokenize(src)
        provider = os.path.splitext(os.path.basename(path))[0]
        # one function per rule: evaluate its statements in order, then read its Validate call
        func_starts = [i for i, (k, t) in enumerate(tokens) if k == "ident" and t == "func"]
        func_starts.append(len(tokens))
        # file-level names (`var identifiers = ...`) first; a function's own assignments override them
        file_ev = Evaluator(tokens, {}, f"gitleaks/{provider}")
        collect_names(tokens, file_ev)
        for a, b in zip(func_starts, func_starts[1:]):
            fname = tokens[a + 1][1] if a + 1 < len(tokens) else "?"
            ev = Evaluator(tokens, dict(file_ev.names), f"gitleaks/{provider}/{fname}")
            for local in ("tps", "fps"):
                ev.names.pop(local, None)
            collect_names(tokens, ev, a, b)
            for i in range(a, b):
                if tokens[i][1] in ("Validate", "ValidateWithPaths") and tokens[i - 1][1] == ".":
                    try:
                        # Validate(r, tps, fps): the rule itself is not a string; read the two lists
                        j = i + 2
                        while tokens[j][1] != ",":
                            j += 1
                        vals = [None]
                        for _ in range(2):
                            value, j = ev.expr(j + 1)
                            vals.append(value)
                    except (Unknown, ValueError, IndexError, TypeError) as err:
                        stats["gitleaks unreadable"] += 1
                        stats.setdefault("why", []).append(f"{path}:{fname}: {err}")
                        continue
                    for label, group in (("tp", vals[1] if len(vals) > 1 else []),
                                         ("fp", vals[2] if len(vals) > 2 else [])):
                        if not isinstance(group, list):
                            group = [group]
                        for item in group:
                            if isinstance(item, tuple):
                                _, fpath, content = item
                                samples.append({"source": "gitleaks", "provider": provider, "kind": label,
                                                "text": str(content), "name": os.path.basename(str(fpath))})
                            else:
                                samples.append({"source": "gitleaks", "provider": provider, "kind": label,
                                                "text": str(item)})
    return samples


# ---------------------------------------------------------------------------------------------
# trufflehog

def struct_cases(tokens) -> list[tuple[int, int]]:
    """(start, end) token ranges of composite literals `{ ... input: ... }` (innermost)."""
    out, stack = [], []
    for i, (kind, tok) in enumerate(tokens):
        if kind != "op":
            continue
        if tok == "{":
            stack.append(i)
        elif tok == "}" and stack:
            start = stack.pop()
            out.append((start, i))
    return [(start, end) for start, end in out if field(tokens, start, end, "input") is not None]


def field(tokens, start: int, end: int, name: str) -> int | None:
    depth = 0
    for i in range(start + 1, end):
        kind, tok = tokens[i]
        if kind == "op" and tok in "{([":
            depth += 1
        elif kind == "op" and tok in "})]":
            depth -= 1
        elif depth == 0 and kind == "ident" and tok == name and tokens[i + 1][1] == ":":
            return i + 2
    return None


def trufflehog_samples(gitdir: str, stats: dict) -> list[dict]:
    samples = []
    for path in git_files(gitdir, "pkg/detectors/"):
        if not path.endswith("_test.go") or "integration" in path:
            continue
        src = git_show(gitdir, path)
        if "input:" not in src or "FromData" not in src:
            continue
        provider = path.split("/")[2]
        tokens = tokenize(src)
        ev = Evaluator(tokens, {}, f"trufflehog/{path}")
        collect_names(tokens, ev)
        for start, end in struct_cases(tokens):
            at = field(tokens, start, end, "input")
            want_at = field(tokens, start, end, "want")
            try:
                text, _ = ev.expr(at)
                if isinstance(text, list):
                    raise Unknown("list input")
                want = []
                if want_at is not None:
                    if tokens[want_at][1] == "nil":
                        want = []
                    else:
                        try:
                            want, _ = ev.expr(want_at)
                        except Unknown:
                            # a want we cannot read: non-empty unless it is `[]string{}`
                            want = ["?"] if tokens[want_at + 3][1] != "}" else []
            except (Unknown, ValueError, IndexError, TypeError) as err:
                stats["trufflehog unreadable"] += 1
                stats.setdefault("why", []).append(f"{path}: {err}")
                continue
            kind = "tp" if want else "fp"
            samples.append({"source": "trufflehog", "provider": provider, "kind": kind, "text": str(text)})
    return samples


# ---------------------------------------------------------------------------------------------
# layout and score

def layout(args) -> int:
    stats: dict = defaultdict(int)
    samples = gitleaks_samples(args.gitleaks, stats)
    if args.trufflehog:
        samples += trufflehog_samples(args.trufflehog, stats)
    seen, manifest = set(), []
    counters: dict = defaultdict(int)
    # a false-positive sample of one detector is often a true one of another (gitleaks' Cloudflare
    # rules take each other's keys as fps, trufflehog's OpenAI admin test feeds plain OpenAI keys):
    # those are credentials all the same, so they are dropped from the fp samples
    tp_texts = {s["text"] for s in samples if s["kind"] == "tp"}
    for s in samples:
        key = (s["source"], s["provider"], s["kind"], s["text"])
        if key in seen or not s["text"].strip() and not s.get("name"):
            continue
        if s["kind"] == "fp" and s["text"] in tp_texts:
            stats["fp samples that are another detector's tp"] += 1
            continue
        seen.add(key)
        counters[(s["source"], s["provider"], s["kind"])] += 1
        n = counters[(s["source"], s["provider"], s["kind"])]
        folder = os.path.join(s["source"], s["provider"])
        name = s.get("name")
        rel = os.path.join(folder, f"{s['kind']}-{n:03}", name) if name else os.path.join(folder, f"{s['kind']}-{n:03}.{args.ext}")
        dest = os.path.join(args.out, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "w", encoding="utf-8") as handle:
            handle.write(s["text"] if s["text"].endswith("\n") else s["text"] + "\n")
        manifest.append({"path": rel, "source": s["source"], "provider": s["provider"], "kind": s["kind"]})
    with open(os.path.join(args.out, "manifest.json"), "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=1)
    totals: dict = defaultdict(int)
    for m in manifest:
        totals[(m["source"], m["kind"])] += 1
    for (source, kind), n in sorted(totals.items()):
        print(f"{source:11} {kind}: {n}")
    for key in ("gitleaks unreadable", "trufflehog unreadable"):
        if stats.get(key):
            print(f"{key}: {stats[key]} expressions skipped")
    dropped = stats.get("fp samples that are another detector's tp")
    if dropped:
        print(f"fp samples dropped as another detector's tp: {dropped}")
    if args.verbose:
        for why in stats.get("why", []):
            print("  " + why, file=sys.stderr)
    return 0


def score(args) -> int:
    with open(os.path.join(args.out, "manifest.json"), encoding="utf-8") as handle:
        manifest = json.load(handle)
    with open(args.report, encoding="utf-8") as handle:
        report = json.load(handle)
    families = tuple(f.strip() + "." for f in args.families.split(","))
    hits: dict = defaultdict(list)
    root = os.path.abspath(args.out)
    for finding in report.get("findings", []):
        rule = finding.get("rule_id") or finding.get("rule") or ""
        if not rule.startswith(families) and rule not in args.extra.split(","):
            continue
        path = finding.get("path") or finding.get("location", {}).get("path", "")
        path = os.path.relpath(os.path.abspath(path), root) if os.path.isabs(path) else path
        hits[os.path.normpath(path)].append(rule)
    def sample_hits(m):
        rel = os.path.normpath(m["path"])
        return hits.get(rel, [])
    per: dict = defaultdict(lambda: [0, 0, 0, 0])  # tp found, tp, fp flagged, fp
    chosen = [m for m in manifest if (not args.source or m["source"] == args.source)
              and (not args.provider or m["provider"] == args.provider)]
    for m in chosen:
        h = bool(sample_hits(m))
        row = per[(m["source"], m["provider"])]
        if m["kind"] == "tp":
            row[0] += h
            row[1] += 1
        else:
            row[2] += h
            row[3] += 1
    sources = sorted({s for s, _ in per})
    for source in sources:
        rows = {p: r for (s, p), r in per.items() if s == source}
        f, t, n, a = (sum(r[k] for r in rows.values()) for k in range(4))
        print(f"{source:11} found {f}/{t} ({100 * f / max(t, 1):.1f}%), false alarms {n}/{a}")
        if args.providers:
            for p, r in sorted(rows.items(), key=lambda kv: (kv[1][0] - kv[1][1], kv[0])):
                print(f"    {p:32} {r[0]}/{r[1]}  fp {r[2]}/{r[3]}")
    def text_of(m):
        try:
            with open(os.path.join(args.out, m["path"]), encoding="utf-8") as handle:
                return handle.read().strip().replace("\n", "\\n")[:200]
        except OSError:
            return ""
    if args.misses:
        print("\nmissed:")
        for m in chosen:
            if m["kind"] == "tp" and not sample_hits(m):
                print(f"  {m['path']}: {text_of(m)}")
    if args.noisy:
        print("\nfalse alarms:")
        for m in chosen:
            if m["kind"] == "fp" and sample_hits(m):
                print(f"  {m['path']} [{','.join(sorted(set(sample_hits(m))))}]: {text_of(m)}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    lay = sub.add_parser("layout", help="write one sample per file under OUT")
    lay.add_argument("out")
    lay.add_argument("--gitleaks", required=True, help="git dir of github:gitleaks/gitleaks")
    lay.add_argument("--trufflehog", help="git dir of github:trufflesecurity/trufflehog")
    lay.add_argument("--verbose", action="store_true", help="list the expressions skipped")
    lay.add_argument("--ext", default="txt", help="file extension of the samples (default txt: no file-kind hint)")
    sco = sub.add_parser("score", help="score a vibeward JSON report of OUT")
    sco.add_argument("out")
    sco.add_argument("report")
    sco.add_argument("--families", default="secrets", help="rule families that count (comma-separated)")
    sco.add_argument("--extra", default="parse.hardcoded-master-key,docker.secret-in-env-or-arg",
                     help="other rule ids that report a credential")
    sco.add_argument("--source", choices=["gitleaks", "trufflehog"])
    sco.add_argument("--provider")
    sco.add_argument("--providers", action="store_true", help="found/total per provider")
    sco.add_argument("--misses", action="store_true")
    sco.add_argument("--noisy", action="store_true")
    args = parser.parse_args()
    return layout(args) if args.mode == "layout" else score(args)


if __name__ == "__main__":
    sys.exit(main())
