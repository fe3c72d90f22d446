//! Static hosting configuration: `firebase.json` and `netlify.toml` publishing the project folder
//! itself (source, `.env`, rules and keys) instead of a build output; `vercel.json`,
//! `firebase.json` and `netlify.toml` header blocks allowing any origin with credentials;
//! `vercel.json` rewrites and `netlify.toml` / `_redirects` proxy redirects (status 200) whose
//! destination is a loopback, private, link-local (cloud metadata) or `*.internal` address.

use std::ops::Range;

use super::{Check, Extra, Sink};
use crate::rules::Severity;

/// Whether `display` names a hosting configuration this reader knows.
pub fn is_hosting_config(display: &str) -> bool {
    let name = display.rsplit('/').next().unwrap_or(display);
    matches!(name, "firebase.json" | "netlify.toml" | "vercel.json")
}

/// Whether `display` names a Netlify `_redirects` file (plain text, one rule a line).
pub fn is_netlify_redirects(display: &str) -> bool {
    display.rsplit('/').next().unwrap_or(display) == "_redirects"
}

/// Runs the rewrite check on a Netlify `_redirects` file: `from to [status][!]` rows whose status
/// is 200 (a proxy, not a redirect).
pub fn check_redirects_file(sink: &mut Sink<'_, '_>) {
    if !sink.is_active(Check::RewriteToInternalHost) {
        return;
    }
    let text = sink.text().to_string();
    for (range, line) in super::lines(&text) {
        let body = line.trim();
        if body.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = body.split_whitespace().collect();
        let Some(to) = fields.get(1) else {
            continue;
        };
        // the status is the first field after `to` that starts with a digit (query and
        // condition fields such as `id=:id` or `Country=us` come before or after it)
        let is_proxy = fields[2..]
            .iter()
            .find(|f| f.starts_with(|c: char| c.is_ascii_digit()))
            .is_some_and(|status| status.trim_end_matches('!') == "200");
        if is_proxy {
            let start = range.start + (line.len() - line.trim_start().len());
            report_internal_rewrite(sink, to, start..range.start + line.trim_end().len());
        }
    }
}

/// A published folder that is the project itself: `.`, `./`, or empty.
fn is_project_root(dir: &str) -> bool {
    matches!(dir.trim(), "." | "./" | "")
}

/// The trimmed range of the first line at or after `from` that starts with `needle` (so comments
/// that mention it are passed over), else that contains it.
fn line_of(text: &str, needle: &str, from: usize) -> Option<Range<usize>> {
    let find = |starts: bool| {
        super::lines(text).find_map(|(range, line)| {
            let body = line.trim_start();
            let hit = if starts {
                body.starts_with(needle)
            } else {
                !body.starts_with('#') && body.contains(needle)
            };
            (range.start >= from && hit).then(|| {
                let start = range.start + (line.len() - body.len());
                start..range.start + line.trim_end().len()
            })
        })
    };
    // a minified file has it mid-line
    find(true).or_else(|| find(false))
}

/// Runs the hosting checks on `firebase.json` or `netlify.toml`.
pub fn check_file(sink: &mut Sink<'_, '_>) {
    let text = sink.text().to_string();
    if sink.is_active(Check::CorsWildcardWithCredentials) {
        check_cors_headers(sink, &text);
    }
    if sink.is_active(Check::RewriteToInternalHost) {
        check_rewrites(sink, &text);
    }
    if !sink.is_active(Check::ProjectRootPublished) || sink.display().ends_with("vercel.json") {
        return;
    }
    if sink.display().ends_with("netlify.toml") {
        check_netlify(sink, &text);
    } else {
        check_firebase(sink, &text);
    }
}

