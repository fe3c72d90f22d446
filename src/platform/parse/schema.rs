//! Parse class-level permissions (CLPs): `classLevelPermissions` in schema definitions (JS
//! migrations, `schema.definitions` in the server options), `Parse.Schema#setCLP({...})`, and
//! JSON schema exports (`GET /parse/schemas` output, arrays of classes, config files).
//!
//! Both syntaxes become [`Entry`] lists (see [`config`](super::config)), so one
//! function, [`judge`], decides for every source.

use tree_sitter::Node;

use super::config::{Entry, Val, js_entries, json_val, resolve_object};
use crate::finding::Finding;
use crate::parse::ChildField;
use crate::platform::js::{self, text};
use crate::platform::{Check, Sink};
use crate::rules::{Confidence, Severity};

/// Operations whose public grant lets anyone change the class, with what it lets them do.
const WRITE_OPS: [(&str, &str); 4] = [
    ("create", "create objects"),
    ("update", "update any object"),
    ("delete", "delete any object"),
    ("addField", "add fields"),
];

/// Operations whose public grant lets anyone list or read the class.
const READ_OPS: [&str; 3] = ["find", "get", "count"];

/// Custom classes whose names say they hold personal data: the list of
/// `parse.public-read-acl-on-personal-class`, without Parse's own `_` classes.
const PERSONAL_CLASSES: [&str; 13] = [
    "User",
    "Profile",
    "UserProfile",
    "Message",
    "Chat",
    "Order",
    "Payment",
    "Invoice",
    "Address",
    "Patient",
    "Contact",
    "PrivateNote",
    "Account",
];

/// Whether the CLP of one operation grants `'*': true`.
fn is_public(value: &Val) -> bool {
    matches!(value, Val::Object(who) if who.iter().any(|w| w.key == "*" && matches!(w.value, Val::Bool(true))))
}

/// Judges one class's CLPs (`class` when known): one finding for its public writes, one for
/// public reads of a personal class, each at the first offending key with the others related.
///
/// Parse's own classes (`_User`, `_Session`, `_Installation`, ...) are left alone: their default
/// CLPs are public by design (sign-up creates `_User` objects) and Parse guards them itself
/// (automatic ACLs on users, sessions scoped to their user).
fn judge(sink: &mut Sink<'_, '_>, class: Option<&str>, clp: &[Entry]) {
    if class.is_some_and(|c| c.starts_with('_')) {
        return;
    }
    let name = class.map_or_else(|| "this class".to_string(), |c| format!("`{c}`"));
    // JSON objects come sorted by key: report in the order the keys are written
    let mut clp: Vec<&Entry> = clp.iter().collect();
    clp.sort_by_key(|op| op.range.start);
    let writes: Vec<(&Entry, &str)> = clp
        .iter()
        .filter(|op| is_public(&op.value))
        .filter_map(|op| {
            WRITE_OPS
                .iter()
                .find(|(o, _)| *o == op.key)
                .map(|(_, v)| (*op, *v))
        })
        .collect();
    if let Some((first, _)) = writes.first() {
        let verbs: Vec<&str> = writes.iter().map(|(_, v)| *v).collect();
        let message = format!(
            "Class-level permissions of {name} let any client, logged in or not, {}",
            join_words(&verbs)
        );
        report(
            sink,
            first,
            &writes.iter().map(|(op, _)| *op).collect::<Vec<_>>(),
            message,
            |_| {},
        );
    }
    let Some(class) = class.filter(|c| PERSONAL_CLASSES.contains(c)) else {
        return;
    };
    let reads: Vec<&Entry> = clp
        .into_iter()
        .filter(|op| READ_OPS.contains(&op.key.as_str()) && is_public(&op.value))
        .collect();
    if let Some(first) = reads.first() {
        let ops: Vec<String> = reads.iter().map(|op| format!("`{}`", op.key)).collect();
        let message = format!(
            "Class-level permissions let any client {} `{class}`, a class that holds personal data; only object ACLs stand in the way",
            join_words(&ops.iter().map(String::as_str).collect::<Vec<_>>())
        );
        report(sink, first, &reads, message, |f| {
            f.severity = Severity::Medium;
            f.confidence = Confidence::Low;
        });
    }
}

/// Reports at `first`, relating the other offending keys.
fn report(
    sink: &mut Sink<'_, '_>,
    first: &Entry,
    all: &[&Entry],
    message: String,
    adjust: impl FnOnce(&mut Finding),
) {
    let related: Vec<_> = all
        .iter()
        .skip(1)
        .map(|op| {
            sink.ctx()
                .related(op.range.clone(), format!("`{}` is public too", op.key))
        })
        .collect();
    sink.report(
        Check::PublicClassLevelPermission,
        first.range.clone(),
        Some(message),
        |f| {
            f.related = related;
            adjust(f);
        },
    );
}

