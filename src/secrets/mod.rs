//! Placeholder for the `secrets` capability: claims no rules yet.

use crate::engine::Analyzer;
use crate::rules::{RuleError, RuleSet};

/// Builds this capability's analyzer from the rules it claims; `None` while it has none.
pub fn build(
    _rules: &RuleSet,
    _settings: &crate::Settings,
) -> Result<Option<Box<dyn Analyzer>>, RuleError> {
    Ok(None)
}
