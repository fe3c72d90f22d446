//! Placeholder for the `deps` capability: claims no rules yet.

use std::path::Path;

use crate::engine::Analyzer;
use crate::rules::{RuleError, RuleSet};

/// Builds this capability's analyzer from the rules it claims; `None` while it has none.
pub fn build(
    _rules: &RuleSet,
    _settings: &crate::Settings,
) -> Result<Option<Box<dyn Analyzer>>, RuleError> {
    Ok(None)
}

/// `vibeward db update`: downloads and stores the OSV archives. Returns a summary line.
pub fn update_database(_dir: Option<&Path>, _url: Option<&str>) -> anyhow::Result<String> {
    anyhow::bail!("`vibeward db update` is not available in this build yet")
}
