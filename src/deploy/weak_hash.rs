//! `crypto-password-fast-hash-helper`: a password passed to a helper that hashes its argument
//! with a fast, unsalted digest (MD5, SHA-1, SHA-256, SHA-512), when the helper lives in another
//! module or under a name that says nothing about passwords (`security.hash(password)` with
//! `export const hash = (data) => crypto.createHash("md5").update(data).digest("hex")`).
//!
//! The per-file pass emits [`HashFacts`]: the helpers a module defines at its top level whose
//! body digests one of their parameters with `createHash(<fast algorithm>)` and mentions no salt
//! or password-hashing function, and the calls whose first argument names a password, with the
//! module they import the callee from (`require("../lib/security")`, `import * as security`,
//! `import { hash }`), or none for a helper of the same file. The project pass resolves each
//! call's module among the scanned files and reports the calls that reach a fast-hash helper.
//!
//! Callers whose function takes a salt and digests with it themselves (wire protocols such as Postgres MD5
//! authentication) are left out. Direct `createHash("md5").update(password)` calls are `crypto.weak-hash-for-password`'s.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use tree_sitter::Node;

use crate::discover::{Candidate, FileKind};
use crate::engine::{FileContext, ProjectContext, finding_at};
use crate::finding::Finding;
use crate::parse::ChildField;
use crate::platform::js::{arguments, string_value, text, walk};
use crate::source::LineIndex;

/// Digests that are fast to brute-force when used for passwords.
const FAST: [&str; 9] = [
    "md4", "md5", "sha1", "sha-1", "sha224", "sha256", "sha-256", "sha384", "sha512",
];

/// What one JavaScript/TypeScript file tells the project pass.
pub struct HashFacts {
    /// Top-level helpers (by exported or local name) that fast-hash a parameter.
    helpers: BTreeSet<String>,
    /// Calls whose first argument names a password.
    calls: Vec<PasswordCall>,
    /// Positions of the file, for findings at its calls.
    lines: LineIndex,
}

/// A call `module.name(password)` or `name(password)`.
struct PasswordCall {
    /// The import specifier the callee comes from; `None` for a helper of this file.
    module: Option<String>,
    /// The helper's name in its module.
    name: String,
    range: Range<usize>,
}

/// Whether the project pass wants this file's facts.
pub fn wants_facts(kind: FileKind, display: &str) -> bool {
    matches!(kind, FileKind::Js | FileKind::Ts | FileKind::Tsx)
        && !display.split('/').any(|s| {
            matches!(
                s,
                "test" | "tests" | "__tests__" | "node_modules" | "dist" | "build"
            )
        })
}

/// The facts of one file, when it defines a fast-hash helper or calls a helper with a password.
pub fn facts(ctx: &FileContext<'_>) -> Option<HashFacts> {
    let src = ctx.file.text.as_str();
    let has_hash = src.contains("createHash");
    let has_password = src.contains("assword") || src.contains("pwd") || src.contains("passwd");
    if !has_hash && !has_password {
        return None;
    }
    let root = ctx.tree()?.root_node();
    let helpers = if has_hash {
        helpers(root, src)
    } else {
        BTreeSet::new()
    };
    let calls = if has_password {
        password_calls(root, src, &helpers)
    } else {
        Vec::new()
    };
    if helpers.is_empty() && calls.is_empty() {
        return None;
    }
    Some(HashFacts {
        helpers,
        calls,
        lines: LineIndex::of(ctx.file),
    })
}

/// Reports every call of a fast-hash helper with a password.
pub fn check_project(project: &ProjectContext<'_>, rule: usize, out: &mut Vec<Finding>) {
    let facts: Vec<(&Candidate, &HashFacts)> = project.facts::<HashFacts>().collect();
    let scripts = project.scripts();
    let helpers_of: BTreeMap<&str, &BTreeSet<String>> = facts
        .iter()
        .map(|(c, f)| (c.display.as_str(), &f.helpers))
        .collect();
    for (candidate, file) in &facts {
        if !project.applies(rule, candidate) {
            continue;
        }
        for call in &file.calls {
            let target = match &call.module {
                None => Some(candidate.display.as_str()),
                Some(spec) => {
                    crate::platform::parse::project::resolve(&candidate.display, spec, &scripts)
                        .map(|c| c.display.as_str())
                }
            };
            if target
                .and_then(|t| helpers_of.get(t))
                .is_some_and(|h| h.contains(&call.name))
            {
                out.push(finding_at(
                    &candidate.display,
                    &file.lines,
                    project.rules,
                    rule,
                    call.range.clone(),
                ));
            }
        }
    }
}

