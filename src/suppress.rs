//! Inline suppressions: `vibeward-ignore` comments in the scanned code.
//!
//! A comment containing `vibeward-ignore` on the line of a finding, or on the line above it,
//! silences it. `vibeward-ignore: rule-a, rule-b` silences only those rules (ids or families, like
//! `secrets`). Any comment syntax works (`//`, `#`, `--`, `/* */`, and npm's `"//": "..."` key in
//! `package.json`), since only the marker is read.

use crate::finding::Finding;
use crate::source::SourceFile;

const MARKER: &str = "vibeward-ignore";

/// Removes the findings that an inline comment silences.
pub fn apply_inline(file: &SourceFile, findings: &mut Vec<Finding>) {
    if findings.is_empty() || !file.text.contains(MARKER) {
        return;
    }
    findings.retain(|f| {
        let line = f.start.line;
        let same_line = silences(file.line(line), &f.rule_id);
        // a marker on the line above counts only when that line is a comment of its own
        let above = line > 1 && {
            let prev = file.line(line - 1);
            is_comment_line(prev) && silences(prev, &f.rule_id)
        };
        !(same_line || above)
    });
}

fn is_comment_line(line: &str) -> bool {
    let t = line.trim_start();
    // `"//": "..."` is npm's comment key, the one way to comment a package.json
    ["//", "#", "--", "/*", "*", "<!--", "{/*", "\"//\":"]
        .iter()
        .any(|c| t.starts_with(c))
}

/// Whether a line carries a marker that silences `rule_id`.
fn silences(line: &str, rule_id: &str) -> bool {
    let Some(at) = line.find(MARKER) else {
        return false;
    };
    let rest = &line[at + MARKER.len()..];
    if rest.starts_with("-file") {
        return false;
    }
    let rest = rest.trim_start_matches([':', ' ', '\t']);
    let ids: Vec<&str> = rest
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(|s| s.trim_end_matches(['*', '/']))
        .take_while(|s| {
            s.is_empty()
                || s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        })
        .filter(|s| !s.is_empty())
        .collect();
    if ids.is_empty() {
        return true;
    }
    let family = rule_id.split_once('.').map_or(rule_id, |(f, _)| f);
    ids.iter().any(|id| *id == rule_id || *id == family)
}

#[cfg(test)]
mod tests {
    use super::silences;

    #[test]
    fn bare_marker_silences_everything() {
        assert!(silences("eval(x) // vibeward-ignore", "code.eval-dynamic"));
        assert!(silences("# vibeward-ignore", "secrets.aws-access-key"));
    }

    #[test]
    fn listed_ids_and_families_silence_only_themselves() {
        let line = "// vibeward-ignore: code.eval-dynamic, secrets";
        assert!(silences(line, "code.eval-dynamic"));
        assert!(silences(line, "secrets.aws-access-key"));
        assert!(!silences(line, "sql.string-built-query"));
    }

    #[test]
    fn a_reason_after_the_ids_is_allowed() {
        let line = "// vibeward-ignore: code.eval-dynamic -- input is a constant";
        assert!(silences(line, "code.eval-dynamic"));
        assert!(!silences(line, "code.other"));
    }
}
