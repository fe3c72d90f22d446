//! Parse Server Cloud Code: a model of each handler (`Parse.Cloud.define`, triggers, jobs), its
//! validator, its authentication checks and its master-key operations, and the rules over it.
//!
//! The model is per file and syntactic: a handler passed by name is resolved within the file; a
//! validator function is assumed to authenticate (it usually does), so it never makes a finding.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use std::ops::Range;

use regex::Regex;
use tree_sitter::Node;

use crate::finding::Finding;
use crate::parse::ChildField;
use crate::platform::js::{self, text};
use crate::platform::{Check, Sink};
use crate::rules::Severity;

/// Where the Cloud Code checks report: the per-file [`Sink`], or the project pass for handlers
/// registered in another file than the one that defines them.
pub trait Report {
    /// Whether `check`'s rule is loaded and applies to the file being judged.
    fn is_on(&self, check: Check) -> bool;
    /// Reports `check` over `range` of the file being judged.
    fn emit(
        &mut self,
        check: Check,
        range: Range<usize>,
        message: Option<String>,
        adjust: impl FnOnce(&mut Finding),
    );
}

impl Report for Sink<'_, '_> {
    fn is_on(&self, check: Check) -> bool {
        self.active(check).is_some()
    }

    fn emit(
        &mut self,
        check: Check,
        range: Range<usize>,
        message: Option<String>,
        adjust: impl FnOnce(&mut Finding),
    ) {
        self.report(check, range, message, adjust);
    }
}

/// The checks this module runs.
pub const CHECKS: [Check; 5] = [
    Check::UnauthenticatedMasterKey,
    Check::MasterKeyIdor,
    Check::UserQueryReturnsUsers,
    Check::BeforeSaveTrustsClientFields,
    Check::MasterKeyOption,
];

/// Hooks of `Parse.Cloud` that register a handler.
const HOOKS: [&str; 11] = [
    "define",
    "job",
    "beforeSave",
    "afterSave",
    "beforeDelete",
    "afterDelete",
    "beforeFind",
    "afterFind",
    "beforeLogin",
    "afterLogin",
    "beforeSubscribe",
];

const WRITES: [&str; 6] = [
    "save",
    "saveAll",
    "destroy",
    "destroyAll",
    "saveEventually",
    "destroyEventually",
];

const READS: [&str; 10] = [
    "find",
    "first",
    "get",
    "count",
    "each",
    "findAll",
    "fetch",
    "aggregate",
    "distinct",
    "eachBatch",
];

/// What a handler's validator requires.
#[derive(Debug, Default, Clone)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "mirrors the validator's own boolean options"
)]
pub struct Validator {
    /// `requireUser: true`.
    pub require_user: bool,
    /// `requireMaster: true`.
    pub require_master: bool,
    /// `requireAnyUserRoles` / `requireAllUserRoles`.
    pub require_roles: bool,
    /// A function validator (assumed to check the caller).
    pub is_function: bool,
    /// Field names declared `constant: true` in `fields`.
    pub constant_fields: Vec<String>,
}

/// How the handler names the request and its parts.
#[derive(Debug, Default, Clone)]
struct RequestNames {
    /// `request.user` or `user` when destructured.
    user: Option<String>,
    params: Option<String>,
    master: Option<String>,
    object: Option<String>,
}

/// One Cloud Code handler.
#[derive(Debug)]
pub struct Handler<'t> {
    /// `define`, `beforeSave`, ...
    pub hook: String,
    /// Function name or class name, as written.
    pub name: String,
    /// The handler function.
    pub function: Node<'t>,
    /// Its validator.
    pub validator: Validator,
    names: RequestNames,
}

/// One operation run with the master key.
#[derive(Debug)]
struct MasterOp<'t> {
    /// Where to report (the `useMasterKey: true` pair, or the `useMasterKey()` call).
    at: Node<'t>,
    /// The call that carries the option, if any.
    call: Option<Node<'t>>,
    /// The method called (`find`, `save`, ...).
    method: String,
}

