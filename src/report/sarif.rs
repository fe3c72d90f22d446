//! SARIF 2.1.0 output (serde-sarif), shaped for GitHub code scanning.
//!
//! `tool.driver.rules` holds the metadata of every rule that reported (help text and markdown,
//! `security-severity`, `precision`, CWE tags); results point at `%SRCROOT%`-relative URIs with
//! `partialFingerprints`; taint findings carry `codeFlows`; skipped files become
//! `toolExecutionNotifications`. No timestamps: the same tree gives the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;
use serde_sarif::sarif::{
    ArtifactLocation, CodeFlow, Invocation, Location, Message, MultiformatMessageString,
    Notification, PhysicalLocation, PropertyBag, Region, ReportingConfiguration,
    ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif, ThreadFlow,
    ThreadFlowLocation, Tool, ToolComponent,
};

use super::{TOOL_NAME, TOOL_VERSION};
use crate::ScanReport;
use crate::finding::{Finding, Related};
use crate::rules::{Rule, Severity};
use crate::source::Position;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(severity: Severity) -> ResultLevel {
    match severity {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low | Severity::Info => ResultLevel::Note,
    }
}

fn text(s: impl Into<String>) -> Message {
    Message::builder().text(s.into()).build()
}

fn artifact(path: &str) -> ArtifactLocation {
    if path.starts_with('/') {
        ArtifactLocation::builder()
            .uri(format!("file://{path}"))
            .build()
    } else {
        ArtifactLocation::builder()
            .uri(percent_encode(path))
            .uri_base_id("%SRCROOT%")
            .build()
    }
}

/// Encodes the characters a URI reference cannot hold as they are.
fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/@+".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn region(start: Position, end: Position, snippet: Option<&str>) -> Region {
    let region = Region::builder()
        .start_line(start.line as i64)
        .start_column(start.column as i64)
        .end_line(end.line as i64)
        .end_column(end.column as i64);
    match snippet {
        Some(s) => region.snippet(content(s)).build(),
        None => region.build(),
    }
}

fn content(s: &str) -> serde_sarif::sarif::ArtifactContent {
    serde_sarif::sarif::ArtifactContent::builder()
        .text(s.to_string())
        .build()
}

fn location(path: &str, start: Position, end: Position, message: Option<&str>) -> Location {
    let physical = PhysicalLocation::builder()
        .artifact_location(artifact(path))
        .region(region(start, end, None))
        .build();
    match message {
        Some(m) => Location::builder()
            .physical_location(physical)
            .message(text(m))
            .build(),
        None => Location::builder().physical_location(physical).build(),
    }
}

fn descriptor(rule: &Rule) -> ReportingDescriptor {
    let mut tags = vec!["security".to_string()];
    tags.extend(
        rule.cwe
            .iter()
            .map(|c| format!("external/cwe/{}", c.to_ascii_lowercase())),
    );
    tags.extend(rule.owasp.iter().map(|o| format!("owasp/{o}")));
    tags.push(rule.family().to_string());
    let mut extra = BTreeMap::new();
    extra.insert("precision".to_string(), json!(rule.confidence.precision()));
    extra.insert(
        "security-severity".to_string(),
        json!(rule.severity.security_score()),
    );
    extra.insert(
        "problem.severity".to_string(),
        json!(match rule.severity {
            Severity::Critical | Severity::High => "error",
            Severity::Medium => "warning",
            Severity::Low | Severity::Info => "recommendation",
        }),
    );
    let props = PropertyBag::builder()
        .tags(tags)
        .additional_properties(extra)
        .build();
    let help_text = format!("{}\n\n{}", rule.title, rule.help.trim());
    ReportingDescriptor::builder()
        .id(rule.id.clone())
        .name(
            rule.id
                .split_once('.')
                .map_or(rule.id.as_str(), |(_, n)| n)
                .to_string(),
        )
        .short_description(
            MultiformatMessageString::builder()
                .text(rule.title.clone())
                .build(),
        )
        .full_description(
            MultiformatMessageString::builder()
                .text(rule.message.replace("{{", "").replace("}}", ""))
                .build(),
        )
        .help(
            MultiformatMessageString::builder()
                .text(help_text)
                .markdown(rule.help.trim().to_string())
                .build(),
        )
        .help_uri(rule.help_uri())
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(match level(rule.severity) {
                    ResultLevel::Error => "error",
                    ResultLevel::Warning => "warning",
                    _ => "note",
                }))
                .build(),
        )
        .properties(props)
        .build()
}

