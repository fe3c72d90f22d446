//! Service-role Supabase clients in request handlers (edge functions, route handlers, server
//! actions, Express handlers) that pick rows with request input and never verify the caller.
//!
//! The service-role key skips row level security, so the handler itself must decide whose rows
//! a request may touch. The check works on one file:
//!
//! 1. **Clients**: names bound to `createClient(url, <service-role key>)` (the key judged by
//!    [`super::client_key::service_role_key`]), to a local factory returning one, or imported under
//!    the conventional names of a service-role client (`supabaseAdmin`, `createAdminClient()`).
//! 2. **Handlers**: the function around a query that receives the request: a `serve`/
//!    `Deno.serve`/router callback, an exported `GET`/`POST`/... route handler, a server action
//!    (`'use server'`), or a function whose first parameter is `req`/`request`/`event`.
//! 3. **Request values**: the handler's request parameters and every local declared from them;
//!    values returned by a verification call (`auth.getUser`, `jwtVerify`, `constructEvent`)
//!    are the caller's identity instead.
//! 4. **Queries**: `.from(t)` chains on a client whose filters (`eq`, `match`, `in`, `or`, ...)
//!    or written rows take request values, and `auth.admin.deleteUser`/`updateUserById`/
//!    `getUserById` with a request value.
//!
//! A query is reported when the handler verifies nobody, or (for writes) when it verifies the
//! caller with `auth.getUser`-like calls but never relates the row to that identity nor checks
//! a role. Handlers guarded by middleware, shared-secret comparisons or webhook signatures are
//! left alone.

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::Node;

use super::client_key::service_role_key;
use crate::parse::ChildField;
use crate::platform::js::{self, text};
use crate::platform::{Check, Sink};
use crate::rules::Severity;

/// Names of calls that verify a caller, a token or a webhook signature (last callee segment).
static VERIFY_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(getUser|getClaims|getSession|safeGetSession|getServerSession|getToken|auth|currentUser|getAuth|jwtVerify|verify\w*|decodeJwt|authenticate\w*|authorize\w*|checkAuth\w*|isAuthenticated|isAdmin|withAuth|constructEvent\w*|getCurrentUser|getAuthUser|getUserFromRequest|getUserFromToken|(require|ensure|assert)(User|Auth|Admin|Session|Role|SignedIn|LoggedIn)\w*|validate\w*(Token|Signature|Session|Auth|Key|Secret|User))$").expect("valid regex")
});
/// A comparison that checks a shared secret or an API key (cron jobs, internal webhooks).
static SECRET_COMPARE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)authorization|secret|api[_-]?key|x-api-key|signature").expect("valid regex")
});
/// A role or admin check in a comparison or call.
static ROLE_CHECK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(role|roles|is_admin|isadmin|admin|app_metadata|permissions?)\b")
        .expect("valid regex")
});
/// Columns that identify a row or its owner: reads by these are someone's data.
static IDENTIFYING_COLUMN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(^|_)(id|uuid|email|user|owner|customer|account|profile|phone|tenant|org)(_|$)|[a-z]Id$").expect("valid regex")
});
/// Columns that hold a secret: looking a row up by one is how token authentication works.
static SECRET_COLUMN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)token|secret|api_?key|key_hash|hash|otp|nonce|invite|signature|code$")
        .expect("valid regex")
});
/// Row keys that choose an owner, a role or the row itself.
static OWNER_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(id|user_?id|owner(_?id)?|author_?id|created_by|account_?id|profile_?id|tenant_?id|org(anization)?_?id|team_?id|customer_?id|role|is_?admin|admin)$").expect("valid regex")
});
/// Imported names of a service-role client, by convention.
static CLIENT_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(supabase_?admin|admin_?supabase|supabase_?service(_?role)?(_?client)?|service_?role_?client|supabase_?admin_?client)$").expect("valid regex")
});
/// Modules that, by their path, hold a service-role client (`../_lib/supabaseAdmin`,
/// `@/lib/supabase/admin`, `./service-role`): whatever they export is the client or its factory.
static ADMIN_MODULE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(^|[/_.-])(supabase[-_/]?(admin|service[-_]?role)|admin[-_]?supabase|service[-_]?role([-_]?client)?|supabase[-_]?service)([-_]?client)?(\.[jt]sx?)?$").expect("valid regex")
});
/// Imported factories of a service-role client, by convention.
static FACTORY_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(create|get)(supabase)?(admin|service(_?role)?)(supabase)?(client)?$|^(create|get)_?supabase_?(admin|service(_?role)?)(_?client)?$").expect("valid regex")
});