impl Handler<'_> {
    /// How the handler names `request.user` (`None` when it does not take it).
    pub(super) fn user_name(&self) -> Option<&str> {
        self.names.user.as_deref()
    }

    /// How the handler names `request.params`.
    pub(super) fn params_name(&self) -> Option<&str> {
        self.names.params.as_deref()
    }

    /// Whether the handler requires a logged-in user, the master key or a role.
    fn is_authenticated(&self, src: &str) -> bool {
        let v = &self.validator;
        v.require_user
            || v.require_master
            || v.require_roles
            || v.is_function
            || self.user_refs(src) > 0
            || self
                .names
                .master
                .as_ref()
                .is_some_and(|m| count_refs(text(self.function, src), m, false) > 0)
    }

    /// References to the user other than `!user` guards.
    fn user_refs(&self, src: &str) -> usize {
        self.names
            .user
            .as_ref()
            .map_or(0, |u| count_refs(text(self.function, src), u, false))
    }

    /// References that relate data to the user (not only the `!request.user` guard).
    fn relates_to_user(&self, src: &str) -> bool {
        self.names
            .user
            .as_ref()
            .is_some_and(|u| count_refs(text(self.function, src), u, true) > 0)
    }
}

/// Occurrences of `expr` as a whole reference in `body`; with `skip_guards`, not counting
/// `!expr` and `expr)` right after `!` (the authentication guard).
pub(super) fn count_refs(body: &str, expr: &str, skip_guards: bool) -> usize {
    let pattern = format!(r"(!\s*)?\b{}\b", regex::escape(expr));
    let Ok(re) = Regex::new(&pattern) else {
        return 0;
    };
    re.captures_iter(body)
        .filter(|c| {
            let whole = c.get(0).map_or(0..0, |m| m.range());
            // `request.user` in `request.userId` is excluded by \b; exclude `x.user` when expr is `user`
            let before = body[..whole.start].chars().next_back();
            if before.is_some_and(|b| b == '.' || b.is_alphanumeric() || b == '_') {
                return false;
            }
            !(skip_guards && c.get(1).is_some())
        })
        .count()
}

/// Every Cloud Code handler registered in the file.
pub fn handlers<'t>(index: &js::Index<'t>, src: &str) -> Vec<Handler<'t>> {
    let mut found = Vec::new();
    for call in index.of(&["call_expression"]) {
        let callee = js::callee(call, src);
        let Some(hook) = callee.strip_prefix("Parse.Cloud.") else {
            continue;
        };
        if !HOOKS.contains(&hook) {
            continue;
        }
        let args = js::arguments(call);
        let (Some(first), Some(second)) = (args.first(), args.get(1)) else {
            continue;
        };
        let Some(function) = resolve_function(index, *second, src) else {
            continue;
        };
        let name = js::string_value(*first, src)
            .unwrap_or_else(|| text(*first, src))
            .to_string();
        let validator = args
            .get(2)
            .map(|v| validator(index, *v, src))
            .unwrap_or_default();
        found.push(Handler {
            hook: hook.to_string(),
            name,
            function,
            validator,
            names: request_names(function, src),
        });
    }
    found
}

fn resolve_function<'t>(index: &js::Index<'t>, node: Node<'t>, src: &str) -> Option<Node<'t>> {
    if js::FUNCTIONS.contains(&node.kind()) {
        return Some(node);
    }
    match node.kind() {
        "identifier" => function_named(index, text(node, src), src),
        // `handlers.x` with `const handlers = { x: async (request) => ... }` in the file
        "member_expression" => {
            let object = node.child_field("object")?;
            let property = text(node.child_field("property")?, src);
            let name = text(object, src);
            let (_, value) = index
                .declarations(src)
                .into_iter()
                .find(|(n, v)| n == name && v.kind() == "object")?;
            let pair = js::property(value, property, src)?;
            let function = pair.child_field("value")?;
            js::FUNCTIONS.contains(&function.kind()).then_some(function)
        }
        _ => None,
    }
}

