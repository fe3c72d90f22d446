//! The finish step: every finding leaves the pipeline through [`finish`], whichever pass made it.
//!
//! Analyzers only create findings (rule, span, message, the byte ranges to redact). Findings of
//! the per-file pass and of the project pass (migration histories, manifests with their
//! lockfiles, Cloud Code handlers across modules) are finished here alike, file by file, in this
//! order: supersede → suppress → redact → snippet → severity filter; then, over all files, sort →
//! fingerprint. So a suppression comment, a superseding rule and a secret's redaction hold for
//! every finding, and no analyzer repeats these steps by hand (issue 14).

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use rayon::prelude::*;

use crate::finding::{self, Finding};
use crate::rules::{RuleSet, Severity};
use crate::source::{SourceFile, ceil_char, floor_char};
use crate::suppress;

/// Finished findings and what the reporters need to show them.
#[derive(Debug, Default)]
pub struct Finished {
    /// Findings, sorted and fingerprinted, at or above the minimum severity.
    pub findings: Vec<Finding>,
    /// Findings silenced by inline `vibeward-ignore` comments.
    pub suppressed: usize,
    /// The redacted text of every file that still has findings, for code frames.
    pub sources: BTreeMap<String, Arc<str>>,
}

/// Finishes `findings`. `file_of` gives the text of a finding's file by display path: the copy
/// the per-file pass kept, or the file read again for a project finding (`None` when it cannot be
/// read: such findings keep an empty snippet and no inline suppression applies to them).
pub fn finish(
    rules: &RuleSet,
    findings: Vec<Finding>,
    file_of: &(dyn Fn(&str) -> Option<Arc<SourceFile>> + Sync),
    min_severity: Severity,
) -> Finished {
    let mut by_file: BTreeMap<String, Vec<Finding>> = BTreeMap::new();
    for f in findings {
        by_file.entry(f.path.clone()).or_default().push(f);
    }
    let per_file: Vec<(String, FileFinished)> = by_file
        .into_par_iter()
        .map(|(path, group)| {
            let file = file_of(&path);
            let done = finish_file(rules, group, file.as_deref(), min_severity);
            (path, done)
        })
        .collect();
    let mut finished = Finished::default();
    for (path, done) in per_file {
        finished.suppressed += done.suppressed;
        finished.findings.extend(done.findings);
        if let Some(text) = done.redacted {
            finished.sources.insert(path, text);
        }
    }
    finding::sort_findings(&mut finished.findings);
    finding::assign_fingerprints(&mut finished.findings);
    finished
}

/// One file's findings, finished.
struct FileFinished {
    findings: Vec<Finding>,
    suppressed: usize,
    redacted: Option<Arc<str>>,
}

fn finish_file(
    rules: &RuleSet,
    mut findings: Vec<Finding>,
    file: Option<&SourceFile>,
    min_severity: Severity,
) -> FileFinished {
    // Redactions are gathered before anything is dropped: a secret found by a rule that another
    // supersedes, or that a comment silences, must still be hidden in the survivors' frames.
    let redactions: Vec<Range<usize>> = findings
        .iter()
        .flat_map(|f| f.redactions.iter().cloned())
        .collect();
    apply_supersedes(rules, &mut findings);
    let before = findings.len();
    if let Some(file) = file {
        suppress::apply_inline(file, &mut findings);
    }
    let suppressed = before - findings.len();
    let redacted = file.map(|file| {
        let text = redact(&file.text, &redactions);
        for f in &mut findings {
            f.snippet = snippet(&text, file, f);
        }
        text
    });
    findings.retain(|f| f.severity >= min_severity);
    FileFinished {
        redacted: redacted.filter(|_| !findings.is_empty()).map(Arc::from),
        findings,
        suppressed,
    }
}

/// Drops findings that a finding of a superseding rule covers on the same line of the same file.
pub fn apply_supersedes(rules: &RuleSet, findings: &mut Vec<Finding>) {
    let covered: Vec<(String, String, usize)> = findings
        .iter()
        .flat_map(|f| {
            rules
                .get(&f.rule_id)
                .map(|r| r.supersedes.as_slice())
                .unwrap_or_default()
                .iter()
                .map(move |s| (s.clone(), f.path.clone(), f.start.line))
        })
        .collect();
    if covered.is_empty() {
        return;
    }
    findings.retain(|f| {
        !covered
            .iter()
            .any(|(id, path, line)| *id == f.rule_id && *path == f.path && *line == f.start.line)
    });
}

/// Masks `ranges` of `text`: the first 4 characters of each stay visible (enough to recognise a
/// key type, never the secret), every other byte becomes `*`, so byte offsets stay valid.
pub fn redact(text: &str, ranges: &[Range<usize>]) -> String {
    if ranges.is_empty() {
        return text.to_string();
    }
    let mut sorted = ranges.to_vec();
    sorted.sort_by_key(|r| r.start);
    // overlapping ranges are merged first: masking them one by one would show the first
    // characters of the second one, which lie inside the first secret
    let mut ranges: Vec<Range<usize>> = Vec::with_capacity(sorted.len());
    for r in sorted {
        match ranges.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => ranges.push(r),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for r in ranges {
        let start = floor_char(text, r.start.max(last));
        let end = ceil_char(text, r.end.min(text.len()));
        if start >= end {
            continue;
        }
        out.push_str(&text[last..start]);
        let visible = text[start..end]
            .char_indices()
            .nth(4)
            .map_or(end, |(i, _)| start + i);
        out.push_str(&text[start..visible]);
        for c in text[visible..end].chars() {
            if c == '\n' {
                out.push('\n');
            } else {
                out.push_str(&"*".repeat(c.len_utf8()));
            }
        }
        last = end;
    }
    out.push_str(&text[last..]);
    out
}

/// The finding's lines (at most 3, each at most 240 characters) from the redacted text.
fn snippet(redacted: &str, file: &SourceFile, finding: &Finding) -> String {
    let first = finding.start.line;
    let last = finding.end.line.min(first + 2);
    (first..=last)
        .map(|line| {
            let range = file.line_range(line);
            let text = redacted.get(range).unwrap_or("");
            if text.chars().count() > 240 {
                text.chars().take(240).collect::<String>() + "…"
            } else {
                text.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redaction_keeps_offsets_and_four_characters() {
        let text = "key = 'sk_live_abcdefgh';\nnext";
        let secret = 7..23;
        let out = redact(text, std::slice::from_ref(&secret));
        assert_eq!(out.len(), text.len());
        assert_eq!(out, "key = 'sk_l************';\nnext");
    }

    #[test]
    fn overlapping_ranges_are_masked_once() {
        let out = redact("0123456789", &[2..8, 4..9]);
        assert_eq!(out, "012345***9");
    }
}