const FILTERS: [&str; 17] = [
    "eq",
    "neq",
    "gt",
    "gte",
    "lt",
    "lte",
    "like",
    "ilike",
    "is",
    "in",
    "contains",
    "containedBy",
    "match",
    "filter",
    "or",
    "not",
    "textSearch",
];
const HTTP_METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
const ROUTER_METHODS: [&str; 12] = [
    "serve",
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "all",
    "route",
    "onRequest",
    "onCall",
    "mutation",
    "query",
];
const SERVER_SET_FIELDS: [&str; 8] = [
    "user",
    "auth",
    "session",
    "userId",
    "currentUser",
    "locals",
    "claims",
    "isAuthenticated",
];
/// Destructured handler parameters that the framework fills, not the client (`locals` in
/// `SvelteKit` and Astro handlers, `ctx` in tRPC procedures).
const FRAMEWORK_BINDINGS: [&str; 8] = [
    "locals",
    "platform",
    "cookies",
    "fetch",
    "setHeaders",
    "getClientAddress",
    "ctx",
    "env",
];
const ADMIN_METHODS: [&str; 3] = ["deleteUser", "updateUserById", "getUserById"];

/// The service-role clients of a file: bound names and factory names.
#[derive(Debug, Default)]
struct Clients {
    names: BTreeSet<String>,
    factories: BTreeSet<String>,
}

impl Clients {
    fn find(index: &js::Index<'_>, src: &str) -> Clients {
        let mut c = Clients::default();
        let imports = index.of(&["import_specifier"]);
        // `import { createClient as createSupabaseClient }`
        let constructors: Vec<&str> = imports
            .iter()
            .filter(|i| {
                i.child_field("name")
                    .is_some_and(|n| text(n, src) == "createClient")
            })
            .filter_map(|i| i.child_field("alias").map(|a| text(a, src)))
            .chain(["createClient", "createServerClient"])
            .collect();
        for call in index.of(&["call_expression"]) {
            let callee = js::callee(call, src);
            let last = callee.rsplit('.').next().unwrap_or(callee);
            if !constructors.contains(&last) {
                continue;
            }
            let Some(key) = js::arguments(call).get(1).copied() else {
                continue;
            };
            if service_role_key(key, index, src).is_none() {
                continue;
            }
            if let Some(name) = bound_name(call, src) {
                c.names.insert(name);
            } else if let Some(f) = returned_by(call)
                && let Some(name) = function_name(f, src)
            {
                c.factories.insert(name);
            }
        }
        // `import { supabaseAdmin } from ...` and `const { supabaseAdmin } = require(...)`
        let imported = imports
            .iter()
            .filter_map(|i| {
                i.child_field("alias")
                    .or_else(|| i.child_field("name"))
                    .map(|n| text(n, src).to_string())
            })
            .chain(required_names(index, src));
        for local in imported {
            let local = local.as_str();
            if CLIENT_NAME.is_match(local) {
                c.names.insert(local.to_string());
            } else if FACTORY_NAME.is_match(local) {
                c.factories.insert(local.to_string());
            }
        }
        // `import { admin } from "../_lib/supabaseAdmin"`: a name used as a query's receiver is
        // the client, a called one its factory
        for local in admin_module_bindings(index, src) {
            c.names.insert(local.clone());
            c.factories.insert(local);
        }
        if !c.factories.is_empty() {
            for (name, value) in index.declarations(src) {
                let value = js::unwrap_expr(value);
                if value.kind() == "call_expression" && c.factories.contains(js::callee(value, src))
                {
                    c.names.insert(name);
                }
            }
        }
        c
    }

    fn is_empty(&self) -> bool {
        self.names.is_empty() && self.factories.is_empty()
    }

    /// Whether `node` evaluates to a service-role client.
    fn is_client(&self, node: Node<'_>, index: &js::Index<'_>, src: &str) -> bool {
        if crate::engine::stack::exhausted() {
            return false;
        }
        let node = js::unwrap_expr(node);
        match node.kind() {
            "identifier" => self.names.contains(text(node, src)),
            "call_expression" => {
                let callee = js::callee(node, src);
                if self.factories.contains(callee) {
                    return true;
                }
                // `client.schema("api").from(...)`
                if js::method_name(node, src) == Some("schema") {
                    return js::receiver(node).is_some_and(|r| self.is_client(r, index, src));
                }
                let last = callee.rsplit('.').next().unwrap_or(callee);
                last == "createClient"
                    && js::arguments(node)
                        .get(1)
                        .is_some_and(|k| service_role_key(*k, index, src).is_some())
            }
            _ => false,
        }
    }
}

/// `node` with the `await`, parentheses and type assertions around it, and the parent of that.
fn outermost(node: Node<'_>) -> (Node<'_>, Option<Node<'_>>) {
    let mut cur = node;
    while let Some(p) = cur.parent() {
        if !matches!(
            p.kind(),
            "await_expression"
                | "parenthesized_expression"
                | "as_expression"
                | "non_null_expression"
        ) {
            return (cur, Some(p));
        }
        cur = p;
    }
    (cur, None)
}