/// The function declared as `name` in the file (`function name`, `const name = () => ...`).
fn function_named<'t>(index: &js::Index<'t>, name: &str, src: &str) -> Option<Node<'t>> {
    index
        .of(&["function_declaration", "variable_declarator"])
        .into_iter()
        .find_map(|d| {
            let n = d.child_field("name")?;
            if text(n, src) != name {
                return None;
            }
            if d.kind() == "function_declaration" {
                return Some(d);
            }
            let value = d.child_field("value")?;
            js::FUNCTIONS.contains(&value.kind()).then_some(value)
        })
}

// ---------------------------------------------------------------------------------------------
// Handlers defined in another module

/// A handler registered with a function imported from another module:
/// `Parse.Cloud.define("x", handlers.x)` or `Parse.Cloud.define("x", x)` with `x` imported.
#[derive(Debug, Clone)]
pub struct External {
    /// `define`, `beforeSave`, ...
    pub hook: String,
    /// Function name or class name, as written.
    pub name: String,
    /// The relative module specifier as written (`./handlers`).
    pub module: String,
    /// The exported name; `=` for the module's whole export (`module.exports = fn`, `export default`).
    pub export: String,
    /// The validator given at registration.
    pub validator: Validator,
}

/// Local names bound by relative imports: local -> (module, export), where export `*` is the
/// module object (namespace import or `require`) and `=` its default export.
pub(super) fn imports(index: &js::Index<'_>, src: &str) -> BTreeMap<String, (String, String)> {
    let mut found = BTreeMap::new();
    let relative = |n: Node<'_>| {
        js::string_value(n, src)
            .filter(|m| m.starts_with("./") || m.starts_with("../"))
            .map(str::to_string)
    };
    for node in index.of(&["import_statement", "variable_declarator"]) {
        if node.kind() == "import_statement" {
            let Some(module) = node.child_field("source").and_then(relative) else {
                continue;
            };
            js::walk(node, |n| match n.kind() {
                "import_clause" => {
                    if let Some(id) = n.named_child(0).filter(|c| c.kind() == "identifier") {
                        found.insert(text(id, src).to_string(), (module.clone(), "=".into()));
                    }
                }
                "namespace_import" => {
                    if let Some(id) = n.named_child(0) {
                        found.insert(text(id, src).to_string(), (module.clone(), "*".into()));
                    }
                }
                "import_specifier" => {
                    let name = n.child_field("name").map(|x| text(x, src));
                    let alias = n.child_field("alias").map(|x| text(x, src));
                    if let Some(name) = name {
                        found.insert(
                            alias.unwrap_or(name).to_string(),
                            (module.clone(), name.into()),
                        );
                    }
                }
                _ => {}
            });
            continue;
        }
        let (Some(binding), Some(value)) = (
            node.child_field("name"),
            node.child_field("value").map(js::unwrap_expr),
        ) else {
            continue;
        };
        if value.kind() != "call_expression" || js::callee(value, src) != "require" {
            continue;
        }
        let Some(module) = js::arguments(value).first().copied().and_then(relative) else {
            continue;
        };
        match binding.kind() {
            "identifier" => {
                found.insert(text(binding, src).to_string(), (module, "*".into()));
            }
            "object_pattern" => {
                for p in binding.named_children(&mut binding.walk()) {
                    let (export, local) = match p.kind() {
                        "shorthand_property_identifier_pattern" => (text(p, src), text(p, src)),
                        "pair_pattern" => (
                            p.child_field("key").map_or("", |k| text(k, src)),
                            p.child_field("value").map_or("", |v| text(v, src)),
                        ),
                        _ => continue,
                    };
                    found.insert(local.to_string(), (module.clone(), export.to_string()));
                }
            }
            _ => {}
        }
    }
    found
}