fn code_flow(finding: &Finding) -> CodeFlow {
    let mut steps: Vec<&Related> = finding.related.iter().collect();
    let sink = Related {
        path: finding.path.clone(),
        start: finding.start,
        end: finding.end,
        message: "reaches this sink".into(),
    };
    steps.push(&sink);
    let locations = steps
        .iter()
        .map(|r| {
            ThreadFlowLocation::builder()
                .location(location(&r.path, r.start, r.end, Some(&r.message)))
                .build()
        })
        .collect::<Vec<_>>();
    CodeFlow::builder()
        .thread_flows(vec![ThreadFlow::builder().locations(locations).build()])
        .build()
}

/// Renders the SARIF log (pretty-printed, trailing newline).
pub fn render(report: &ScanReport) -> String {
    // Only rules that reported go into the driver, in id order; ruleIndex points into that list.
    let mut reported: Vec<&str> = report.findings.iter().map(|f| f.rule_id.as_str()).collect();
    reported.sort_unstable();
    reported.dedup();
    let rules: Vec<&Rule> = reported
        .iter()
        .filter_map(|id| report.rules.get(id))
        .collect();
    let index: BTreeMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();

    let results = report
        .findings
        .iter()
        .map(|f| {
            let mut fingerprints = BTreeMap::new();
            fingerprints.insert("vibeward/v1".to_string(), f.fingerprint.clone());
            let physical = PhysicalLocation::builder()
                .artifact_location(artifact(&f.path))
                .region(region(f.start, f.end, Some(&f.snippet)))
                .build();
            let mut props = BTreeMap::new();
            props.insert("severity".to_string(), json!(f.severity.as_str()));
            props.insert("confidence".to_string(), json!(f.confidence.as_str()));
            for (k, v) in &f.properties {
                {
                    props.insert(k.clone(), json!(v));
                }
            }
            let builder = SarifResult::builder()
                .rule_id(f.rule_id.clone())
                .level(level(f.severity))
                .message(text(f.message.clone()))
                .locations(vec![
                    Location::builder().physical_location(physical).build(),
                ])
                .partial_fingerprints(fingerprints)
                .properties(PropertyBag::builder().additional_properties(props).build());
            let related: Vec<Location> = f
                .related
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let mut loc = location(&r.path, r.start, r.end, Some(&r.message));
                    loc.id = Some(i as i64);
                    loc
                })
                .collect();
            let mut result = match index.get(f.rule_id.as_str()) {
                Some(&i) => builder.rule_index(i as i64).build(),
                None => builder.build(),
            };
            if !related.is_empty() {
                result.related_locations = Some(related);
            }
            if f.is_flow {
                result.code_flows = Some(vec![code_flow(f)]);
            }
            result
        })
        .collect::<Vec<_>>();

    let notifications = report
        .notes
        .iter()
        .map(|n| {
            let level = if n.reason.is_degraded() {
                "note"
            } else {
                "warning"
            };
            let physical = PhysicalLocation::builder()
                .artifact_location(artifact(&n.path))
                .build();
            Notification::builder()
                .message(text(format!(
                    "{}: {} ({})",
                    n.path,
                    n.reason.as_str(),
                    n.detail
                )))
                .level(json!(level))
                .locations(vec![
                    Location::builder().physical_location(physical).build(),
                ])
                .build()
        })
        .collect::<Vec<_>>();

    let invocation = Invocation::builder()
        .execution_successful(true)
        .tool_execution_notifications(notifications)
        .build();

    let driver = ToolComponent::builder()
        .name(TOOL_NAME)
        .version(TOOL_VERSION)
        .semantic_version(TOOL_VERSION)
        .information_uri("https://github.com/vibeward/vibeward")
        .rules(rules.iter().map(|r| descriptor(r)).collect::<Vec<_>>())
        .build();

    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .invocations(vec![invocation])
        .column_kind(json!("unicodeCodePoints"))
        .build();

    let log = Sarif::builder()
        .schema(SCHEMA)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build();
    let mut s = serde_json::to_string_pretty(&log).expect("SARIF types always serialise");
    s.push('\n');
    s
}
