//! The standards catalogues, shipped as data (`standards/*.yaml`, embedded at build time): each
//! control's id, title and what a team verifies by hand where no check covers it.
//!
//! Rules point at controls from their own YAML (`cwe`, `owasp`, `asvs`); this module says which
//! control of which standard each of those ids names. `tests/rules_meta.rs` checks every id of
//! every built-in rule against these catalogues.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::rules::Rule;

/// A standard `vibeward report --standard` can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Standard {
    /// OWASP Top 10:2021 (`A01:2021` ...).
    Owasp2021,
    /// OWASP API Security Top 10:2023 (`API1:2023` ...).
    OwaspApi2023,
    /// OWASP Top 10 for LLM Applications 2025 (`LLM01:2025` ...).
    OwaspLlm2025,
    /// OWASP ASVS 5.0, by section (`V8.2`); rules name requirements (`V8.2.2`).
    Asvs5,
    /// The 2024 CWE Top 25 (`CWE-79` ...).
    CweTop25,
}

impl Standard {
    /// Every standard, in report order.
    pub const ALL: [Standard; 5] = [
        Standard::Owasp2021,
        Standard::OwaspApi2023,
        Standard::OwaspLlm2025,
        Standard::Asvs5,
        Standard::CweTop25,
    ];

    /// The name used by `--standard`.
    pub fn as_str(self) -> &'static str {
        match self {
            Standard::Owasp2021 => "owasp-2021",
            Standard::OwaspApi2023 => "owasp-api-2023",
            Standard::OwaspLlm2025 => "owasp-llm-2025",
            Standard::Asvs5 => "asvs-5",
            Standard::CweTop25 => "cwe-top25",
        }
    }

    /// The standard of this `--standard` name.
    pub fn from_name(name: &str) -> Option<Standard> {
        Standard::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The catalogue of this standard.
    pub fn catalogue(self) -> &'static Catalogue {
        static CATALOGUES: OnceLock<[Catalogue; 5]> = OnceLock::new();
        let all = CATALOGUES.get_or_init(|| {
            let cwe = cwe_catalogue();
            let mut top25: Vec<Control> = cwe
                .controls
                .iter()
                .filter(|c| c.top25.is_some())
                .cloned()
                .collect();
            top25.sort_by_key(|c| c.top25);
            [
                parse(OWASP_2021),
                parse(OWASP_API_2023),
                parse(OWASP_LLM_2025),
                parse(ASVS_5),
                Catalogue {
                    controls: top25,
                    ..cwe.clone()
                },
            ]
        });
        let index = Standard::ALL
            .iter()
            .position(|s| *s == self)
            .expect("ALL lists every standard");
        &all[index]
    }

    /// The controls of this standard that `rule` maps to, as control ids (for ASVS, the sections
    /// of the requirements it names), in the rule's order without repeats.
    pub fn controls_of(self, rule: &Rule) -> Vec<String> {
        let mut ids: Vec<String> = match self {
            Standard::Owasp2021 => owasp_ids(rule, "A"),
            Standard::OwaspApi2023 => owasp_ids(rule, "API"),
            Standard::OwaspLlm2025 => owasp_ids(rule, "LLM"),
            Standard::Asvs5 => rule.asvs.iter().map(|r| asvs_section(r)).collect(),
            Standard::CweTop25 => rule
                .cwe
                .iter()
                .filter(|c| cwe_catalogue().get(c).is_some_and(|e| e.top25.is_some()))
                .cloned()
                .collect(),
        };
        let mut seen = std::collections::BTreeSet::new();
        ids.retain(|id| seen.insert(id.clone()));
        ids
    }
}