/// The function that returns `call` (`return createClient(...)`, `() => createClient(...)`).
fn returned_by(call: Node<'_>) -> Option<Node<'_>> {
    let (expr, parent) = outermost(call);
    let parent = parent?;
    match parent.kind() {
        "return_statement" => js::ancestor(parent, &js::FUNCTIONS),
        "arrow_function" if parent.child_field("body") == Some(expr) => Some(parent),
        _ => None,
    }
}

/// Names bound by `const { a, b: c } = require("...")`.
fn required_names(index: &js::Index<'_>, src: &str) -> Vec<String> {
    index
        .of(&["variable_declarator"])
        .into_iter()
        .filter(|d| {
            d.child_field("value")
                .is_some_and(|v| v.kind() == "call_expression" && js::callee(v, src) == "require")
        })
        .filter_map(|d| d.child_field("name"))
        .filter(|n| n.kind() == "object_pattern")
        .flat_map(|n| bindings(n, src))
        .collect()
}

/// The local names bound by imports and `require`s of a module that [`ADMIN_MODULE`] names.
fn admin_module_bindings(index: &js::Index<'_>, src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for statement in index.of(&["import_statement"]) {
        let Some(module) = statement
            .child_field("source")
            .and_then(|s| js::string_value(s, src))
        else {
            continue;
        };
        if !ADMIN_MODULE.is_match(module) {
            continue;
        }
        let mut stack = vec![statement];
        while let Some(n) = stack.pop() {
            match n.kind() {
                "import_specifier" => {
                    if let Some(local) = n.child_field("alias").or_else(|| n.child_field("name")) {
                        out.push(text(local, src).to_string());
                    }
                }
                // the default import
                "identifier" if n.parent().is_some_and(|p| p.kind() == "import_clause") => {
                    out.push(text(n, src).to_string());
                }
                _ => {
                    let mut cursor = n.walk();
                    stack.extend(n.named_children(&mut cursor));
                }
            }
        }
    }
    for d in index.of(&["variable_declarator"]) {
        let Some(value) = d.child_field("value") else {
            continue;
        };
        let value = js::unwrap_expr(value);
        if value.kind() != "call_expression" || js::callee(value, src) != "require" {
            continue;
        }
        let Some(module) = js::arguments(value)
            .first()
            .and_then(|a| js::string_value(*a, src))
        else {
            continue;
        };
        if !ADMIN_MODULE.is_match(module) {
            continue;
        }
        if let Some(name) = d.child_field("name") {
            match name.kind() {
                "identifier" => out.push(text(name, src).to_string()),
                "object_pattern" => out.extend(bindings(name, src)),
                _ => {}
            }
        }
    }
    out
}

/// `const name = <call>` or `name = <call>` around `call`.
fn bound_name(call: Node<'_>, src: &str) -> Option<String> {
    let parent = outermost(call).1?;
    match parent.kind() {
        "variable_declarator" => {
            let name = parent.child_field("name")?;
            (name.kind() == "identifier").then(|| text(name, src).to_string())
        }
        "assignment_expression" => {
            let left = parent.child_field("left")?;
            Some(text(left, src).to_string())
        }
        _ => None,
    }
}

/// The name of a function: its own, or the variable or export it is assigned to.
fn function_name(f: Node<'_>, src: &str) -> Option<String> {
    if let Some(n) = f.child_field("name") {
        return Some(text(n, src).to_string());
    }
    let p = f.parent()?;
    match p.kind() {
        "variable_declarator" => p.child_field("name").map(|n| text(n, src).to_string()),
        "pair" => Some(js::pair_key(p, src).to_string()),
        _ => None,
    }
}

/// Every name a binding pattern (parameter, declarator name) introduces.
fn bindings(pattern: Node<'_>, src: &str) -> Vec<String> {
    let pattern = match pattern.kind() {
        "required_parameter" | "optional_parameter" => {
            let Some(p) = pattern.child_field("pattern") else {
                return Vec::new();
            };
            p
        }
        _ => pattern,
    };
    let mut names = Vec::new();
    js::walk(pattern, |n| {
        let is_default_value = n
            .parent()
            .is_some_and(|p| p.kind() == "assignment_pattern" && p.child_field("right") == Some(n));
        if matches!(
            n.kind(),
            "identifier" | "shorthand_property_identifier_pattern"
        ) && !is_default_value
        {
            names.push(text(n, src).to_string());
        }
    });
    names
}

/// How a handler receives its request.
#[derive(Debug)]
struct Handler<'t> {
    function: Node<'t>,
    /// Parameter names that carry request input.
    sources: Vec<String>,
    /// Registered behind middleware (`app.post("/x", requireAuth, handler)`).
    has_middleware: bool,
}

