//! Firestore and Storage security rules (`firestore.rules`, `storage.rules`): the rules language,
//! read well enough to find `match` blocks, `allow` statements and helper functions, and the
//! `rules-allow-everyone`, `rules-test-mode` and `rules-any-signed-in-user` checks over them.

use std::collections::BTreeMap;
use std::ops::Range;

use std::sync::LazyLock;

use regex::Regex;

use crate::platform::{Check, Sink};
use crate::rules::Severity;

static TEST_MODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"request\.time\s*<\s*timestamp\.date\(").expect("valid regex"));
static SIGNED_IN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"request\.auth\s*!=\s*null|request\.auth\.uid\s*!=\s*null").expect("valid regex")
});

/// One `allow` statement with the `match` paths around it.
#[derive(Debug)]
pub struct Allow {
    /// Byte range of the statement.
    pub range: Range<usize>,
    /// Operations: read, write, get, list, create, update, delete.
    pub ops: Vec<String>,
    /// The condition after `if`, or `None` for a bare `allow read;`.
    pub condition: Option<String>,
    /// The enclosing `match` paths, outermost first.
    pub paths: Vec<String>,
}

/// The rules file, parsed.
#[derive(Debug, Default)]
pub struct RulesFile {
    /// Every `allow`.
    pub allows: Vec<Allow>,
    /// Helper functions: name -> body.
    pub functions: BTreeMap<String, String>,
    /// Helper functions: name -> parameter names, in order.
    pub params: BTreeMap<String, Vec<String>>,
}

