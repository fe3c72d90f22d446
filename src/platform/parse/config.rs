//! Parse Server and Parse Dashboard configuration: `new ParseServer({...})`,
//! `ParseServer.startApp({...})`, `new ParseDashboard({...}, {...})`, and config JSON files.
//!
//! JavaScript objects and JSON are both turned into a small [`Val`] so one function judges the
//! options whatever file they come from.

use std::ops::Range;

use tree_sitter::Node;

use crate::parse::ChildField;
use crate::platform::js::{self, text};
use crate::platform::{Check, Sink};
use crate::rules::Severity;

/// An option value, as far as the checks need it.
#[derive(Debug)]
pub(super) enum Val {
    Bool(bool),
    /// A literal string.
    Str(String),
    /// `process.env.X || "literal"`: a hard-coded fallback.
    Fallback(String),
    /// Array of literal strings.
    Strings(Vec<String>),
    /// Nested object: (key, value, range of the pair).
    Object(Vec<Entry>),
    /// A number literal.
    Number(f64),
    Other,
}

/// One `key: value` of an object, with the range to report (the JS pair, or the JSON key).
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) key: String,
    pub(super) value: Val,
    pub(super) range: Range<usize>,
}

fn js_val(node: Node<'_>, src: &str, depth: usize) -> Val {
    let node = js::unwrap_expr(node);
    match node.kind() {
        "true" => Val::Bool(true),
        "false" => Val::Bool(false),
        "number" => text(node, src)
            .replace('_', "")
            .parse()
            .map_or(Val::Other, Val::Number),
        "string" | "template_string" => {
            js::string_value(node, src).map_or(Val::Other, |s| Val::Str(s.to_string()))
        }
        "binary_expression" => {
            let op = node.child_field("operator").map(|o| text(o, src));
            match (op, node.child_field("right")) {
                (Some("||" | "??"), Some(right)) => js::string_value(right, src)
                    .map_or(Val::Other, |s| Val::Fallback(s.to_string())),
                _ => Val::Other,
            }
        }
        "array" => Val::Strings(
            node.named_children(&mut node.walk())
                .filter_map(|e| js::string_value(e, src).map(str::to_string))
                .collect(),
        ),
        // options nest a few levels; deeper literals are data, not configuration
        "object" if depth < MAX_DEPTH => Val::Object(entries_at(node, src, depth + 1)),
        _ => Val::Other,
    }
}

/// How deep nested object literals are read.
const MAX_DEPTH: usize = 32;

/// The pairs of an object literal.
pub(super) fn js_entries(object: Node<'_>, src: &str) -> Vec<Entry> {
    entries_at(object, src, 0)
}

fn entries_at(object: Node<'_>, src: &str, depth: usize) -> Vec<Entry> {
    object
        .named_children(&mut object.walk())
        .filter(|p| p.kind() == "pair")
        .filter_map(|p| {
            Some(Entry {
                key: js::pair_key(p, src).to_string(),
                value: js_val(p.child_field("value")?, src, depth),
                range: p.byte_range(),
            })
        })
        .collect()
}

/// A JSON value, with ranges found by searching each key from `from` on.
pub(super) fn json_val(value: &serde_json::Value, text: &str, from: usize) -> Val {
    match value {
        serde_json::Value::Bool(b) => Val::Bool(*b),
        serde_json::Value::Number(n) => n.as_f64().map_or(Val::Other, Val::Number),
        serde_json::Value::String(s) => Val::Str(s.clone()),
        serde_json::Value::Array(items) => Val::Strings(
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
        ),
        serde_json::Value::Object(map) => Val::Object(
            map.iter()
                .map(|(k, v)| {
                    let range = key_range(text, k, from);
                    Entry {
                        key: k.clone(),
                        value: json_val(v, text, range.start),
                        range,
                    }
                })
                .collect(),
        ),
        serde_json::Value::Null => Val::Other,
    }
}

/// The range of `"key"` at or after `from` (the whole file when not found).
fn key_range(text: &str, key: &str, from: usize) -> Range<usize> {
    let needle = format!("\"{key}\"");
    let start = text
        .get(from..)
        .and_then(|t| t.find(&needle))
        .map(|i| i + from)
        .or_else(|| text.find(&needle));
    start.map_or(0..0, |s| s..s + needle.len())
}

/// Whether a literal is a template placeholder rather than a value.
fn is_placeholder(s: &str) -> bool {
    s.contains("${") || s.starts_with('<') || s.starts_with("{{")
}

/// An empty fallback or the placeholder of a sample config (`myMasterKey`, `YOUR_MASTER_KEY`).
fn is_sample_key(s: &str) -> bool {
    let normal = s.to_ascii_lowercase().replace(['_', '-', ' '], "");
    normal.is_empty()
        || matches!(
            normal.as_str(),
            "mymasterkey" | "yourmasterkey" | "masterkey" | "changeme" | "secret" | "xxx"
        )
        || normal.starts_with("your")
        || normal.starts_with("replace")
        || normal.starts_with("change")
}