/// Whether the file (or the function body) starts with `'use server'`.
fn is_server_action(f: Node<'_>, src: &str) -> bool {
    let head = |t: &str| {
        let t = t.trim_start();
        t.starts_with("'use server'") || t.starts_with("\"use server\"")
    };
    let body_head = f
        .child_field("body")
        .and_then(|b| b.named_child(0))
        .is_some_and(|s| head(text(s, src)));
    let exported = f.parent().is_some_and(|p| p.kind() == "export_statement")
        || f.parent()
            .and_then(|p| p.parent())
            .and_then(|p| p.parent())
            .is_some_and(|p| p.kind() == "export_statement");
    body_head
        || (exported
            && head(
                src.lines()
                    .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with("//"))
                    .unwrap_or(""),
            ))
}

/// Whether a parameter destructures an object (`({ request, params }) => ...`).
fn is_object_pattern(param: Node<'_>) -> bool {
    let pattern = param.child_field("pattern").unwrap_or(param);
    pattern.kind() == "object_pattern"
}

/// The request handler `f` is, if it is one.
fn as_handler<'t>(f: Node<'t>, src: &str) -> Option<Handler<'t>> {
    let ps = crate::parse::function_params(f);
    let names: Vec<Vec<String>> = ps.iter().map(|p| bindings(*p, src)).collect();
    let first: Vec<String> = match ps.first() {
        Some(p) if is_object_pattern(*p) => names
            .first()
            .into_iter()
            .flatten()
            .filter(|n| !FRAMEWORK_BINDINGS.contains(&n.as_str()))
            .cloned()
            .collect(),
        _ => names.first().cloned().unwrap_or_default(),
    };
    let registration = f
        .parent()
        .filter(|p| p.kind() == "arguments")
        .and_then(|a| a.parent())
        .filter(|c| c.kind() == "call_expression");
    if let Some(call) = registration {
        let callee = js::callee(call, src);
        let last = callee.rsplit('.').next().unwrap_or(callee);
        if ROUTER_METHODS.contains(&last) {
            let args = js::arguments(call);
            let leading = args.iter().take_while(|a| a.id() != f.id()).count();
            let path_arg = args
                .first()
                .is_some_and(|a| js::string_value(*a, src).is_some());
            return Some(Handler {
                function: f,
                sources: first,
                has_middleware: leading > usize::from(path_arg),
            });
        }
    }
    let name = function_name(f, src).unwrap_or_default();
    if HTTP_METHODS.contains(&name.as_str()) || matches!(name.as_str(), "action" | "loader") {
        // `(req, { params })`: the route segments are input too
        let mut sources = first;
        if let Some(second) = ps.get(1)
            && (is_object_pattern(*second)
                || bindings(*second, src)
                    .iter()
                    .any(|n| matches!(n.as_str(), "params" | "context" | "ctx" | "props")))
        {
            sources.extend(bindings(*second, src));
        }
        return Some(Handler {
            function: f,
            sources,
            has_middleware: false,
        });
    }
    if is_server_action(f, src) {
        return Some(Handler {
            function: f,
            sources: names.into_iter().flatten().collect(),
            has_middleware: false,
        });
    }
    let is_request_param = first.len() == 1
        && matches!(first[0].as_str(), "req" | "request" | "event")
        && ps.len() <= 2;
    is_request_param.then_some(Handler {
        function: f,
        sources: first,
        has_middleware: false,
    })
}

/// Request values and caller identities inside one handler.
#[derive(Debug, Default)]
struct Flow {
    tainted: BTreeSet<String>,
    identity: BTreeSet<String>,
    /// Variables holding a secret, a signature or the authorization header
    /// (`expected` in ``const expected = `Bearer ${process.env.CRON_SECRET}` ``).
    secrets: BTreeSet<String>,
    /// A verification call happened (`auth.getUser`, `jwtVerify`, ...).
    verified: bool,
    /// The handler compares a shared secret or signature, or registers middleware.
    guarded: bool,
    /// The handler compares a role or checks admin rights.
    checks_role: bool,
}

/// Whether `node` reads one of `names` (as a variable, not a property name).
fn mentions(node: Node<'_>, names: &BTreeSet<String>, src: &str) -> bool {
    if names.is_empty() {
        return false;
    }
    let mut found = false;
    js::walk(node, |n| {
        if !found
            && matches!(n.kind(), "identifier" | "shorthand_property_identifier")
            && names.contains(text(n, src))
            && server_set_field(n, src).is_none()
        {
            found = true;
        }
    });
    found
}

/// `req.user`, `req.session`, `res.locals`: fields that server middleware sets on the request,
/// not values the client sends. Returns the field when `n` is the object of one.
fn server_set_field<'s>(n: Node<'_>, src: &'s str) -> Option<&'s str> {
    if !matches!(
        text(n, src),
        "req" | "request" | "res" | "ctx" | "c" | "context" | "event"
    ) {
        return None;
    }
    let member = n.parent().filter(|p| p.kind() == "member_expression")?;
    if member.child_field("object")?.id() != n.id() {
        return None;
    }
    let field = text(member.child_field("property")?, src);
    SERVER_SET_FIELDS.contains(&field).then_some(field)
}

