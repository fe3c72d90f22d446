//! `injection-prototype-polluting-function`: a hand-written deep merge, deep copy or path setter
//! that copies keys it did not choose into a parameter object without rejecting `__proto__` and
//! `constructor`, so `merge({}, JSON.parse('{"__proto__": {"isAdmin": true}}'))` changes
//! `Object.prototype`.
//!
//! One pass over a JavaScript/TypeScript tree. A candidate is an assignment `dst[key] = value`
//! (or `dst[keys[i]] = value`) whose object `dst` is a parameter of the enclosing named function
//! and whose key comes from enumerating an object (`for (key in src)`, `Object.keys`/`entries`,
//! `Reflect.ownKeys`, `forOwn`/`_.each` callbacks), from splitting a path (`path.split('.')`), or
//! from a parameter. It is reported when the function also *descends*: it passes `dst[key]` (or
//! a local read from it) to a plain function call, as a recursive merge does, or walks down
//! with `dst = dst[key]`, as a path setter does. A shallow copy (`for (k in src) dst[k] = src[k]`)
//! cannot reach `Object.prototype` and stays quiet.
//!
//! Guards that keep it quiet: a check against both `"__proto__"` and `"constructor"` (or
//! `"prototype"`) in the function, or a call to a function of the same file that makes both
//! checks (`if (!isSafeKey(key)) continue`); `dst.hasOwnProperty(key)` or
//! `hasOwnProperty.call(dst, key)` (the prototype keys are not own properties of the target);
//! `dst[key] instanceof Object`; the key looked up in a list (`blocked.includes(key)`); the key
//! compared with some other literal (`key !== "prefs"`). A check of `src.hasOwnProperty(key)`
//! is no guard: a parsed payload owns its `__proto__` key.

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use regex::Regex;
use tree_sitter::Node;

use super::{Check, Extra, Sink};
use crate::parse::ChildField;
use crate::parse::code_text;
use crate::platform::js::{FUNCTIONS, text, walk};

/// Reports every prototype-polluting assignment of the file.
pub fn check_file(sink: &mut Sink<'_, '_>, root: Node<'_>) {
    for range in find(root, sink.text()) {
        sink.report(Check::PrototypePollutingFunction, range, Extra::default());
    }
}

/// Whether `src` may hold a function the check reports: a computed assignment and some way of
/// choosing keys. A cheap superset, so most files are never walked.
pub fn may_apply(src: &str) -> bool {
    src.contains("] =")
        && [
            " in ", "keys(", "entries(", "ownKeys(", ".split(", "forOwn", "each(",
        ]
        .iter()
        .any(|m| src.contains(m))
}

/// The ranges of the assignments that may pollute `Object.prototype`.
pub fn find(root: Node<'_>, src: &str) -> Vec<Range<usize>> {
    let file = FileFunctions {
        root,
        src,
        guards: OnceCell::new(),
        calls: OnceCell::new(),
    };
    let mut out = Vec::new();
    walk(root, |n| {
        if n.kind() == "assignment_expression" && is_polluting(n, src, &file) {
            out.push(n.byte_range());
        }
    });
    out
}

/// What the check knows about the file's named functions, each built on first use: most files
/// have no candidate assignment, and both walk every function of the file (a tenth of a scan of
/// parse-server's package when built up front, issue 22).
struct FileFunctions<'t> {
    root: Node<'t>,
    src: &'t str,
    /// Functions that reject both `__proto__` and `constructor`/`prototype`.
    guards: OnceCell<BTreeSet<String>>,
    /// Per function name, the plain function names it calls.
    calls: OnceCell<BTreeMap<String, BTreeSet<String>>>,
}

impl FileFunctions<'_> {
    fn guards(&self) -> &BTreeSet<String> {
        self.guards
            .get_or_init(|| guard_functions(self.root, self.src))
    }

    fn calls(&self) -> &BTreeMap<String, BTreeSet<String>> {
        self.calls
            .get_or_init(|| calls_by_function(self.root, self.src))
    }
}

