//! Serverless Framework files (`serverless.yml`): HTTP functions left without an authorizer while
//! their siblings have one, and CORS settings that allow any origin with credentials.
//!
//! Meaning comes from the parsed YAML; positions from the text (the function's key line under
//! `functions:`, or the `allowCredentials` line).

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use serde_yaml_ng::Value;

use super::{Check, Extra, Sink, lines};

/// Whether `display` names a Serverless Framework service file.
pub fn is_serverless(display: &str) -> bool {
    let name = display.rsplit('/').next().unwrap_or(display);
    matches!(name, "serverless.yml" | "serverless.yaml")
}

/// Paths that are public by purpose: sign-in and sign-up, OAuth callbacks, webhooks (verified by
/// signature), health checks, documentation.
static PUBLIC_PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:^|[/_-])(?:log-?in|sign-?in|sign-?up|register|auth|oauth|callback|webhooks?|health|healthz|ping|status|version|public|docs|swagger|openapi|token|refresh|forgot|reset|verify|confirm|unsubscribe|subscribe|contact|newsletter|waitlist)(?:$|[/_.{-])",
    )
    .expect("constant pattern compiles")
});

/// One HTTP event of a function.
struct HttpEvent {
    path: String,
    guarded: bool,
}

/// Runs the Serverless checks on a parsed `serverless.yml`.
pub fn check_file(sink: &mut Sink<'_, '_>, doc: &Value) {
    let text = sink.text().to_string();
    if sink.is_active(Check::CorsWildcardWithCredentials) {
        check_cors(sink, &text, doc);
    }
    if sink.is_active(Check::ServerlessWithoutAuthorizer) {
        check_authorizers(sink, &text, doc);
    }
}

/// The HTTP events (`http`, `httpApi`) of a function, with whether each is guarded by an
/// authorizer or an API key (`private: true`).
fn http_events(function: &Value) -> Vec<HttpEvent> {
    let mut out = Vec::new();
    for event in function
        .get("events")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        for key in ["http", "httpApi"] {
            match event.get(key) {
                Some(Value::String(short)) => out.push(HttpEvent {
                    // `GET users/{id}`
                    path: short
                        .split_whitespace()
                        .last()
                        .unwrap_or_default()
                        .to_string(),
                    guarded: false,
                }),
                Some(spec @ Value::Mapping(_)) => out.push(HttpEvent {
                    path: spec
                        .get("path")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    guarded: spec.get("authorizer").is_some_and(|a| !a.is_null())
                        || spec.get("private").and_then(Value::as_bool) == Some(true),
                }),
                _ => {}
            }
        }
    }
    out
}

/// Functions with HTTP events and no authorizer, in a service where another function's HTTP
/// event has one (so the service does authenticate at the gateway, and this one was missed).
fn check_authorizers(sink: &mut Sink<'_, '_>, text: &str, doc: &Value) {
    let Some(functions) = doc.get("functions").and_then(Value::as_mapping) else {
        return;
    };
    let events: Vec<(String, Vec<HttpEvent>)> = functions
        .iter()
        .filter_map(|(name, f)| Some((name.as_str()?.to_string(), http_events(f))))
        .collect();
    let guarded_elsewhere = events
        .iter()
        .filter(|(_, e)| e.iter().any(|h| h.guarded))
        .count();
    if guarded_elsewhere == 0 {
        return;
    }
    for (name, http) in &events {
        let Some(open) = http
            .iter()
            .find(|h| !h.guarded && !PUBLIC_PATH.is_match(&h.path))
        else {
            continue;
        };
        let Some(range) = function_line(text, name) else {
            continue;
        };
        sink.report(
            Check::ServerlessWithoutAuthorizer,
            range,
            Extra {
                message: Some(format!(
                    "Function `{name}` serves `{}` over HTTP with no authorizer, while {guarded_elsewhere} other function(s) of this service require one",
                    if open.path.is_empty() { "/" } else { open.path.as_str() }
                )),
                ..Extra::default()
            },
        );
    }
}

/// `cors: { origin: "*", allowCredentials: true }` on an `http` event, or
/// `provider.httpApi.cors` with `allowedOrigins: ["*"]` and `allowCredentials: true`.
fn check_cors(sink: &mut Sink<'_, '_>, text: &str, doc: &Value) {
    let wildcard = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.trim() == "*",
        Some(Value::Sequence(items)) => items.iter().any(|i| i.as_str() == Some("*")),
        _ => false,
    };
    let credentialed = |cors: &Value| {
        cors.get("allowCredentials").and_then(Value::as_bool) == Some(true)
            && (wildcard(cors.get("origin"))
                || wildcard(cors.get("origins"))
                || wildcard(cors.get("allowedOrigins")))
    };
    let mut found = doc
        .get("provider")
        .and_then(|p| p.get("httpApi"))
        .and_then(|h| h.get("cors"))
        .is_some_and(credentialed);
    for function in doc
        .get("functions")
        .and_then(Value::as_mapping)
        .into_iter()
        .flat_map(|m| m.values())
    {
        for event in function
            .get("events")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            found |= event
                .get("http")
                .and_then(|h| h.get("cors"))
                .is_some_and(credentialed);
        }
    }
    if !found {
        return;
    }
    // one finding per `allowCredentials: true` line of the file
    for (range, line) in lines(text) {
        let body = line.trim();
        if body.starts_with("allowCredentials:") && body.ends_with("true") {
            let start = range.start + (line.len() - line.trim_start().len());
            sink.report(
                Check::CorsWildcardWithCredentials,
                start..range.start + line.trim_end().len(),
                Extra {
                    message: Some(
                        "This Serverless CORS setting allows any origin (`*`) together with credentials".to_string(),
                    ),
                    ..Extra::default()
                },
            );
        }
    }
}

/// The trimmed range of `name:`'s key line under the top-level `functions:`.
fn function_line(text: &str, name: &str) -> Option<Range<usize>> {
    let mut in_functions = false;
    for (range, line) in lines(text) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if line.len() == trimmed.len() {
            in_functions = trimmed.starts_with("functions:");
            continue;
        }
        if in_functions
            && trimmed
                .strip_prefix(name)
                .is_some_and(|rest| rest.trim_start_matches(['"', '\'']).starts_with(':'))
        {
            let start = range.start + (line.len() - trimmed.len());
            return Some(start..range.start + line.trim_end().len());
        }
    }
    None
}
