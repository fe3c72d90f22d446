//! Fixes for the faces that hand findings to someone who will change the code (the MCP server
//! for coding agents, the language server for editors): the rule's own advice, and for a few
//! rules a mechanical edit worked out from the finding's span in the file.
//!
//! Edits are computed from the *redacted* text a scan returns, so no edit can carry a secret:
//! a key written into code is replaced by a read of an environment variable, never moved. The
//! advice is the "How to fix" section of the rule's help, so the docs and the fix never differ.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::discover::FileKind;
use crate::finding::Finding;
use crate::rules::Rule;
use crate::source::{Position, SourceFile};

/// A change that resolves a finding, ready to apply to the file as scanned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Edit {
    /// What the edit does and what is left to do by hand, in one sentence.
    pub description: String,
    /// Start of the replaced text (an insertion has `start == end`).
    pub start: Position,
    /// End of the replaced text.
    pub end: Position,
    /// Byte range of the replaced text in the file.
    #[serde(skip)]
    pub byte_range: Range<usize>,
    /// The text to put there.
    pub new_text: String,
}

/// The "How to fix" section of a rule's help (the whole help when it has none).
pub fn advice(rule: &Rule) -> String {
    let help = rule.help.as_str();
    let Some(at) = help.find("## How to fix") else {
        return help.trim().to_string();
    };
    let body = &help[at + "## How to fix".len()..];
    let end = body.find("\n## ").unwrap_or(body.len());
    body[..end].trim().to_string()
}

/// The mechanical edit for `finding`, when its rule has one and the code has the expected
/// shape; `text` is the file's redacted text, `kind` its kind.
pub fn edit(finding: &Finding, text: &str, kind: FileKind) -> Option<Edit> {
    let range = finding.byte_range.clone();
    let span = text.get(range.clone())?;
    let (byte_range, new_text, description) = match finding.rule_id.as_str() {
        "supabase.table-without-rls" => enable_rls(text, &range, span)?,
        "tls.reject-unauthorized-disabled" => {
            let at = span.rfind("false")?;
            (
                range.start + at..range.start + at + "false".len(),
                "true".to_string(),
                "verify certificates; for a self-signed server certificate pass its CA with `ca:` instead".to_string(),
            )
        }
        id if id.starts_with("secrets.") && kind.is_code() => secret_to_env(text, &range, id)?,
        _ => return None,
    };
    let file = SourceFile::new(finding.path.clone(), kind, text.to_string());
    Some(Edit {
        description,
        start: file.position(byte_range.start),
        end: file.position(byte_range.end),
        byte_range,
        new_text,
    })
}

type Parts = (Range<usize>, String, String);

static CREATE_TABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)^create\s+(?:unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?([\w."]+)"#)
        .expect("valid regex")
});

/// `alter table <name> enable row level security;` on the line after the `create table`.
fn enable_rls(text: &str, range: &Range<usize>, span: &str) -> Option<Parts> {
    let name = CREATE_TABLE.captures(span)?.get(1)?.as_str();
    let rest = &text[range.end..];
    let after = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    let at = range.end + after + usize::from(rest[after..].starts_with(';'));
    Some((
        at..at,
        format!("\nalter table {name} enable row level security;"),
        format!(
            "enable row level security on {name} where it is created, then add policies scoped to the caller (`using (auth.uid() = user_id)`)"
        ),
    ))
}

static ASSIGNED_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"([A-Za-z_$][\w$]*)["']?\s*(?::|=|\?\?|\|\|)\s*$"#).expect("valid regex")
});

/// A key written as a whole string literal becomes `process.env.NAME`, NAME from the variable
/// or property it was assigned to (else from the rule).
fn secret_to_env(text: &str, range: &Range<usize>, rule_id: &str) -> Option<Parts> {
    let quote = *text.as_bytes().get(range.start.checked_sub(1)?)?;
    if !matches!(quote, b'"' | b'\'' | b'`') || text.as_bytes().get(range.end) != Some(&quote) {
        return None;
    }
    let line_start = text[..range.start - 1].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..range.start - 1];
    let name = ASSIGNED_NAME
        .captures(before)
        .and_then(|c| c.get(1))
        .map_or_else(
            || {
                rule_id
                    .split_once('.')
                    .map_or(rule_id, |(_, n)| n)
                    .to_string()
            },
            |m| m.as_str().to_string(),
        );
    let var = screaming_snake(&name);
    Some((
        range.start - 1..range.end + 1,
        format!("process.env.{var}"),
        format!(
            "read the key from the environment: set {var} in an untracked .env (or the host's secret settings) and rotate the leaked key, which stays in the history"
        ),
    ))
}

/// `stripeSecretKey` and `stripe-secret-key` become `STRIPE_SECRET_KEY`.
fn screaming_snake(name: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if c == '-' || c == '_' || c == '$' {
            if !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
            previous_lower = false;
        } else {
            if c.is_ascii_uppercase() && previous_lower {
                out.push('_');
            }
            previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            out.push(c.to_ascii_uppercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Confidence, Severity};

    fn finding(rule_id: &str, text: &str, span: &str) -> Finding {
        let start = text.find(span).expect("span in text");
        let file = SourceFile::new("x", FileKind::Js, text.to_string());
        Finding {
            rule_id: rule_id.into(),
            severity: Severity::High,
            confidence: Confidence::High,
            message: String::new(),
            path: "x".into(),
            start: file.position(start),
            end: file.position(start + span.len()),
            byte_range: start..start + span.len(),
            snippet: String::new(),
            fingerprint: String::new(),
            related: Vec::new(),
            is_flow: false,
            properties: std::collections::BTreeMap::new(),
            redactions: Vec::new(),
        }
    }

    fn apply(text: &str, edit: &Edit) -> String {
        let mut out = text.to_string();
        out.replace_range(edit.byte_range.clone(), &edit.new_text);
        out
    }

    #[test]
    fn rls_is_enabled_after_the_statement() {
        let text = "create table public.notes (\n  id bigint\n);\ncreate index i on x (y);\n";
        let f = finding(
            "supabase.table-without-rls",
            text,
            "create table public.notes (\n  id bigint\n)",
        );
        let change = edit(&f, text, FileKind::Sql).expect("an edit");
        assert_eq!(
            apply(text, &change),
            "create table public.notes (\n  id bigint\n);\nalter table public.notes enable row level security;\ncreate index i on x (y);\n"
        );
    }

    #[test]
    fn a_literal_key_becomes_an_environment_read() {
        let text = "const stripeKey = \"sk_l*************\";\n";
        let f = finding("secrets.stripe-live-secret-key", text, "sk_l*************");
        let change = edit(&f, text, FileKind::Js).expect("an edit");
        assert_eq!(
            apply(text, &change),
            "const stripeKey = process.env.STRIPE_KEY;\n"
        );
        // not a whole literal (a key inside a URL): no edit
        let text = "const u = \"https://x/?k=sk_l*****\";\n";
        let f = finding("secrets.stripe-live-secret-key", text, "sk_l*****");
        assert!(edit(&f, text, FileKind::Js).is_none());
    }

    #[test]
    fn names_become_screaming_snake_case() {
        assert_eq!(screaming_snake("openaiApiKey"), "OPENAI_API_KEY");
        assert_eq!(
            screaming_snake("stripe-live-secret-key"),
            "STRIPE_LIVE_SECRET_KEY"
        );
        assert_eq!(screaming_snake("API_KEY"), "API_KEY");
    }
}
