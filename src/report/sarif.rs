//! SARIF 2.1.0 output (serde-sarif), shaped for GitHub code scanning.
//!
//! `tool.driver.rules` holds the metadata of every rule that reported (help text and markdown,
//! `security-severity`, `precision`, CWE tags); results point at `%SRCROOT%`-relative URIs with
//! `partialFingerprints`; taint findings carry `codeFlows`; skipped files become
//! `toolExecutionNotifications`. No timestamps: the same tree gives the same bytes.
//!
//! The standards a rule maps to travel as SARIF taxonomies: `runs[].taxonomies` holds one
//! component per standard (CWE, OWASP Top 10:2021, API Security Top 10:2023, Top 10 for LLM
//! Applications 2025, ASVS 5.0) with the taxa the reported rules name, and each rule descriptor
//! has `relationships` to its taxa.
//!
//! The log stays within GitHub code scanning's upload limits ([`GITHUB_LIMITS`]): when a scan
//! has more results, the most severe are kept and a notification says how many of each severity
//! were left out; related locations and flow steps are cut to the per-result limit.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;
use serde_sarif::sarif::{
    ArtifactLocation, CodeFlow, Invocation, Location, Message, MultiformatMessageString,
    Notification, PhysicalLocation, PropertyBag, Region, ReportingConfiguration,
    ReportingDescriptor, ReportingDescriptorReference, ReportingDescriptorRelationship,
    Result as SarifResult, ResultLevel, Run, Sarif, ThreadFlow, ThreadFlowLocation, Tool,
    ToolComponent, ToolComponentReference,
};

use super::{TOOL_NAME, TOOL_VERSION};
use crate::ScanReport;
use crate::compliance::{Catalogue, Standard, cwe_catalogue};
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

/// One taxonomy of `runs[].taxonomies`: how SARIF names it, and the catalogue of its taxa.
struct Taxonomy {
    name: &'static str,
    full_name: &'static str,
    /// `None` for CWE: its taxa come from whichever CWE list version named them.
    version: Option<&'static str>,
    uri: &'static str,
    catalogue: &'static Catalogue,
}

/// The taxonomies, in the order `runs[].taxonomies` lists them.
fn taxonomy(i: usize) -> Taxonomy {
    let of = |name, standard: Standard| {
        let catalogue = standard.catalogue();
        Taxonomy {
            name,
            full_name: catalogue.name.as_str(),
            version: Some(catalogue.version.as_str()),
            uri: catalogue.uri.as_str(),
            catalogue,
        }
    };
    match i {
        0 => Taxonomy {
            name: "CWE",
            full_name: "Common Weakness Enumeration",
            version: None,
            uri: "https://cwe.mitre.org/",
            catalogue: cwe_catalogue(),
        },
        1 => of("OWASP Top 10", Standard::Owasp2021),
        2 => of("OWASP API Security Top 10", Standard::OwaspApi2023),
        3 => of("OWASP Top 10 for LLM Applications", Standard::OwaspLlm2025),
        _ => of("OWASP ASVS", Standard::Asvs5),
    }
}

const TAXONOMIES: usize = 5;

/// The taxa `rule` names in each taxonomy (ASVS: requirement ids).
fn taxa_of(rule: &Rule) -> [Vec<String>; TAXONOMIES] {
    [
        rule.cwe.clone(),
        Standard::Owasp2021.controls_of(rule),
        Standard::OwaspApi2023.controls_of(rule),
        Standard::OwaspLlm2025.controls_of(rule),
        rule.asvs.clone(),
    ]
}

/// `runs[].taxonomies` for the reported rules, and where each taxon sits in it.
struct Taxonomies {
    components: Vec<ToolComponent>,
    /// (taxonomy, taxon id) -> (index in `components`, index in its `taxa`).
    index: BTreeMap<(usize, String), (usize, usize)>,
}