/// Names of the top-level functions of a module that digest a parameter with a fast hash:
/// `function hash(x) {...}`, `const hash = (x) => ...`, `export const ...`, `exports.hash = ...`,
/// `module.exports = { hash: (x) => ... }`.
fn helpers(root: Node<'_>, src: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut consider = |name: Node<'_>, function: Node<'_>| {
        if matches!(
            function.kind(),
            "function_declaration" | "function_expression" | "arrow_function"
        ) && fast_hashes_parameter(function, src)
        {
            found.insert(text(name, src).to_string());
        }
    };
    walk(root, |n| match n.kind() {
        "function_declaration" => {
            if let Some(name) = n.child_field("name") {
                consider(name, n);
            }
        }
        "variable_declarator" => {
            if let (Some(name), Some(value)) = (n.child_field("name"), n.child_field("value"))
                && name.kind() == "identifier"
            {
                consider(name, value);
            }
        }
        "assignment_expression" => {
            if let (Some(left), Some(right)) = (n.child_field("left"), n.child_field("right"))
                && left.kind() == "member_expression"
                && let Some(property) = left.child_field("property")
                && left
                    .child_field("object")
                    .is_some_and(|o| matches!(text(o, src), "exports" | "module.exports"))
            {
                consider(property, right);
            }
        }
        "pair" => {
            if let (Some(key), Some(value)) = (n.child_field("key"), n.child_field("value"))
                && key.kind() == "property_identifier"
            {
                consider(key, value);
            }
        }
        _ => {}
    });
    found
}

/// Whether `function` feeds one of its parameters to `createHash(<fast>).update(...)` and its
/// body mentions no salt, HMAC key or password-hashing function.
fn fast_hashes_parameter(function: Node<'_>, src: &str) -> bool {
    let Some(body) = function.child_field("body") else {
        return false;
    };
    // the callee of the hash is in the body: without `createHash` nothing below can hold, and the
    // lowered copy of every function body (nested ones again) was most of this pass
    if !text(body, src).contains("createHash") {
        return false;
    }
    let body_text = text(body, src).to_ascii_lowercase();
    if ["salt", "pbkdf2", "scrypt", "bcrypt", "argon", "createhmac"]
        .iter()
        .any(|w| body_text.contains(w))
    {
        return false;
    }
    let params: Vec<&str> = function
        .child_field("parameters")
        .or_else(|| function.child_field("parameter"))
        .map(|p| {
            let mut names = Vec::new();
            walk(p, |n| {
                if matches!(
                    n.kind(),
                    "identifier" | "shorthand_property_identifier_pattern"
                ) {
                    names.push(text(n, src));
                }
            });
            names
        })
        .unwrap_or_default();
    let mut hashes = false;
    walk(body, |n| {
        if hashes || n.kind() != "call_expression" {
            return;
        }
        let Some(f) = n.child_field("function") else {
            return;
        };
        if f.kind() != "member_expression"
            || f.child_field("property")
                .is_none_or(|p| text(p, src) != "update")
        {
            return;
        }
        let Some(create) = f.child_field("object") else {
            return;
        };
        let creates_fast = create.kind() == "call_expression"
            && create
                .child_field("function")
                .is_some_and(|c| text(c, src).ends_with("createHash"))
            && arguments(create).first().is_some_and(|a| {
                string_value(*a, src)
                    .is_some_and(|v| FAST.contains(&v.to_ascii_lowercase().as_str()))
            });
        let digests_param = arguments(n).first().is_some_and(|a| {
            let t = text(*a, src);
            params
                .iter()
                .any(|p| t == *p || t == format!("String({p})"))
        });
        hashes = creates_fast && digests_param;
    });
    hashes
}

/// Whether an argument's text names a password (and not a confirmation or a hash of one).
fn names_password(arg: &str) -> bool {
    let lower = arg.to_ascii_lowercase();
    crate::secrets::generic::is_password_name(&lower)
        && !["confirm", "repeat", "hash", "length", "salt"]
            .iter()
            .any(|w| lower.contains(w))
}

