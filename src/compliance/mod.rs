//! Compliance: the standards catalogues (OWASP Top 10:2021, API Security Top 10:2023, Top 10 for
//! LLM Applications 2025, ASVS 5.0, CWE Top 25 of 2024), which controls a scan covers, and the
//! report document `vibeward report` renders.
//!
//! Rules carry their standards ids as data (`cwe`, `owasp`, `asvs` in their YAML); this module
//! reads them, never the other way round. Personal-data classification, the data map and
//! residency belong to the privacy analysis, which fills [`document::Document::data_map`] and
//! [`document::Document::residency`].

pub mod catalogue;
pub mod coverage;
pub mod document;

pub use catalogue::{Catalogue, Control, Standard, cwe_catalogue, unknown_ids};
pub use coverage::{ControlCoverage, SeverityCounts, StandardCoverage, Status, coverage};
pub use document::{DependencySummary, Document, Section, build};