impl Taxonomies {
    fn new(rules: &[&Rule]) -> Self {
        let mut sets: [std::collections::BTreeSet<String>; TAXONOMIES] = Default::default();
        for rule in rules {
            for (set, ids) in sets.iter_mut().zip(taxa_of(rule)) {
                set.extend(ids);
            }
        }
        let mut components = Vec::new();
        let mut index = BTreeMap::new();
        for (t, ids) in sets.iter().enumerate() {
            if ids.is_empty() {
                continue;
            }
            let taxonomy = taxonomy(t);
            let catalogue = taxonomy.catalogue;
            let taxa: Vec<ReportingDescriptor> = ids
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    index.insert((t, id.clone()), (components.len(), i));
                    let title = if t == TAXONOMIES - 1 {
                        let section = crate::compliance::catalogue::asvs_section(id);
                        catalogue
                            .get(&section)
                            .map(|c| format!("{section} {}", c.title))
                    } else {
                        catalogue.get(id).map(|c| c.title.clone())
                    };
                    let taxon = ReportingDescriptor::builder().id(id.clone());
                    match title {
                        Some(title) => taxon
                            .short_description(
                                MultiformatMessageString::builder().text(title).build(),
                            )
                            .build(),
                        None => taxon.build(),
                    }
                })
                .collect();
            let mut component = ToolComponent::builder()
                .name(taxonomy.name)
                .full_name(taxonomy.full_name)
                .organization(catalogue.organization.clone())
                .information_uri(taxonomy.uri)
                .is_comprehensive(false)
                .taxa(taxa)
                .build();
            component.version = taxonomy.version.map(str::to_string);
            components.push(component);
        }
        Taxonomies { components, index }
    }

    /// `relationships` from `rule` to its taxa.
    fn relationships(&self, rule: &Rule) -> Vec<ReportingDescriptorRelationship> {
        let mut out = Vec::new();
        for (t, ids) in taxa_of(rule).iter().enumerate() {
            for id in ids {
                let Some(&(component, taxon)) = self.index.get(&(t, id.clone())) else {
                    continue;
                };
                let target = ReportingDescriptorReference::builder()
                    .id(id.clone())
                    .index(taxon as i64)
                    .tool_component(
                        ToolComponentReference::builder()
                            .name(taxonomy(t).name)
                            .index(component as i64)
                            .build(),
                    )
                    .build();
                out.push(
                    ReportingDescriptorRelationship::builder()
                        .target(target)
                        .kinds(vec!["relevant".to_string()])
                        .build(),
                );
            }
        }
        out
    }

    /// `supportedTaxonomies` of the driver.
    fn references(&self) -> Vec<ToolComponentReference> {
        self.components
            .iter()
            .enumerate()
            .map(|(i, c)| {
                ToolComponentReference::builder()
                    .name(c.name.clone())
                    .index(i as i64)
                    .build()
            })
            .collect()
    }
}

fn descriptor(rule: &Rule, taxonomies: &Taxonomies) -> ReportingDescriptor {
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
    let relationships = taxonomies.relationships(rule);
    let mut descriptor = ReportingDescriptor::builder()
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
        .build();
    if !relationships.is_empty() {
        descriptor.relationships = Some(relationships);
    }
    descriptor
}

fn code_flow(finding: &Finding, max_steps: usize) -> CodeFlow {
    // the source (first) and the sink (last) stay; middle steps go when there are too many
    let mut steps: Vec<&Related> = finding.related.iter().collect();
    if steps.len() >= max_steps {
        let keep_head = max_steps.saturating_sub(2);
        steps.drain(keep_head..steps.len() - 1);
    }
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

/// Upload limits of a SARIF consumer.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Results per run.
    pub results: usize,
    /// Related locations (and flow steps) per result.
    pub locations: usize,
    /// Size of the rendered file in bytes.
    pub bytes: usize,
}

/// GitHub code scanning's limits: 25,000 results per run, 1,000 locations per result, 10 MB
/// per file (GitHub measures the compressed upload; the uncompressed size is kept below it).
pub const GITHUB_LIMITS: Limits = Limits {
    results: 25_000,
    locations: 1_000,
    bytes: 10 * 1000 * 1000,
};

/// Renders the SARIF log (pretty-printed, trailing newline) within [`GITHUB_LIMITS`].
pub fn render(report: &ScanReport) -> String {
    render_within(report, GITHUB_LIMITS)
}

/// Renders the SARIF log within `limits`, keeping the most severe results.
pub fn render_within(report: &ScanReport, limits: Limits) -> String {
    let mut max = limits.results;
    loop {
        let kept = keep_most_severe(report, max);
        let log = render_kept(report, &kept, limits);
        if log.len() <= limits.bytes || kept.is_empty() {
            return log;
        }
        // shrink in proportion to the excess, with a margin for the notification's own size
        let ratio = limits.bytes as f64 / log.len() as f64;
        #[expect(clippy::cast_sign_loss, reason = "a ratio of two lengths is positive")]
        let shrunk = (kept.len() as f64 * ratio * 0.95) as usize;
        max = shrunk.min(kept.len() - 1);
    }
}