/// Database URIs with a password Parse Server's security check calls weak.
fn has_weak_db_password(uri: &str) -> bool {
    let Some((_, rest)) = uri.split_once("://") else {
        return false;
    };
    let Some((creds, _)) = rest.rsplit_once('@') else {
        return false;
    };
    let Some((user, password)) = creds.split_once(':') else {
        return false;
    };
    let password = password.to_ascii_lowercase();
    !password.starts_with("${")
        && (password == user.to_ascii_lowercase()
            || matches!(
                password.as_str(),
                "password"
                    | "postgres"
                    | "root"
                    | "admin"
                    | "123456"
                    | "12345678"
                    | "pass"
                    | "mongo"
                    | "example"
            ))
}

/// A number of seconds or bytes, from a number or a numeric string.
fn number(value: &Val) -> Option<f64> {
    match value {
        Val::Number(n) => Some(*n),
        Val::Str(s) | Val::Fallback(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A size like `"20mb"` in megabytes (Parse Server's `maxUploadSize`).
fn megabytes(size: &str) -> Option<f64> {
    let s = size.trim().to_ascii_lowercase();
    let (digits, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len()));
    let n: f64 = digits.trim().parse().ok()?;
    Some(match unit.trim() {
        "gb" => n * 1024.0,
        "kb" => n / 1024.0,
        "b" | "" => n / 1_048_576.0,
        _ => n,
    })
}

/// Judges Parse Server options.
fn check_server(sink: &mut Sink<'_, '_>, entries: &[Entry]) {
    for e in entries {
        let finding: Option<(Check, Severity, String)> = match (e.key.as_str(), &e.value) {
            ("masterKey", Val::Str(s)) if s.is_empty() => Some((
                Check::HardcodedMasterKey,
                Severity::Critical,
                "Parse Server is configured with an empty master key".into(),
            )),
            ("masterKey", Val::Str(s)) if !is_placeholder(s) => Some((
                Check::HardcodedMasterKey,
                Severity::Critical,
                "Parse Server's master key is written in the source; whoever reads the code can bypass every ACL".into(),
            )),
            // an empty or sample fallback: Parse Server refuses to start without a real key, or
            // the value is the placeholder of Parse's own example config
            ("masterKey", Val::Fallback(s)) if !is_placeholder(s) && !is_sample_key(s) => Some((
                Check::HardcodedMasterKey,
                Severity::High,
                "Parse Server falls back to a master key written in the source when the environment variable is missing".into(),
            )),
            ("maintenanceKeyIps", Val::Strings(ips)) if ips.iter().any(|ip| is_open_range(ip)) => {
                Some((
                    Check::InsecureServerOption,
                    Severity::High,
                    "`maintenanceKeyIps` allows the maintenance key from any address".into(),
                ))
            }
            ("trustProxy", value) if is_on(value) && entries.iter().any(|x| x.key == "masterKeyIps") => Some((
                Check::InsecureServerOption,
                Severity::Medium,
                "`trustProxy` with `masterKeyIps`: the client IP comes from `X-Forwarded-For`, which any caller can set unless every proxy in front rewrites it".into(),
            )),
            ("requestKeywordDenylist", Val::Strings(list)) if list.is_empty() => Some((
                Check::InsecureServerOption,
                Severity::Medium,
                "`requestKeywordDenylist: []` removes Parse Server's protection against prototype pollution keys (`__proto__`, `constructor`) in request bodies".into(),
            )),
            ("mountPlayground", value) if is_on(value) => Some((
                Check::InsecureServerOption,
                Severity::Low,
                "`mountPlayground: true` serves the GraphQL playground, which Parse's docs say not to mount in production".into(),
            )),
            ("expireInactiveSessions", Val::Bool(false)) => Some((
                Check::InsecureServerOption,
                Severity::Low,
                "`expireInactiveSessions: false` keeps sessions valid until `sessionLength` even when they are never used".into(),
            )),
            ("sessionLength", value) if number(value).is_some_and(|n| n > 31_536_000.0) => Some((
                Check::InsecureServerOption,
                Severity::Low,
                "`sessionLength` is longer than Parse Server's default of one year: a stolen session token stays valid that long".into(),
            )),
            ("revokeSessionOnPasswordReset", Val::Bool(false)) => Some((
                Check::InsecureServerOption,
                Severity::Medium,
                "`revokeSessionOnPasswordReset: false` keeps an attacker's sessions alive after the victim resets their password".into(),
            )),
            ("allowCustomObjectId", value) if is_on(value) => Some((
                Check::InsecureServerOption,
                Severity::Low,
                "`allowCustomObjectId: true` lets clients choose object ids, so ids can be guessed or collide".into(),
            )),
            ("preventLoginWithUnverifiedEmail", Val::Bool(false))
                if entries.iter().any(|x| x.key == "verifyUserEmails" && is_on(&x.value)) =>
            {
                Some((
                    Check::InsecureServerOption,
                    Severity::Low,
                    "`verifyUserEmails` is on but `preventLoginWithUnverifiedEmail: false` lets unverified accounts sign in anyway".into(),
                ))
            }
            ("maxUploadSize", Val::Str(size) | Val::Fallback(size)) if megabytes(size).is_some_and(|mb| mb >= 1024.0) => Some((
                Check::InsecureServerOption,
                Severity::Low,
                format!("`maxUploadSize: '{size}'` lets any client fill the disk or memory with one request"),
            )),
            ("databaseURI", Val::Str(uri) | Val::Fallback(uri)) if has_weak_db_password(uri) => Some((
                Check::InsecureServerOption,
                Severity::Medium,
                "`databaseURI` uses a weak database password (the user name, `password`, `postgres`, `root`, ...), which Parse Server's own security check reports".into(),
            )),
            ("allowClientClassCreation", Val::Bool(true)) => Some((
                Check::InsecureServerOption,
                Severity::High,
                "`allowClientClassCreation: true` lets any client create new classes and fill the database".into(),
            )),
            ("enableAnonymousUsers", Val::Bool(true)) => Some((
                Check::InsecureServerOption,
                Severity::Low,
                "`enableAnonymousUsers: true` lets anyone create sessions without signing up, so `requireUser` checks pass for strangers".into(),
            )),
            ("enforcePrivateUsers", Val::Bool(false)) => Some((
                Check::InsecureServerOption,
                Severity::Medium,
                "`enforcePrivateUsers: false` makes new users publicly readable, emails included".into(),
            )),
            ("allowExpiredAuthDataToken", Val::Bool(true)) => Some((
                Check::InsecureServerOption,
                Severity::Medium,
                "`allowExpiredAuthDataToken: true` accepts expired third-party login tokens".into(),
            )),
            ("masterKeyIps", Val::Strings(ips)) if ips.iter().any(|ip| is_open_range(ip)) => {
                Some((
                    Check::InsecureServerOption,
                    Severity::High,
                    "`masterKeyIps` allows the master key from any address".into(),
                ))
            }
            ("verbose", value) if is_on(value) && !sets_quiet_level(entries) => Some((
                Check::VerboseRequestLogging,
                Severity::Medium,
                "`verbose` logging makes Parse Server write every request and response to its logs: session tokens, headers and user records".into(),
            )),
            ("logLevel", Val::Str(level) | Val::Fallback(level)) if is_verbose_level(level) => Some((
                Check::VerboseRequestLogging,
                Severity::Medium,
                format!("`logLevel: '{level}'` makes Parse Server write every request and response to its logs: session tokens, headers and user records"),
            )),
            ("liveQuery", Val::Object(inner)) => {
                live_query_classes(sink, inner);
                None
            }
            ("protectedFields", Val::Object(classes)) if !owner_exempt(entries) => {
                if let Some(range) = user_star_without_email(classes) {
                    sink.report(
                        Check::InsecureServerOption,
                        range,
                        Some("`protectedFields` replaces the default for `_User` without `email` while `protectedFieldsOwnerExempt` is `false`, so user emails are returned to anyone who can read the user".into()),
                        |f| f.severity = Severity::Medium,
                    );
                }
                None
            }
            ("fileUpload", Val::Object(inner)) => {
                for f in inner {
                    let issue = match (f.key.as_str(), &f.value) {
                        ("enableForPublic", Val::Bool(true)) => Some((
                            Severity::High,
                            "`fileUpload.enableForPublic: true` lets anyone upload files to your server",
                        )),
                        ("enableForAnonymousUser", Val::Bool(true)) => Some((
                            Severity::Medium,
                            "`fileUpload.enableForAnonymousUser: true` lets anonymous sessions upload files",
                        )),
                        ("fileExtensions", Val::Strings(exts))
                            if exts.iter().any(|x| {
                                let x = x.to_ascii_lowercase();
                                matches!(x.as_str(), "*" | ".*" | "html" | "htm" | "xhtml" | "svg")
                            }) =>
                        {
                            Some((
                                Severity::Medium,
                                "`fileUpload.fileExtensions` allows HTML (or every extension): uploaded pages run script on your Parse Server's origin",
                            ))
                        }
                        _ => None,
                    };
                    if let Some((severity, message)) = issue {
                        sink.report(
                            Check::InsecureServerOption,
                            f.range.clone(),
                            Some(message.into()),
                            |x| x.severity = severity,
                        );
                    }
                }
                None
            }
            _ => None,
        };
        if let Some((check, severity, message)) = finding {
            sink.report(check, e.range.clone(), Some(message), |f| {
                f.severity = severity;
            });
        }
    }
}

/// `0.0.0.0/0`, `::/0` or `::0`: every IPv4 or IPv6 address (Parse Server's own spelling).
fn is_open_range(ip: &str) -> bool {
    matches!(ip.trim(), "0.0.0.0/0" | "::/0" | "::0")
}

/// `true`, or a string Parse Server's boolean parser reads as true.
fn is_on(value: &Val) -> bool {
    match value {
        Val::Bool(b) => *b,
        Val::Str(s) => matches!(s.trim(), "1" | "true"),
        _ => false,
    }
}

/// Log levels at or below `verbose` in Parse Server's order (error, warn, info, debug, verbose,
/// silly): the levels at which `PromiseRouter` logs request and response bodies. The match is
/// exact, as in `LoggerController` (`'VERBOSE'` is an unknown level there and logs nothing).
fn is_verbose_level(level: &str) -> bool {
    matches!(level.trim(), "verbose" | "silly")
}

/// A literal `logLevel` below `verbose`: it overrides `verbose: true` in `LoggerController`.
fn sets_quiet_level(entries: &[Entry]) -> bool {
    entries
        .iter()
        .any(|e| e.key == "logLevel" && matches!(&e.value, Val::Str(l) if !is_verbose_level(l)))
}

/// Classes whose live-query events carry credentials or account data.
const PRIVATE_LIVE_QUERY_CLASSES: [(&str, Severity); 3] = [
    ("_Session", Severity::High),
    ("_User", Severity::Medium),
    ("_Installation", Severity::Medium),
];

/// `liveQuery: { classNames: [...] }` listing Parse's private system classes.
fn live_query_classes(sink: &mut Sink<'_, '_>, live_query: &[Entry]) {
    let Some(classes) = live_query.iter().find(|e| e.key == "classNames") else {
        return;
    };
    let Val::Strings(names) = &classes.value else {
        return;
    };
    let private: Vec<(&str, Severity)> = PRIVATE_LIVE_QUERY_CLASSES
        .iter()
        .filter(|(c, _)| names.iter().any(|n| n == c))
        .copied()
        .collect();
    let Some(severity) = private.iter().map(|(_, s)| *s).max() else {
        return;
    };
    let list = private
        .iter()
        .map(|(c, _)| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let message = format!(
        "LiveQuery is enabled on {list}: every change to these objects is pushed over websockets, guarded only by ACLs and protected fields"
    );
    sink.report(
        Check::LiveQueryPrivateClass,
        classes.range.clone(),
        Some(message),
        |f| f.severity = severity,
    );
}

/// Whether `protectedFieldsOwnerExempt` is left at its default (`true`). Only when it is `false`
/// does Parse Server skip merging its default `_User: { '*': ['email'] }` into an explicit list.
fn owner_exempt(entries: &[Entry]) -> bool {
    !entries
        .iter()
        .any(|e| e.key == "protectedFieldsOwnerExempt" && matches!(e.value, Val::Bool(false)))
}

/// The range of `_User: { '*': [...] }` when the list is literal and lacks `email`.
fn user_star_without_email(classes: &[Entry]) -> Option<Range<usize>> {
    let Val::Object(groups) = &classes.iter().find(|c| c.key == "_User")?.value else {
        return None;
    };
    let star = groups.iter().find(|g| g.key == "*")?;
    match &star.value {
        Val::Strings(fields) if !fields.iter().any(|f| f == "email") => Some(star.range.clone()),
        _ => None,
    }
}

/// A server config without `passwordPolicy`, `accountLockout` or `rateLimit`.
fn check_abuse_protection(sink: &mut Sink<'_, '_>, entries: &[Entry], range: Range<usize>) {
    if !entries.iter().any(|e| e.key == "appId") {
        return;
    }
    let missing: Vec<&str> = ["passwordPolicy", "accountLockout", "rateLimit"]
        .into_iter()
        .filter(|k| !entries.iter().any(|e| e.key == *k))
        .collect();
    if missing.is_empty() {
        return;
    }
    let message = format!(
        "Parse Server is configured without {}: logins and cloud functions can be brute-forced or flooded",
        missing
            .iter()
            .map(|m| format!("`{m}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    sink.report(
        Check::ServerWithoutAbuseProtection,
        range,
        Some(message),
        |_| {},
    );
}

/// The major version of Parse Server the project at `display` installs: from the nearest
/// `package-lock.json` (`node_modules/parse-server`) or `package.json` range (`^5.4.0` is 5),
/// looking up to six folders up.
fn parse_server_major(display: &str) -> Option<u64> {
    crate::engine::not_cacheable(); // reads other files
    let mut dir = std::path::Path::new(display).parent();
    for _ in 0..6 {
        let d = dir?;
        let here = if d.as_os_str().is_empty() {
            std::path::Path::new(".")
        } else {
            d
        };
        crate::engine::depends_on(&here.join("package-lock.json"));
        crate::engine::depends_on(&here.join("package.json"));
        if let Ok(text) = std::fs::read_to_string(here.join("package-lock.json"))
            && let Ok(lock) = serde_json::from_str::<serde_json::Value>(&text)
            && let Some(v) = lock
                .pointer("/packages/node_modules~1parse-server/version")
                .or_else(|| lock.pointer("/dependencies/parse-server/version"))
                .and_then(serde_json::Value::as_str)
        {
            return leading_major(v);
        }
        if let Ok(text) = std::fs::read_to_string(here.join("package.json"))
            && let Ok(manifest) = serde_json::from_str::<serde_json::Value>(&text)
        {
            let range = ["dependencies", "devDependencies"]
                .iter()
                .find_map(|k| manifest.get(k)?.get("parse-server")?.as_str());
            if let Some(range) = range {
                return leading_major(range);
            }
        }
        dir = d.parent();
    }
    None
}

/// `5` from `5.4.0`, `^5.4.0`, `~5.4`, `>=5.0.0 <6`, `5.x`; `None` for tags and URLs.
fn leading_major(version: &str) -> Option<u64> {
    let v = version
        .trim()
        .trim_start_matches(['^', '~', '>', '=', 'v', ' ']);
    let digits: String = v.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Options left out whose default was unsafe in the installed major version: client class
/// creation (on before 7.0.0), public user objects (before 6.0.0), and the master key from any
/// address (before 6.0.0), per Parse Server's deprecation plan (DEPPS3, DEPPS5).
fn check_version_defaults(
    sink: &mut Sink<'_, '_>,
    entries: &[Entry],
    range: Range<usize>,
    major: u64,
) {
    if !entries.iter().any(|e| e.key == "appId") {
        return;
    }
    let has = |k: &str| entries.iter().any(|e| e.key == k);
    let mut unsafe_defaults = Vec::new();
    if major < 7 && !has("allowClientClassCreation") {
        unsafe_defaults
            .push("`allowClientClassCreation` (clients create classes; `false` only from 7.0.0)");
    }
    if major < 6 && !has("enforcePrivateUsers") {
        unsafe_defaults.push(
            "`enforcePrivateUsers` (new users are publicly readable; `true` only from 6.0.0)",
        );
    }
    if major < 6 && !has("masterKeyIps") && has("masterKey") {
        unsafe_defaults.push(
            "`masterKeyIps` (the master key works from any address; localhost only from 6.0.0)",
        );
    }
    if unsafe_defaults.is_empty() {
        return;
    }
    sink.report(
        Check::InsecureServerOption,
        range,
        Some(format!(
            "This project installs Parse Server {major}.x, whose defaults are unsafe for options this config leaves out: {}",
            unsafe_defaults.join("; ")
        )),
        |f| f.severity = Severity::Medium,
    );
}

/// Judges Parse Dashboard config (apps, users) and options (`allowInsecureHTTP`).
fn check_dashboard(sink: &mut Sink<'_, '_>, entries: &[Entry]) {
    let encrypted = entries
        .iter()
        .any(|e| e.key == "useEncryptedPasswords" && matches!(e.value, Val::Bool(true)));
    for e in entries {
        match (e.key.as_str(), &e.value) {
            ("allowInsecureHTTP", Val::Bool(true)) => sink.report(
                Check::InsecureDashboard,
                e.range.clone(),
                Some("Parse Dashboard accepts logins over plain HTTP (`allowInsecureHTTP: true`), so the master key travels unencrypted".into()),
                |_| {},
            ),
            ("users", _) if !encrypted => {
                for (range, pass) in passwords(e) {
                    if !is_placeholder(&pass) {
                        sink.report(
                            Check::InsecureDashboard,
                            range,
                            Some("Parse Dashboard user has a plain-text password in the config (set `useEncryptedPasswords: true` and store a bcrypt hash)".into()),
                            |_| {},
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

fn passwords(users: &Entry) -> Vec<(Range<usize>, String)> {
    let mut out = Vec::new();
    if let Val::Object(list) = &users.value {
        for u in list {
            if let Val::Object(fields) = &u.value {
                for f in fields {
                    if f.key == "pass"
                        && let Val::Str(s) = &f.value
                    {
                        out.push((f.range.clone(), s.clone()));
                    }
                }
            }
        }
    }
    out
}

/// Runs the config rules over a JS/TS file.
pub fn check_file(sink: &mut Sink<'_, '_>) {
    if !sink.any_active(&[
        Check::HardcodedMasterKey,
        Check::InsecureServerOption,
        Check::InsecureDashboard,
        Check::ServerWithoutAbuseProtection,
        Check::VerboseRequestLogging,
        Check::LiveQueryPrivateClass,
    ]) {
        return;
    }
    let ctx = sink.ctx();
    // every call this check reads names one of them: skip the parse otherwise
    if !ctx.file.text.contains("ParseServer") && !ctx.file.text.contains("ParseDashboard") {
        return;
    }
    let Some((src, root, index)) = sink.js() else {
        return;
    };
    let mut servers = Vec::new();
    let mut dashboards = Vec::new();
    for call in index.of(&["new_expression", "call_expression"]) {
        let callee = js::callee(call, src);
        let args = js::arguments(call);
        let is_server = matches!(
            callee,
            "ParseServer"
                | "ParseServer.ParseServer"
                | "ParseServer.startApp"
                | "ParseServer.default"
        ) || (callee.ends_with("ParseServer") && call.kind() == "new_expression");
        let is_dashboard = callee.ends_with("ParseDashboard");
        if !is_server && !is_dashboard {
            continue;
        }
        for (i, arg) in args.iter().enumerate().take(2) {
            let Some(object) = resolve_object(root, *arg, src) else {
                continue;
            };
            let entries = dashboard_users_as_objects(js_entries(object, src), object, src);
            if is_server && i == 0 {
                servers.push((entries, object.byte_range()));
            } else if is_dashboard {
                dashboards.push(entries);
            }
        }
    }
    let major = if servers.is_empty() {
        None
    } else {
        parse_server_major(&ctx.file.display)
    };
    for (entries, range) in &servers {
        check_server(sink, entries);
        check_abuse_protection(sink, entries, range.clone());
        if let Some(major) = major {
            check_version_defaults(sink, entries, range.clone(), major);
        }
    }
    for entries in &dashboards {
        check_dashboard(sink, entries);
    }
}

/// `users: [{ user, pass }]` parsed as nested objects (arrays of objects are not kept by `js_val`).
fn dashboard_users_as_objects(mut entries: Vec<Entry>, object: Node<'_>, src: &str) -> Vec<Entry> {
    if let Some(users) = js::property(object, "users", src)
        .and_then(|p| p.child_field("value"))
        .filter(|v| v.kind() == "array")
    {
        let list = users
            .named_children(&mut users.walk())
            .filter(|u| u.kind() == "object")
            .map(|u| Entry {
                key: String::new(),
                value: Val::Object(js_entries(u, src)),
                range: u.byte_range(),
            })
            .collect();
        for e in &mut entries {
            if e.key == "users" {
                e.value = Val::Object(list);
                break;
            }
        }
    }
    entries
}

/// An object literal, directly or through `const config = {...}` in the same file.
pub(super) fn resolve_object<'t>(root: Node<'t>, node: Node<'t>, src: &str) -> Option<Node<'t>> {
    let node = js::unwrap_expr(node);
    match node.kind() {
        "object" => Some(node),
        "identifier" => {
            let name = text(node, src);
            js::declarations(root, src)
                .into_iter()
                .find(|(n, v)| n == name && js::unwrap_expr(*v).kind() == "object")
                .map(|(_, v)| js::unwrap_expr(v))
        }
        _ => None,
    }
}

/// Runs the config rules over a JSON file: a Parse Server config (`appId` + `masterKey`) or a
/// Parse Dashboard config (`apps` + `users`).
pub fn check_json(sink: &mut Sink<'_, '_>) {
    if !sink.any_active(&[
        Check::HardcodedMasterKey,
        Check::InsecureServerOption,
        Check::InsecureDashboard,
        Check::ServerWithoutAbuseProtection,
        Check::VerboseRequestLogging,
        Check::LiveQueryPrivateClass,
    ]) {
        return;
    }
    let src: &str = &sink.ctx().file.text;
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(src) else {
        return;
    };
    let is_server = map.contains_key("appId") && map.contains_key("masterKey");
    let is_dashboard = map.contains_key("apps");
    if !is_server && !is_dashboard {
        return;
    }
    let Val::Object(entries) = json_val(&serde_json::Value::Object(map.clone()), src, 0) else {
        return;
    };
    if is_server {
        check_server(sink, &entries);
        check_abuse_protection(sink, &entries, 0..1);
    }
    if is_dashboard {
        let mut entries = entries;
        if let Some(serde_json::Value::Array(users)) = map.get("users") {
            let mut from = 0;
            let list = users
                .iter()
                .map(|u| {
                    let start = key_range(src, "pass", from).start;
                    from = start + 1;
                    Entry {
                        key: String::new(),
                        value: json_val(u, src, start.saturating_sub(80)),
                        range: start..start,
                    }
                })
                .collect();
            for e in &mut entries {
                if e.key == "users" {
                    e.value = Val::Object(list);
                    break;
                }
            }
        }
        check_dashboard(sink, &entries);
    }
}

/// Runs the config rules over a dotenv file that configures Parse Server through its
/// environment variables (it sets `PARSE_SERVER_APPLICATION_ID`, `_MASTER_KEY` or
/// `_DATABASE_URI`): `VERBOSE`, `PARSE_SERVER_LOG_LEVEL` and `PARSE_SERVER_MASTER_KEY_IPS`.
pub fn check_env(sink: &mut Sink<'_, '_>) {
    if !sink.any_active(&[Check::VerboseRequestLogging, Check::InsecureServerOption]) {
        return;
    }
    let src: &str = &sink.ctx().file.text;
    // the variables the `parse-server` CLI requires: a client app's `PARSE_SERVER_URL` is not enough
    let configures_server = src.lines().any(|l| {
        let l = l.trim_start();
        let l = l.strip_prefix("export ").unwrap_or(l);
        [
            "PARSE_SERVER_APPLICATION_ID=",
            "PARSE_SERVER_MASTER_KEY=",
            "PARSE_SERVER_DATABASE_URI=",
        ]
        .iter()
        .any(|k| l.starts_with(k))
    });
    if !configures_server {
        return;
    }
    // `PARSE_SERVER_LOG_LEVEL` overrides `VERBOSE` (see `sets_quiet_level`)
    let quiet_level = src.lines().any(|l| {
        l.trim_start()
            .strip_prefix("PARSE_SERVER_LOG_LEVEL=")
            .is_some_and(|v| !is_verbose_level(v.trim().trim_matches(|c| c == '"' || c == '\'')))
    });
    let mut offset = 0;
    let mut hits: Vec<(Check, Range<usize>, String)> = Vec::new();
    for line in src.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let assignment = trimmed.strip_prefix("export ").unwrap_or(trimmed);
        let Some((key, value)) = assignment.split_once('=') else {
            continue;
        };
        let value = value
            .split(" #")
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches(|c| c == '"' || c == '\'');
        let range = start + indent..start + line.trim_end().len();
        match key.trim() {
            "VERBOSE" if !quiet_level && is_on(&Val::Str(value.to_ascii_lowercase())) => hits.push((
                Check::VerboseRequestLogging,
                range,
                "`VERBOSE` makes Parse Server write every request and response to its logs: session tokens, headers and user records".into(),
            )),
            "PARSE_SERVER_LOG_LEVEL" if is_verbose_level(value) => hits.push((
                Check::VerboseRequestLogging,
                range,
                format!("`PARSE_SERVER_LOG_LEVEL={value}` makes Parse Server write every request and response to its logs: session tokens, headers and user records"),
            )),
            "PARSE_SERVER_MASTER_KEY_IPS" if value.split(',').any(is_open_range) => hits.push((
                Check::InsecureServerOption,
                range,
                "`PARSE_SERVER_MASTER_KEY_IPS` allows the master key from any address".into(),
            )),
            _ => {}
        }
    }
    for (check, range, message) in hits {
        let severity = if check == Check::InsecureServerOption {
            Severity::High
        } else {
            Severity::Medium
        };
        sink.report(check, range, Some(message), |f| f.severity = severity);
    }
    // every other `PARSE_SERVER_*` option, judged like the same option in code
    let others: Vec<Entry> = env_entries(src)
        .into_iter()
        .filter(|e| {
            !matches!(
                e.key.as_str(),
                "masterKey" | "logLevel" | "masterKeyIps" | "verbose"
            )
        })
        .collect();
    check_server(sink, &others);
}

/// `PARSE_SERVER_*` options in docker-compose `environment:`, Dockerfiles (`ENV`) and Kubernetes
/// manifests (`- name: PARSE_SERVER_X` / `value: ...`): judged like the same options in code.
/// The master key is left to the secret rules (these files are where it belongs, as a reference).
pub fn check_deploy_file(sink: &mut Sink<'_, '_>) {
    insecure_dashboard_env(sink);
    if !sink.any_active(&[Check::VerboseRequestLogging, Check::InsecureServerOption]) {
        return;
    }
    let src: &str = &sink.ctx().file.text;
    if !src.contains("PARSE_SERVER_") {
        return;
    }
    let entries: Vec<Entry> = env_entries(src)
        .into_iter()
        .filter(|e| e.key != "masterKey")
        .collect();
    check_server(sink, &entries);
}

/// `PARSE_DASHBOARD_ALLOW_INSECURE_HTTP=true` (or `1`) given to the `parse-dashboard` image or CLI
/// in docker-compose `environment:`, a Dockerfile `ENV` or a Kubernetes manifest.
fn insecure_dashboard_env(sink: &mut Sink<'_, '_>) {
    if sink.active(Check::InsecureDashboard).is_none() {
        return;
    }
    let src: &str = &sink.ctx().file.text;
    let mut offset = 0;
    let mut hits = Vec::new();
    for line in src.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim();
        if trimmed.starts_with('#') {
            continue;
        }
        let Some(at) = trimmed.find("PARSE_DASHBOARD_ALLOW_INSECURE_HTTP") else {
            continue;
        };
        let value = trimmed[at + "PARSE_DASHBOARD_ALLOW_INSECURE_HTTP".len()..]
            .trim_start_matches(['"', '\''])
            .trim_start_matches(['=', ':', ' '])
            .trim()
            .trim_matches(['"', '\'']);
        if matches!(value.to_ascii_lowercase().as_str(), "true" | "1" | "yes") {
            let indent = line.len() - line.trim_start().len();
            hits.push(start + indent..start + line.trim_end().len());
        }
    }
    for range in hits {
        sink.report(
            Check::InsecureDashboard,
            range,
            Some("Parse Dashboard accepts logins over plain HTTP (`PARSE_DASHBOARD_ALLOW_INSECURE_HTTP`), so the master key travels unencrypted".into()),
            |_| {},
        );
    }
}

/// The Parse Server option an environment variable sets: `PARSE_SERVER_ALLOW_CLIENT_CLASS_CREATION`
/// is `allowClientClassCreation` (the CLI's own mapping, with its two irregular names).
fn option_name(var: &str) -> Option<String> {
    let rest = var.strip_prefix("PARSE_SERVER_")?;
    Some(match rest {
        "APPLICATION_ID" => "appId".into(),
        "DATABASE_URI" => "databaseURI".into(),
        "URL" => "serverURL".into(),
        _ => {
            let mut out = String::new();
            for (i, word) in rest.split('_').filter(|w| !w.is_empty()).enumerate() {
                let lower = word.to_ascii_lowercase();
                if i == 0 {
                    out.push_str(&lower);
                } else {
                    let mut chars = lower.chars();
                    if let Some(first) = chars.next() {
                        out.push(first.to_ascii_uppercase());
                        out.extend(chars);
                    }
                }
            }
            out
        }
    })
}

/// An environment value as an option value: booleans, numbers, comma lists for `*_IPS` and
/// JSON arrays, strings otherwise.
fn env_value(key: &str, value: &str) -> Val {
    let v = value.trim().trim_matches(|c| c == '"' || c == '\'');
    match v {
        "true" => return Val::Bool(true),
        "false" => return Val::Bool(false),
        _ => {}
    }
    if let Ok(n) = v.parse::<f64>() {
        return Val::Number(n);
    }
    if v.starts_with('[')
        && let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(v)
    {
        return Val::Strings(
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
        );
    }
    if key.ends_with("Ips") {
        return Val::Strings(v.split(',').map(|x| x.trim().to_string()).collect());
    }
    Val::Str(v.to_string())
}

/// Every `PARSE_SERVER_X=value`, `PARSE_SERVER_X: value`, `ENV PARSE_SERVER_X value` and
/// Kubernetes `name:`/`value:` pair of a file, each with the range of its line.
fn env_entries(src: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut offset = 0;
    let mut pending_name: Option<(String, Range<usize>)> = None;
    for line in src.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim();
        let range = start + (line.len() - line.trim_start().len())..start + line.trim_end().len();
        let body = trimmed
            .trim_start_matches("- ")
            .trim_start_matches("export ")
            .trim_start_matches("ENV ")
            .trim();
        if let Some((name, at)) = pending_name.take()
            && let Some(value) = body.strip_prefix("value:")
        {
            let key = option_name(&name).unwrap_or_default();
            out.push(Entry {
                value: env_value(&key, value),
                key,
                range: at.start..range.end,
            });
            continue;
        }
        if let Some(name) = body.strip_prefix("name:").map(str::trim)
            && name.trim_matches('"').starts_with("PARSE_SERVER_")
        {
            pending_name = Some((name.trim_matches('"').to_string(), range));
            continue;
        }
        let Some(at) = body.find("PARSE_SERVER_") else {
            continue;
        };
        let body = &body[at..];
        let split = body.find(['=', ':', ' ']).unwrap_or(body.len());
        let (var, value) = body.split_at(split);
        let value = value
            .get(1..)
            .unwrap_or("")
            .split(" #")
            .next()
            .unwrap_or("");
        if value.trim().is_empty() {
            continue;
        }
        let Some(key) = option_name(var.trim().trim_matches('"')) else {
            continue;
        };
        out.push(Entry {
            value: env_value(&key, value),
            key,
            range,
        });
    }
    out
}
