//! The structured results of the MCP tools: plain serde structs with JSON schemas, built from
//! finished findings (so every snippet is the redacted one) and from rule metadata.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rmcp::schemars::JsonSchema;
use serde::Serialize;

use crate::discover::{FileKind, Skipped};
use crate::finding::Finding;
use crate::fix;
use crate::rules::{Rule, RuleSet, Severity};

/// A point in a file: 1-based line and column (column in Unicode code points).
#[derive(Clone, Copy, Debug, Serialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct Point {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1, in code points.
    pub column: usize,
}

impl From<crate::source::Position> for Point {
    fn from(p: crate::source::Position) -> Self {
        Point {
            line: p.line,
            column: p.column,
        }
    }
}

/// An edit that resolves the finding: replace `start..end` (an insertion when equal) with
/// `new_text`.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct EditOut {
    /// What the edit does and what is left to do by hand.
    pub description: String,
    /// Start of the replaced text.
    pub start: Point,
    /// End of the replaced text.
    pub end: Point,
    /// The replacement.
    pub new_text: String,
}

/// How to fix a finding.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct FixOut {
    /// The rule's advice, in terms of the code to change.
    pub advice: String,
    /// The mechanical edit, for rules that have one and code of the expected shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edit: Option<EditOut>,
}

/// One step of a data flow (source to sink) or a related location.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct StepOut {
    /// File, relative to the working directory when inside it.
    pub path: String,
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
    /// What happens here.
    pub message: String,
}

/// One finding.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct FindingOut {
    /// The rule's id (`vibeward-ignore: <id>` silences it; `explain_rule` documents it).
    pub rule_id: String,
    /// The rule's title.
    pub title: String,
    /// critical, high, medium, low or info.
    pub severity: String,
    /// high, medium or low: how often a finding of this rule is real.
    pub confidence: String,
    /// File, relative to the working directory when inside it.
    pub path: String,
    /// Start of the flagged code.
    pub start: Point,
    /// End of the flagged code.
    pub end: Point,
    /// What is wrong, about this code.
    pub message: String,
    /// The flagged lines, with secrets masked.
    pub snippet: String,
    /// How to fix it.
    pub fix: FixOut,
    /// For data flows, the steps from where the data enters to where it is used.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flow: Vec<StepOut>,
    /// Stable id of this finding (for baselines and allow-lists).
    pub fingerprint: String,
    /// Extra facts (advisory ids, the fixed version, a masked secret).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
    /// The rule's documentation.
    pub docs_url: String,
}

impl FindingOut {
    /// Builds the output for a finished finding; `text` is its file's redacted text (for the
    /// mechanical edit).
    pub fn new(finding: &Finding, rules: &RuleSet, text: Option<&str>) -> Self {
        let rule = rules.get(&finding.rule_id);
        let kind =
            FileKind::classify(std::path::Path::new(&finding.path)).unwrap_or(FileKind::Text);
        let edit = text
            .and_then(|t| fix::edit(finding, t, kind))
            .map(|e| EditOut {
                description: e.description,
                start: e.start.into(),
                end: e.end.into(),
                new_text: e.new_text,
            });
        FindingOut {
            rule_id: finding.rule_id.clone(),
            title: rule.map(|r| r.title.clone()).unwrap_or_default(),
            severity: finding.severity.as_str().into(),
            confidence: finding.confidence.as_str().into(),
            path: finding.path.clone(),
            start: finding.start.into(),
            end: finding.end.into(),
            message: finding.message.clone(),
            snippet: finding.snippet.clone(),
            fix: FixOut {
                advice: rule.map(fix::advice).unwrap_or_default(),
                edit,
            },
            flow: finding
                .related
                .iter()
                .map(|r| StepOut {
                    path: r.path.clone(),
                    line: r.start.line,
                    column: r.start.column,
                    message: r.message.clone(),
                })
                .collect(),
            fingerprint: finding.fingerprint.clone(),
            properties: finding.properties.clone(),
            docs_url: rule.map(Rule::help_uri).unwrap_or_default(),
        }
    }
}

/// Findings by severity.
#[derive(Debug, Default, Serialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct Counts {
    /// Critical findings.
    pub critical: usize,
    /// High findings.
    pub high: usize,
    /// Medium findings.
    pub medium: usize,
    /// Low findings.
    pub low: usize,
    /// Informational findings.
    pub info: usize,
}

/// A file that was not (or only partly) analysed.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct SkippedOut {
    /// The file.
    pub path: String,
    /// Why (binary, minified, parse-error, ...).
    pub reason: String,
    /// Details.
    pub detail: String,
}

impl From<&Skipped> for SkippedOut {
    fn from(s: &Skipped) -> Self {
        SkippedOut {
            path: s.path.clone(),
            reason: s.reason.as_str().into(),
            detail: s.detail.clone(),
        }
    }
}