/// Blanks comments and string contents (keeping offsets), so braces and `;` in them are inert.
fn mask(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    out[i] = b' ';
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    if bytes[i] != b'\n' {
                        out[i] = b' ';
                    }
                    i += 1;
                }
                for c in out.iter_mut().take((i + 2).min(bytes.len())).skip(i) {
                    *c = b' ';
                }
                i += 2;
            }
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < bytes.len() && bytes[i] != q && bytes[i] != b'\n' {
                    if bytes[i] == b'\\' {
                        out[i] = b' ';
                        i += 1;
                    }
                    if i < bytes.len() {
                        out[i] = b' ';
                    }
                    i += 1;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// Parses a rules file. Unbalanced input is read as far as it goes.
pub fn parse_rules(text: &str) -> RulesFile {
    let m = mask(text);
    let mut file = RulesFile::default();
    let mut stack: Vec<Option<String>> = Vec::new();
    let mut pending: Option<String> = None;
    let mut i = 0;
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    while i < m.len() {
        let b = m[i];
        if b == b'{' {
            stack.push(pending.take());
            i += 1;
            continue;
        }
        if b == b'}' {
            stack.pop();
            i += 1;
            continue;
        }
        if !is_word(b) || (i > 0 && (is_word(m[i - 1]) || m[i - 1] == b'.')) {
            i += 1;
            continue;
        }
        let end = (i..m.len()).find(|&k| !is_word(m[k])).unwrap_or(m.len());
        let word = &text[i..end];
        match word {
            "match" => {
                // `{` right after `/` opens a path wildcard (`/{userId}`), not the block
                let Some(brace) =
                    (end..m.len()).find(|&k| m[k] == b'{' && k > 0 && m[k - 1] != b'/')
                else {
                    break;
                };
                pending = Some(text[end..brace].trim().to_string());
                i = brace;
            }
            "allow" => {
                let mut depth = 0i32;
                let mut k = end;
                while k < m.len() {
                    match m[k] {
                        b'(' | b'[' => depth += 1,
                        b')' | b']' => depth -= 1,
                        b';' | b'}' if depth <= 0 => break,
                        _ => {}
                    }
                    k += 1;
                }
                let stmt = &text[end..k];
                let masked = std::str::from_utf8(&m[end..k]).unwrap_or("");
                let (ops, condition) = match masked.find(':') {
                    Some(colon) => {
                        let cond = stmt[colon + 1..].trim();
                        let cond = cond.strip_prefix("if").map_or(cond, str::trim);
                        (&stmt[..colon], Some(cond.to_string()))
                    }
                    None => (stmt, None),
                };
                file.allows.push(Allow {
                    range: i..k,
                    ops: ops
                        .split(',')
                        .map(|o| o.trim().to_string())
                        .filter(|o| !o.is_empty())
                        .collect(),
                    condition,
                    paths: stack.iter().flatten().cloned().collect(),
                });
                i = if m.get(k) == Some(&b';') { k + 1 } else { k };
            }
            "function" => {
                let name_end = (end..m.len()).find(|&k| m[k] == b'(').unwrap_or(m.len());
                let name = text[end..name_end].trim().to_string();
                let params_end = (name_end..m.len())
                    .find(|&k| m[k] == b')')
                    .unwrap_or(m.len());
                let params = text
                    .get(name_end + 1..params_end)
                    .unwrap_or("")
                    .split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect();
                file.params.insert(name.clone(), params);
                let Some(open) = (name_end..m.len()).find(|&k| m[k] == b'{') else {
                    break;
                };
                let mut depth = 0;
                let mut close = m.len();
                for (k, &c) in m.iter().enumerate().skip(open) {
                    match c {
                        b'{' => depth += 1,
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                close = k;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                file.functions
                    .insert(name, text[open + 1..close.min(text.len())].to_string());
                i = close + 1;
            }
            _ => i = end,
        }
    }
    file
}

impl RulesFile {
    /// The condition with the bodies of the helper functions it calls appended (three levels).
    pub fn expand(&self, condition: &str) -> String {
        let mut out = condition.to_string();
        let mut frontier = condition.to_string();
        for _ in 0..3 {
            let mut next = String::new();
            for (name, body) in &self.functions {
                if frontier.contains(&format!("{name}(")) {
                    next.push(' ');
                    next.push_str(body);
                }
            }
            if next.is_empty() {
                break;
            }
            out.push_str(&next);
            frontier = next;
        }
        out
    }

    /// Like [`RulesFile::expand`], with each helper's parameters replaced by the arguments of
    /// its call: `validate(resource.data)` appends the body of `validate(data)` with
    /// `data.role` read as `resource.data.role`, so a check can tell which document a helper
    /// validates (three levels).
    pub fn expand_bound(&self, condition: &str) -> String {
        let mut out = condition.to_string();
        let mut frontier = condition.to_string();
        for _ in 0..3 {
            let mut next = String::new();
            for (name, body) in &self.functions {
                let params = self.params.get(name).map_or(&[][..], Vec::as_slice);
                for (negated, args) in call_args(&frontier, name) {
                    let bound = bind(body, params, &args);
                    // `!changesRole()`: the body joins the text negated, as one expression
                    let expression = bound.trim().strip_prefix("return").map(str::trim);
                    match expression {
                        Some(e) if negated && !e.trim_end_matches(';').contains(';') => {
                            next.push_str(" !(");
                            next.push_str(e.trim_end_matches(';'));
                            next.push(')');
                        }
                        _ => {
                            next.push(' ');
                            next.push_str(&bound);
                        }
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            out.push_str(&next);
            frontier = next;
        }
        out
    }
}

/// The argument lists of every call of `name(...)` in `text` (not `x.name(`), split at
/// top-level commas, each with whether the call is negated (`!name(...)`).
fn call_args(text: &str, name: &str) -> Vec<(bool, Vec<String>)> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '$';
    let mut out = Vec::new();
    let pattern = format!("{name}(");
    let mut from = 0;
    while let Some(at) = text[from..].find(&pattern).map(|k| k + from) {
        from = at + pattern.len();
        if text[..at].chars().next_back().is_some_and(is_word) {
            continue;
        }
        let (mut depth, mut end) = (1i32, text.len());
        for (k, c) in text[from..].char_indices() {
            match c {
                '(' | '[' => depth += 1,
                ')' | ']' => {
                    depth -= 1;
                    if depth == 0 {
                        end = from + k;
                        break;
                    }
                }
                _ => {}
            }
        }
        let negated = text[..at].trim_end().ends_with('!');
        out.push((
            negated,
            top_level(&text[from..end], ",")
                .into_iter()
                .map(str::to_string)
                .filter(|a| !a.is_empty())
                .collect(),
        ));
    }
    out
}

/// `body` with each whole-word parameter (not a member `x.param`) replaced by its argument.
fn bind(body: &str, params: &[String], args: &[String]) -> String {
    let mut out = body.to_string();
    for (param, arg) in params.iter().zip(args) {
        if param == arg {
            continue;
        }
        let Ok(word) = Regex::new(&format!(r"(^|[^\w.$]){}\b", regex::escape(param))) else {
            continue;
        };
        out = word
            .replace_all(&out, |c: &regex::Captures<'_>| format!("{}{arg}", &c[1]))
            .into_owned();
    }
    out
}

static PERSONAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new( r"(?i)^/?(users?|profiles?|accounts?|customers?|members?|messages?|chats?|orders?|payments?|private\w*|patients?|contacts?)$").expect("valid regex")
});

/// A collection whose document ids are secrets the link or e-mail carries (an invite token, a
/// share code, a reset code): reading one by its id is the feature, listing them all is not.
static SECRET_KEYED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)invit|token|secret|magic_?link|(?:^|[/_{])(?:reset|otp)|passcode|share_?(?:code|link)")
        .expect("valid regex")
});

/// Whether a collection (Firestore) or path segment (Realtime Database) holds personal data,
/// judged by its name: `users`, `profiles`, `messages`, `orders`, `private...`.
pub fn is_personal_collection(name: &str) -> bool {
    PERSONAL.is_match(name)
}

static OWNERSHIP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new( r"request\.auth\.uid\s*(==|!=|in\b)|(==|!=)\s*request\.auth\.uid|request\.auth\.token\.|\bin\s+request\.auth|\bget\(|\bexists\(|\bgetAfter\(|request\.auth\.uid\s*\]|hasAny\(\s*\[\s*request\.auth\.uid").expect("valid regex")
});