fn check_firebase(sink: &mut Sink<'_, '_>, text: &str) {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    let sites: Vec<&serde_json::Value> = match doc.get("hosting") {
        Some(serde_json::Value::Array(items)) => items.iter().collect(),
        Some(site @ serde_json::Value::Object(_)) => vec![site],
        _ => return,
    };
    let mut from = 0;
    for site in sites {
        let Some(public) = site.get("public").and_then(serde_json::Value::as_str) else {
            continue;
        };
        let Some(range) = line_of(text, "\"public\"", from) else {
            return;
        };
        from = range.end;
        if !is_project_root(public) {
            continue;
        }
        let ignores_dotfiles = site
            .get("ignore")
            .and_then(serde_json::Value::as_array)
            .is_some_and(|list| {
                list.iter()
                    .filter_map(serde_json::Value::as_str)
                    .any(|g| matches!(g, "**/.*" | ".*" | "**/.env*" | ".env*" | "**/.env"))
            });
        let (severity, message) = if ignores_dotfiles {
            (
                Severity::Medium,
                format!(
                    "Firebase Hosting publishes the project folder (`\"public\": \"{public}\"`): server code, security rules and every file not in `ignore` can be downloaded"
                ),
            )
        } else {
            (
                Severity::High,
                format!(
                    "Firebase Hosting publishes the project folder (`\"public\": \"{public}\"`) and does not ignore dotfiles: `.env` and the source can be downloaded"
                ),
            )
        };
        sink.report(
            Check::ProjectRootPublished,
            range,
            Extra {
                message: Some(message),
                severity: Some(severity),
                ..Extra::default()
            },
        );
    }
}

fn check_netlify(sink: &mut Sink<'_, '_>, text: &str) {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return;
    };
    let Some(publish) = doc
        .get("build")
        .and_then(|b| b.get("publish"))
        .and_then(toml::Value::as_str)
    else {
        return;
    };
    if !is_project_root(publish) {
        return;
    }
    let Some(range) = line_of(text, "publish", 0) else {
        return;
    };
    sink.report(
        Check::ProjectRootPublished,
        range,
        Extra {
            message: Some(format!(
                "Netlify publishes the project folder (`publish = \"{publish}\"`): `.env`, server code and configuration can be downloaded"
            )),
            ..Extra::default()
        },
    );
}

/// Header blocks (`vercel.json` and `firebase.json` `headers: [{ key, value }]`, `netlify.toml`
/// `[headers.values]`) that send `Access-Control-Allow-Origin: *` with
/// `Access-Control-Allow-Credentials: true`.
fn check_cors_headers(sink: &mut Sink<'_, '_>, text: &str) {
    let mut blocks: Vec<Vec<(String, String)>> = Vec::new();
    if sink.display().ends_with("netlify.toml") {
        let Ok(doc) = text.parse::<toml::Table>() else {
            return;
        };
        for rule in doc
            .get("headers")
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(values) = rule.get("values").and_then(toml::Value::as_table) {
                blocks.push(
                    values
                        .iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect(),
                );
            }
        }
    } else {
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(text) else {
            return;
        };
        json_header_blocks(&doc, &mut blocks);
    }
    let mut from = 0;
    for block in blocks {
        let value = |name: &str| {
            block
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_string())
        };
        let Some(origin) = value("Access-Control-Allow-Origin") else {
            continue;
        };
        let Some(range) = line_of(text, "Access-Control-Allow-Origin", from).or_else(|| {
            line_of(
                &text.to_ascii_lowercase(),
                "access-control-allow-origin",
                from,
            )
        }) else {
            return;
        };
        from = range.end;
        if origin == "*"
            && value("Access-Control-Allow-Credentials")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            sink.report(Check::CorsWildcardWithCredentials, range, Extra::default());
        }
    }
}

/// Every `headers: [{ "key": .., "value": .. }]` list in a JSON document, in document order.
fn json_header_blocks(value: &serde_json::Value, out: &mut Vec<Vec<(String, String)>>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Array(items)) = map.get("headers") {
                let block: Vec<(String, String)> = items
                    .iter()
                    .filter_map(|h| {
                        Some((
                            h.get("key")?.as_str()?.to_string(),
                            h.get("value")?.as_str()?.to_string(),
                        ))
                    })
                    .collect();
                if !block.is_empty() {
                    out.push(block);
                }
            }
            for v in map.values() {
                json_header_blocks(v, out);
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                json_header_blocks(v, out);
            }
        }
        _ => {}
    }
}