/// Every handler of the file registered with an imported function.
pub fn external_handlers(index: &js::Index<'_>, src: &str) -> Vec<External> {
    let imports = imports(index, src);
    if imports.is_empty() {
        return Vec::new();
    }
    let mut found = Vec::new();
    for call in index.of(&["call_expression"]) {
        let Some(hook) = js::callee(call, src).strip_prefix("Parse.Cloud.") else {
            continue;
        };
        let args = js::arguments(call);
        let (true, Some(first), Some(second)) = (HOOKS.contains(&hook), args.first(), args.get(1))
        else {
            continue;
        };
        let target = match second.kind() {
            "identifier" if resolve_function(index, *second, src).is_none() => imports
                .get(text(*second, src))
                .map(|(m, e)| (m.clone(), if e == "*" { "=".into() } else { e.clone() })),
            "member_expression" if resolve_function(index, *second, src).is_none() => second
                .child_field("object")
                .zip(second.child_field("property"))
                .and_then(|(o, p)| {
                    let (m, e) = imports.get(text(o, src))?;
                    matches!(e.as_str(), "*" | "=").then(|| (m.clone(), text(p, src).to_string()))
                }),
            _ => None,
        };
        let Some((module, export)) = target else {
            continue;
        };
        found.push(External {
            hook: hook.to_string(),
            name: js::string_value(*first, src)
                .unwrap_or_else(|| text(*first, src))
                .to_string(),
            module,
            export,
            validator: args
                .get(2)
                .map(|v| validator(index, *v, src))
                .unwrap_or_default(),
        });
    }
    found
}

/// The function a module exports as `export` (see [`External::export`]).
pub(super) fn exported_function<'t>(
    index: &js::Index<'t>,
    export: &str,
    src: &str,
) -> Option<Node<'t>> {
    let mut found = None;
    index.walk(|n| {
        if found.is_some() {
            return;
        }
        match n.kind() {
            "assignment_expression" => {
                let left = n.child_field("left").map_or("", |l| text(l, src));
                let hit = if export == "=" {
                    left == "module.exports"
                } else {
                    left == format!("exports.{export}")
                        || left == format!("module.exports.{export}")
                };
                if hit {
                    found = n
                        .child_field("right")
                        .and_then(|r| resolve_function(index, js::unwrap_expr(r), src));
                }
            }
            "export_statement" if export == "=" && text(n, src).starts_with("export default") => {
                found = n
                    .child_field("declaration")
                    .or_else(|| n.child_field("value"))
                    .and_then(|v| resolve_function(index, v, src));
            }
            "pair" if export != "=" && js::pair_key(n, src) == export => {
                let in_exports = n
                    .parent()
                    .and_then(|o| o.parent())
                    .filter(|a| a.kind() == "assignment_expression")
                    .and_then(|a| a.child_field("left"))
                    .is_some_and(|l| text(l, src) == "module.exports");
                if in_exports {
                    found = n
                        .child_field("value")
                        .and_then(|v| resolve_function(index, v, src));
                }
            }
            _ => {}
        }
    });
    found.or_else(|| {
        (export != "=")
            .then(|| function_named(index, export, src))
            .flatten()
    })
}

/// The handlers `registrations` point at in the module of `root`, skipping functions the module
/// registers itself (the per-file pass judges those).
pub fn resolve_external<'t>(
    index: &js::Index<'t>,
    src: &str,
    registrations: &[External],
) -> Vec<Handler<'t>> {
    let local: BTreeSet<usize> = handlers(index, src)
        .iter()
        .map(|h| h.function.start_byte())
        .collect();
    registrations
        .iter()
        .filter_map(|r| {
            let function = exported_function(index, &r.export, src)?;
            (!local.contains(&function.start_byte())).then(|| Handler {
                hook: r.hook.clone(),
                name: r.name.clone(),
                function,
                validator: r.validator.clone(),
                names: request_names(function, src),
            })
        })
        .collect()
}