/// `a`, `a and b`, `a, b and c`.
fn join_words(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Runs the CLP rule over a JS/TS file.
pub fn check_file(sink: &mut Sink<'_, '_>) {
    if sink.active(Check::PublicClassLevelPermission).is_none() {
        return;
    }
    let Some((src, root, index)) = sink.js() else {
        return;
    };
    let mut found: Vec<(Option<String>, Vec<Entry>)> = Vec::new();
    index.walk(|n| match n.kind() {
        "pair" if js::pair_key(n, src) == "classLevelPermissions" => {
            let Some(value) = n.child_field("value") else {
                return;
            };
            let Some(object) = resolve_object(root, value, src) else {
                return;
            };
            let class = n.parent().and_then(|o| class_name_property(o, src));
            found.push((class, js_entries(object, src)));
        }
        "call_expression" if js::method_name(n, src) == Some("setCLP") => {
            let Some(object) = js::arguments(n)
                .first()
                .and_then(|a| resolve_object(root, *a, src))
            else {
                return;
            };
            let class = js::receiver(n).and_then(|r| schema_class(root, r, src));
            found.push((class, js_entries(object, src)));
        }
        _ => {}
    });
    for (class, clp) in &found {
        judge(sink, class.as_deref(), clp);
    }
}

/// `className: "X"` in the object holding the CLPs.
fn class_name_property(object: Node<'_>, src: &str) -> Option<String> {
    let value = js::property(object, "className", src)?.child_field("value")?;
    js::string_value(value, src).map(str::to_string)
}

/// The class of `new Parse.Schema("X")`, directly or through a `const` in the file.
fn schema_class(root: Node<'_>, receiver: Node<'_>, src: &str) -> Option<String> {
    let mut node = js::unwrap_expr(receiver);
    if node.kind() == "identifier" {
        let name = text(node, src);
        node = js::declarations(root, src)
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| js::unwrap_expr(v))?;
    }
    (node.kind() == "new_expression" && js::callee(node, src).ends_with("Schema"))
        .then(|| {
            js::arguments(node)
                .first()
                .and_then(|a| js::string_value(*a, src))
        })
        .flatten()
        .map(str::to_string)
}

/// Runs the CLP rule over a JSON file: every object with a `classLevelPermissions` object, named
/// by its sibling `className`.
pub fn check_json(sink: &mut Sink<'_, '_>) {
    if sink.active(Check::PublicClassLevelPermission).is_none() {
        return;
    }
    let src: &str = &sink.ctx().file.text;
    let Ok(value) = serde_json::from_str::<serde_json::Value>(src) else {
        return;
    };
    let mut classes = Vec::new();
    collect(&value, &mut classes);
    // keys are found by text search: the i-th CLP object in document order starts at the i-th
    // `"classLevelPermissions"`. Arrays are walked in document order but objects in key order,
    // so order the classes by where their `"className"` is written when every one has one.
    let written_at: Option<Vec<usize>> = classes
        .iter()
        .map(|(class, _)| class.and_then(|c| class_name_position(src, c)))
        .collect();
    if let Some(positions) = written_at {
        let mut order: Vec<usize> = (0..classes.len()).collect();
        order.sort_by_key(|&i| positions[i]);
        classes = order.into_iter().map(|i| classes[i]).collect();
    }
    let starts: Vec<usize> = src
        .match_indices("\"classLevelPermissions\"")
        .map(|(i, _)| i)
        .collect();
    for (i, (class, clp)) in classes.iter().enumerate() {
        let from = starts.get(i).copied().unwrap_or(0);
        if let Val::Object(entries) = json_val(clp, src, from) {
            judge(sink, *class, &entries);
        }
    }
}

/// Where `"className": "<class>"` is written.
fn class_name_position(src: &str, class: &str) -> Option<usize> {
    let re = regex::Regex::new(&format!(r#""className"\s*:\s*"{}""#, regex::escape(class))).ok()?;
    re.find(src).map(|m| m.start())
}

/// Every (className, classLevelPermissions) pair in a JSON document.
fn collect<'v>(
    value: &'v serde_json::Value,
    out: &mut Vec<(Option<&'v str>, &'v serde_json::Value)>,
) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(clp @ serde_json::Value::Object(_)) = map.get("classLevelPermissions") {
                let class = map.get("className").and_then(serde_json::Value::as_str);
                out.push((class, clp));
            }
            for (key, v) in map {
                if key != "classLevelPermissions" {
                    collect(v, out);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::class_name_position;

    #[test]
    fn finds_where_a_class_name_is_written() {
        let src = r#"{ "Zeta": { "className": "Zeta" }, "Alpha": { "className" : "Alpha" } }"#;
        assert!(class_name_position(src, "Zeta") < class_name_position(src, "Alpha"));
        assert_eq!(class_name_position(src, "Beta"), None);
    }
}