fn is_verify_call(call: Node<'_>, src: &str) -> bool {
    let callee = js::callee(call, src);
    let last = callee.rsplit('.').next().unwrap_or(callee);
    VERIFY_CALL.is_match(last)
}

fn contains_verify_call(node: Node<'_>, src: &str) -> bool {
    js::nodes_of(node, &["call_expression"])
        .into_iter()
        .any(|c| is_verify_call(c, src))
}

impl Flow {
    fn of(handler: &Handler<'_>, src: &str) -> Flow {
        let mut flow = Flow {
            tainted: handler.sources.iter().cloned().collect(),
            guarded: handler.has_middleware,
            ..Flow::default()
        };
        let body = handler.function;
        // two rounds: declarations reached through loops or callbacks settle in the second
        for _ in 0..2 {
            js::walk(body, |n| match n.kind() {
                "variable_declarator" => {
                    let (Some(name), Some(value)) = (n.child_field("name"), n.child_field("value"))
                    else {
                        return;
                    };
                    flow.bind(name, value, src);
                }
                "assignment_expression" => {
                    if let (Some(left), Some(right)) =
                        (n.child_field("left"), n.child_field("right"))
                        && left.kind() == "identifier"
                    {
                        flow.bind(left, right, src);
                    }
                }
                "for_in_statement" => {
                    if let (Some(left), Some(right)) =
                        (n.child_field("left"), n.child_field("right"))
                        && mentions(right, &flow.tainted, src)
                    {
                        flow.tainted.extend(bindings(left, src));
                    }
                }
                // `ids.map((id) => ...)`: the callback's parameter is an element of `ids`
                "arrow_function" | "function_expression" => {
                    if let Some(call) = n
                        .parent()
                        .filter(|p| p.kind() == "arguments")
                        .and_then(|a| a.parent())
                        && let Some(recv) = js::receiver(call)
                        && matches!(
                            js::method_name(call, src),
                            Some("map" | "forEach" | "flatMap" | "filter")
                        )
                        && mentions(recv, &flow.tainted, src)
                        && let Some(p) = crate::parse::function_params(n).first()
                    {
                        flow.tainted.extend(bindings(*p, src));
                    }
                }
                _ => {}
            });
        }
        for call in js::nodes_of(body, &["call_expression"]) {
            if is_verify_call(call, src) {
                flow.verified = true;
            }
            // `requireAdmin(req)`, `hasRole(user, "staff")`: the callee's own name, not its
            // receiver (a client named `admin` checks nothing)
            let callee = js::callee(call, src);
            let last = callee
                .rsplit('.')
                .next()
                .unwrap_or(callee)
                .to_ascii_lowercase();
            if ["admin", "role", "permission", "staff"]
                .iter()
                .any(|w| last.contains(w))
            {
                flow.checks_role = true;
            }
        }
        // `req.user.id`: middleware authenticated the request before the handler runs
        let sources: BTreeSet<String> = handler.sources.iter().cloned().collect();
        if js::nodes_of(body, &["identifier"]).into_iter().any(|n| {
            sources.contains(text(n, src))
                && server_set_field(n, src).is_some_and(|f| f != "locals")
        }) {
            flow.guarded = true;
        }
        for cmp in js::nodes_of(body, &["binary_expression"]) {
            let Some(op) = cmp.child_field("operator") else {
                continue;
            };
            if !matches!(text(op, src), "===" | "!==" | "==" | "!=") {
                continue;
            }
            let t = text(cmp, src);
            let is_presence_test = [cmp.child_field("left"), cmp.child_field("right")]
                .into_iter()
                .flatten()
                .any(|side| matches!(text(side, src), "null" | "undefined" | "\"\"" | "''"));
            // `authHeader !== expectedAuth`: the secret is named by a variable
            let compares_secret = SECRET_COMPARE.is_match(t)
                || [cmp.child_field("left"), cmp.child_field("right")]
                    .into_iter()
                    .flatten()
                    .any(|side| {
                        side.kind() == "identifier" && flow.secrets.contains(text(side, src))
                    });
            if compares_secret && !is_presence_test {
                flow.guarded = true;
            }
            if ROLE_CHECK.is_match(t) {
                flow.checks_role = true;
            }
        }
        flow
    }

    /// `name = value`: request input, an identity, or neither.
    fn bind(&mut self, name: Node<'_>, value: Node<'_>, src: &str) {
        if SECRET_COMPARE.is_match(text(value, src)) {
            self.secrets.extend(bindings(name, src));
        }
        if contains_verify_call(value, src) {
            self.identity.extend(bindings(name, src));
        } else if mentions(value, &self.tainted, src) {
            self.tainted.extend(bindings(name, src));
        } else if mentions(value, &self.identity, src) {
            self.identity.extend(bindings(name, src));
        }
    }