/// Runs the rules-language checks over `firestore.rules` / `storage.rules`.
pub fn check_rules_file(sink: &mut Sink<'_, '_>) {
    if !sink.any_active(&[
        Check::RulesAllowEveryone,
        Check::RulesTestMode,
        Check::RulesAnySignedInUser,
        Check::RulesAndOrWithoutParentheses,
        Check::RulesUpdateIgnoresOwner,
        Check::RulesOwnerWritesAnyField,
    ]) {
        return;
    }
    let (ownership, test_mode, signed_in) = (&*OWNERSHIP, &*TEST_MODE, &*SIGNED_IN);
    let text = sink.ctx().file.text.clone();
    let file = parse_rules(&text);
    super::ownership::check(sink, &file, &text);
    let is_storage = text.contains("firebase.storage");
    for allow in &file.allows {
        let is_write = allow
            .ops
            .iter()
            .any(|o| matches!(o.as_str(), "write" | "create" | "update" | "delete"));
        let path = allow.paths.join("");
        let recursive = path.contains("=**}");
        let last_collection = allow
            .paths
            .last()
            .map(|p| {
                p.split('/')
                    .rfind(|s| !s.is_empty() && !s.starts_with('{'))
                    .unwrap_or("")
                    .to_string()
            })
            .unwrap_or_default();
        let is_personal = is_personal_collection(&last_collection);
        let ops = allow.ops.join(", ");
        let range = allow.range.clone();
        let condition = allow.condition.as_deref().map(str::trim);
        if condition.is_some_and(|c| test_mode.is_match(c)) {
            sink.report(
                Check::RulesTestMode,
                range,
                Some(format!("`allow {ops}` on `{path}` is test-mode: open to everyone until a date, and the app breaks or stays open after it")),
                |f| {
                    if is_write && recursive {
                        f.severity = Severity::Critical;
                    }
                },
            );
            continue;
        }
        if condition.is_none_or(|c| c == "true") {
            if is_write {
                sink.report(
                    Check::RulesAllowEveryone,
                    range,
                    Some(format!("`allow {ops}` on `{path}` lets anyone, signed in or not, change these documents")),
                    |f| f.severity = Severity::Critical,
                );
            } else if is_personal || recursive {
                // public reads are judged by what they expose: personal data is high, files
                // below a wildcard medium, a catalogue nobody but the server writes is info
                let (severity, what) = if is_personal {
                    (Severity::High, "personal data")
                } else if is_storage {
                    (Severity::Medium, "every file below this wildcard")
                } else if writes_denied(&file, allow) {
                    (Severity::Info, "a catalogue only the server writes")
                } else {
                    (Severity::Medium, "every document below this wildcard")
                };
                sink.report(
                    Check::RulesAllowEveryone,
                    range,
                    Some(format!(
                        "`allow {ops}` on `{path}` lets anyone, signed in or not, read {what}"
                    )),
                    |f| f.severity = severity,
                );
            } else if lists_secret_ids(allow) {
                sink.report(
                    Check::RulesAllowEveryone,
                    range,
                    Some(format!("`allow {ops}` on `{path}` lets anyone, signed in or not, list these documents, and their ids are the secrets (invite or share tokens) that should only open one: allow `get` alone")),
                    |f| f.severity = Severity::High,
                );
            }
            continue;
        }
        let Some(condition) = condition else {
            continue;
        };
        let expanded = file.expand(condition);
        // `match /{document=**} { allow write: if request.resource.data.size() < 10; }`: a
        // condition that only validates the data lets anyone write every document below
        let checks_caller = ["request.auth", "get(", "exists(", "getAfter("]
            .iter()
            .any(|m| expanded.contains(m));
        if recursive && is_write && !checks_caller && !is_constant_false(&expanded) {
            sink.report(
                Check::RulesAllowEveryone,
                range,
                Some(format!("`allow {ops}` on `{path}` never looks at the caller (no `request.auth`): anyone, signed in or not, can change every document below this recursive wildcard")),
                |f| f.severity = Severity::Critical,
            );
            continue;
        }
        // `match /sessions/{id} { allow read, write: if resource.data.sessionId == id; }`: a
        // condition keyed by the path or the data, never by the caller, lets in anyone who
        // knows (or lists) a document id; a public `create` alone (a form anyone may submit)
        // is left to the rules on `true` conditions
        let creates_only = allow.ops.iter().all(|o| o == "create");
        if (is_write || is_personal)
            && !creates_only
            && !expanded.contains("request.auth")
            && !is_constant_false(&expanded)
        {
            let (verb, what) = if is_write {
                ("change", "these documents")
            } else {
                ("read", "personal data")
            };
            sink.report(
                Check::RulesAllowEveryone,
                range,
                Some(format!("`allow {ops}` on `{path}` never looks at the caller (no `request.auth`): anyone, signed in or not, who knows or guesses a document id can {verb} {what}; its test is on the id or the data, which the client chooses")),
                |f| f.severity = Severity::High,
            );
            continue;
        }
        if is_write && let Some(open) = unguarded_branch(&file, condition) {
            sink.report(
                Check::RulesAndOrWithoutParentheses,
                range.clone(),
                Some(format!("`allow {ops}` on `{path}` mixes `&&` and `||` without parentheses: `&&` binds first, so the caller check guards only one branch and `{}` lets anyone through", shorten(open))),
                |_| {},
            );
        }
        let is_signed_in_only = |c: &str| {
            let e = file.expand(c);
            signed_in.is_match(&e) && !ownership.is_match(&e)
        };
        // `isOwner(uid) || isAuthenticated()`: one branch alone lets every signed-in user in
        let branches = top_level(condition, "||");
        let has_open_branch = branches.len() > 1
            && branches
                .iter()
                .any(|b| is_signed_in_only(b) && !file.expand(b).contains("resource."));
        let is_open = is_signed_in_only(condition) || has_open_branch;
        if !is_open {
            continue;
        }
        if is_write || recursive || is_personal {
            let severity = if recursive && is_write {
                Severity::Critical
            } else if is_write || recursive {
                Severity::High
            } else {
                Severity::Medium
            };
            sink.report(
                Check::RulesAnySignedInUser,
                range,
                Some(format!("`allow {ops}` on `{path}` only checks that the caller is signed in: any user can {} every document, not just their own", if is_write { "change" } else { "read" })),
                |f| f.severity = severity,
            );
        } else if lists_what_get_hides(&file, allow) {
            sink.report(
                Check::RulesAnySignedInUser,
                range,
                Some(format!("`allow {ops}` on `{path}` only checks that the caller is signed in, while reading one document is limited to its owner or members: any user can list every document (queries are not filtered by the `get` rule)")),
                |f| f.severity = Severity::High,
            );
        }
    }
}