fn validator(index: &js::Index<'_>, node: Node<'_>, src: &str) -> Validator {
    let node = if node.kind() == "identifier" {
        let name = text(node, src);
        index
            .declarations(src)
            .into_iter()
            .find(|(n, _)| n == name)
            .map_or(node, |(_, v)| v)
    } else {
        node
    };
    if js::FUNCTIONS.contains(&node.kind()) || node.kind() == "identifier" {
        return Validator {
            is_function: true,
            ..Validator::default()
        };
    }
    if node.kind() != "object" {
        return Validator::default();
    }
    let is_true = |key: &str| {
        js::property(node, key, src)
            .and_then(|p| p.child_field("value"))
            .is_some_and(|v| text(v, src) != "false")
    };
    let mut constant_fields = Vec::new();
    if let Some(fields) = js::property(node, "fields", src)
        .and_then(|p| p.child_field("value"))
        .filter(|v| v.kind() == "object")
    {
        let mut c = fields.walk();
        for pair in fields.named_children(&mut c).filter(|p| p.kind() == "pair") {
            if text(pair, src).replace(' ', "").contains("constant:true") {
                constant_fields.push(js::pair_key(pair, src).to_string());
            }
        }
    }
    Validator {
        require_user: is_true("requireUser"),
        require_master: is_true("requireMaster"),
        require_roles: is_true("requireAnyUserRoles") || is_true("requireAllUserRoles"),
        is_function: false,
        constant_fields,
    }
}

fn request_names(function: Node<'_>, src: &str) -> RequestNames {
    let params = function
        .child_field("parameters")
        .or_else(|| function.child_field("parameter"));
    let Some(params) = params else {
        return RequestNames::default();
    };
    let first = if params.kind() == "identifier" {
        Some(params)
    } else {
        let mut c = params.walk();
        params.named_children(&mut c).next().map(|p| {
            // TS: required_parameter wraps the pattern
            p.child_field("pattern").unwrap_or(p)
        })
    };
    let Some(first) = first else {
        return RequestNames::default();
    };
    match first.kind() {
        "identifier" => {
            let r = text(first, src);
            RequestNames {
                user: Some(format!("{r}.user")),
                params: Some(format!("{r}.params")),
                master: Some(format!("{r}.master")),
                object: Some(format!("{r}.object")),
            }
        }
        "object_pattern" => {
            let t = text(first, src);
            let has = |k: &str| {
                Regex::new(&format!(r"\b{k}\b"))
                    .is_ok_and(|re| re.is_match(t))
                    .then(|| k.to_string())
            };
            RequestNames {
                user: has("user"),
                params: has("params"),
                master: has("master"),
                object: has("object"),
            }
        }
        _ => RequestNames::default(),
    }
}

/// Operations in `function` that run with the master key.
fn master_ops<'t>(function: Node<'t>, src: &str) -> Vec<MasterOp<'t>> {
    let mut ops = Vec::new();
    let mut global_call = None;
    js::walk(function, |n| match n.kind() {
        "pair"
            if js::pair_key(n, src) == "useMasterKey"
                && n.child_field("value")
                    .is_some_and(|v| text(v, src) == "true") =>
        {
            let call = n
                .parent()
                .and_then(|o| o.parent())
                .filter(|a| a.kind() == "arguments")
                .and_then(|a| a.parent())
                .filter(|c| c.kind() == "call_expression");
            let method = call
                .and_then(|c| js::method_name(c, src))
                .unwrap_or("")
                .to_string();
            ops.push(MasterOp {
                at: n,
                call,
                method,
            });
        }
        "call_expression" if js::callee(n, src) == "Parse.Cloud.useMasterKey" => {
            global_call = Some(n);
        }
        _ => {}
    });
    if let Some(at) = global_call {
        // every operation of the handler runs as master: summarise it at the switch
        let mut method = String::new();
        js::walk(function, |n| {
            if n.kind() == "call_expression"
                && let Some(m) = js::method_name(n, src)
                && (WRITES.contains(&m) || (method.is_empty() && READS.contains(&m)))
            {
                method = m.to_string();
            }
        });
        ops.push(MasterOp {
            at,
            call: None,
            method,
        });
    }
    ops
}

/// Names bound to `new Parse.Query(Parse.User)` / `new Parse.Query("_User")` in `scope`.
fn user_query_vars(scope: Node<'_>, src: &str) -> BTreeSet<String> {
    js::declarations(scope, src)
        .into_iter()
        .filter(|(_, v)| {
            let v = js::unwrap_expr(*v);
            v.kind() == "new_expression"
                && js::callee(v, src) == "Parse.Query"
                && js::arguments(v).first().is_some_and(|a| {
                    let t = text(*a, src);
                    t == "Parse.User" || js::string_value(*a, src) == Some("_User")
                })
        })
        .map(|(n, _)| n)
        .collect()
}

