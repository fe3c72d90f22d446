//! The compliance report as data: what `vibeward report` renders as HTML, Markdown or JSON.
//!
//! Built from a finished [`ScanReport`] (redacted findings and code frames only, never raw
//! source), the standards catalogues, and optionally the SBOM totals and the data map and residency
//! sections of the privacy analysis ([`privacy_sections`]); a section left `None` renders as
//! "not computed".

use std::collections::BTreeMap;

use serde::Serialize;

use super::catalogue::Standard;
use super::coverage::{SeverityCounts, StandardCoverage, coverage};
use crate::ScanReport;
use crate::finding::Finding;
use crate::rules::Severity;

/// How many findings the report shows with code frames and fixes.
pub const TOP_FINDINGS: usize = 20;

/// Lines of context shown above and below a finding in its code frame.
const CONTEXT_LINES: usize = 2;

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Document {
    /// The vibeward version that wrote it.
    pub tool_version: String,
    /// The paths scanned, as given.
    pub scanned: Vec<String>,
    /// Files analysed and rules run.
    pub files_analysed: usize,
    /// Rules that ran.
    pub rules_run: usize,
    /// Every finding by severity.
    pub findings: SeverityCounts,
    /// Findings by rule family (`secrets`, `supabase`, ...), sorted by family.
    pub families: BTreeMap<String, SeverityCounts>,
    /// Coverage of each standard asked for.
    pub standards: Vec<StandardCoverage>,
    /// Personal data by table/class and who can reach it; filled by the privacy analysis.
    pub data_map: Option<Section>,
    /// Region settings against the allowed regions; filled by the privacy analysis.
    pub residency: Option<Section>,
    /// The most severe findings, with code frames and fixes.
    pub top_findings: Vec<TopFinding>,
    /// Dependencies: SBOM totals and dependency findings.
    pub dependencies: Option<DependencySummary>,
}

/// A section another analysis fills: a sentence and a table (every cell is plain text; the
/// renderers escape it).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Section {
    /// One or two sentences above the table.
    pub summary: String,
    /// Column headings.
    pub columns: Vec<String>,
    /// Rows, as many cells as columns.
    pub rows: Vec<Vec<String>>,
}

/// A finding as the report shows it.
#[derive(Clone, Debug, Serialize)]
pub struct TopFinding {
    /// Rule id.
    pub rule_id: String,
    /// Rule title.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// The finding's message.
    pub message: String,
    /// `path:line`.
    pub location: String,
    /// Line number of the first frame line.
    pub frame_start: usize,
    /// The redacted lines around the finding.
    pub frame: Vec<String>,
    /// Which frame lines (0-based) the finding spans.
    pub highlight: (usize, usize),
    /// The rule's "How to fix" text (Markdown source, shown as text).
    pub fix: String,
    /// CWE ids of the rule.
    pub cwe: Vec<String>,
    /// OWASP ids of the rule.
    pub owasp: Vec<String>,
}

/// Dependency totals from the SBOM and the dependency checks.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DependencySummary {
    /// Lockfiles read.
    pub lockfiles: Vec<String>,
    /// Lockfiles that could not be read.
    pub unreadable: usize,
    /// Components (distinct ecosystem, name, version).
    pub components: usize,
    /// Components by ecosystem (`npm`, `cargo`, ...).
    pub by_ecosystem: BTreeMap<String, usize>,
    /// Components needed only for development.
    pub development_only: usize,
    /// Components whose lockfile records a licence.
    pub with_licence: usize,
    /// Dependency findings by rule id.
    pub findings_by_rule: BTreeMap<String, usize>,
}