/// The plain calls (`name(...)`) made by each named function of the file, nested ones included.
fn calls_by_function(root: Node<'_>, src: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    walk(root, |n| {
        if FUNCTIONS.contains(&n.kind())
            && let Some(name) = function_name(n, src)
        {
            let called = out.entry(name.to_string()).or_default();
            walk(n, |c| {
                if c.kind() == "call_expression"
                    && let Some(f) = c.child_field("function")
                    && f.kind() == "identifier"
                {
                    called.insert(text(f, src).to_string());
                }
            });
        }
    });
    out
}

/// Names of the file's functions that reject both `__proto__` and `constructor`/`prototype`.
fn guard_functions(root: Node<'_>, src: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    walk(root, |n| {
        if FUNCTIONS.contains(&n.kind())
            && rejects_proto_keys(&code_text(n, src))
            && let Some(name) = function_name(n, src)
        {
            names.insert(name.to_string());
        }
    });
    names
}

/// Whether `body` names both `__proto__` and `constructor` (or `prototype`) as string literals.
fn rejects_proto_keys(body: &str) -> bool {
    let quoted = |w: &str| {
        ['"', '\'', '`']
            .iter()
            .any(|q| body.contains(&format!("{q}{w}{q}")))
    };
    quoted("__proto__") && (quoted("constructor") || quoted("prototype"))
}

/// The name a function is declared or bound under, if any.
fn function_name<'t>(f: Node<'_>, src: &'t str) -> Option<&'t str> {
    if let Some(name) = f.child_field("name") {
        return Some(text(name, src));
    }
    let parent = f.parent()?;
    let name = match parent.kind() {
        "variable_declarator" | "pair" | "public_field_definition" | "field_definition" => parent
            .child_field("name")
            .or_else(|| parent.child_field("key"))
            .or_else(|| parent.child_field("property"))?,
        "assignment_expression" => parent.child_field("left")?,
        _ => return None,
    };
    Some(text(name, src))
}

/// The identifiers bound by a function's parameters (destructured and rest ones included).
fn parameters(f: Node<'_>, src: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let params = f
        .child_field("parameters")
        .or_else(|| f.child_field("parameter"));
    if let Some(p) = params {
        walk(p, |n| {
            if matches!(
                n.kind(),
                "identifier" | "shorthand_property_identifier_pattern"
            ) && n
                .parent()
                .is_none_or(|p| p.kind() != "pair_pattern" || p.child_field("key") != Some(n))
            {
                out.insert(text(n, src).to_string());
            }
        });
    }
    out
}

/// The position of the plain parameter named `name` (`(parent, key)` gives 1 for `key`).
fn parameter_position(f: Node<'_>, name: &str, src: &str) -> Option<usize> {
    let params = f.child_field("parameters")?;
    let mut c = params.walk();
    params.named_children(&mut c).position(|p| {
        let id = if p.kind() == "required_parameter" {
            p.child_field("pattern")
        } else {
            Some(p)
        };
        id.is_some_and(|id| id.kind() == "identifier" && text(id, src) == name)
    })
}

fn is_polluting(assign: Node<'_>, src: &str, file: &FileFunctions<'_>) -> bool {
    let Some(left) = assign.child_field("left") else {
        return false;
    };
    if left.kind() != "subscript_expression" {
        return false;
    }
    let (Some(object), Some(index)) = (left.child_field("object"), left.child_field("index"))
    else {
        return false;
    };
    if object.kind() != "identifier"
        || !matches!(index.kind(), "identifier" | "subscript_expression")
    {
        return false;
    }
    // `dst[key] = {}` gives `dst` a fresh child; on `__proto__` it replaces `dst`'s own prototype
    // and a value built here (`new Date(v)`, `isArray(v) ? [] : {}`) carries no payload
    if !assign.child_field("right").is_some_and(|r| {
        matches!(
            r.kind(),
            "identifier" | "subscript_expression" | "member_expression" | "call_expression"
        )
    }) {
        return false;
    }
    let dst = text(object, src);
    let key = text(index, src);
    // the enclosing named function; anonymous callbacks on the way may bind the key
    let mut key_bound = index.kind() == "subscript_expression";
    let mut cur = assign.parent();
    let function = loop {
        let Some(n) = cur else { return false };
        if FUNCTIONS.contains(&n.kind()) {
            let params = parameters(n, src);
            key_bound |= params.contains(key);
            if function_name(n, src).is_some() {
                if !params.contains(dst) {
                    return false;
                }
                break n;
            }
        }
        cur = n.parent();
    };
    let body = code_text(function, src);
    let enumerates = key_bound
        || [
            " in ",
            "keys(",
            "entries(",
            "ownKeys(",
            "getOwnPropertyNames(",
            ".split(",
            "forOwn",
            "each(",
        ]
        .iter()
        .any(|m| body.contains(m));
    enumerates
        && !enumerates_itself(function, dst, src)
        && descends(function, dst, key, src, file)
        && !guarded(function, &body, dst, key, src, file.guards())
}