/// Whether `read` allows listing (`list` or `read`) and another `allow` of the same `match`
/// block limits reading single documents to their owner or members: the collection is private,
/// and the broad `list` undoes it.
fn lists_what_get_hides(file: &RulesFile, read: &Allow) -> bool {
    read.ops.iter().any(|o| o == "list" || o == "read")
        && file.allows.iter().any(|a| {
            !std::ptr::eq(a, read)
                && a.paths == read.paths
                && a.ops.iter().any(|o| o == "get" || o == "read")
                && a.condition
                    .as_deref()
                    .is_some_and(|c| OWNERSHIP.is_match(&file.expand(c)))
        })
}

/// Whether `allow` lets clients list (`read` or `list`) a collection keyed by secret tokens: its
/// name or its document variable says invite, token, reset or share code (`/pending_invites/{token}`).
fn lists_secret_ids(allow: &Allow) -> bool {
    allow.ops.iter().any(|o| o == "list" || o == "read")
        && allow.paths.last().is_some_and(|p| SECRET_KEYED.is_match(p))
}

/// The parts of `condition` separated by `op` outside parentheses and brackets.
pub(super) fn top_level<'c>(condition: &'c str, op: &str) -> Vec<&'c str> {
    let bytes = condition.as_bytes();
    let mut parts = Vec::new();
    let (mut depth, mut start, mut i) = (0i32, 0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth -= 1,
            _ if depth == 0 && condition[i..].starts_with(op) => {
                parts.push(condition[start..i].trim());
                i += op.len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(condition[start..].trim());
    parts
}

/// For a write condition like `request.auth.uid == uid && a || b`: when a branch joined by a
/// top-level `&&` checks the caller and another top-level `||` branch never looks at the caller
/// (`request.auth`, directly or through helpers), that branch; `None` when the parentheses are
/// right or every branch checks the caller.
fn unguarded_branch<'c>(file: &RulesFile, condition: &'c str) -> Option<&'c str> {
    let branches = top_level(condition, "||");
    if branches.len() < 2 {
        return None;
    }
    let checks_caller = |b: &str| file.expand(b).contains("request.auth");
    let guarded_and = branches
        .iter()
        .any(|b| top_level(b, "&&").len() > 1 && checks_caller(b));
    if !guarded_and {
        return None;
    }
    branches
        .into_iter()
        .find(|b| !checks_caller(b) && !is_constant_false(b))
}