impl DependencySummary {
    /// Totals from a `CycloneDX` document (as `vibeward sbom` writes it).
    pub fn from_cyclonedx(document: &str, lockfiles: Vec<String>, unreadable: usize) -> Self {
        let mut summary = DependencySummary {
            lockfiles,
            unreadable,
            ..DependencySummary::default()
        };
        let Ok(json) = serde_json::from_str::<serde_json::Value>(document) else {
            return summary;
        };
        for component in json["components"].as_array().into_iter().flatten() {
            summary.components += 1;
            let ecosystem = component["purl"]
                .as_str()
                .and_then(|p| p.strip_prefix("pkg:"))
                .and_then(|p| p.split('/').next())
                .unwrap_or("other");
            *summary
                .by_ecosystem
                .entry(ecosystem.to_string())
                .or_default() += 1;
            if component["scope"].as_str() == Some("excluded") {
                summary.development_only += 1;
            }
            if component["licenses"]
                .as_array()
                .is_some_and(|l| !l.is_empty())
            {
                summary.with_licence += 1;
            }
        }
        summary
    }
}

/// Builds the report from a finished scan.
pub fn build(
    report: &ScanReport,
    scanned: &[String],
    standards: &[Standard],
    dependencies: Option<DependencySummary>,
) -> Document {
    let mut families: BTreeMap<String, SeverityCounts> = BTreeMap::new();
    for f in &report.findings {
        let family = f
            .rule_id
            .split_once('.')
            .map_or(f.rule_id.as_str(), |(f, _)| f);
        families
            .entry(family.to_string())
            .or_default()
            .add(f.severity);
    }
    let dependencies = dependencies.map(|mut d| {
        for f in report
            .findings
            .iter()
            .filter(|f| f.rule_id.starts_with("deps."))
        {
            *d.findings_by_rule.entry(f.rule_id.clone()).or_default() += 1;
        }
        d
    });
    Document {
        tool_version: crate::report::TOOL_VERSION.to_string(),
        scanned: scanned.to_vec(),
        files_analysed: report.stats.files_analysed,
        rules_run: report.rules.len(),
        findings: SeverityCounts::of(&report.findings),
        families,
        standards: standards
            .iter()
            .map(|s| coverage(*s, &report.rules, &report.findings))
            .collect(),
        data_map: None,
        residency: None,
        top_findings: top_findings(report),
        dependencies,
    }
}

/// The [`TOP_FINDINGS`] most severe findings (then the most confident, then output order).
fn top_findings(report: &ScanReport) -> Vec<TopFinding> {
    let mut order: Vec<&Finding> = report.findings.iter().collect();
    order.sort_by_key(|f| {
        (
            std::cmp::Reverse(f.severity),
            std::cmp::Reverse(f.confidence),
        )
    });
    order
        .into_iter()
        .take(TOP_FINDINGS)
        .map(|f| {
            let rule = report.rules.get(&f.rule_id);
            let (frame_start, frame, highlight) = frame(report, f);
            TopFinding {
                rule_id: f.rule_id.clone(),
                title: rule.map_or_else(String::new, |r| r.title.clone()),
                severity: f.severity,
                message: f.message.clone(),
                location: format!("{}:{}", f.path, f.start.line),
                frame_start,
                frame,
                highlight,
                fix: rule.map_or_else(String::new, |r| help_section(&r.help, "## How to fix")),
                cwe: rule.map_or_else(Vec::new, |r| r.cwe.clone()),
                owasp: rule.map_or_else(Vec::new, |r| r.owasp.clone()),
            }
        })
        .collect()
}

/// The redacted lines around `finding`: from the redacted file text the scan kept for code
/// frames, else the finding's own (redacted) snippet.
fn frame(report: &ScanReport, finding: &Finding) -> (usize, Vec<String>, (usize, usize)) {
    let first = finding.start.line.max(1);
    let last = finding.end.line.max(first).min(first + 8);
    if let Some(text) = report.sources.get(&finding.path) {
        let lines: Vec<&str> = text.lines().collect();
        if last <= lines.len() {
            let start = first.saturating_sub(CONTEXT_LINES).max(1);
            let end = (last + CONTEXT_LINES).min(lines.len());
            let frame = lines[start - 1..end].iter().map(|l| clip(l)).collect();
            return (start, frame, (first - start, last - start));
        }
    }
    let frame: Vec<String> = finding.snippet.lines().map(clip).collect();
    let n = frame.len().saturating_sub(1);
    (first, frame, (0, n))
}

