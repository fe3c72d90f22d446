//! A Markdown summary for `$GITHUB_STEP_SUMMARY` and pull-request comments: counts by severity,
//! then a table of the most severe findings (at most [`MAX_ROWS`]).
//!
//! Every value from the scanned code or a rule goes through [`cell`]: control characters escaped
//! ([`escape_control`]), pipes and HTML neutralised, so a file name or message cannot break the
//! table or inject markup.

use std::fmt::Write as _;

use super::escape_control;
use crate::ScanReport;
use crate::rules::Severity;

/// Rows of the findings table; the rest are counted below it.
pub const MAX_ROWS: usize = 50;

pub(crate) fn cell(s: &str) -> String {
    escape_control(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace('\n', " ")
}

/// Renders the summary (ends with a newline).
pub fn render(report: &ScanReport) -> String {
    let mut out = String::from("## vibeward\n\n");
    if report.findings.is_empty() {
        let _ = writeln!(
            out,
            "No findings in {} files ({} rules).",
            report.stats.files_analysed, report.stats.rules
        );
        return out;
    }
    out.push_str("| severity | findings |\n|---|---:|\n");
    for s in Severity::ALL {
        let n = report.findings.iter().filter(|f| f.severity == s).count();
        if n > 0 {
            let _ = writeln!(out, "| {s} | {n} |");
        }
    }
    let _ = writeln!(
        out,
        "\n{} in {} files ({} suppressed inline).\n",
        super::counts_sentence(report),
        report.stats.files_analysed,
        report.stats.suppressed
    );
    // most severe first; output order (path, line) within a severity
    let mut shown: Vec<_> = report.findings.iter().collect();
    shown.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out.push_str("| severity | rule | location | message |\n|---|---|---|---|\n");
    for f in shown.iter().take(MAX_ROWS) {
        let _ = writeln!(
            out,
            "| {} | `{}` | `{}:{}` | {} |",
            f.severity,
            cell(&f.rule_id),
            cell(&f.path).replace('`', "'"),
            f.start.line,
            cell(&f.message)
        );
    }
    if shown.len() > MAX_ROWS {
        let _ = writeln!(
            out,
            "\n…and {} more (see the SARIF report or `vibeward scan`).",
            shown.len() - MAX_ROWS
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn cells_cannot_break_the_table_or_inject_html() {
        assert_eq!(cell("a|b<img>\nc\u{1b}"), "a\\|b&lt;img&gt; c\\x1b");
    }
}
