//! Rendering a [`ScanReport`]: text with code frames, JSON, SARIF 2.1.0.
//!
//! Reporters only read findings; they never know how a finding was found.

pub mod json;
pub mod sarif;
pub mod text;

use std::borrow::Cow;

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
