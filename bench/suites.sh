#!/usr/bin/env bash
# Lay out the two annotated rule-test suites of issue #16 for `bench/annotated-suite.py`.
#
#   bench/suites.sh NJSSCAN_GIT SEMGREP_RULES_GIT [OUT]
#
# NJSSCAN_GIT and SEMGREP_RULES_GIT are checkouts or bare git directories of github.com/ajinabraham/njsscan
# and github.com/semgrep/semgrep-rules you fetched yourself (this script uses no network). Their HEAD is
# read with `git archive`. OUT (default /tmp) receives:
#   suiteA/  njsscan's tests/assets/node_source/ (true_positives/ annotated `// ruleid:`, true_negatives/ safe)
#   suiteB/  semgrep-rules' javascript/ and typescript/ test files (rule YAML left out)
# Path components named `test` or `tests` become `tst`/`tsts`: the injection rules skip test paths.
# Then, per suite:
#   vibeward scan /tmp/suiteA --format json --fail-on none --no-default-excludes --output A.json
#   python3 bench/annotated-suite.py /tmp/suiteA A.json --misses --by-rule
set -euo pipefail

if [ $# -lt 2 ]; then
    sed -n '2,14p' "$0" >&2
    exit 2
fi
njsscan=$1
semgrep=$2
out=${3:-/tmp}

# extract GIT_DIR PATHSPEC... DEST: the files of HEAD under PATHSPEC, rule files dropped, into DEST.
extract() {
    local git=$1 dest=${*: -1}
    local specs=("${@:2:$#-2}")
    local tmp
    tmp=$(mktemp -d)
    git -C "$git" archive --format=tar HEAD "${specs[@]}" | tar -x -C "$tmp"
    find "$tmp" -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.md' \) -delete
    rm -rf "$dest"
    mkdir -p "$dest"
    (cd "$tmp" && find . -type f -print0) | while IFS= read -r -d '' file; do
        local rel=${file#./}
        rel=$(printf '%s\n' "$rel" | sed -E 's#(^|/)tests(/|$)#\1tsts\2#g; s#(^|/)test(/|$)#\1tst\2#g')
        mkdir -p "$dest/$(dirname "$rel")"
        mv "$tmp/${file#./}" "$dest/$rel"
    done
    rm -rf "$tmp"
}

extract "$njsscan" tests/assets/node_source "$out/suiteA.tmp"
rm -rf "$out/suiteA"
mv "$out/suiteA.tmp/tsts/assets/node_source" "$out/suiteA"
rm -rf "$out/suiteA.tmp"

extract "$semgrep" javascript typescript "$out/suiteB"

for suite in suiteA suiteB; do
    printf '%s: %s files, %s ruleid lines, %s ok lines\n' "$out/$suite" \
        "$(find "$out/$suite" -type f | wc -l)" \
        "$(grep -rE '(^|[^o])ruleid:' "$out/$suite" | grep -vc todoruleid || true)" \
        "$(grep -rE '\bok:' "$out/$suite" | grep -vc todook || true)"
done
