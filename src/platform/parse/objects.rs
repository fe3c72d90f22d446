//! Parse objects and keys outside Cloud Code handlers: objects saved without an ACL, and the
//! master key in client-side code.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::Node;

use crate::parse::ChildField;
use crate::platform::client_side::is_client_side;
use crate::platform::js::{self, text};
use crate::platform::{Check, Sink};

static EXTEND_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\(?\s*Parse\.Object\.extend\(\s*["'](\w+)["']"#).expect("valid regex")
});

/// Classes whose objects Parse protects itself (users, roles, sessions, installations).
const SYSTEM_CLASSES: [&str; 4] = ["_User", "_Role", "_Session", "_Installation"];

/// Runs the object and client-key rules over one JS/TS file.
pub fn check_file(sink: &mut Sink<'_, '_>) {
    if sink.active(Check::ObjectWithoutAcl).is_some() {
        objects_without_acl(sink);
    }
    if sink.active(Check::MasterKeyInClient).is_some()
        && is_client_side(&sink.ctx().file.display, &sink.ctx().file.text)
    {
        master_key_in_client(sink);
    }
}

/// Constructor names bound to a Parse class in the file: `const Post = Parse.Object.extend("Post")`
/// and `class Post extends Parse.Object`.
fn class_constructors(index: &js::Index<'_>, src: &str) -> BTreeMap<String, String> {
    let mut ctors = BTreeMap::new();
    for (name, value) in index.declarations(src) {
        let value = js::unwrap_expr(value);
        if value.kind() == "call_expression" && js::callee(value, src) == "Parse.Object.extend" {
            let class = js::arguments(value)
                .first()
                .and_then(|a| js::string_value(*a, src))
                .unwrap_or(&name)
                .to_string();
            ctors.insert(name, class);
        }
    }
    for class in index.of(&["class_declaration"]) {
        let heritage = class
            .named_children(&mut class.walk())
            .find(|c| c.kind() == "class_heritage")
            .map_or("", |h| text(h, src));
        if heritage.contains("Parse.Object")
            && let Some(name) = class.child_field("name")
        {
            let n = text(name, src).to_string();
            ctors.insert(n.clone(), n);
        }
    }
    ctors
}

/// The Parse class a `new` expression creates, if it creates a Parse object.
fn created_class(new: Node<'_>, ctors: &BTreeMap<String, String>, src: &str) -> Option<String> {
    let ctor = js::callee(new, src);
    if ctor == "Parse.Object" {
        return js::arguments(new)
            .first()
            .map(|a| js::string_value(*a, src).unwrap_or("?").to_string());
    }
    if let Some(class) = ctors.get(ctor) {
        return Some(class.clone());
    }
    EXTEND_CALL
        .captures(ctor)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
}

fn objects_without_acl(sink: &mut Sink<'_, '_>) {
    let (Some((src, root, index)), Some(handlers)) = (sink.js(), sink.cloud_handlers()) else {
        return;
    };
    let ctors = class_constructors(&index, src);
    // classes whose beforeSave trigger in this file sets an ACL have a default
    let defaulted: BTreeSet<String> = handlers
        .iter()
        .filter(|h| h.hook == "beforeSave" && text(h.function, src).contains("ACL"))
        .map(|h| h.name.clone())
        .collect();
    let mut hits = Vec::new();
    for (name, value) in index.declarations(src) {
        let value = js::unwrap_expr(value);
        if value.kind() != "new_expression" {
            continue;
        }
        let Some(class) = created_class(value, &ctors, src) else {
            continue;
        };
        let class_key = class.trim_start_matches("Parse.");
        if SYSTEM_CLASSES.contains(&class.as_str())
            || defaulted.contains(&class)
            || defaulted.iter().any(|d| d.ends_with(class_key))
            || text(value, src).contains("ACL")
        {
            continue;
        }
        let scope = js::ancestor(value, &js::FUNCTIONS).unwrap_or(root);
        let body = text(scope, src);
        let escaped = regex::escape(&name);
        let saved =
            Regex::new(&format!(r"\b{escaped}\s*\.\s*save\s*\(")).is_ok_and(|re| re.is_match(body));
        let has_acl = Regex::new(&format!(
            r#"\b{escaped}\s*\.\s*(setACL\s*\(|set\(\s*["']ACL["']|set\(\s*\{{[^}}]*\bACL\b)"#
        ))
        .is_ok_and(|re| re.is_match(body));
        if saved && !has_acl {
            hits.push((value.byte_range(), class));
        }
    }
    for (range, class) in hits {
        let message = format!(
            "`{class}` object is saved without an ACL: unless class-level permissions lock the class down, anyone with the app id can read and overwrite it"
        );
        sink.report(Check::ObjectWithoutAcl, range, Some(message), |_| {});
    }
}

fn master_key_in_client(sink: &mut Sink<'_, '_>) {
    let ctx = sink.ctx();
    let Some(tree) = ctx.tree() else {
        return;
    };
    let src: &str = &ctx.file.text;
    let mut hits = Vec::new();
    js::walk(tree.root_node(), |n| match n.kind() {
        "call_expression" => {
            let callee = js::callee(n, src);
            let args = js::arguments(n);
            let is_init = callee == "Parse.initialize"
                && args.get(2).is_some_and(|a| {
                    !matches!(text(*a, src), "undefined" | "null" | "''" | "\"\"")
                });
            let is_core = callee == "Parse.CoreManager.set"
                && args
                    .first()
                    .and_then(|a| js::string_value(*a, src))
                    .is_some_and(|k| k == "MASTER_KEY");
            if is_init || is_core {
                hits.push(n.byte_range());
            }
        }
        "assignment_expression"
            if n.child_field("left")
                .is_some_and(|l| text(l, src) == "Parse.masterKey") =>
        {
            hits.push(n.byte_range());
        }
        "string"
            if js::string_value(n, src)
                .is_some_and(|s| s.eq_ignore_ascii_case("x-parse-master-key")) =>
        {
            hits.push(n.byte_range());
        }
        "pair" if js::pair_key(n, src) == "masterKey" => {
            hits.push(n.byte_range());
        }
        _ => {}
    });
    for range in hits {
        sink.report(Check::MasterKeyInClient, range, None, |_| {});
    }
}