    /// Whether the handler relates something to the caller's identity: in this query, or in a
    /// comparison anywhere (`if (note.user_id !== user.id) return`).
    fn relates_to_identity(&self, query: Node<'_>, handler: Node<'_>, src: &str) -> bool {
        if mentions(query, &self.identity, src) {
            return true;
        }
        js::nodes_of(handler, &["binary_expression"])
            .into_iter()
            .any(|cmp| {
                cmp.child_field("operator")
                    .is_some_and(|op| matches!(text(op, src), "===" | "!==" | "==" | "!="))
                    && mentions(cmp, &self.identity, src)
            })
    }
}

/// What a query does with request input.
#[derive(Debug)]
struct Query {
    range: Range<usize>,
    table: String,
    op: &'static str,
    writes: bool,
    /// The request values that choose the row, as written.
    inputs: Vec<String>,
}

/// The methods of the chain above `call` (`x.from(t).update(r).eq(c, v)`), with the outermost call.
fn chain<'t>(call: Node<'t>, src: &str) -> (Vec<(String, Node<'t>)>, Node<'t>) {
    let mut methods = Vec::new();
    let mut cur = call;
    while let Some(member) = cur.parent().filter(|p| p.kind() == "member_expression") {
        let Some(outer) = member.parent().filter(|p| p.kind() == "call_expression") else {
            break;
        };
        let name = member
            .child_field("property")
            .map_or("", |p| text(p, src))
            .to_string();
        methods.push((name, outer));
        cur = outer;
    }
    (methods, cur)
}

/// The column a filter compares (`eq("id", v)` -> `id`), when written as a literal.
fn filter_column<'s>(args: &[Node<'_>], src: &'s str) -> Option<&'s str> {
    args.first().and_then(|a| js::string_value(*a, src))
}

/// Request values in an object literal under owner-like keys, or the whole object from input.
fn row_inputs(row: Node<'_>, flow: &Flow, src: &str) -> Vec<String> {
    if crate::engine::stack::exhausted() {
        return Vec::new();
    }
    let row = js::unwrap_expr(row);
    match row.kind() {
        "object" => {
            let mut found = Vec::new();
            let mut c = row.walk();
            for p in row.named_children(&mut c) {
                match p.kind() {
                    "pair" => {
                        let value = p.child_field("value");
                        if OWNER_KEY.is_match(js::pair_key(p, src))
                            && value.is_some_and(|v| mentions(v, &flow.tainted, src))
                        {
                            found.push(text(p, src).to_string());
                        }
                    }
                    "shorthand_property_identifier" => {
                        let t = text(p, src);
                        if OWNER_KEY.is_match(t) && flow.tainted.contains(t) {
                            found.push(t.to_string());
                        }
                    }
                    "spread_element" if mentions(p, &flow.tainted, src) => {
                        found.push(text(p, src).to_string());
                    }
                    _ => {}
                }
            }
            found
        }
        "array" => {
            let mut c = row.walk();
            row.named_children(&mut c)
                .flat_map(|e| row_inputs(e, flow, src))
                .collect()
        }
        _ if mentions(row, &flow.tainted, src) => vec![text(row, src).to_string()],
        _ => Vec::new(),
    }
}

/// The request input a `.from(...)` chain uses to choose rows, if any.
fn query_inputs(from: Node<'_>, flow: &Flow, src: &str) -> Option<Query> {
    let table = js::arguments(from)
        .first()
        .map(|a| {
            js::string_value(*a, src)
                .unwrap_or_else(|| text(*a, src))
                .to_string()
        })
        .unwrap_or_default();
    let (methods, outer) = chain(from, src);
    let mut op = "select";
    let mut inputs = Vec::new();
    let mut reads_by_identifying = false;
    for (name, call) in &methods {
        let args = js::arguments(*call);
        match name.as_str() {
            "update" | "delete" => op = if name == "update" { "update" } else { "delete" },
            "insert" | "upsert" => {
                op = if name == "insert" { "insert" } else { "upsert" };
                if let Some(row) = args.first() {
                    inputs.extend(row_inputs(*row, flow, src));
                }
            }
            m if FILTERS.contains(&m) => {
                let column = filter_column(&args, src);
                if column.is_some_and(|c| SECRET_COLUMN.is_match(c)) {
                    continue;
                }
                let tainted: Vec<String> = args
                    .iter()
                    .filter(|a| mentions(**a, &flow.tainted, src))
                    .map(|a| text(*a, src).to_string())
                    .collect();
                if tainted.is_empty() {
                    continue;
                }
                // `or("id.eq.x")`, `match({...})`: the column is not a literal argument
                if column.is_none_or(|c| IDENTIFYING_COLUMN.is_match(c)) {
                    reads_by_identifying = true;
                }
                inputs.extend(tainted);
            }
            _ => {}
        }
    }
    let writes = op != "select";
    if inputs.is_empty() || (!writes && !reads_by_identifying) {
        return None;
    }
    Some(Query {
        range: outer.byte_range(),
        table,
        op,
        writes,
        inputs,
    })
}

