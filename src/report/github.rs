//! GitHub Actions workflow commands (`::error file=...,line=...::message`): one annotation per
//! finding, shown inline on the pull request's diff.
//!
//! Values are escaped as the runner expects (`%`, CR and LF in messages; also `:` and `,` in
//! properties), after control characters are escaped with [`escape_control`], so a scanned file
//! cannot inject a workflow command of its own.

use std::fmt::Write as _;

use super::escape_control;
use crate::ScanReport;
use crate::rules::Severity;

fn command(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "notice",
    }
}

/// Escapes a message (the part after `::`).
fn data(s: &str) -> String {
    escape_control(s)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value (`file=`, `title=`).
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Renders one workflow command per finding, then a notice with the totals.
pub fn render(report: &ScanReport) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let title = report
            .rules
            .get(&f.rule_id)
            .map_or(String::new(), |r| format!(" — {}", r.title));
        let _ = writeln!(
            out,
            "::{} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            command(f.severity),
            property(&f.path),
            f.start.line,
            f.start.column,
            f.end.line,
            f.end.column,
            property(&format!("vibeward {} ({}){title}", f.rule_id, f.severity)),
            data(&f.message),
        );
    }
    let _ = writeln!(
        out,
        "::notice title=vibeward::{}",
        data(&super::counts_sentence(report))
    );
    out
}

#[cfg(test)]
mod tests {
    use super::{data, property};

    #[test]
    fn newlines_and_separators_cannot_start_a_command() {
        assert_eq!(data("a\n::error::x%"), "a%0A::error::x%25");
        assert_eq!(property("src/a,b:c.js"), "src/a%2Cb%3Ac.js");
        assert_eq!(data("a\rb\u{1b}"), "a\\x0db\\x1b");
    }
}
