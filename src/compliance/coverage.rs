//! Per-control coverage of a standard by one scan: which checks ran for each control, what they
//! found by severity, and which controls no check covers.
//!
//! The status never says "passed": a control with checks and no findings is reported as "no
//! findings from N checks" (the checks see part of a control, never all of it), and a control
//! without checks is "not checked by vibeward", with what to verify by hand.

use std::collections::BTreeMap;

use serde::Serialize;

use super::catalogue::{Catalogue, Standard};
use crate::finding::Finding;
use crate::rules::{RuleSet, Severity};

/// Where a control stands after a scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Its checks reported findings.
    Findings,
    /// Its checks ran and reported nothing; the rest of the control is for people to verify.
    NoFindings,
    /// No vibeward check covers it.
    NotChecked,
}

impl Status {
    /// The words the reports use.
    pub fn label(self) -> &'static str {
        match self {
            Status::Findings => "findings",
            Status::NoFindings => "no findings from its checks",
            Status::NotChecked => "not checked by vibeward",
        }
    }
}

/// Findings by severity, most severe first (critical, high, medium, low, info).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SeverityCounts {
    /// Critical.
    pub critical: usize,
    /// High.
    pub high: usize,
    /// Medium.
    pub medium: usize,
    /// Low.
    pub low: usize,
    /// Info.
    pub info: usize,
}

impl SeverityCounts {
    /// Counts `findings`.
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Self {
        let mut counts = SeverityCounts::default();
        for f in findings {
            counts.add(f.severity);
        }
        counts
    }

    /// Adds one finding of `severity`.
    pub fn add(&mut self, severity: Severity) {
        match severity {
            Severity::Critical => self.critical += 1,
            Severity::High => self.high += 1,
            Severity::Medium => self.medium += 1,
            Severity::Low => self.low += 1,
            Severity::Info => self.info += 1,
        }
    }

    /// The count for `severity`.
    pub fn get(&self, severity: Severity) -> usize {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => self.info,
        }
    }

    /// All findings.
    pub fn total(&self) -> usize {
        self.critical + self.high + self.medium + self.low + self.info
    }

    /// "1 critical, 2 high", or "none".
    pub fn sentence(&self) -> String {
        let parts: Vec<String> = Severity::ALL
            .iter()
            .filter(|s| self.get(**s) > 0)
            .map(|s| format!("{} {s}", self.get(*s)))
            .collect();
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }
}

/// One control's row.
#[derive(Clone, Debug, Serialize)]
pub struct ControlCoverage {
    /// The control id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The chapter (ASVS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Where it stands.
    pub status: Status,
    /// Ids of the rules that ran for it, sorted.
    pub checks: Vec<String>,
    /// Its findings by severity.
    pub findings: SeverityCounts,
    /// ASVS: the requirement ids of the section that a check covers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requirements_checked: Vec<String>,
    /// ASVS: the requirement ids of the section no check covers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requirements_not_checked: Vec<String>,
    /// What to verify by hand (always shown for controls not checked; beyond the checks
    /// otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manual: Option<String>,
}

/// A standard's coverage by one scan.
#[derive(Clone, Debug, Serialize)]
pub struct StandardCoverage {
    /// Which standard.
    pub standard: Standard,
    /// Its full name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Where to read it.
    pub uri: String,
    /// One row per control, in the standard's order.
    pub controls: Vec<ControlCoverage>,
}

impl StandardCoverage {
    /// Number of controls in `status`.
    pub fn count(&self, status: Status) -> usize {
        self.controls.iter().filter(|c| c.status == status).count()
    }
}

