//! Findings: what a matcher reports, where, and how findings are ordered and fingerprinted.
//!
//! Analyzers create findings (see `engine::FileContext::finding`) with a rule, a span, a message and
//! the byte ranges to redact; the pipeline's finish step (`crate::finish`) gives every one its
//! snippet and a fingerprint that does not depend on line numbers. Reporters only read findings;
//! they never look at how one was found.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::rules::{Confidence, Severity};
use crate::source::Position;

/// A related location: the source of a taint flow, a step on the way, another occurrence.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Related {
    /// Display path of the file.
    pub path: String,
    /// Start of the span.
    pub start: Position,
    /// End of the span.
    pub end: Position,
    /// What this location is (e.g. "request input enters here").
    pub message: String,
}

/// One reported problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule's id.
    pub rule_id: String,
    /// Severity of this finding (the rule's default unless the matcher raised or lowered it).
    pub severity: Severity,
    /// Confidence of this finding.
    pub confidence: Confidence,
    /// One sentence about the user's code.
    pub message: String,
    /// Display path of the file.
    pub path: String,
    /// Start of the flagged span.
    pub start: Position,
    /// End of the flagged span.
    pub end: Position,
    /// Byte range of the span in the file.
    #[serde(skip)]
    pub byte_range: Range<usize>,
    /// The source lines of the span (at most a few), with secrets redacted.
    pub snippet: String,
    /// Stable across unrelated edits: rule id, normalised snippet, occurrence number.
    pub fingerprint: String,
    /// Related locations; for taint flows, the path from source to sink in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
    /// Whether `related` is an ordered data flow (SARIF `codeFlows`) rather than loose references.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_flow: bool,
    /// Extra facts (redacted secret, advisory ids, fixed version, ...), sorted by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
    /// Byte ranges of this finding's file that no output may show (a secret's value). The finish
    /// step masks them in every snippet and code frame of the file, whichever finding shows it,
    /// and even when this finding is itself superseded or suppressed.
    #[serde(skip)]
    pub redactions: Vec<Range<usize>>,
}

impl Finding {
    /// A finding of `rule` over `byte_range` (from `start` to `end`) in the file `path`, with the
    /// rule's defaults: the finish step fills in snippet, fingerprint and suppression later.
    pub fn of_rule(
        rule: &crate::rules::Rule,
        path: &str,
        (start, end): (Position, Position),
        byte_range: Range<usize>,
    ) -> Finding {
        Finding {
            rule_id: rule.id.clone(),
            severity: rule.severity,
            confidence: rule.confidence,
            message: rule.message.clone(),
            path: path.to_string(),
            start,
            end,
            byte_range,
            snippet: String::new(),
            fingerprint: String::new(),
            related: Vec::new(),
            is_flow: false,
            properties: BTreeMap::new(),
            redactions: Vec::new(),
        }
    }

    /// The deterministic order of output: path, position, rule id, message.
    pub fn sort_key(&self) -> (&str, Position, &str, &str, Position) {
        (
            &self.path,
            self.start,
            &self.rule_id,
            &self.message,
            self.end,
        )
    }
}

/// Sorts findings into output order and removes exact duplicates.
pub fn sort_findings(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup_by(|a, b| {
        a.rule_id == b.rule_id && a.path == b.path && a.start == b.start && a.end == b.end
    });
}

/// Assigns fingerprints: hash of rule id and whitespace-normalised snippet, plus the occurrence
/// number among identical (rule, snippet) pairs in the same file, so moving code around or editing
/// other lines leaves them unchanged. Expects findings sorted.
pub fn assign_fingerprints(findings: &mut [Finding]) {
    let mut seen: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for finding in findings.iter_mut() {
        let normalised: String = finding
            .snippet
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let key = (
            finding.path.clone(),
            finding.rule_id.clone(),
            normalised.clone(),
        );
        let count = seen.entry(key).or_insert(0);
        let mut hasher = Sha256::new();
        hasher.update(finding.rule_id.as_bytes());
        hasher.update([0]);
        hasher.update(normalised.as_bytes());
        hasher.update([0]);
        hasher.update(count.to_string().as_bytes());
        *count += 1;
        let digest = hasher.finalize();
        finding.fingerprint = digest[..8].iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        });
    }
}
