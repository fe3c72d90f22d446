//! Parse Server Cloud Code: a model of each handler (`Parse.Cloud.define`, triggers, jobs), its
//! validator, its authentication checks and its master-key operations, and the rules over it.
//!
//! The model is per file and syntactic: a handler passed by name is resolved within the file; a
//! validator function is assumed to authenticate (it usually does), so it never makes a finding.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::Node;

use super::js::{self, text};
use super::{Check, Sink};
use crate::rules::Severity;

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
fn count_refs(body: &str, expr: &str, skip_guards: bool) -> usize {
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
pub fn handlers<'t>(root: Node<'t>, src: &str) -> Vec<Handler<'t>> {
    let mut found = Vec::new();
    for call in js::nodes_of(root, &["call_expression"]) {
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
        let Some(function) = resolve_function(root, *second, src) else {
            continue;
        };
        let name = js::string_value(*first, src)
            .unwrap_or_else(|| text(*first, src))
            .to_string();
        let validator = args
            .get(2)
            .map(|v| validator(root, *v, src))
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

fn resolve_function<'t>(root: Node<'t>, node: Node<'t>, src: &str) -> Option<Node<'t>> {
    if js::FUNCTIONS.contains(&node.kind()) {
        return Some(node);
    }
    if node.kind() != "identifier" {
        return None;
    }
    let name = text(node, src);
    js::nodes_of(root, &["function_declaration", "variable_declarator"])
        .into_iter()
        .find_map(|d| {
            let n = d.child_by_field_name("name")?;
            if text(n, src) != name {
                return None;
            }
            if d.kind() == "function_declaration" {
                return Some(d);
            }
            let value = d.child_by_field_name("value")?;
            js::FUNCTIONS.contains(&value.kind()).then_some(value)
        })
}

fn validator(root: Node<'_>, node: Node<'_>, src: &str) -> Validator {
    let node = if node.kind() == "identifier" {
        let name = text(node, src);
        js::declarations(root, src)
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
            .and_then(|p| p.child_by_field_name("value"))
            .is_some_and(|v| text(v, src) != "false")
    };
    let mut constant_fields = Vec::new();
    if let Some(fields) = js::property(node, "fields", src)
        .and_then(|p| p.child_by_field_name("value"))
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
        .child_by_field_name("parameters")
        .or_else(|| function.child_by_field_name("parameter"));
    let Some(params) = params else {
        return RequestNames::default();
    };
    let first = if params.kind() == "identifier" {
        Some(params)
    } else {
        let mut c = params.walk();
        params.named_children(&mut c).next().map(|p| {
            // TS: required_parameter wraps the pattern
            p.child_by_field_name("pattern").unwrap_or(p)
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
                && n.child_by_field_name("value")
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
fn param_names(function: Node<'_>, params: &str, src: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for d in js::nodes_of(function, &["variable_declarator"]) {
        let (Some(name), Some(value)) = (
            d.child_by_field_name("name"),
            d.child_by_field_name("value"),
        ) else {
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
    if !sink.any_active(&[
        Check::UnauthenticatedMasterKey,
        Check::MasterKeyIdor,
        Check::UserQueryReturnsUsers,
        Check::BeforeSaveTrustsClientFields,
        Check::MasterKeyOption,
    ]) {
        return;
    }
    let ctx = sink.ctx();
    let Some(tree) = ctx.tree() else {
        return;
    };
    let src: &str = &ctx.file.text;
    let root = tree.root_node();
    let user_vars = user_query_vars(root, src);
    let handlers = handlers(root, src);
    if sink.active(Check::MasterKeyOption).is_some() {
        report_master_ops(sink, &handlers, src);
    }
    for handler in handlers {
        match handler.hook.as_str() {
            "define" => check_function(sink, &handler, &user_vars, src),
            "beforeSave" => check_before_save(sink, &handler, src),
            _ => {}
        }
    }
}

/// Every master-key operation of every handler, once each (a function registered under two
/// names is reported once). The precise rules supersede this marker on the same line.
fn report_master_ops(sink: &mut Sink<'_, '_>, handlers: &[Handler<'_>], src: &str) {
    let mut seen = BTreeSet::new();
    for handler in handlers {
        for op in master_ops(handler.function, src) {
            let range = op.at.byte_range();
            if seen.insert(range.start) {
                sink.report(Check::MasterKeyOption, range, None, |_| {});
            }
        }
    }
}

fn check_function(
    sink: &mut Sink<'_, '_>,
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
            sink.report(
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
            sink.report(Check::MasterKeyIdor, range.clone(), Some(message), |_| {});
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
            sink.report(Check::UserQueryReturnsUsers, range, Some(message), |_| {});
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
    let Some(name) = parent.child_by_field_name("name").map(|n| text(n, src)) else {
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
                        "pair" => p
                            .child_by_field_name("value")
                            .is_some_and(|v| text(v, src) == name),
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

fn check_before_save(sink: &mut Sink<'_, '_>, handler: &Handler<'_>, src: &str) {
    if sink.active(Check::BeforeSaveTrustsClientFields).is_none() {
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
        sink.report(
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
            && let Some(cond) = n.child_by_field_name("condition")
            && text(cond, src).contains(field)
        {
            return true;
        }
        cur = n.parent();
    }
    false
}