/// Names whose value comes from the request parameters.
pub(super) fn param_names(function: Node<'_>, params: &str, src: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for d in js::nodes_of(function, &["variable_declarator"]) {
        let (Some(name), Some(value)) = (d.child_field("name"), d.child_field("value")) else {
            continue;
        };
        if !text(value, src).starts_with(params) {
            continue;
        }
        match name.kind() {
            "identifier" => {
                names.insert(text(name, src).to_string());
            }
            "object_pattern" => {
                js::walk(name, |n| {
                    if matches!(
                        n.kind(),
                        "shorthand_property_identifier_pattern" | "identifier"
                    ) {
                        names.insert(text(n, src).to_string());
                    }
                });
            }
            _ => {}
        }
    }
    names
}

fn is_from_params(
    node: Node<'_>,
    params: Option<&str>,
    names: &BTreeSet<String>,
    src: &str,
) -> bool {
    let t = text(node, src);
    params.is_some_and(|p| t.starts_with(p)) || names.contains(t)
}

/// Runs the Cloud Code rules over one JS/TS file.
pub fn check_file(sink: &mut Sink<'_, '_>) {
    if !sink.any_active(&CHECKS) {
        return;
    }
    let (Some((src, root, _)), Some(handlers)) = (sink.js(), sink.cloud_handlers()) else {
        return;
    };
    check_handlers(sink, root, src, &handlers);
}

