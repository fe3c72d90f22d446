//! Personal data and data residency (issue 24): the personal-data catalogue, the data map, and
//! the region checks of `[compliance] regions`.
//!
//! The flow rules (personal data into logs, analytics, LLM APIs, URLs; passwords saved unhashed)
//! are `taint:` rules in `rules/privacy/`, run by the taint engine with the source sets this
//! module spells out from the catalogue. Standards mapping and report documents live elsewhere.

pub mod catalogue;
pub mod data_map;
pub mod export;
pub mod render;
pub mod residency;

pub use data_map::{DataMap, build_data_map, data_map_for};

use crate::engine::{Analyzer, FileContext};
use crate::finding::Finding;
use crate::rules::{Matcher, MatcherKind, RuleError, RuleSet};

/// Builtin check: a region setting outside `[compliance] regions`.
const OUTSIDE: &str = "privacy-region-outside-allowed";
/// Builtin check: a region setting the scan cannot resolve.
const UNRESOLVED: &str = "privacy-region-unresolved";
/// Builtin check: a data file holding many people's e-mail addresses.
const EXPORT: &str = "privacy-data-export-committed";

/// The builtin checks this capability runs.
pub fn builtin_names() -> Vec<String> {
    vec![
        OUTSIDE.to_string(),
        UNRESOLVED.to_string(),
        EXPORT.to_string(),
    ]
}

/// Builds the privacy analyzer (data exports and residency); `None` when none of its rules is
/// loaded. Without configured regions (the default) the residency rules report nothing.
pub fn build(
    rules: &RuleSet,
    settings: &crate::Settings,
) -> Result<Option<Box<dyn Analyzer>>, RuleError> {
    let find = |name: &str| {
        rules.rules().iter().position(|r| {
            matches!(&r.matcher, Matcher::Spec { kind: MatcherKind::Builtin, spec } if spec.as_str() == Some(name))
        })
    };
    let (outside, unresolved, export) = (find(OUTSIDE), find(UNRESOLVED), find(EXPORT));
    if outside.is_none() && unresolved.is_none() && export.is_none() {
        return Ok(None);
    }
    Ok(Some(Box::new(PrivacyAnalyzer {
        outside,
        unresolved,
        export,
        allowed: settings.regions.clone(),
    })))
}

/// Reports data exports, region settings outside the allowed regions, and those it cannot
/// resolve.
struct PrivacyAnalyzer {
    outside: Option<usize>,
    unresolved: Option<usize>,
    export: Option<usize>,
    allowed: Vec<String>,
}

impl Analyzer for PrivacyAnalyzer {
    fn name(&self) -> &'static str {
        "privacy"
    }

    fn rule_indices(&self) -> Vec<usize> {
        self.outside
            .into_iter()
            .chain(self.unresolved)
            .chain(self.export)
            .collect()
    }

    fn analyze_file(&self, ctx: &FileContext<'_>, out: &mut Vec<Finding>) {
        if let Some(idx) = self.export.filter(|i| ctx.is_active(*i)) {
            report_export(ctx, idx, out);
        }
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

/// Reports a data file that holds many people's e-mail addresses (see [`export`]).
fn report_export(ctx: &FileContext<'_>, idx: usize, out: &mut Vec<Finding>) {
    let file = ctx.file;
    if !export::is_data_file(file.kind, &file.display) {
        return;
    }
    let Some(found) = export::judge(&file.text) else {
        return;
    };
    let mut f = ctx.finding(idx, found.first.clone());
    f.message = format!(
        "This data file holds {} distinct e-mail addresses at {} domains ({}{}): an export of people's records committed with the code",
        found.addresses,
        found.domains,
        found.top_domains.join(", "),
        if found.domains > found.top_domains.len() {
            ", ..."
        } else {
            ""
        },
    );
    f.redactions.push(found.first);
    out.push(f);
}