/// Calls whose first argument names a password, to an imported helper or one of `local`.
fn password_calls(root: Node<'_>, src: &str, local: &BTreeSet<String>) -> Vec<PasswordCall> {
    // one walk finds the imports and the candidate calls (two whole-tree walks were a twentieth
    // of a scan of parse-server's package, issue 22); the calls are resolved once every import
    // is known, as before
    let mut imports = BTreeMap::new();
    let mut candidates = Vec::new();
    walk(root, |n| {
        add_import(n, src, &mut imports);
        if n.kind() == "call_expression"
            && arguments(n)
                .first()
                .is_some_and(|first| names_password(text(*first, src)))
        {
            candidates.push(n);
        }
    });
    let mut calls = Vec::new();
    for n in candidates {
        // a caller that salts the digest itself (wire protocols such as Postgres MD5 auth)
        if crate::platform::js::ancestor(n, &crate::platform::js::FUNCTIONS)
            .and_then(|f| f.child_field("parameters"))
            .is_some_and(|p| text(p, src).to_ascii_lowercase().contains("salt"))
        {
            continue;
        }
        let Some(f) = n.child_field("function") else {
            continue;
        };
        let (module, name) = match f.kind() {
            "identifier" => {
                let name = text(f, src);
                match imports.get(name) {
                    Some(Import::Named(spec, original)) => (Some(spec.clone()), original.clone()),
                    None if local.contains(name) => (None, name.to_string()),
                    Some(Import::Namespace(_)) | None => continue,
                }
            }
            "member_expression" => {
                let (Some(object), Some(property)) =
                    (f.child_field("object"), f.child_field("property"))
                else {
                    continue;
                };
                match imports.get(text(object, src)) {
                    Some(Import::Namespace(spec)) => {
                        (Some(spec.clone()), text(property, src).to_string())
                    }
                    _ => continue,
                }
            }
            _ => continue,
        };
        calls.push(PasswordCall {
            module,
            name,
            range: n.byte_range(),
        });
    }
    calls
}

/// How a local name is bound to a relative module.
enum Import {
    /// `const security = require("./x")`, `import * as security from "./x"`, `import x from`.
    Namespace(String),
    /// `const { hash } = require("./x")`, `import { hash as h } from "./x"`: (module, name there).
    Named(String, String),
}

/// Adds the local names `n` binds to relative modules (`./`, `../`) to `found`.
fn add_import(n: Node<'_>, src: &str, found: &mut BTreeMap<String, Import>) {
    let relative = |s: &str| s.starts_with("./") || s.starts_with("../");
    match n.kind() {
        "variable_declarator" => {
            let (Some(name), Some(value)) = (n.child_field("name"), n.child_field("value")) else {
                return;
            };
            if value.kind() != "call_expression"
                || value
                    .child_field("function")
                    .is_none_or(|f| text(f, src) != "require")
            {
                return;
            }
            let Some(spec) = arguments(value)
                .first()
                .and_then(|a| string_value(*a, src))
                .filter(|s| relative(s))
            else {
                return;
            };
            if name.kind() == "identifier" {
                found.insert(
                    text(name, src).to_string(),
                    Import::Namespace(spec.to_string()),
                );
            } else if name.kind() == "object_pattern" {
                let mut cursor = name.walk();
                for p in name.named_children(&mut cursor) {
                    match p.kind() {
                        "shorthand_property_identifier_pattern" => {
                            let local = text(p, src).to_string();
                            found.insert(local.clone(), Import::Named(spec.to_string(), local));
                        }
                        "pair_pattern" => {
                            if let (Some(k), Some(v)) =
                                (p.child_field("key"), p.child_field("value"))
                            {
                                found.insert(
                                    text(v, src).to_string(),
                                    Import::Named(spec.to_string(), text(k, src).to_string()),
                                );
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        "import_statement" => {
            let Some(spec) = n
                .child_field("source")
                .and_then(|s| string_value(s, src))
                .filter(|s| relative(s))
            else {
                return;
            };
            walk(n, |c| match c.kind() {
                "namespace_import" => {
                    if let Some(id) = c.named_child(0) {
                        found.insert(
                            text(id, src).to_string(),
                            Import::Namespace(spec.to_string()),
                        );
                    }
                }
                "import_clause" => {
                    if let Some(first) = c.named_child(0)
                        && first.kind() == "identifier"
                    {
                        found.insert(
                            text(first, src).to_string(),
                            Import::Namespace(spec.to_string()),
                        );
                    }
                }
                "import_specifier" => {
                    let name = c.child_field("name").map(|x| text(x, src));
                    let alias = c.child_field("alias").map(|x| text(x, src));
                    if let Some(name) = name {
                        found.insert(
                            alias.unwrap_or(name).to_string(),
                            Import::Named(spec.to_string(), name.to_string()),
                        );
                    }
                }
                _ => {}
            });
        }
        _ => {}
    }
}