/// Rewrites that proxy to an internal address: `vercel.json` `rewrites[].destination` (and the
/// legacy `routes[].dest`), `netlify.toml` `[[redirects]]` with `status = 200` (a proxy; other
/// statuses only send the browser there).
fn check_rewrites(sink: &mut Sink<'_, '_>, text: &str) {
    let mut destinations: Vec<String> = Vec::new();
    if sink.display().ends_with("netlify.toml") {
        let Ok(doc) = text.parse::<toml::Table>() else {
            return;
        };
        for rule in doc
            .get("redirects")
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
        {
            let status = rule.get("status").and_then(toml::Value::as_integer);
            if let (Some(200), Some(to)) = (status, rule.get("to").and_then(toml::Value::as_str)) {
                destinations.push(to.to_string());
            }
        }
    } else if sink.display().ends_with("vercel.json") {
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(text) else {
            return;
        };
        for (list, field) in [("rewrites", "destination"), ("routes", "dest")] {
            for rule in doc
                .get(list)
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(to) = rule.get(field).and_then(serde_json::Value::as_str) {
                    destinations.push(to.to_string());
                }
            }
        }
    }
    let mut from = 0;
    for to in destinations {
        if internal_host(&to).is_none() {
            continue;
        }
        let Some(range) = line_of(text, &to, from) else {
            continue;
        };
        from = range.end;
        report_internal_rewrite(sink, &to, range);
    }
}

/// Reports a rewrite at `range` when its destination `to` is an internal address.
fn report_internal_rewrite(sink: &mut Sink<'_, '_>, to: &str, range: Range<usize>) {
    let Some(kind) = internal_host(to) else {
        return;
    };
    let metadata = kind == InternalHost::Metadata;
    sink.report(
        Check::RewriteToInternalHost,
        range,
        Extra {
            message: Some(format!(
                "This rewrite proxies public requests to {} (`{}`): where the proxy can reach it, the internal service is open to the internet; where it cannot, a development setting shipped",
                kind.describe(),
                host_of(to).unwrap_or_default()
            )),
            severity: metadata.then_some(Severity::High),
            ..Extra::default()
        },
    );
}

/// The kind of non-public address a destination URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InternalHost {
    Loopback,
    Private,
    Metadata,
    InternalName,
}

impl InternalHost {
    fn describe(self) -> &'static str {
        match self {
            InternalHost::Loopback => "a loopback address",
            InternalHost::Private => "a private network address",
            InternalHost::Metadata => "the cloud metadata service",
            InternalHost::InternalName => "an internal host name",
        }
    }
}

/// The host of an absolute `http(s)://` URL, without port or credentials.
fn host_of(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    if let Some(v6) = host.strip_prefix('[') {
        return v6.split(']').next();
    }
    host.split(':').next()
}

/// What kind of internal address an absolute URL points at, if any.
fn internal_host(url: &str) -> Option<InternalHost> {
    let host = host_of(url)?.to_ascii_lowercase();
    if host == "metadata.google.internal" || host == "169.254.169.254" || host == "fd00:ec2::254" {
        return Some(InternalHost::Metadata);
    }
    if host == "localhost" || host.ends_with(".localhost") || host == "::1" || host == "0.0.0.0" {
        return Some(InternalHost::Loopback);
    }
    // `host` is lower-cased: compare its last label
    if host.contains('.') && matches!(host.rsplit('.').next(), Some("internal" | "local" | "lan")) {
        return Some(InternalHost::InternalName);
    }
    let octets: Vec<u8> = host.split('.').filter_map(|p| p.parse().ok()).collect();
    if octets.len() != 4 || host.split('.').count() != 4 {
        return None;
    }
    match (octets[0], octets[1]) {
        (127, _) => Some(InternalHost::Loopback),
        (169, 254) => Some(InternalHost::Metadata),
        (10, _) | (192, 168) => Some(InternalHost::Private),
        (172, b) if (16..=31).contains(&b) => Some(InternalHost::Private),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_hosts_are_told_apart_from_public_ones() {
        assert_eq!(
            internal_host("http://169.254.169.254/latest/meta-data/"),
            Some(InternalHost::Metadata)
        );
        assert_eq!(
            internal_host("http://localhost:4000/api/:path*"),
            Some(InternalHost::Loopback)
        );
        assert_eq!(
            internal_host("https://10.0.3.7:8443/x"),
            Some(InternalHost::Private)
        );
        assert_eq!(
            internal_host("http://172.20.0.2/"),
            Some(InternalHost::Private)
        );
        assert_eq!(internal_host("http://172.32.0.2/"), None);
        assert_eq!(
            internal_host("http://api.svc.internal/v1"),
            Some(InternalHost::InternalName)
        );
        assert_eq!(
            internal_host("http://user:pw@[::1]:3000/"),
            Some(InternalHost::Loopback)
        );
        assert_eq!(internal_host("https://api.example.com/:path*"), None);
        assert_eq!(internal_host("/api/:path*"), None);
        assert_eq!(internal_host("https://10.example.com/"), None);
    }
}