/// The result of `scan` and `check_code`.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct ScanOutput {
    /// One line for a human: how many findings of which severities.
    pub summary: String,
    /// Findings by severity (all of them, also those past `limit`).
    pub counts: Counts,
    /// The findings, most severe first, at most `limit`.
    pub findings: Vec<FindingOut>,
    /// Findings left out by `limit`.
    pub omitted: usize,
    /// Files analysed.
    pub files_analysed: usize,
    /// Findings silenced by `vibeward-ignore` comments.
    pub suppressed: usize,
    /// Files not (or only partly) analysed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedOut>,
}

impl ScanOutput {
    /// Builds the result: sorts most severe first (then by path and line), keeps `limit`.
    pub fn new(mut findings: Vec<FindingOut>, limit: usize, files_analysed: usize) -> Self {
        let mut counts = Counts::default();
        for f in &findings {
            match f.severity.parse::<Severity>() {
                Ok(Severity::Critical) => counts.critical += 1,
                Ok(Severity::High) => counts.high += 1,
                Ok(Severity::Medium) => counts.medium += 1,
                Ok(Severity::Low) => counts.low += 1,
                _ => counts.info += 1,
            }
        }
        let rank = |f: &FindingOut| f.severity.parse::<Severity>().unwrap_or(Severity::Info);
        findings.sort_by(|a, b| {
            rank(b)
                .cmp(&rank(a))
                .then_with(|| a.path.cmp(&b.path))
                .then_with(|| a.start.line.cmp(&b.start.line))
                .then_with(|| a.rule_id.cmp(&b.rule_id))
        });
        let total = findings.len();
        findings.truncate(limit);
        let summary = if total == 0 {
            format!("no findings in {files_analysed} analysed file(s)")
        } else {
            let parts: Vec<String> = [
                ("critical", counts.critical),
                ("high", counts.high),
                ("medium", counts.medium),
                ("low", counts.low),
                ("info", counts.info),
            ]
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
            format!(
                "{total} finding(s) in {files_analysed} analysed file(s): {}",
                parts.join(", ")
            )
        };
        ScanOutput {
            summary,
            counts,
            omitted: total - findings.len(),
            findings,
            files_analysed,
            suppressed: 0,
            skipped: Vec::new(),
        }
    }

    /// A short text for clients that show text only: the summary and one line per finding.
    pub fn text(&self) -> String {
        let mut out = self.summary.clone();
        for f in &self.findings {
            let _ = write!(
                out,
                "\n{}:{}: {} [{}] {}",
                f.path, f.start.line, f.severity, f.rule_id, f.message
            );
        }
        if self.omitted > 0 {
            let _ = write!(out, "\n({} more not listed)", self.omitted);
        }
        out
    }
}

/// A rule in `list_rules`.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct RuleSummary {
    /// The id.
    pub id: String,
    /// The family (the id's first part).
    pub family: String,
    /// One-line summary.
    pub title: String,
    /// Default severity.
    pub severity: String,
    /// How often a finding is real.
    pub confidence: String,
}

/// The result of `list_rules`.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct RuleList {
    /// Number of rules listed.
    pub count: usize,
    /// The families, sorted.
    pub families: Vec<String>,
    /// The rules, sorted by id.
    pub rules: Vec<RuleSummary>,
}

/// Code a rule flags, and a safe look-alike it does not.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct ExamplesOut {
    /// Flagged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bad: Option<String>,
    /// Not flagged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub good: Option<String>,
}

/// The result of `explain_rule`.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct RuleDoc {
    /// The id.
    pub id: String,
    /// One-line summary.
    pub title: String,
    /// Default severity.
    pub severity: String,
    /// How often a finding is real.
    pub confidence: String,
    /// CWE ids.
    pub cwe: Vec<String>,
    /// OWASP Top 10 categories.
    pub owasp: Vec<String>,
    /// File kinds it applies to.
    pub languages: Vec<String>,
    /// The documentation (markdown: what it detects, why it matters, how to fix, references).
    pub help: String,
    /// The "How to fix" section alone.
    pub fix: String,
    /// Examples.
    pub examples: ExamplesOut,
    /// Where the rule is documented online.
    pub docs_url: String,
}

impl From<&Rule> for RuleDoc {
    fn from(rule: &Rule) -> Self {
        RuleDoc {
            id: rule.id.clone(),
            title: rule.title.clone(),
            severity: rule.severity.as_str().into(),
            confidence: rule.confidence.as_str().into(),
            cwe: rule.cwe.clone(),
            owasp: rule.owasp.clone(),
            languages: rule.languages.iter().map(|l| l.as_str().into()).collect(),
            help: rule.help.trim().to_string(),
            fix: fix::advice(rule),
            examples: ExamplesOut {
                bad: rule.examples.bad.clone(),
                good: rule.examples.good.clone(),
            },
            docs_url: rule.help_uri(),
        }
    }
}