/// Runs the rules over `handlers`, whose functions live in the tree of `root` (with text `src`).
pub fn check_handlers<R: Report>(
    sink: &mut R,
    root: Node<'_>,
    src: &str,
    handlers: &[Handler<'_>],
) {
    if handlers.is_empty() {
        return;
    }
    let user_vars = user_query_vars(root, src);
    if sink.is_on(Check::MasterKeyOption) {
        report_master_ops(sink, handlers, src);
    }
    for handler in handlers {
        match handler.hook.as_str() {
            "define" => check_function(sink, handler, &user_vars, src),
            "beforeSave" => check_before_save(sink, handler, src),
            _ => {}
        }
    }
}

/// Every master-key operation of every handler, once each (a function registered under two
/// names is reported once). The precise rules supersede this marker on the same line.
fn report_master_ops<R: Report>(sink: &mut R, handlers: &[Handler<'_>], src: &str) {
    let mut seen = BTreeSet::new();
    for handler in handlers {
        for op in master_ops(handler.function, src) {
            let range = op.at.byte_range();
            if seen.insert(range.start) {
                sink.emit(Check::MasterKeyOption, range, None, |_| {});
            }
        }
    }
}

/// Whether `body` assigns `var` a new `Parse.User` (`const user = new Parse.User()`).
fn is_new_user(body: &str, var: &str) -> bool {
    let var = var.strip_prefix("await ").unwrap_or(var).trim();
    !var.is_empty()
        && var
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        && body.match_indices(var).any(|(at, _)| {
            let before = body[..at].chars().next_back();
            let rest = body[at + var.len()..].trim_start();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == '.')
                && rest.strip_prefix('=').is_some_and(|r| {
                    !r.starts_with('=') && r.trim_start().starts_with("new Parse.User(")
                })
        })
}

fn check_function<R: Report>(
    sink: &mut R,
    handler: &Handler<'_>,
    user_vars: &BTreeSet<String>,
    src: &str,
) {
    let ops = master_ops(handler.function, src);
    if ops.is_empty() {
        return;
    }
    let authenticated = handler.is_authenticated(src);
    let params = handler.names.params.as_deref();
    let from_params = params
        .map(|p| param_names(handler.function, p, src))
        .unwrap_or_default();
    let body = text(handler.function, src);
    for op in &ops {
        let receiver = op.call.and_then(js::receiver).map(|r| text(r, src));
        let on_users = receiver.is_some_and(|r| user_vars.contains(r) || r.contains("Parse.User"));
        let is_write = WRITES.contains(&op.method.as_str());
        let range = op.at.byte_range();
        // a sign-up: the function builds the new account itself (`new Parse.User()`) and saves
        // it; nobody is logged in yet, and the object is not one an ACL protects
        if !authenticated && is_write && receiver.is_some_and(|r| is_new_user(body, r)) {
            continue;
        }
        if !authenticated {
            let what = if is_write {
                "writes or deletes data"
            } else if on_users {
                "reads user accounts"
            } else {
                "reads data"
            };
            let message = format!(
                "Cloud function `{}` can be called without logging in and {what} with the master key, bypassing every ACL and class-level permission",
                handler.name
            );
            let severity = if is_write || on_users {
                Severity::Critical
            } else {
                Severity::High
            };
            sink.emit(
                Check::UnauthenticatedMasterKey,
                range.clone(),
                Some(message),
                |f| f.severity = severity,
            );
            continue;
        }
        let privileged = handler.validator.require_master || handler.validator.require_roles;
        if !privileged
            && !handler.relates_to_user(src)
            && let Some(call) = op.call
            && loads_by_param_id(call, op, params, &from_params, body, src)
        {
            let message = format!(
                "Cloud function `{}` loads an object by an id the client chose and uses it with the master key without checking that it belongs to the caller",
                handler.name
            );
            sink.emit(Check::MasterKeyIdor, range.clone(), Some(message), |_| {});
        }
        if on_users
            && READS.contains(&op.method.as_str())
            && let (Some(call), Some(recv)) = (op.call, receiver)
            && !body.contains(&format!("{recv}.select("))
            && is_returned(call, handler.function, src)
        {
            let message = format!(
                "Cloud function `{}` returns whole `Parse.User` objects read with the master key (emails, auth data and every private field)",
                handler.name
            );
            sink.emit(Check::UserQueryReturnsUsers, range, Some(message), |_| {});
        }
    }
}

/// `query.get(params.id, { useMasterKey })` or `query.equalTo("objectId", params.id)` + find.
fn loads_by_param_id(
    call: Node<'_>,
    op: &MasterOp<'_>,
    params: Option<&str>,
    names: &BTreeSet<String>,
    body: &str,
    src: &str,
) -> bool {
    if op.method == "get" {
        return js::arguments(call)
            .first()
            .is_some_and(|a| is_from_params(*a, params, names, src));
    }
    if !READS.contains(&op.method.as_str()) {
        return false;
    }
    let Some(recv) = js::receiver(call).map(|r| text(r, src)) else {
        return false;
    };
    let pattern = format!(
        r#"{}\s*\.equalTo\(\s*["']objectId["']\s*,\s*([\w.\[\]"']+)"#,
        regex::escape(recv)
    );
    Regex::new(&pattern).is_ok_and(|re| {
        re.captures_iter(body).any(|c| {
            let value = c.get(1).map_or("", |m| m.as_str());
            params.is_some_and(|p| value.starts_with(p)) || names.contains(value)
        })
    })
}

/// Whether the call's result leaves the handler unchanged: `return q.find()`, or
/// `const users = await q.find(); return users` / `return { users }`.
fn is_returned(call: Node<'_>, function: Node<'_>, src: &str) -> bool {
    let mut top = call;
    while let Some(p) = top.parent() {
        if matches!(p.kind(), "await_expression" | "parenthesized_expression") {
            top = p;
        } else {
            break;
        }
    }
    let Some(parent) = top.parent() else {
        return false;
    };
    if parent.kind() == "return_statement" || parent.kind() == "arrow_function" {
        return true;
    }
    if parent.kind() != "variable_declarator" {
        return false;
    }
    let Some(name) = parent.child_field("name").map(|n| text(n, src)) else {
        return false;
    };
    js::nodes_of(function, &["return_statement"])
        .into_iter()
        .any(|r| {
            let Some(value) = r.named_child(0) else {
                return false;
            };
            let value = js::unwrap_expr(value);
            match value.kind() {
                "identifier" => text(value, src) == name,
                "object" => {
                    let mut c = value.walk();
                    value.named_children(&mut c).any(|p| match p.kind() {
                        "shorthand_property_identifier" => text(p, src) == name,
                        "pair" => p.child_field("value").is_some_and(|v| text(v, src) == name),
                        _ => false,
                    })
                }
                _ => false,
            }
        })
}

/// Fields a client must never set itself.
static PRIVILEGED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(role|roles|isAdmin|is_admin|admin|owner|ownerId|owner_id|createdBy|balance|credits|coins|points|plan|tier|subscription|isVerified|verified|emailVerified|approved|isApproved|permissions|isPremium|premium)$").expect("valid regex")
});