/// Whether the function enumerates the keys of `dst` itself (`for (k in o) o[k] = f(o[k])`): it
/// rewrites values it already owns and sets no new key.
fn enumerates_itself(function: Node<'_>, dst: &str, src: &str) -> bool {
    let mut found = false;
    walk(function, |n| {
        if n.kind() == "for_in_statement"
            && n.child_field("right").is_some_and(|r| text(r, src) == dst)
        {
            found = true;
        }
    });
    let body = text(function, src);
    found
        || ["keys(", "entries(", "ownKeys("]
            .iter()
            .any(|m| body.contains(&format!("{m}{dst})")))
}

/// Whether the function goes down into `dst[key]`: a call of itself (or of a function of the file
/// that calls it back) given `dst[...]` or a local read from it (a recursive merge), or
/// `dst = dst[...]` (a path walk).
fn descends(function: Node<'_>, dst: &str, key: &str, src: &str, file: &FileFunctions<'_>) -> bool {
    let Some(own) = function_name(function, src) else {
        return false;
    };
    let recursive =
        |callee: &str| callee == own || file.calls().get(callee).is_some_and(|c| c.contains(own));
    let subscript_of_dst = |n: Node<'_>| {
        n.kind() == "subscript_expression"
            && n.child_field("object").is_some_and(|o| text(o, src) == dst)
    };
    let reads = reads_of(function, dst, key, src);
    let key_position = parameter_position(function, key, src);
    let mut found = false;
    walk(function, |n| {
        if found {
            return;
        }
        match n.kind() {
            "call_expression" => {
                let callee = n.child_field("function");
                let plain =
                    callee.is_some_and(|f| f.kind() == "identifier" && recursive(text(f, src)));
                let args = n.child_field("arguments");
                // a recursion that names its next key (`walk(node[key], "ofType")`) goes down
                // a path the code chose, not one the data chose
                let fixed_key = callee.is_some_and(|f| text(f, src) == own)
                    && key_position.is_some_and(|i| {
                        args.and_then(|a| a.named_children(&mut a.walk()).nth(i))
                            .is_some_and(|a| a.kind() == "string")
                    });
                if plain
                    && !fixed_key
                    && let Some(args) = args
                {
                    let mut c = args.walk();
                    found = args.named_children(&mut c).any(|a| {
                        subscript_of_dst(a)
                            || (a.kind() == "identifier" && reads.contains(text(a, src)))
                    });
                }
            }
            "assignment_expression" => {
                if let (Some(l), Some(r)) = (n.child_field("left"), n.child_field("right"))
                    && l.kind() == "identifier"
                    && text(l, src) == dst
                    && text(r, src).contains(&format!("{dst}["))
                {
                    found = true;
                }
            }
            _ => {}
        }
    });
    found
}

/// Locals read from the destination: `let dstValue = dst[key]`, `const target = read(dst, key)`.
fn reads_of(function: Node<'_>, dst: &str, key: &str, src: &str) -> BTreeSet<String> {
    let mut reads = BTreeSet::new();
    walk(function, |n| {
        if n.kind() == "variable_declarator"
            && let (Some(name), Some(value)) = (n.child_field("name"), n.child_field("value"))
            && name.kind() == "identifier"
        {
            let v = text(value, src);
            if contains_word(v, dst) && (v.contains(key) || v.contains('[')) {
                reads.insert(text(name, src).to_string());
            }
        }
    });
    reads
}