impl Serialize for Standard {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

fn owasp_ids(rule: &Rule, prefix: &str) -> Vec<String> {
    rule.owasp
        .iter()
        .filter(|id| {
            id.strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .cloned()
        .collect()
}

/// The section of an ASVS requirement id: `V8.2.2` -> `V8.2`.
pub fn asvs_section(requirement: &str) -> String {
    requirement
        .rsplit_once('.')
        .map_or(requirement, |(section, _)| section)
        .to_string()
}

/// One control (or weakness) of a standard.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// The standard's own id: `A01:2021`, `API1:2023`, `LLM01:2025`, `V8.2`, `CWE-79`.
    pub id: String,
    /// The standard's title.
    pub title: String,
    /// The chapter it belongs to (ASVS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The requirement ids of an ASVS section.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<String>,
    /// Rank in the 2024 CWE Top 25 (CWE entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top25: Option<u32>,
    /// What a team verifies by hand (vibeward's own words).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual: Option<String>,
}

/// A standard's catalogue.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// Short id (`owasp-2021`).
    pub id: String,
    /// Full name.
    pub name: String,
    /// Version of the standard.
    pub version: String,
    /// Who publishes it.
    pub organization: String,
    /// Where to read it.
    pub uri: String,
    /// The controls, in the standard's order.
    pub controls: Vec<Control>,
}

impl Catalogue {
    /// The control with this id.
    pub fn get(&self, id: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.id == id)
    }
}

const OWASP_2021: &str = include_str!("../../standards/owasp-2021.yaml");
const OWASP_API_2023: &str = include_str!("../../standards/owasp-api-2023.yaml");
const OWASP_LLM_2025: &str = include_str!("../../standards/owasp-llm-2025.yaml");
const ASVS_5: &str = include_str!("../../standards/asvs-5.yaml");
const CWE: &str = include_str!("../../standards/cwe.yaml");

fn parse(text: &str) -> Catalogue {
    // the files are part of the build and tested (`catalogues_load`); a broken one is a bug
    serde_yaml_ng::from_str(text).expect("embedded standards catalogue is valid")
}

/// Every CWE entry the rules may name (the Top 25 of 2024 carry their rank).
pub fn cwe_catalogue() -> &'static Catalogue {
    static CWE_CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CWE_CATALOGUE.get_or_init(|| parse(CWE))
}

/// The ids of `rule` that no catalogue knows (`cwe`, `owasp` and `asvs` fields), for the
/// meta-test and for `vibeward rules` authors.
pub fn unknown_ids(rule: &Rule) -> Vec<String> {
    let mut unknown = Vec::new();
    for cwe in &rule.cwe {
        if cwe_catalogue().get(cwe).is_none() {
            unknown.push(format!("cwe {cwe}"));
        }
    }
    for id in &rule.owasp {
        let known = [
            Standard::Owasp2021,
            Standard::OwaspApi2023,
            Standard::OwaspLlm2025,
        ]
        .iter()
        .any(|s| s.catalogue().get(id).is_some());
        if !known {
            unknown.push(format!("owasp {id}"));
        }
    }
    for id in &rule.asvs {
        let known = Standard::Asvs5
            .catalogue()
            .get(&asvs_section(id))
            .is_some_and(|c| c.requirements.iter().any(|r| r == id));
        if !known {
            unknown.push(format!("asvs {id}"));
        }
    }
    unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogues_load() {
        assert_eq!(Standard::Owasp2021.catalogue().controls.len(), 10);
        assert_eq!(Standard::OwaspApi2023.catalogue().controls.len(), 10);
        assert_eq!(Standard::OwaspLlm2025.catalogue().controls.len(), 10);
        assert_eq!(Standard::CweTop25.catalogue().controls.len(), 25);
        assert_eq!(Standard::CweTop25.catalogue().controls[0].id, "CWE-79");
        let asvs = Standard::Asvs5.catalogue();
        assert_eq!(asvs.controls.len(), 80);
        let requirements: usize = asvs.controls.iter().map(|c| c.requirements.len()).sum();
        assert_eq!(requirements, 345);
    }

    #[test]
    fn every_control_not_covered_can_say_what_to_verify() {
        for standard in Standard::ALL {
            for control in &standard.catalogue().controls {
                assert!(
                    control.manual.as_deref().is_some_and(|m| !m.is_empty()),
                    "{} {}: no `manual`",
                    standard.as_str(),
                    control.id
                );
            }
        }
    }

    #[test]
    fn asvs_requirements_map_to_their_section() {
        assert_eq!(asvs_section("V8.2.2"), "V8.2");
        assert_eq!(asvs_section("V1.2.10"), "V1.2");
    }
}