fn check_before_save<R: Report>(sink: &mut R, handler: &Handler<'_>, src: &str) {
    if !sink.is_on(Check::BeforeSaveTrustsClientFields) {
        return;
    }
    let privileged = &*PRIVILEGED;
    let body = text(handler.function, src);
    if handler
        .names
        .master
        .as_ref()
        .is_some_and(|m| count_refs(body, m, false) > 0)
        || handler
            .names
            .object
            .as_ref()
            .is_some_and(|_| body.contains(".original"))
    {
        return;
    }
    let Some(object) = handler.names.object.as_deref() else {
        return;
    };
    let mut object_names: BTreeSet<String> = BTreeSet::from([object.to_string()]);
    for (name, value) in js::declarations(handler.function, src) {
        if text(value, src) == object {
            object_names.insert(name);
        }
    }
    let mut reported = BTreeSet::new();
    for call in js::nodes_of(handler.function, &["call_expression"]) {
        if js::method_name(call, src) != Some("get") {
            continue;
        }
        let Some(recv) = js::receiver(call) else {
            continue;
        };
        if !object_names.contains(text(recv, src)) {
            continue;
        }
        let Some(field) = js::arguments(call)
            .first()
            .and_then(|a| js::string_value(*a, src))
        else {
            continue;
        };
        if !privileged.is_match(field) || reported.contains(field) {
            continue;
        }
        if handler.validator.constant_fields.iter().any(|f| f == field)
            || is_guarded(handler.function, field, src)
        {
            continue;
        }
        reported.insert(field.to_string());
        let message = format!(
            "beforeSave trigger for `{}` trusts `{field}` as the client sent it; any user can set it on their own save",
            handler.name
        );
        sink.emit(
            Check::BeforeSaveTrustsClientFields,
            call.byte_range(),
            Some(message),
            |_| {},
        );
    }
}

/// Whether the handler rejects or overwrites a client-set `field`: `dirty("f")`, `revert("f")`,
/// `unset("f")`, or an unconditional `set("f", ...)`.
fn is_guarded(function: Node<'_>, field: &str, src: &str) -> bool {
    let body = text(function, src);
    let quoted = |m: &str| {
        body.contains(&format!("{m}(\"{field}\"")) || body.contains(&format!("{m}('{field}'"))
    };
    if quoted("dirty") || quoted("revert") || quoted("unset") {
        return true;
    }
    js::nodes_of(function, &["call_expression"])
        .into_iter()
        .any(|call| {
            js::method_name(call, src) == Some("set")
                && js::arguments(call)
                    .first()
                    .and_then(|a| js::string_value(*a, src))
                    == Some(field)
                && !inside_condition_on(call, field, function, src)
        })
}

/// Whether `node` sits in an `if` whose condition reads `field` (a default, not an overwrite).
fn inside_condition_on(node: Node<'_>, field: &str, function: Node<'_>, src: &str) -> bool {
    let mut cur = node.parent();
    while let Some(n) = cur {
        if n == function {
            return false;
        }
        if matches!(n.kind(), "if_statement" | "ternary_expression")
            && let Some(cond) = n.child_field("condition")
            && text(cond, src).contains(field)
        {
            return true;
        }
        cur = n.parent();
    }
    false
}