/// Long lines (minified code) are cut so the frame stays readable.
fn clip(line: &str) -> String {
    const MAX: usize = 160;
    if line.chars().count() <= MAX {
        line.to_string()
    } else {
        let cut: String = line.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

/// The text under `heading` in a rule's help, up to the next heading.
fn help_section(help: &str, heading: &str) -> String {
    let Some(start) = help.find(heading) else {
        return String::new();
    };
    let body = &help[start + heading.len()..];
    let end = body.find("\n## ").unwrap_or(body.len());
    body[..end].trim().to_string()
}

/// The data map and residency sections of the document, from the privacy analysis.
pub fn privacy_sections(map: &crate::privacy::DataMap) -> (Section, Section) {
    use crate::privacy::residency::Status;
    let at = |l: &crate::privacy::data_map::Location| format!("{}:{}", l.path, l.line);
    let mut rows: Vec<Vec<String>> = map
        .stores
        .iter()
        .map(|s| {
            let mut types: Vec<&str> = s.fields.iter().map(|f| f.data_type.as_str()).collect();
            types.sort_unstable();
            types.dedup();
            vec![
                s.name.clone(),
                s.kind.clone(),
                types.join(", "),
                s.access.read.clone(),
                s.access.write.clone(),
                at(&s.location),
            ]
        })
        .collect();
    rows.extend(map.recipients.iter().map(|r| {
        let first = r.locations.first().map(at).unwrap_or_default();
        let more = r.locations.len().saturating_sub(1);
        vec![
            r.name.clone(),
            "receives data".to_string(),
            r.data_types.join(", "),
            "-".to_string(),
            "-".to_string(),
            if more > 0 {
                format!("{first} (+{more} more)")
            } else {
                first
            },
        ]
    }));
    let data_map = Section {
        summary: format!(
            "{} stores hold personal data; {} recipients (third parties, logs, URLs) receive it. \
             Access comes from RLS, Firebase rules and Parse CLPs where the scan finds them, \
             otherwise it is \"unknown\".",
            map.stores.len(),
            map.recipients.len()
        ),
        columns: [
            "Store or recipient",
            "Kind",
            "Personal data",
            "Read",
            "Write",
            "Where",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    };
    let status = |s: Option<Status>| match s {
        None => "not judged",
        Some(Status::Allowed) => "allowed",
        Some(Status::Outside) => "outside the allowed regions",
        Some(Status::Unknown) => "unknown (not resolvable statically)",
    };
    let residency = Section {
        summary: if map.allowed_regions.is_empty() {
            format!(
                "{} region settings found; no allowed regions are configured \
                 (`[compliance] regions` in vibeward.toml), so none is judged.",
                map.residency.len()
            )
        } else {
            format!(
                "{} region settings judged against the allowed regions {}.",
                map.residency.len(),
                map.allowed_regions.join(", ")
            )
        },
        columns: ["Service", "Region", "Status", "Where"]
            .map(String::from)
            .to_vec(),
        rows: map
            .residency
            .iter()
            .map(|r| {
                vec![
                    r.service.clone(),
                    r.region
                        .clone()
                        .or_else(|| r.expression.clone())
                        .unwrap_or_default(),
                    status(r.status).to_string(),
                    at(&r.location),
                ]
            })
            .collect(),
    };
    (data_map, residency)
}

#[cfg(test)]
mod tests {
    use super::help_section;

    #[test]
    fn fix_is_the_how_to_fix_section() {
        let help = "## What it detects\nA\n## How to fix\nDo B.\n\nThen C.\n## References\n- x";
        assert_eq!(help_section(help, "## How to fix"), "Do B.\n\nThen C.");
    }
}
