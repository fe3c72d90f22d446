//! Personal data and data residency (issue 24): the personal-data catalogue, the data map, and
//! the region checks of `[compliance] regions`.
//!
//! The flow rules (personal data into logs, analytics, LLM APIs, URLs; passwords saved unhashed)
//! are `taint:` rules in `rules/privacy/`, run by the taint engine with the source sets this
//! module spells out from the catalogue. Standards mapping and report documents live elsewhere.

pub mod catalogue;
pub mod data_map;
pub mod residency;

pub use data_map::{DataMap, build_data_map, data_map_for};

use crate::engine::{Analyzer, FileContext};
use crate::finding::Finding;
use crate::rules::{Matcher, MatcherKind, RuleError, RuleSet};

/// Builtin check: a region setting outside `[compliance] regions`.
const OUTSIDE: &str = "privacy-region-outside-allowed";
/// Builtin check: a region setting the scan cannot resolve.
const UNRESOLVED: &str = "privacy-region-unresolved";

/// The builtin checks this capability runs.
pub fn builtin_names() -> Vec<String> {
    vec![OUTSIDE.to_string(), UNRESOLVED.to_string()]
}

/// Builds the residency analyzer; `None` when its rules are not loaded. Without configured
/// regions (the default) it claims its rules and reports nothing.
pub fn build(
    rules: &RuleSet,
    settings: &crate::Settings,
) -> Result<Option<Box<dyn Analyzer>>, RuleError> {
    let find = |name: &str| {
        rules.rules().iter().position(|r| {
            matches!(&r.matcher, Matcher::Spec { kind: MatcherKind::Builtin, spec } if spec.as_str() == Some(name))
        })
    };
    let (outside, unresolved) = (find(OUTSIDE), find(UNRESOLVED));
    if outside.is_none() && unresolved.is_none() {
        return Ok(None);
    }
    Ok(Some(Box::new(ResidencyAnalyzer {
        outside,
        unresolved,
        allowed: settings.regions.clone(),
    })))
}

/// Reports region settings outside the allowed regions, and those it cannot resolve.
struct ResidencyAnalyzer {
    outside: Option<usize>,
    unresolved: Option<usize>,
    allowed: Vec<String>,
}

impl Analyzer for ResidencyAnalyzer {
    fn name(&self) -> &'static str {
        "residency"
    }

    fn rule_indices(&self) -> Vec<usize> {
        self.outside.into_iter().chain(self.unresolved).collect()
    }

    fn analyze_file(&self, ctx: &FileContext<'_>, out: &mut Vec<Finding>) {
        if self.allowed.is_empty() {
            return;
        }
        let file = ctx.file;
        let allowed = self.allowed.join(", ");
        for s in residency::region_settings(file.kind, &file.display, &file.text) {
            let (idx, message) = match residency::judge(&s, &self.allowed) {
                residency::Status::Allowed => continue,
                residency::Status::Outside => (
                    self.outside,
                    format!(
                        "{} region `{}` is outside the allowed regions ({allowed})",
                        s.service,
                        s.region.as_deref().unwrap_or_default()
                    ),
                ),
                residency::Status::Unknown => (
                    self.unresolved,
                    format!(
                        "{} region comes from `{}`, which a static scan cannot resolve: not known to be inside the allowed regions ({allowed})",
                        s.service,
                        s.expression.as_deref().unwrap_or_default()
                    ),
                ),
            };
            let Some(idx) = idx.filter(|i| ctx.is_active(*i)) else {
                continue;
            };
            let mut f = ctx.finding(idx, s.range.clone());
            f.message = message;
            out.push(f);
        }
    }
}
pub mod render;
