//! Personal data and data residency (issue 24): the personal-data catalogue, the data map, and
//! the region checks of `[compliance] regions`.
//!
//! The flow rules (personal data into logs, analytics, LLM APIs, URLs; passwords saved unhashed)
//! are `taint:` rules in `rules/privacy/`, run by the taint engine with the source sets this
//! module spells out from the catalogue. Standards mapping and report documents live elsewhere.

pub mod catalogue;