/// The coverage of `standard` by the rules that ran and the findings they reported.
pub fn coverage(standard: Standard, rules: &RuleSet, findings: &[Finding]) -> StandardCoverage {
    let catalogue: &Catalogue = standard.catalogue();
    // control id -> rule ids; rule id -> control ids
    let mut checks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut requirements: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut controls_of_rule: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for rule in rules.rules() {
        let controls = standard.controls_of(rule);
        for id in &controls {
            checks.entry(id.clone()).or_default().push(rule.id.clone());
        }
        if standard == Standard::Asvs5 {
            for requirement in &rule.asvs {
                requirements
                    .entry(super::catalogue::asvs_section(requirement))
                    .or_default()
                    .push(requirement.clone());
            }
        }
        controls_of_rule.insert(rule.id.as_str(), controls);
    }
    let mut counts: BTreeMap<&str, SeverityCounts> = BTreeMap::new();
    for finding in findings {
        for id in controls_of_rule
            .get(finding.rule_id.as_str())
            .into_iter()
            .flatten()
        {
            counts.entry(id.as_str()).or_default().add(finding.severity);
        }
    }
    let controls = catalogue
        .controls
        .iter()
        .map(|control| {
            let mut rule_ids = checks.get(&control.id).cloned().unwrap_or_default();
            rule_ids.sort();
            rule_ids.dedup();
            let found = counts.get(control.id.as_str()).copied().unwrap_or_default();
            let status = if rule_ids.is_empty() {
                Status::NotChecked
            } else if found.total() > 0 {
                Status::Findings
            } else {
                Status::NoFindings
            };
            let mut checked = requirements.get(&control.id).cloned().unwrap_or_default();
            checked.sort_by_key(|a| requirement_order(a));
            checked.dedup();
            let not_checked = if standard == Standard::Asvs5 && !checked.is_empty() {
                control
                    .requirements
                    .iter()
                    .filter(|r| !checked.contains(r))
                    .cloned()
                    .collect()
            } else {
                Vec::new()
            };
            ControlCoverage {
                id: control.id.clone(),
                title: control.title.clone(),
                group: control.group.clone(),
                status,
                checks: rule_ids,
                findings: found,
                requirements_checked: checked,
                requirements_not_checked: not_checked,
                manual: control.manual.clone(),
            }
        })
        .collect();
    StandardCoverage {
        standard,
        name: catalogue.name.clone(),
        version: catalogue.version.clone(),
        uri: catalogue.uri.clone(),
        controls,
    }
}

/// `V1.2.10` sorts after `V1.2.9`.
fn requirement_order(id: &str) -> Vec<u32> {
    id.trim_start_matches('V')
        .split('.')
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::load_builtin_rules;

    fn builtin() -> RuleSet {
        RuleSet::new(load_builtin_rules().expect("rules load")).expect("unique ids")
    }

    #[test]
    fn a_control_without_checks_is_never_reported_as_clean() {
        let owasp = coverage(Standard::Owasp2021, &builtin(), &[]);
        let a04 = owasp
            .controls
            .iter()
            .find(|c| c.id == "A04:2021")
            .expect("A04");
        assert_eq!(a04.status, Status::NotChecked);
        assert!(a04.checks.is_empty() && a04.manual.is_some());
        let a03 = owasp
            .controls
            .iter()
            .find(|c| c.id == "A03:2021")
            .expect("A03");
        assert_eq!(a03.status, Status::NoFindings);
        assert!(a03.checks.iter().any(|c| c == "injection.sql-from-request"));
    }

    #[test]
    fn asvs_sections_say_which_requirements_no_check_covers() {
        let asvs = coverage(Standard::Asvs5, &builtin(), &[]);
        let injection = asvs.controls.iter().find(|c| c.id == "V1.2").expect("V1.2");
        assert!(injection.requirements_checked.iter().any(|r| r == "V1.2.4"));
        assert!(
            injection
                .requirements_not_checked
                .iter()
                .any(|r| r == "V1.2.6")
        );
        // in requirement order, V1.2.10 last
        assert_eq!(
            injection
                .requirements_not_checked
                .last()
                .map(String::as_str),
            Some("V1.2.10")
        );
    }

    #[test]
    fn cwe_top25_lists_the_25_in_rank_order() {
        let top25 = coverage(Standard::CweTop25, &builtin(), &[]);
        let ids: Vec<&str> = top25
            .controls
            .iter()
            .take(3)
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(ids, ["CWE-79", "CWE-787", "CWE-89"]);
        let memory = top25
            .controls
            .iter()
            .find(|c| c.id == "CWE-787")
            .expect("787");
        assert_eq!(memory.status, Status::NotChecked);
    }
}
