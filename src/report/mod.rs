//! Rendering a [`ScanReport`]: text with code frames, JSON, SARIF 2.1.0, GitHub workflow
//! commands, a Markdown summary and shell-readable counts. One scan can be rendered in several
//! formats ([`Format`]).
//!
//! Reporters only read findings; they never know how a finding was found.

pub mod compliance;
pub mod github;
pub mod html;
pub mod json;
pub mod markdown;
pub mod sarif;
pub mod text;

use std::fmt::Write as _;

use std::borrow::Cow;

use crate::ScanReport;
use crate::rules::Severity;

/// The name and version written into JSON and SARIF.
pub const TOOL_NAME: &str = "vibeward";
/// The version of this build.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// An output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Code frames for people.
    Text,
    /// The stable JSON document.
    Json,
    /// SARIF 2.1.0, capped below GitHub code scanning's limits.
    Sarif,
    /// GitHub Actions workflow commands (inline annotations).
    Github,
    /// A Markdown summary (step summaries, pull-request comments).
    Markdown,
    /// `name=value` lines: total and per-severity counts (for `$GITHUB_OUTPUT` and scripts).
    Counts,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 6] = [
        Format::Text,
        Format::Json,
        Format::Sarif,
        Format::Github,
        Format::Markdown,
        Format::Counts,
    ];

    /// The name used in `--format` and `--output FORMAT:FILE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Github => "github",
            Format::Markdown => "markdown",
            Format::Counts => "counts",
        }
    }

    /// The format of this name.
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

/// Renders the report in a format other than text (text needs a colour-aware writer, see
/// [`text::write`]).
pub fn render(report: &ScanReport, format: Format) -> String {
    match format {
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Github => github::render(report),
        Format::Markdown => markdown::render(report),
        Format::Counts => counts(report),
        Format::Text => {
            let mut buffer = termcolor::Buffer::no_color();
            // writing into memory cannot fail
            let _ = text::write(report, &mut buffer, text::TextOptions::default());
            String::from_utf8_lossy(buffer.as_slice()).into_owned()
        }
    }
}

/// Renders the report in `format` as a string (JSON and SARIF end with a newline).
pub fn render_machine(report: &ScanReport, sarif: bool) -> String {
    render(report, if sarif { Format::Sarif } else { Format::Json })
}

/// `findings=N` then one `SEVERITY=N` line per severity, most severe first.
pub fn counts(report: &ScanReport) -> String {
    let mut out = format!("findings={}\n", report.findings.len());
    for s in Severity::ALL {
        let n = report.findings.iter().filter(|f| f.severity == s).count();
        let _ = writeln!(out, "{s}={n}");
    }
    out
}

/// "3 findings (1 critical, 2 high)" or "No findings".
pub fn counts_sentence(report: &ScanReport) -> String {
    let n = report.findings.len();
    if n == 0 {
        return "No findings".into();
    }
    let parts: Vec<String> = Severity::ALL
        .iter()
        .map(|s| {
            (
                s,
                report.findings.iter().filter(|f| f.severity == *s).count(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    format!(
        "{n} finding{} ({})",
        if n == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

/// How a character that must not reach a terminal raw is written instead, or `None` for one that
/// may: C0 and C1 controls (ESC, CR, backspace, ...) but tab and line feed, DEL, bidirectional
/// overrides and isolates, and line/paragraph separators. A scanned file could otherwise rewrite
/// the terminal and hide findings, or show code in another order than it runs.
pub fn escape_char(c: char) -> Option<String> {
    match c {
        '\t' | '\n' => None,
        c if c.is_control() => Some(format!("\\x{:02x}", u32::from(c))),
        '\u{061c}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{2028}'
        | '\u{2029}' => Some(format!("<U+{:04X}>", u32::from(c))),
        _ => None,
    }
}

/// `text` with every character [`escape_char`] escapes written escaped (and line feeds kept).
pub fn escape_control(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| escape_char(c).is_some()) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match escape_char(c) {
            Some(escaped) => out.push_str(&escaped),
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::escape_control;

    #[test]
    fn terminal_controls_and_bidi_overrides_are_escaped() {
        assert_eq!(
            escape_control("a\u{1b}[2K\rb\u{8}\u{9b}c\u{202e}d\te\n"),
            "a\\x1b[2K\\x0db\\x08\\x9bc<U+202E>d\te\n"
        );
        assert!(matches!(
            escape_control("plain"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
