//! `parse.master-key-idor` across modules: a Cloud function that hands an id from the request to
//! a use case or service in another module (`UpdateProject.execute(req.user, req.params.id,
//! ...)`), which loads that object with the master key and saves or destroys it without relating
//! it to the caller.
//!
//! The per-file pass records, for each inline `Parse.Cloud.define` handler, the calls of imported
//! functions that receive request ids ([`HelperCall`]); the project pass reads the called module,
//! finds the function, follows the parameter that received the id to the object loaded with it,
//! and reports the write when nothing compares the object with the caller. Whether the load runs
//! with the master key is read in the function itself or, one module further, in the loader it
//! calls (`ProjectService.getById(id)` with `query.get(id, { useMasterKey: true })`).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::Node;

use super::cloud_code::{self, Report};
use crate::parse::ChildField;
use crate::platform::Check;
use crate::platform::js::{self, text};

/// A Cloud function's call of an imported function with ids from the request.
#[derive(Debug, Clone)]
pub struct HelperCall {
    /// The Cloud function's name.
    pub name: String,
    /// The relative module specifier as written (`../usecases/update-project`).
    pub module: String,
    /// The exported name called (`execute`), `=` for the module's whole export.
    pub export: String,
    /// Argument positions that carry an id from `request.params`.
    pub id_args: Vec<usize>,
}

/// Writes that change or delete the loaded object.
const WRITES: [&str; 4] = ["save", "destroy", "saveEventually", "destroyEventually"];

/// Text that relates an object to the caller or hands the caller's rights to the query.
static OWNERSHIP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r#"(?i)getACL|setACL|getReadAccess|getWriteAccess|sessionToken|getSessionToken"#,
        r#"|\b(req|request)\.user\b|requireUser|\bowner\w*|createdBy|\bauthor\b"#,
        r#"|equalTo\(\s*['"](user|owner|author|createdBy|creator)"#,
        r#"|\.get\(\s*['"](user|owner|author|createdBy|creator|userId|ownerId)['"]\s*\)"#,
    ))
    .expect("ownership regex is valid")
});

/// Whether a request parameter's name identifies a record.
fn is_id_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "id" || lower.ends_with("id") || lower.ends_with("_id")
}

/// The calls of imported functions with request ids, in every inline `Parse.Cloud.define`
/// handler of the file that does nothing else with the caller than pass it on.
pub fn helper_calls(index: &js::Index<'_>, src: &str) -> Vec<HelperCall> {
    let imports = cloud_code::imports(index, src);
    if imports.is_empty() {
        return Vec::new();
    }
    let mut found = Vec::new();
    for handler in cloud_code::handlers(index, src) {
        let v = &handler.validator;
        if handler.hook != "define" || v.require_master || v.require_roles || v.is_function {
            continue;
        }
        let Some(params) = handler.params_name() else {
            continue;
        };
        let from_params = cloud_code::param_names(handler.function, params, src);
        let is_request_id = |arg: Node<'_>| {
            let t = text(arg, src);
            let field = t.strip_prefix(params).and_then(|r| r.strip_prefix('.'));
            field.is_some_and(is_id_name) || (from_params.contains(t) && is_id_name(t))
        };
        let mut calls = Vec::new();
        let mut user_args = 0;
        for call in js::nodes_of(handler.function, &["call_expression"]) {
            let Some(function) = call.child_field("function") else {
                continue;
            };
            let target = match function.kind() {
                "identifier" => imports
                    .get(text(function, src))
                    .map(|(m, e)| (m.clone(), if e == "*" { "=".into() } else { e.clone() })),
                "member_expression" => function
                    .child_field("object")
                    .zip(function.child_field("property"))
                    .and_then(|(o, p)| {
                        let (m, e) = imports.get(text(o, src))?;
                        matches!(e.as_str(), "*" | "=")
                            .then(|| (m.clone(), text(p, src).to_string()))
                    }),
                _ => None,
            };
            let Some((module, export)) = target else {
                continue;
            };
            let args = js::arguments(call);
            let id_args: Vec<usize> = (0..args.len())
                .filter(|&i| is_request_id(args[i]))
                .collect();
            if id_args.is_empty() {
                continue;
            }
            user_args += args
                .iter()
                .filter(|a| Some(text(**a, src)) == handler.user_name())
                .count();
            calls.push(HelperCall {
                name: handler.name.clone(),
                module,
                export,
                id_args,
            });
        }
        // the handler relates data to the caller itself (beyond passing `request.user` on)
        let body = handler
            .function
            .child_field("body")
            .map_or("", |b| text(b, src));
        let relates = handler
            .user_name()
            .is_some_and(|u| cloud_code::count_refs(body, u, true) > user_args);
        if !relates {
            found.extend(calls);
        }
    }
    found
}

/// The names of a function's parameters by position (`None` for patterns).
fn parameter_names(function: Node<'_>, src: &str) -> Vec<Option<String>> {
    let Some(params) = function
        .child_field("parameters")
        .or_else(|| function.child_field("parameter"))
    else {
        return Vec::new();
    };
    if params.kind() == "identifier" {
        return vec![Some(text(params, src).to_string())];
    }
    let mut c = params.walk();
    params
        .named_children(&mut c)
        .filter(|p| p.kind() != "comment")
        .map(|p| {
            let p = p.child_field("pattern").unwrap_or(p);
            let p = if p.kind() == "assignment_pattern" {
                p.child_field("left").unwrap_or(p)
            } else {
                p
            };
            (p.kind() == "identifier").then(|| text(p, src).to_string())
        })
        .collect()
}

