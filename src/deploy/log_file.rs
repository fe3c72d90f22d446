//! `http-log-file-committed`: a `*.log` file (npm-debug.log, server and crash logs) that is part
//! of the scanned tree. Inside a git work tree discovery only yields tracked or committable files,
//! so a log seen here is one that ships with the code. One finding per file, at its first line,
//! never quoting the content: low, or medium when the log holds what identifies people or grants
//! access (an e-mail address, an IPv4 address, an `Authorization` header, a bearer token or JWT).

use std::sync::LazyLock;

use regex::Regex;

use super::{Check, Extra, Sink};
use crate::rules::Severity;

/// Whether the path names a log file (`*.log`, `*.log.1`).
pub fn is_log_file(display: &str) -> bool {
    let name = display
        .rsplit('/')
        .next()
        .unwrap_or(display)
        .to_ascii_lowercase();
    let name = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    // `name` is lower-cased above
    name.strip_suffix(".log")
        .is_some_and(|stem| !stem.is_empty())
}

/// What sensitive kind of text the log holds, if any (for the message; never the text itself).
fn sensitive_kind(text: &str) -> Option<&'static str> {
    static PATTERNS: LazyLock<[(&str, Regex); 4]> = LazyLock::new(|| {
        let re = |p: &str| Regex::new(p).expect("constant pattern compiles");
        [
            (
                "an Authorization header or bearer token",
                re(r"(?i)\bauthorization\b\s*[:=]|\bbearer\s+[A-Za-z0-9._~+/-]{16,}"),
            ),
            (
                "a JSON Web Token",
                re(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
            ),
            (
                "an e-mail address",
                re(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
            ),
            (
                "an IP address",
                re(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b"),
            ),
        ]
    });
    PATTERNS.iter().find_map(|(what, re)| {
        re.find_iter(text)
            .any(|m| !is_unremarkable(m.as_str()))
            .then_some(*what)
    })
}

/// Loopback, unspecified and documentation values that say nothing about anyone.
fn is_unremarkable(found: &str) -> bool {
    found.starts_with("127.")
        || found == "0.0.0.0"
        || found.ends_with("@example.com")
        || found.ends_with("@localhost")
        // npm-debug.log names packages `name@1.2.3`, which the e-mail pattern does not take,
        // but versions such as `1.2.3.4` look like addresses
        || found.split('.').all(|p| p.len() == 1)
}

/// Reports the file once.
pub fn check_file(sink: &mut Sink<'_, '_>) {
    let text = sink.text();
    // an empty log (a placeholder kept for the folder) shows nothing
    if text.trim().is_empty() {
        return;
    }
    let first_line = text.find('\n').unwrap_or(text.len());
    let extra = match sensitive_kind(text) {
        Some(what) => Extra {
            message: Some(format!(
                "This log file is committed with the code, and it contains {what}"
            )),
            severity: Some(Severity::Medium),
            redact: None,
        },
        None => Extra::default(),
    };
    sink.report(Check::LogFileCommitted, 0..first_line, extra);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_log_files_only() {
        assert!(is_log_file("npm-debug.log"));
        assert!(is_log_file("logs/server.log.1"));
        assert!(!is_log_file("src/log.ts"));
        assert!(!is_log_file("CHANGELOG.md"));
        assert!(!is_log_file(".log"));
    }

    #[test]
    fn sees_people_and_credentials_not_loopback() {
        assert!(sensitive_kind("GET / from 10.1.2.3").is_some());
        assert!(sensitive_kind("login ok for ana@shop.io").is_some());
        assert!(sensitive_kind("headers: { authorization: 'x' }").is_some());
        assert_eq!(
            sensitive_kind("listening on 127.0.0.1:3000 and 0.0.0.0"),
            None
        );
        assert_eq!(
            sensitive_kind("npm ERR! node v18.17.1\nnpm ERR! npm  v9.6.7"),
            None
        );
    }
}
