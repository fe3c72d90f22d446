//! Rendering a [`ScanReport`]: text with code frames, JSON, SARIF 2.1.0.
//!
//! Reporters only read findings; they never know how a finding was found.

pub mod json;
pub mod sarif;
pub mod text;

use crate::ScanReport;

/// The name and version written into JSON and SARIF.
pub const TOOL_NAME: &str = "vibeward";
/// The version of this build.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Renders the report in `format` as a string (JSON and SARIF end with a newline).
pub fn render_machine(report: &ScanReport, sarif: bool) -> String {
    if sarif {
        sarif::render(report)
    } else {
        json::render(report)
    }
}