/// `x` of a member expression `x.<property>`.
fn object_of<'t>(member: Node<'t>, property: &str, src: &str) -> Option<Node<'t>> {
    (member.kind() == "member_expression"
        && member
            .child_field("property")
            .is_some_and(|p| text(p, src) == property))
    .then(|| member.child_field("object"))
    .flatten()
}

/// `client.auth.admin.deleteUser(id)` and friends with request input.
fn admin_call_inputs(
    call: Node<'_>,
    clients: &Clients,
    index: &js::Index<'_>,
    flow: &Flow,
    src: &str,
) -> Option<Query> {
    let method = js::method_name(call, src)?;
    if !ADMIN_METHODS.contains(&method) {
        return None;
    }
    let auth = object_of(js::receiver(call)?, "admin", src)?;
    let client = object_of(auth, "auth", src)?;
    if !clients.is_client(client, index, src) {
        return None;
    }
    let target = js::arguments(call).first().copied()?;
    if !mentions(target, &flow.tainted, src) {
        return None;
    }
    let writes = method != "getUserById";
    Some(Query {
        range: call.byte_range(),
        table: "auth.users".into(),
        op: match method {
            "deleteUser" => "delete",
            "updateUserById" => "update",
            _ => "select",
        },
        writes,
        inputs: vec![text(target, src).to_string()],
    })
}

/// The innermost enclosing request handler of `node`.
fn handler_of<'t>(node: Node<'t>, src: &str) -> Option<Handler<'t>> {
    let mut cur = node.parent();
    while let Some(n) = cur {
        if js::FUNCTIONS.contains(&n.kind())
            && let Some(h) = as_handler(n, src)
        {
            return Some(h);
        }
        cur = n.parent();
    }
    None
}

/// Reports service-role queries whose rows are chosen by request input in unverified handlers.
pub fn check_file(sink: &mut Sink<'_, '_>) {
    if sink.active(Check::ServiceRoleQueryFromRequest).is_none() {
        return;
    }
    let ctx = sink.ctx();
    let src: &str = &ctx.file.text;
    if !src.contains(".from(") && !src.contains("admin.") {
        return;
    }
    let Some(index) = sink.index() else {
        return;
    };
    for (range, message, severity) in find(&index, src) {
        sink.report(
            Check::ServiceRoleQueryFromRequest,
            range,
            Some(message),
            |f| {
                f.severity = severity;
            },
        );
    }
}

/// What request input does to a service-role query of a request handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryInput {
    /// Request input picks its rows (filters, owner keys of written rows): this check judges it.
    PicksRows,
    /// Request input reaches it without picking rows (a written field, a search term).
    Reaches,
    /// No request input reaches it: server-side data, written or read for whoever calls.
    None,
}

/// The service-role Supabase queries of request handlers in a file (the chain's range), with
/// what request input does to each. Queries outside handlers (helpers) are not listed.
pub fn handler_queries(root: Node<'_>, src: &str) -> Vec<(Range<usize>, QueryInput)> {
    let index = js::Index::new(root);
    handler_calls(&index, src)
        .into_iter()
        .map(|c| {
            let outer = if c.from { chain(c.call, src).1 } else { c.call };
            let input = if c.query.is_some() {
                QueryInput::PicksRows
            } else if mentions(outer, &c.flow.tainted, src) {
                QueryInput::Reaches
            } else {
                QueryInput::None
            };
            (outer.byte_range(), input)
        })
        .collect()
}

/// A service-role query of a request handler: the `.from(...)` or admin-method call, its
/// handler and request flow, and the rows request input picks, if it picks any.
struct HandlerCall<'t> {
    call: Node<'t>,
    from: bool,
    handler: Handler<'t>,
    flow: Flow,
    query: Option<Query>,
}

/// Every service-role query of the file's request handlers.
fn handler_calls<'t>(index: &js::Index<'t>, src: &str) -> Vec<HandlerCall<'t>> {
    let clients = Clients::find(index, src);
    if clients.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for call in index.of(&["call_expression"]) {
        let method = js::method_name(call, src);
        let from = method == Some("from");
        if !from && !method.is_some_and(|m| ADMIN_METHODS.contains(&m)) {
            continue;
        }
        if from && !js::receiver(call).is_some_and(|r| clients.is_client(r, index, src)) {
            continue;
        }
        let Some(handler) = handler_of(call, src) else {
            continue;
        };
        let flow = Flow::of(&handler, src);
        let query = if from {
            query_inputs(call, &flow, src)
        } else {
            admin_call_inputs(call, &clients, index, &flow, src)
        };
        out.push(HandlerCall {
            call,
            from,
            handler,
            flow,
            query,
        });
    }
    out
}

