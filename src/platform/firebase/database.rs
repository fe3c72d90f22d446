//! `firebase.database-rules-public`: Realtime Database rules (`database.rules.json`, in the relaxed
//! JSON the Firebase console writes) open to everyone, in test mode, or to any signed-in user.

use crate::discover::SkipReason;
use crate::platform::{Check, Sink};
use crate::rules::Severity;

/// The JSON the Firebase console writes, made strict: `//` and `/* */` comments, then trailing
/// commas, removed outside strings.
fn relaxed_json(text: &str) -> String {
    let without_comments = outside_strings(text, |c, rest| {
        if c == '/' && rest.starts_with('/') {
            rest.chars().take_while(|n| *n != '\n').count() + 1
        } else if c == '/' && rest.starts_with('*') {
            // the console's default file opens with a `/* Visit ... */` block
            let end = rest.find("*/").map_or(rest.len(), |e| e + 2);
            rest[..end].chars().count() + 1
        } else {
            0
        }
    });
    outside_strings(&without_comments, |c, rest| {
        usize::from(c == ',' && rest.trim_start().starts_with(['}', ']']))
    })
}

/// Copies `text`, letting `skip(c, rest)` drop `n > 0` characters (from `c` on) outside strings;
/// `rest` is the text after `c`.
fn outside_strings(text: &str, skip: impl Fn(char, &str) -> usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut drop = 0usize;
    for (i, c) in text.char_indices() {
        if drop > 0 {
            drop -= 1;
            continue;
        }
        if in_string {
            in_string = escaped || c != '"';
            escaped = !escaped && c == '\\';
        } else if c == '"' {
            in_string = true;
        } else {
            let n = skip(c, &text[i + c.len_utf8()..]);
            if n > 0 {
                drop = n - 1;
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// `database.rules.json`: `.read` / `.write` open (or only `auth != null`) at the root.
pub fn check_database_rules(sink: &mut Sink<'_, '_>) {
    if sink.active(Check::DatabaseRulesPublic).is_none() {
        return;
    }
    let text: &str = &sink.ctx().file.text;
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => match serde_json::from_str(&relaxed_json(text)) {
            Ok(v) => v,
            Err(e) => {
                let why = if e.to_string().contains("recursion limit") {
                    "nests deeper than the JSON reader allows".to_string()
                } else {
                    format!("is not valid JSON ({e})")
                };
                sink.ctx().note(
                    SkipReason::ParseError,
                    format!("Realtime Database rules {why}; their rules were not checked"),
                );
                return;
            }
        },
    };
    let Some(rules) = value.get("rules").and_then(serde_json::Value::as_object) else {
        return;
    };
    let rules_at = text.find("\"rules\"").unwrap_or(0);
    let mut hits = Vec::new();
    for key in [".read", ".write"] {
        let Some(v) = rules.get(key) else {
            continue;
        };
        let condition = match v {
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::String(s) => s.replace(' ', ""),
            _ => continue,
        };
        let needle = format!("\"{key}\"");
        let Some(at) = text[rules_at..].find(&needle).map(|i| i + rules_at) else {
            continue;
        };
        let range = at..at + needle.len();
        let verb = if key == ".read" { "read" } else { "overwrite" };
        if condition == "true" {
            hits.push((range, format!("Realtime Database rules let anyone {verb} the whole database (`\"{key}\": true` at the root)"), Severity::Critical));
        } else if condition
            .strip_prefix("now<")
            .is_some_and(|ms| !ms.is_empty() && ms.bytes().all(|b| b.is_ascii_digit()))
        {
            // the console's "test mode": `"now < 1714521600000"`
            hits.push((range, format!("Realtime Database rules are in test mode: anyone can {verb} the whole database until the date in `\"{key}\": \"now < ...\"`"), Severity::High));
        } else if matches!(
            condition.as_str(),
            "auth!=null" | "auth!==null" | "auth.uid!=null" | "auth.uid!==null"
        ) {
            hits.push((range, format!("Realtime Database rules let any signed-in user {verb} the whole database (`auth != null` at the root)"), Severity::High));
        }
    }
    // below the root: `"sessions": { "$id": { ".write": true } }`, or a condition on the data
    // alone, lets anyone who knows (or guesses) a key write there
    nested_open_rules(text, rules_at, rules, &mut Vec::new(), &mut hits);
    for (range, message, severity) in hits {
        sink.report(Check::DatabaseRulesPublic, range, Some(message), |f| {
            f.severity = severity;
        });
    }
}

/// Walks the rules below the root, reporting `.write` rules that never look at `auth` (and
/// `.read` rules of personal collections that do not). Keys are located in the text by
/// following the path from the `"rules"` key at `rules_at`.
fn nested_open_rules(
    text: &str,
    rules_at: usize,
    node: &serde_json::Map<String, serde_json::Value>,
    path: &mut Vec<String>,
    hits: &mut Vec<(std::ops::Range<usize>, String, Severity)>,
) {
    for (key, value) in node {
        if path.is_empty() && key.starts_with('.') {
            continue; // the root's own rules are judged above
        }
        if let Some(children) = value.as_object() {
            path.push(key.clone());
            nested_open_rules(text, rules_at, children, path, hits);
            path.pop();
            continue;
        }
        if key != ".read" && key != ".write" {
            continue;
        }
        let condition = match value {
            serde_json::Value::Bool(true) => "true".to_string(),
            serde_json::Value::String(c) => c.clone(),
            _ => continue,
        };
        if condition.contains("auth") || condition.replace(' ', "") == "false" {
            continue;
        }
        let collection = path
            .iter()
            .rev()
            .find(|s| !s.starts_with('$'))
            .map_or("", String::as_str);
        let mut at = rules_at;
        for segment in path.iter().chain(std::iter::once(key)) {
            let needle = format!("\"{segment}\"");
            if let Some(i) = text.get(at..).and_then(|t| t.find(&needle)) {
                at += i + needle.len();
            }
        }
        let range = at.saturating_sub(key.len() + 2)..at;
        let where_ = format!("/{}", path.join("/"));
        if key == ".write" {
            hits.push((range, format!("Realtime Database rules let anyone, signed in or not, write `{where_}` (`\".write\": {}` never looks at `auth`): whoever knows or guesses a key can change or delete its data", shorten(&condition)), Severity::High));
        } else if super::rules::is_personal_collection(collection) {
            hits.push((range, format!("Realtime Database rules let anyone, signed in or not, read `{where_}` (`\".read\": {}` never looks at `auth`), personal data", shorten(&condition)), Severity::High));
        }
    }
}

/// A condition cut for a message.
fn shorten(condition: &str) -> String {
    let c: String = condition.chars().take(60).collect();
    if c.len() < condition.len() {
        format!("\"{c}...\"")
    } else if condition == "true" {
        c
    } else {
        format!("\"{c}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::relaxed_json;

    #[test]
    fn reads_the_consoles_relaxed_json() {
        let text = "{\n  \"rules\": {\n    \".read\": \"now < 1714521600000\",  // 2024-5-1 ✓\n    \"a//b\": \"x,}\",\n  }\n}\n";
        let v: serde_json::Value = serde_json::from_str(&relaxed_json(text)).expect("strict JSON");
        assert_eq!(v["rules"][".read"], "now < 1714521600000");
        assert_eq!(v["rules"]["a//b"], "x,}");
    }
}
