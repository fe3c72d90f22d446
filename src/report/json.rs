//! The JSON report: a stable, versioned document.
//!
//! Schema (version 1):
//! `{ "version": 1, "tool": {name, version}, "findings": [Finding], "skipped": [{path, reason,
//! detail}], "summary": {findings, by_severity, files_analysed, files_skipped, ...} }`.
//! A finding has `rule_id, severity, confidence, message, path, start {line, column}, end,
//! snippet, fingerprint, cwe, owasp`, and when present `related`, `is_flow` and `properties`.
//! Fields are only ever added; a breaking change bumps `version`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{TOOL_NAME, TOOL_VERSION};
use crate::ScanReport;
use crate::discover::Skipped;
use crate::finding::Finding;
use crate::rules::Severity;

/// The JSON schema version.
pub const JSON_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    tool: Tool,
    findings: Vec<JsonFinding<'a>>,
    skipped: &'a [Skipped],
    summary: Summary,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    #[serde(flatten)]
    finding: &'a Finding,
    title: &'a str,
    cwe: &'a [String],
    owasp: &'a [String],
}

#[derive(Serialize)]
struct Summary {
    findings: usize,
    by_severity: BTreeMap<&'static str, usize>,
    files_discovered: usize,
    files_analysed: usize,
    files_parsed: usize,
    bytes_analysed: u64,
    files_skipped: BTreeMap<String, usize>,
    suppressed: usize,
    rules: usize,
    /// `I/N` for the report of one shard (`--shard`), absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    shard: Option<String>,
}

/// Renders the JSON document (pretty-printed, trailing newline).
pub fn render(report: &ScanReport) -> String {
    let findings = report
        .findings
        .iter()
        .map(|f| {
            let rule = report.rules.get(&f.rule_id);
            JsonFinding {
                finding: f,
                title: rule.map_or("", |r| r.title.as_str()),
                cwe: rule.map_or(&[], |r| r.cwe.as_slice()),
                owasp: rule.map_or(&[], |r| r.owasp.as_slice()),
            }
        })
        .collect();
    let by_severity = Severity::ALL
        .iter()
        .map(|s| {
            (
                s.as_str(),
                report.findings.iter().filter(|f| f.severity == *s).count(),
            )
        })
        .collect();
    let doc = Document {
        version: JSON_VERSION,
        tool: Tool {
            name: TOOL_NAME,
            version: TOOL_VERSION,
        },
        findings,
        skipped: &report.notes,
        summary: Summary {
            findings: report.findings.len(),
            by_severity,
            files_discovered: report.stats.files_discovered,
            files_analysed: report.stats.files_analysed,
            files_parsed: report.stats.files_parsed,
            bytes_analysed: report.stats.bytes_analysed,
            files_skipped: report.stats.skipped.clone(),
            suppressed: report.stats.suppressed,
            rules: report.stats.rules,
            shard: report.stats.shard.map(|s| s.to_string()),
        },
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("report types always serialise");
    s.push('\n');
    s
}