/// Whether the function rejects the prototype keys before the assignment, in one of the shapes
/// the module documentation lists.
fn guarded(
    function: Node<'_>,
    body: &str,
    dst: &str,
    key: &str,
    src: &str,
    guards: &BTreeSet<String>,
) -> bool {
    if rejects_proto_keys(body) || body.contains("instanceof Object") {
        return true;
    }
    // `__proto__` rejected and the destination tested to be a plain object before descending
    // (`isPlainObject(target)`): `constructor` then leads to a function and stops there
    if ["\"__proto__\"", "'__proto__'"]
        .iter()
        .any(|q| body.contains(q))
    {
        let d = regex::escape(dst);
        let locals: Vec<String> = reads_of(function, dst, key, src)
            .iter()
            .map(|r| regex::escape(r))
            .collect();
        let mut targets = format!(r"{d}|{d}\[[^\]]*\]");
        for l in &locals {
            targets.push('|');
            targets.push_str(l);
        }
        let plain = format!(r"\bis\w*Object\w*\(\s*({targets})\s*\)");
        if Regex::new(&plain).is_ok_and(|r| r.is_match(body)) {
            return true;
        }
    }
    let mut calls_guard = false;
    walk(function, |n| {
        if n.kind() == "call_expression"
            && n.child_field("function")
                .is_some_and(|f| f.kind() == "identifier" && guards.contains(text(f, src)))
        {
            calls_guard = true;
        }
    });
    if calls_guard {
        return true;
    }
    let (d, k) = (regex::escape(dst), regex::escape(key));
    let own = format!(
        r"\b{d}\s*\.\s*hasOwnProperty\s*\(|hasOwn\w*\s*(\.\s*call\s*)?\(\s*{d}\s*,|\.(indexOf|includes|has)\(\s*{k}\s*\)"
    );
    if Regex::new(&own).is_ok_and(|r| r.is_match(body)) {
        return true;
    }
    let compared = format!(r#"(^|[^\w.]){k}\s*[!=]==?\s*['"`]([^'"`]*)['"`]"#);
    Regex::new(&compared).is_ok_and(|r| {
        r.captures_iter(body).any(|c| {
            !matches!(
                c.get(2).map_or("", |m| m.as_str()),
                "__proto__" | "constructor" | "prototype"
            )
        })
    })
}

/// Whether `word` occurs in `hay` as a whole identifier.
fn contains_word(hay: &str, word: &str) -> bool {
    hay.match_indices(word).any(|(at, _)| {
        let before = hay[..at].chars().next_back();
        let after = hay[at + word.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(code: &str) -> usize {
        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&tree_sitter_javascript::LANGUAGE.into())
            .expect("javascript grammar loads");
        let tree = parser.parse(code, None).expect("parses");
        find(tree.root_node(), code).len()
    }

    #[test]
    fn reports_recursive_merge_and_path_setter() {
        assert_eq!(
            found(
                "function merge(dst, src) { for (const k in src) { if (dst[k]) merge(dst[k], src[k]); else dst[k] = src[k]; } }"
            ),
            1
        );
        assert_eq!(
            found(
                "const set = (obj, path, v) => { const ks = path.split('.'); let i; for (i = 0; i < ks.length - 1; i++) obj = obj[ks[i]] = obj[ks[i]] || {}; obj[ks[i]] = v; }"
            ),
            1
        );
    }

    #[test]
    fn quiet_on_shallow_copies_and_guards() {
        assert_eq!(
            found("function extend(dst, src) { for (const k in src) dst[k] = src[k]; }"),
            0
        );
        assert_eq!(
            found(
                "function merge(dst, src) { for (const k in src) { if (k === '__proto__' || k === 'constructor') continue; if (dst[k]) merge(dst[k], src[k]); else dst[k] = src[k]; } }"
            ),
            0
        );
        assert_eq!(
            found(
                "function merge(dst, src) { for (const k in src) { if (dst.hasOwnProperty(k)) merge(dst[k], src[k]); else dst[k] = src[k]; } }"
            ),
            0
        );
        assert_eq!(
            found(
                "function clone(src) { const out = {}; for (const k in src) out[k] = clone(src[k]); return out; }"
            ),
            0
        );
        assert_eq!(
            found(
                "const walk = (parent, key) => { if (parent[key].name) parent[key] = types[parent[key].name]; else walk(parent[key], 'ofType'); }"
            ),
            0
        );
    }
}