/// Indices of at most `max` findings, most severe first when some must go, in output order.
fn keep_most_severe(report: &ScanReport, max: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..report.findings.len()).collect();
    if order.len() > max {
        order.sort_by_key(|&i| (std::cmp::Reverse(report.findings[i].severity), i));
        order.truncate(max);
        order.sort_unstable();
    }
    order
}

/// The notification for the results left out, if any.
fn left_out_note(report: &ScanReport, kept: &[usize], limits: Limits) -> Option<Notification> {
    let left = report.findings.len() - kept.len();
    if left == 0 {
        return None;
    }
    let mut by_severity: BTreeMap<Severity, usize> = BTreeMap::new();
    for f in &report.findings {
        *by_severity.entry(f.severity).or_default() += 1;
    }
    for &i in kept {
        if let Some(n) = by_severity.get_mut(&report.findings[i].severity) {
            *n -= 1;
        }
    }
    let parts: Vec<String> = by_severity
        .iter()
        .rev()
        .filter(|(_, n)| **n > 0)
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    Some(
        Notification::builder()
            .message(text(format!(
                "{left} of {} results left out to stay within GitHub code scanning's limits \
                 ({} results per run, {} bytes per file); the most severe were kept. Left out: {}. \
                 `vibeward scan --format json` lists them all.",
                report.findings.len(),
                limits.results,
                limits.bytes,
                parts.join(", ")
            )))
            .level(json!("warning"))
            .build(),
    )
}

fn render_kept(report: &ScanReport, kept: &[usize], limits: Limits) -> String {
    let findings: Vec<&Finding> = kept.iter().map(|&i| &report.findings[i]).collect();
    // Only rules that reported go into the driver, in id order; ruleIndex points into that list.
    let mut reported: Vec<&str> = findings.iter().map(|f| f.rule_id.as_str()).collect();
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

    let results = findings
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
                .take(limits.locations)
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
                result.code_flows = Some(vec![code_flow(f, limits.locations)]);
            }
            result
        })
        .collect::<Vec<_>>();

    let mut notifications: Vec<Notification> =
        left_out_note(report, kept, limits).into_iter().collect();
    notifications.extend(report.notes.iter().map(|n| {
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
    }));

    let invocation = Invocation::builder()
        .execution_successful(true)
        .tool_execution_notifications(notifications)
        .build();

    let taxonomies = Taxonomies::new(&rules);
    let mut driver = ToolComponent::builder()
        .name(TOOL_NAME)
        .version(TOOL_VERSION)
        .semantic_version(TOOL_VERSION)
        .information_uri("https://github.com/vibeward/vibeward")
        .rules(
            rules
                .iter()
                .map(|r| descriptor(r, &taxonomies))
                .collect::<Vec<_>>(),
        )
        .build();
    if !taxonomies.components.is_empty() {
        driver.supported_taxonomies = Some(taxonomies.references());
    }

    let mut run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .invocations(vec![invocation])
        .column_kind(json!("unicodeCodePoints"))
        .build();
    if !taxonomies.components.is_empty() {
        run.taxonomies = Some(taxonomies.components);
    }
    if let Some(shard) = report.stats.shard {
        // what `vibeward merge` needs to tell a missing shard and to add up the counters
        let stats = &report.stats;
        let mut extra = BTreeMap::new();
        extra.insert("vibeward/shard".to_string(), json!(shard.to_string()));
        extra.insert(
            "vibeward/summary".to_string(),
            json!({
                "files_discovered": stats.files_discovered,
                "files_analysed": stats.files_analysed,
                "files_parsed": stats.files_parsed,
                "bytes_analysed": stats.bytes_analysed,
                "suppressed": stats.suppressed,
                "rules": stats.rules,
            }),
        );
        run.properties = Some(PropertyBag::builder().additional_properties(extra).build());
    }

    let log = Sarif::builder()
        .schema(SCHEMA)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build();
    let mut s = serde_json::to_string_pretty(&log).expect("SARIF types always serialise");
    s.push('\n');
    s
}