/// A condition on one line, cut to 60 characters, for a message.
fn shorten(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 60 {
        format!("{}...", line.chars().take(60).collect::<String>())
    } else {
        line
    }
}

/// Whether no `allow` of the same `match` block lets clients write: none at all, or only
/// `if false`.
fn writes_denied(file: &RulesFile, read: &Allow) -> bool {
    !file.allows.iter().any(|a| {
        a.paths == read.paths
            && a.ops
                .iter()
                .any(|o| matches!(o.as_str(), "write" | "create" | "update" | "delete"))
            && !a.condition.as_deref().is_some_and(is_constant_false)
    })
}

/// A condition that is `false` however it is written (`false`, `(false)`).
fn is_constant_false(condition: &str) -> bool {
    condition.trim_matches(|c: char| c.is_whitespace() || c == '(' || c == ')') == "false"
}

#[cfg(test)]
mod tests {
    use super::parse_rules;

    #[test]
    fn finds_allows_inside_nested_matches() {
        let rules = "rules_version = '2';\nservice cloud.firestore {\n  match /databases/{database}/documents {\n    function isOwner(u) { return request.auth.uid == u; }\n    match /users/{userId} {\n      allow read: if isOwner(userId); // owner\n      allow write: if request.auth != null;\n    }\n  }\n}\n";
        let f = parse_rules(rules);
        assert_eq!(f.allows.len(), 2);
        assert_eq!(
            f.allows[0].paths,
            vec!["/databases/{database}/documents", "/users/{userId}"]
        );
        assert_eq!(
            f.allows[1].condition.as_deref(),
            Some("request.auth != null")
        );
        assert!(f.functions.contains_key("isOwner"));
    }
}