/// The service-role queries of a file chosen by request input in unverified handlers, with
/// their message and severity.
fn find(index: &js::Index<'_>, src: &str) -> Vec<(Range<usize>, String, Severity)> {
    let mut hits = Vec::new();
    for HandlerCall {
        call,
        handler,
        flow,
        query,
        ..
    } in handler_calls(index, src)
    {
        let Some(q) = query else {
            continue;
        };
        if flow.guarded {
            continue;
        }
        let inputs = q.inputs.join("`, `");
        let verb = match q.op {
            "update" => "updated",
            "delete" => "deleted",
            "insert" => "inserted",
            "upsert" => "upserted",
            _ => "read",
        };
        let act = if q.writes { "change" } else { "read" };
        if !flow.verified {
            hits.push((
                q.range,
                format!("`{}` rows are {verb} with the service-role client (RLS is bypassed) by request input (`{inputs}`), and the handler never verifies the caller: anyone can {act} anyone's rows", q.table),
                if q.writes { Severity::High } else { Severity::Medium },
            ));
        } else if q.writes
            && !flow.checks_role
            && !flow.identity.is_empty()
            && !flow.relates_to_identity(
                js::ancestor(
                    call,
                    &[
                        "expression_statement",
                        "lexical_declaration",
                        "variable_declaration",
                        "return_statement",
                    ],
                )
                .unwrap_or(call),
                handler.function,
                src,
            )
        {
            hits.push((
                q.range,
                format!("`{}` rows are {verb} with the service-role client (RLS is bypassed) by request input (`{inputs}`); the caller is signed in but the row is never tied to their user id, so any user can change anyone's rows", q.table),
                Severity::Medium,
            ));
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use crate::parse::{Grammar, parse};
    use crate::rules::Severity;

    const ADMIN: &str = "const admin = createClient(Deno.env.get('SUPABASE_URL')!, Deno.env.get('SUPABASE_SERVICE_ROLE_KEY')!);\n";

    fn severities(handler: &str) -> Vec<Severity> {
        let src = format!("{ADMIN}{handler}");
        let tree = parse(Grammar::TypeScript, &src).expect("parses");
        super::find(&crate::platform::js::Index::new(tree.root_node()), &src)
            .into_iter()
            .map(|(_, _, s)| s)
            .collect()
    }

    #[test]
    fn request_values_choosing_rows_are_reported() {
        assert_eq!(
            severities(
                "Deno.serve(async (req) => { const { id } = await req.json(); await admin.from('notes').delete().eq('id', id); });"
            ),
            vec![Severity::High]
        );
        assert_eq!(
            severities(
                "Deno.serve(async (req) => { const url = new URL(req.url); await admin.from('orders').select().eq('user_id', url.searchParams.get('u')); });"
            ),
            vec![Severity::Medium]
        );
        assert_eq!(
            severities(
                "export async function deleteNote(id: string) { 'use server'; await admin.from('notes').delete().in('id', [id]); }"
            ),
            vec![Severity::High]
        );
    }

    #[test]
    fn verified_and_scoped_handlers_are_quiet() {
        // scoped to the verified user
        assert!(severities("Deno.serve(async (req) => { const { data: { user } } = await admin.auth.getUser(req.headers.get('Authorization')!); const { id } = await req.json(); await admin.from('notes').delete().eq('id', id).eq('user_id', user!.id); });").is_empty());
        // no request input reaches the query
        assert!(severities("Deno.serve(async (req) => { await admin.from('notes').delete().eq('status', 'draft'); });").is_empty());
        // reads by a non-identifying column
        assert!(severities("Deno.serve(async (req) => { const { slug } = await req.json(); await admin.from('posts').select().eq('slug', slug); });").is_empty());
        // verified, but a role check decides
        assert!(severities("Deno.serve(async (req) => { const { data: { user } } = await admin.auth.getUser(); if (user.app_metadata.role !== 'admin') return; const { id } = await req.json(); await admin.from('notes').delete().eq('id', id); });").is_empty());
        // a cron secret compared through variables
        assert!(severities("export async function POST(req: Request) { const authHeader = req.headers.get('Authorization'); const expected = `Bearer ${process.env.CRON_SECRET}`; if (authHeader !== expected) return new Response(null, { status: 401 }); const { id } = await req.json(); await admin.from('configs').update({ schedule: null }).eq('id', id); }").is_empty());
    }

    #[test]
    fn comparisons_of_ordinary_variables_verify_nobody() {
        assert_eq!(
            severities(
                "export async function POST(req: Request) { const { id, kind } = await req.json(); const wanted = 'note'; if (kind !== wanted) return; await admin.from('notes').delete().eq('id', id); }"
            ),
            vec![Severity::High]
        );
    }

    #[test]
    fn verified_but_unrelated_writes_are_medium() {
        assert_eq!(
            severities(
                "Deno.serve(async (req) => { const { data: { user } } = await admin.auth.getUser(); if (!user) return; const { id } = await req.json(); await admin.from('notes').delete().eq('id', id); });"
            ),
            vec![Severity::Medium]
        );
    }
}