/// Whether `word` occurs in `body` as a whole identifier.
fn has_word(body: &str, word: &str) -> bool {
    body.match_indices(word).any(|(i, _)| {
        let before = body[..i].chars().next_back();
        let after = body[i + word.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == '.')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
    })
}

/// An object a use case loads by a parameter that received a request id, and the write that
/// follows.
pub struct Loaded<'t> {
    /// The call that loads the object (`ProjectService.getById(projectId)`).
    pub load: Node<'t>,
    /// The write on it (`project.destroy()`).
    pub write: Node<'t>,
    /// The write's method.
    pub method: String,
}

/// In `function`, an object loaded with one of the `id_args` parameters and then saved or
/// destroyed, when the function never relates it to the caller.
pub fn loaded_and_written<'t>(
    function: Node<'t>,
    id_args: &[usize],
    src: &str,
) -> Option<Loaded<'t>> {
    let names = parameter_names(function, src);
    let ids: Vec<&str> = id_args
        .iter()
        .filter_map(|&i| names.get(i).and_then(|n| n.as_deref()))
        .collect();
    if ids.is_empty() {
        return None;
    }
    let body = function.child_field("body").map_or("", |b| text(b, src));
    if OWNERSHIP.is_match(body) {
        return None;
    }
    // the other parameters (the caller, above all) must go unused
    let others: BTreeSet<&str> = names
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|n| !ids.contains(n))
        .collect();
    let loads: Vec<(String, Node<'t>)> = js::declarations(function, src)
        .into_iter()
        .filter_map(|(name, value)| {
            let value = js::unwrap_expr(value);
            (value.kind() == "call_expression"
                && ids.iter().any(|id| has_word(text(value, src), id)))
            .then_some((name, value))
        })
        .collect();
    for call in js::nodes_of(function, &["call_expression"]) {
        let Some(method) = js::method_name(call, src).filter(|m| WRITES.contains(m)) else {
            continue;
        };
        let Some(receiver) = js::receiver(call).map(|r| text(r, src)) else {
            continue;
        };
        let Some((_, load)) = loads.iter().find(|(n, _)| n == receiver) else {
            continue;
        };
        // a save matters when it changes fields (`set`, `unset`), not a counter bump anyone may make
        if method.starts_with("save") && !changes_fields(function, receiver, src) {
            continue;
        }
        // a parameter used in the function may be the caller: be quiet when one is compared
        if others
            .iter()
            .any(|o| has_word(body, o) && o.to_ascii_lowercase().contains("user"))
        {
            return None;
        }
        return Some(Loaded {
            load: *load,
            write: call,
            method: method.to_string(),
        });
    }
    None
}

/// Whether `object.set(...)` or `object.unset(...)` is called in `function`.
fn changes_fields(function: Node<'_>, object: &str, src: &str) -> bool {
    js::nodes_of(function, &["call_expression"])
        .into_iter()
        .any(|c| {
            matches!(js::method_name(c, src), Some("set" | "unset"))
                && js::receiver(c).is_some_and(|r| text(r, src) == object)
        })
}

/// Whether a load or write runs with the master key: in the call's own text, or in the body of
/// the function the load calls (resolved by the caller, `loader_text`).
pub fn uses_master_key(function: Node<'_>, src: &str, loader_text: Option<&str>) -> bool {
    text(function, src).contains("useMasterKey")
        || loader_text.is_some_and(|t| t.contains("useMasterKey"))
}

/// The imported function a load calls: (module specifier, export) for `Service.getById(id)` or
/// `getById(id)` with `Service` / `getById` imported from a relative module.
pub fn loader_target(index: &js::Index<'_>, load: Node<'_>, src: &str) -> Option<(String, String)> {
    let imports = cloud_code::imports(index, src);
    let function = load.child_field("function")?;
    match function.kind() {
        "identifier" => imports
            .get(text(function, src))
            .map(|(m, e)| (m.clone(), if e == "*" { "=".into() } else { e.clone() })),
        "member_expression" => {
            let object = function.child_field("object")?;
            let property = function.child_field("property")?;
            let (m, e) = imports.get(text(object, src))?;
            matches!(e.as_str(), "*" | "=").then(|| (m.clone(), text(property, src).to_string()))
        }
        _ => None,
    }
}

/// Reports the write of a [`Loaded`] object for the Cloud function `call`.
pub fn report<R: Report>(sink: &mut R, call: &HelperCall, found: &Loaded<'_>) {
    let what = if found.method.starts_with("destroy") {
        "deletes it"
    } else {
        "saves changes to it"
    };
    let message = format!(
        "Cloud function `{}` passes an id from the request to `{}`, which loads that object with the master key and {what} without checking that it belongs to the caller",
        call.name,
        if call.export == "=" {
            call.module.as_str()
        } else {
            call.export.as_str()
        },
    );
    sink.emit(
        Check::MasterKeyIdor,
        found.write.byte_range(),
        Some(message),
        |_| {},
    );
}
