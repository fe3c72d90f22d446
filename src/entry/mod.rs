//! Entry points: the functions the outside world can call, per framework, how the request
//! arrives and which middleware runs before them.
//!
//! [`module`] reads one parsed JS/TS file into a [`Module`]: owned, tree-free facts (entry points,
//! imports, `use` chains, named functions) small enough to keep until the project pass, where
//! [`resolve_import`] joins files. Analyzers decide what the facts mean: `authz` looks for
//! privileged operations no caller check guards; the data-flow analyzer can take the request
//! parameters ([`EntryPoint::request`]) as sources. Nothing here reports findings.
//!
//! Frameworks modelled (by call shape, or by file path where the framework routes by file):
//!
//! | framework | entry point | how it is found |
//! |---|---|---|
//! | Express, Fastify, Koa router, Hono | `x.get/post/put/patch/delete/all("/path", ...mw, handler)` | call shape; `x.use(...)` recorded as [`Use`] |
//! | Next.js App Router | exported `GET`/`POST`/... of `app/**/route.ts` | path + export |
//! | Next.js Pages API, Vercel | default export of `pages/api/**` | path + export |
//! | server actions | exported functions of a `'use server'` module | directive |
//! | SvelteKit, Astro, Remix, Nuxt | `+server.ts` / `src/pages/**.ts` exports, `action`, `defineEventHandler` | path + export |
//! | Supabase edge functions | `Deno.serve(h)` / `serve(h)` in `supabase/functions/*/` | call + path |
//! | Firebase Cloud Functions | `onCall`, `onRequest`, `https.onCall` (v1 and v2) | call |
//! | Convex | `mutation({ handler })`, `action({ handler })` | call |
//! | tRPC | `xProcedure....mutation(h)` (the base procedure is the middleware) | call chain |
//! | Netlify, Lambda | exported `handler` under `netlify/functions`, `functions`, `lambda` | path + export |
//! | Parse Cloud Code | `Parse.Cloud.define("name", handler, { requireUser })` (options become middleware) | call |
//! | NestJS | `@Get()`/`@Post()`/... methods of an `@Controller()` class; `@UseGuards(...)` on the method or class is middleware | decorators |

use std::ops::Range;

use tree_sitter::Node;

use crate::parse::ChildField;
use crate::parse::{function_params, named_children};

/// The framework an entry point belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Framework {
    /// Express-style routers: Express, Fastify, Koa router, Hono.
    Express,
    /// Next.js App Router `route.ts` handlers.
    NextRoute,
    /// Next.js Pages API routes (and Vercel `api/` functions).
    NextPagesApi,
    /// Exported functions of a `'use server'` module.
    ServerAction,
    /// `SvelteKit`, Astro, Remix and Nuxt file-routed endpoints.
    FileRoute,
    /// Supabase edge functions.
    SupabaseEdge,
    /// Firebase Cloud Functions (`onCall`, `onRequest`).
    Firebase,
    /// Convex public `mutation`/`action`.
    Convex,
    /// tRPC procedures.
    Trpc,
    /// Netlify and AWS Lambda handlers.
    Serverless,
    /// Parse Cloud Code functions (`Parse.Cloud.define`).
    Parse,
    /// `NestJS` controller methods.
    Nest,
}

impl Framework {
    /// A short human name, used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Framework::Express => "route",
            Framework::NextRoute => "Next.js route handler",
            Framework::NextPagesApi => "API route",
            Framework::ServerAction => "server action",
            Framework::FileRoute => "endpoint",
            Framework::SupabaseEdge => "edge function",
            Framework::Firebase => "Cloud Function",
            Framework::Convex => "Convex function",
            Framework::Trpc => "tRPC procedure",
            Framework::Serverless => "serverless function",
            Framework::Parse => "Cloud Code function",
            Framework::Nest => "NestJS route",
        }
    }
}

/// Where the code of an entry point is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handler {
    /// A function written in place (byte range of the function node).
    Inline(Range<usize>),
    /// A function referred to by name: `handler`, or `controller.create` (resolved later,
    /// possibly in another file through an [`Import`]).
    Named(String),
}

/// A function the outside world can call.
#[derive(Clone, Debug)]
pub struct EntryPoint {
    /// The framework.
    pub framework: Framework,
    /// HTTP method (`POST`), or the kind of call (`call`, `mutation`, `action`).
    pub method: String,
    /// The route (`/api/users/:id`) or the function's name.
    pub route: String,
    /// Where it is registered or exported (the span to point users at).
    pub site: Range<usize>,
    /// The handler.
    pub handler: Handler,
    /// Names of the middleware, guards and wrappers that run first, in order (route-level only;
    /// router- and app-level chains are in [`Module::uses`]).
    pub middleware: Vec<String>,
    /// The router or app variable the route was registered on (Express style).
    pub router: Option<String>,
    /// How the request arrives: the handler's first parameter as written (`req`,
    /// `{ request }`, `request: NextRequest`), when the handler is inline.
    pub request: Option<String>,
}

/// An imported name: `import { a as b } from "s"` gives local `b`, imported `a`; default and
/// namespace imports (and `const x = require("s")`) have no imported name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// The local name.
    pub local: String,
    /// The module specifier as written.
    pub source: String,
    /// The exported name, or `None` for default/namespace imports.
    pub imported: Option<String>,
}

/// A `x.use(...)` call: global middleware or a router mounted on a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Use {
    /// The app or router variable.
    pub target: String,
    /// The mount path, when the first argument is a string.
    pub path: Option<String>,
    /// Every other argument by name (middleware, wrappers and routers alike; the project pass
    /// tells routers apart by resolving them).
    pub args: Vec<String>,
    /// Byte offset of the call (middleware applies to what is registered after it).
    pub offset: usize,
}

/// A named function of the module (declaration, or a `const` bound to a function).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    /// Its name.
    pub name: String,
    /// Byte range of the function node.
    pub range: Range<usize>,
}

/// What one file says about entry points.
#[derive(Clone, Debug, Default)]
pub struct Module {
    /// Entry points registered or exported here.
    pub entries: Vec<EntryPoint>,
    /// Imports and `require`s.
    pub imports: Vec<Import>,
    /// `x.use(...)` calls, in source order.
    pub uses: Vec<Use>,
    /// Named functions.
    pub functions: Vec<Function>,
    /// The name of the default export (`module.exports = x` included), when it is a name.
    pub default_export: Option<String>,
    /// Comment spans, so analyzers can ignore commented-out code.
    pub comments: Vec<Range<usize>>,
    /// Multi-line template strings: documents the code builds (security rules, SQL, prompts),
    /// whose text is data, not code the function runs.
    pub documents: Vec<Range<usize>>,
    /// `NestJS` guards applied to every route (`app.useGlobalGuards(new JwtAuthGuard())`,
    /// `{ provide: APP_GUARD, useClass: JwtAuthGuard }`).
    pub global_guards: Vec<String>,
}

impl Module {
    /// The function defined here under `name`.
    pub fn function(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// The import that binds `local`.
    pub fn import(&self, local: &str) -> Option<&Import> {
        self.imports.iter().find(|i| i.local == local)
    }
}

const HTTP_METHODS: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "del", "all", "options",
];
const EXPORTED_METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "ALL", "DEL"];

/// Reads the entry-point facts of one file. `path` is the display path (with `/`), which decides
/// the file-routed frameworks.
pub fn module(path: &str, text: &str, root: Node<'_>) -> Module {
    let routing = FileRouting::of(path, text);
    let mut m = Module::default();
    // each node with its parent and grandparent: `Node::parent` walks down from the root, so
    // asking it for every node of a deeply nested file is quadratic
    let mut stack = vec![(root, None, None)];
    while let Some((node, parent, grandparent)) = stack.pop() {
        match node.kind() {
            "import_statement" => read_import(node, text, &mut m),
            "variable_declarator" => {
                let exported =
                    grandparent.is_some_and(|g: Node<'_>| g.kind() == "export_statement");
                read_declarator(node, exported, text, &routing, &mut m);
            }
            "function_declaration" | "generator_function_declaration" => {
                if let Some(name) = node.child_field("name") {
                    let name = src(name, text).to_string();
                    routing.exported_function(node, parent, &name, text, &mut m);
                    m.functions.push(Function {
                        name,
                        range: node.byte_range(),
                    });
                }
            }
            "export_statement" => read_default_export(node, text, &routing, &mut m),
            "assignment_expression" => read_commonjs_export(node, text, &routing, &mut m),
            "call_expression" => read_call(node, text, path, &mut m),
            "class_declaration" => read_nest_controller(node, parent, text, &mut m),
            "object" => read_app_guard(node, text, &mut m),
            "comment" => m.comments.push(node.byte_range()),
            "template_string" if src(node, text).contains('\n') => {
                m.documents.push(node.byte_range());
            }
            _ => {}
        }
        let mut cursor = node.walk();
        let children: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
        stack.extend(
            children
                .into_iter()
                .rev()
                .map(|child| (child, Some(node), parent)),
        );
    }
    m
}

/// Whether a file may register or export entry points, judged from its path and text without
/// parsing: route registrations, `use` chains, file-routed paths, `'use server'`, platform
/// function wrappers. A cheap gate: files that fail it need no entry-point model.
pub fn may_have_entry_points(path: &str, text: &str) -> bool {
    static MARKERS: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = MARKERS.get_or_init(|| {
        regex::Regex::new(concat!(
            r#"\.(?:get|post|put|patch|delete|del|all|use)\(\s*['"`][/*]"#,
            r"|\b(?:app|router|server|api|routes)\.use\(",
            r"|Deno\.serve\(|\bserve\(|\bonCall\b|\bonRequest\b|\b(?:mutation|action|httpAction)\(\s*\{",
            r"|Procedure\b|exports\.handler\b|export\s+(?:const|async\s+function|function)\s+handler\b",
            r"|Parse\.Cloud\.define\(|@Controller\(|\bAPP_GUARD\b|useGlobalGuards\(",
        ))
        .expect("entry marker regex is valid")
    });
    FileRouting::of(path, text).kind.is_some() || re.is_match(text)
}

/// The text of a node.
fn src<'t>(node: Node<'_>, text: &'t str) -> &'t str {
    text.get(node.byte_range()).unwrap_or("")
}

/// A string literal's value.
fn string_value<'t>(node: Node<'_>, text: &'t str) -> Option<&'t str> {
    matches!(node.kind(), "string" | "template_string")
        .then(|| src(node, text))
        .map(|s| s.trim_matches(|c| c == '"' || c == '\'' || c == '`'))
}

fn is_function(node: Node<'_>) -> bool {
    matches!(
        node.kind(),
        "arrow_function" | "function_expression" | "function" | "function_declaration"
    )
}

/// Parentheses, `await`, `as` and `satisfies` removed.
fn unwrap(mut node: Node<'_>) -> Node<'_> {
    while matches!(
        node.kind(),
        "parenthesized_expression" | "await_expression" | "as_expression" | "satisfies_expression"
    ) {
        match named_children(node).first() {
            Some(inner) => node = *inner,
            None => break,
        }
    }
    node
}

/// The first parameter of a function as written.
fn request_param(function: Node<'_>, text: &str) -> Option<String> {
    function_params(function)
        .first()
        .map(|p| src(*p, text).to_string())
}

/// The function written in place behind `node`, through wrappers (`withAuth(async (req) => ...)`).
fn inline_function(node: Node<'_>) -> Option<Node<'_>> {
    let node = unwrap(node);
    if is_function(node) {
        return Some(node);
    }
    if node.kind() != "call_expression" {
        return None;
    }
    let args = node.child_field("arguments").map(named_children)?;
    args.into_iter().rev().find_map(inline_function)
}

/// How the request arrives at the handler behind `node`: its first parameter as written.
fn request_of(node: Node<'_>, text: &str) -> Option<String> {
    inline_function(node).and_then(|f| request_param(f, text))
}

/// The handler behind `node`, with the wrappers around it (`withAuth(handler)`) added to
/// `middleware`.
fn handler_of(node: Node<'_>, text: &str, middleware: &mut Vec<String>) -> Option<Handler> {
    if crate::engine::stack::exhausted() {
        return None;
    }
    let node = unwrap(node);
    match node.kind() {
        _ if is_function(node) => Some(Handler::Inline(node.byte_range())),
        "identifier" | "member_expression" => Some(Handler::Named(src(node, text).to_string())),
        "call_expression" => {
            let callee = node.child_field("function")?;
            let args = node
                .child_field("arguments")
                .map(named_children)
                .unwrap_or_default();
            // a wrapper takes the handler as an argument: the last function-like one
            let inner = args.iter().rev().find(|a| {
                let a = unwrap(**a);
                is_function(a) || matches!(a.kind(), "identifier" | "call_expression")
            })?;
            middleware.push(src(callee, text).to_string());
            handler_of(*inner, text, middleware)
        }
        _ => None,
    }
}

/// Names of middleware arguments: identifiers, members, calls (by callee), arrays of those, and
/// Fastify option objects (`preHandler`, `onRequest`, `preValidation`).
fn middleware_names(node: Node<'_>, text: &str, out: &mut Vec<String>) {
    if crate::engine::stack::exhausted() {
        return;
    }
    let node = unwrap(node);
    match node.kind() {
        "identifier" | "member_expression" => out.push(src(node, text).to_string()),
        "call_expression" => {
            if let Some(callee) = node.child_field("function") {
                out.push(src(callee, text).to_string());
            }
        }
        "array" => {
            for e in named_children(node) {
                middleware_names(e, text, out);
            }
        }
        "object" => {
            for pair in named_children(node) {
                let key = pair.child_field("key").map(|k| src(k, text));
                if matches!(
                    key,
                    Some("preHandler" | "onRequest" | "preValidation" | "beforeHandle")
                ) && let Some(v) = pair.child_field("value")
                {
                    middleware_names(v, text, out);
                }
            }
        }
        _ => {}
    }
}

fn read_import(node: Node<'_>, text: &str, m: &mut Module) {
    let Some(source) = node
        .child_field("source")
        .and_then(|s| string_value(s, text))
    else {
        return;
    };
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        match n.kind() {
            "import_clause" => {
                for c in named_children(n) {
                    if c.kind() == "identifier" {
                        m.imports.push(Import {
                            local: src(c, text).to_string(),
                            source: source.to_string(),
                            imported: None,
                        });
                    } else {
                        stack.push(c);
                    }
                }
            }
            "namespace_import" => {
                if let Some(id) = named_children(n)
                    .into_iter()
                    .find(|c| c.kind() == "identifier")
                {
                    m.imports.push(Import {
                        local: src(id, text).to_string(),
                        source: source.to_string(),
                        imported: None,
                    });
                }
            }
            "import_specifier" => {
                let name = n.child_field("name").map(|x| src(x, text));
                let alias = n.child_field("alias").map(|x| src(x, text));
                if let Some(name) = name {
                    m.imports.push(Import {
                        local: alias.unwrap_or(name).to_string(),
                        source: source.to_string(),
                        imported: Some(name.to_string()),
                    });
                }
            }
            _ => stack.extend(named_children(n)),
        }
    }
}

/// `const x = require("s")`, `const { a, b: c } = require("s")`, `const f = () => ...`.
/// `exported`: the declaration is inside an `export` statement.
fn read_declarator(
    node: Node<'_>,
    exported: bool,
    text: &str,
    routing: &FileRouting,
    m: &mut Module,
) {
    let (Some(name), Some(value)) = (node.child_field("name"), node.child_field("value")) else {
        return;
    };
    let value = unwrap(value);
    if value.kind() == "call_expression"
        && value
            .child_field("function")
            .is_some_and(|f| src(f, text) == "require")
    {
        let Some(source) = value
            .child_field("arguments")
            .and_then(|a| named_children(a).first().copied())
            .and_then(|s| string_value(s, text))
        else {
            return;
        };
        if name.kind() == "identifier" {
            m.imports.push(Import {
                local: src(name, text).to_string(),
                source: source.to_string(),
                imported: None,
            });
        } else if name.kind() == "object_pattern" {
            for p in named_children(name) {
                let (imported, local) = match p.kind() {
                    "shorthand_property_identifier_pattern" => (src(p, text), src(p, text)),
                    "pair_pattern" => (
                        p.child_field("key").map_or("", |k| src(k, text)),
                        p.child_field("value").map_or("", |v| src(v, text)),
                    ),
                    _ => continue,
                };
                m.imports.push(Import {
                    local: local.to_string(),
                    source: source.to_string(),
                    imported: Some(imported.to_string()),
                });
            }
        }
        return;
    }
    if name.kind() != "identifier" {
        return;
    }
    let name_text = src(name, text).to_string();
    if is_function(value) {
        m.functions.push(Function {
            name: name_text.clone(),
            range: value.byte_range(),
        });
    }
    if exported {
        routing.exported_value(&name_text, value, node, text, m);
    }
}

/// `export default x`, `export default function ...`, `export default withAuth(h)`.
fn read_default_export(node: Node<'_>, text: &str, routing: &FileRouting, m: &mut Module) {
    let is_default = {
        let mut cursor = node.walk();
        node.children(&mut cursor).any(|c| c.kind() == "default")
    };
    if !is_default {
        return;
    }
    let value = node
        .child_field("value")
        .or_else(|| node.child_field("declaration"));
    let Some(value) = value else { return };
    if value.kind() == "identifier" {
        m.default_export = Some(src(value, text).to_string());
    } else if let Some(name) = value.child_field("name")
        && is_function(value)
    {
        m.default_export = Some(src(name, text).to_string());
    }
    routing.default_export(value, node, text, m);
}

/// `module.exports = x`, `exports.name = handler`, `module.exports.handler = ...`.
fn read_commonjs_export(node: Node<'_>, text: &str, routing: &FileRouting, m: &mut Module) {
    let (Some(left), Some(right)) = (node.child_field("left"), node.child_field("right")) else {
        return;
    };
    let left_text = src(left, text);
    let right = unwrap(right);
    if left_text == "module.exports" {
        if right.kind() == "identifier" {
            m.default_export = Some(src(right, text).to_string());
        }
        return;
    }
    let Some(name) = left_text
        .strip_prefix("module.exports.")
        .or_else(|| left_text.strip_prefix("exports."))
    else {
        return;
    };
    if is_function(right) {
        m.functions.push(Function {
            name: name.to_string(),
            range: right.byte_range(),
        });
    }
    routing.exported_value(name, right, node, text, m);
}

/// Route registrations, `use` chains and callable platform functions.
fn read_call(node: Node<'_>, text: &str, path: &str, m: &mut Module) {
    let Some(function) = node.child_field("function") else {
        return;
    };
    let args = node
        .child_field("arguments")
        .map(named_children)
        .unwrap_or_default();
    let callee = src(function, text);
    if function.kind() == "member_expression" {
        let object = function.child_field("object");
        let property = function
            .child_field("property")
            .map_or("", |p| src(p, text));
        let object_text = object.map_or("", |o| src(o, text));
        if property == "use" && object.is_some_and(|o| o.kind() == "identifier") {
            let mut use_ = Use {
                target: object_text.to_string(),
                path: None,
                args: Vec::new(),
                offset: node.start_byte(),
            };
            for (i, a) in args.iter().enumerate() {
                match string_value(*a, text) {
                    Some(p) if i == 0 => use_.path = Some(p.to_string()),
                    _ => middleware_names(*a, text, &mut use_.args),
                }
            }
            m.uses.push(use_);
            return;
        }
        if HTTP_METHODS.contains(&property)
            && args.len() >= 2
            && let Some(route) = string_value(args[0], text)
            && (route.starts_with('/') || route == "*")
        {
            let mut middleware = Vec::new();
            for a in &args[1..args.len() - 1] {
                middleware_names(*a, text, &mut middleware);
            }
            let last = args[args.len() - 1];
            let request = request_of(last, text);
            if let Some(handler) = handler_of(last, text, &mut middleware) {
                m.entries.push(EntryPoint {
                    framework: Framework::Express,
                    method: property.to_uppercase(),
                    route: route.to_string(),
                    site: node.byte_range(),
                    handler,
                    middleware,
                    router: object
                        .filter(|o| o.kind() == "identifier")
                        .map(|o| src(o, text).to_string()),
                    request,
                });
            }
            return;
        }
        // tRPC: publicProcedure.input(schema).mutation(async ({ ctx, input }) => ...)
        if matches!(property, "mutation" | "query" | "subscription")
            && object_text.contains("rocedure")
            && let Some(last) = args.last()
        {
            let base = object_text
                .split(['.', '('])
                .next()
                .unwrap_or(object_text)
                .trim();
            let mut middleware = vec![base.to_string()];
            if let Some(handler) = handler_of(*last, text, &mut middleware) {
                m.entries.push(EntryPoint {
                    framework: Framework::Trpc,
                    method: property.to_string(),
                    route: enclosing_name(node, text).unwrap_or_default(),
                    site: node.byte_range(),
                    handler,
                    middleware,
                    router: None,
                    request: None,
                });
            }
            return;
        }
    }
    let last_segment = callee.rsplit('.').next().unwrap_or(callee);
    if last_segment == "useGlobalGuards" {
        let mut guards = Vec::new();
        for a in &args {
            let a = unwrap(*a);
            let name = if a.kind() == "new_expression" {
                a.child_field("constructor").map_or("", |c| src(c, text))
            } else {
                src(a, text)
            };
            guards.push(name.to_string());
        }
        m.global_guards.extend(guards);
        return;
    }
    // Parse Cloud Code: Parse.Cloud.define("name", handler, { requireUser: true })
    if callee == "Parse.Cloud.define"
        && args.len() >= 2
        && let Some(name) = string_value(args[0], text)
    {
        let mut middleware = Vec::new();
        if let Some(options) = args.get(2).filter(|a| a.kind() == "object") {
            for pair in named_children(*options) {
                let key = pair.child_field("key").map(|k| src(k, text));
                let value = pair.child_field("value").map(|v| src(v, text));
                let is_on = value.is_some_and(|v| v != "false");
                match key {
                    Some("requireUser") if is_on => middleware.push("requireUser".into()),
                    Some("requireMaster") if is_on => middleware.push("requireMaster".into()),
                    Some("requireAnyUserRoles" | "requireAllUserRoles") => {
                        middleware.push("requireUserRoles".into());
                    }
                    _ => {}
                }
            }
        }
        if let Some(handler) = handler_of(args[1], text, &mut middleware) {
            m.entries.push(EntryPoint {
                framework: Framework::Parse,
                method: "define".into(),
                route: name.to_string(),
                site: node.byte_range(),
                handler,
                middleware,
                router: None,
                request: request_of(args[1], text),
            });
        }
        return;
    }
    // Supabase edge functions and Deno servers
    if (callee == "Deno.serve" || callee == "serve") && path.contains("supabase/functions/") {
        if let Some(last) = args.last() {
            let mut middleware = Vec::new();
            if let Some(handler) = handler_of(*last, text, &mut middleware) {
                let request = match &handler {
                    Handler::Inline(_) => request_param(unwrap(*last), text),
                    Handler::Named(_) => None,
                };
                m.entries.push(EntryPoint {
                    framework: Framework::SupabaseEdge,
                    method: "POST".into(),
                    route: edge_function_name(path),
                    site: node.byte_range(),
                    handler,
                    middleware,
                    router: None,
                    request,
                });
            }
        }
        return;
    }
    // Firebase Cloud Functions, v1 (`functions.https.onCall`) and v2 (`onCall`)
    if matches!(last_segment, "onCall" | "onRequest")
        && let Some(last) = args.last()
        && is_function(unwrap(*last))
    {
        let mut middleware = Vec::new();
        if let Some(handler) = handler_of(*last, text, &mut middleware) {
            m.entries.push(EntryPoint {
                framework: Framework::Firebase,
                method: last_segment.to_string(),
                route: enclosing_name(node, text).unwrap_or_else(|| last_segment.into()),
                site: node.byte_range(),
                handler,
                middleware,
                router: None,
                request: request_param(unwrap(*last), text),
            });
        }
        return;
    }
    // Convex: mutation({ args, handler: async (ctx, args) => ... }); internal ones are not public
    if matches!(callee, "mutation" | "action" | "httpAction")
        && let Some(object) = args.first().filter(|a| a.kind() == "object")
    {
        for pair in named_children(*object) {
            if pair.child_field("key").map(|k| src(k, text)) == Some("handler")
                && let Some(v) = pair.child_field("value")
                && is_function(unwrap(v))
            {
                m.entries.push(EntryPoint {
                    framework: Framework::Convex,
                    method: callee.to_string(),
                    route: enclosing_name(node, text).unwrap_or_else(|| callee.into()),
                    site: node.byte_range(),
                    handler: Handler::Inline(unwrap(v).byte_range()),
                    middleware: Vec::new(),
                    router: None,
                    request: request_param(unwrap(v), text),
                });
            }
        }
    }
}

/// The decorators written right before a class (`@Controller("users")`, `@UseGuards(A)`):
/// its own, its previous siblings (tree-sitter-typescript keeps them as siblings of the
/// declaration) and those of the `export` statement around it. `parent` is the class's parent,
/// from the caller's walk (`Node::parent` costs the depth of the tree).
fn decorators<'t>(node: Node<'t>, parent: Option<Node<'t>>, text: &str) -> Vec<Node<'t>> {
    let mut out: Vec<Node<'t>> = named_children(node)
        .into_iter()
        .filter(|c| c.kind() == "decorator")
        .collect();
    if let Some(parent) = parent {
        // the siblings are read only where the text before the class ends as a decorator does
        // (`@A`, `@A()`, `@A<T>()`): finding a sibling costs the width of the parent
        let before = text.get(..node.start_byte()).unwrap_or("").trim_end();
        if before.ends_with(|c: char| matches!(c, ')' | '>' | '_' | '$') || c.is_alphanumeric()) {
            let siblings = named_children(parent);
            if let Some(at) = siblings.iter().position(|s| s.id() == node.id()) {
                out.extend(
                    siblings[..at]
                        .iter()
                        .rev()
                        .take_while(|s| s.kind() == "decorator"),
                );
            }
        }
        if parent.kind() == "export_statement" {
            out.extend(
                named_children(parent)
                    .into_iter()
                    .filter(|c| c.kind() == "decorator"),
            );
        }
    }
    out.sort_by_key(Node::start_byte);
    out.dedup_by_key(|d| d.start_byte());
    out
}

/// A decorator's name and its first argument's text: `@Post(":id")` gives (`Post`, `":id"`).
fn decorator_call<'n, 't>(decorator: Node<'n>, text: &'t str) -> (&'t str, Vec<Node<'n>>) {
    let Some(inner) = named_children(decorator).into_iter().next() else {
        return ("", Vec::new());
    };
    match inner.kind() {
        "call_expression" => {
            let name = inner.child_field("function").map_or("", |f| src(f, text));
            let args = inner
                .child_field("arguments")
                .map(named_children)
                .unwrap_or_default();
            (name, args)
        }
        _ => (src(inner, text), Vec::new()),
    }
}

/// Guard names in `@UseGuards(AuthGuard("jwt"), RolesGuard)`, and role metadata
/// (`@Roles("admin")`) as a `Roles` guard.
fn nest_guards(decorators: &[Node<'_>], text: &str, out: &mut Vec<String>) {
    for d in decorators {
        let (name, args) = decorator_call(*d, text);
        if name == "UseGuards" {
            for a in args {
                let a = unwrap(a);
                let guard = match a.kind() {
                    "call_expression" => a
                        .child_field("function")
                        .map_or("", |f| src(f, text))
                        .to_string(),
                    "new_expression" => a
                        .child_field("constructor")
                        .map_or("", |f| src(f, text))
                        .to_string(),
                    _ => src(a, text).to_string(),
                };
                out.push(guard);
            }
        } else if matches!(name, "Roles" | "Role" | "RequireRoles" | "Permissions") {
            out.push(format!("{name}Guard"));
        } else if matches!(name, "Public" | "AllowAnonymous" | "SkipAuth" | "IsPublic") {
            out.push("Public".into());
        }
    }
}

/// `{ provide: APP_GUARD, useClass: JwtAuthGuard }` in a module's providers.
fn read_app_guard(object: Node<'_>, text: &str, m: &mut Module) {
    let pairs = named_children(object);
    let value_of = |key: &str| {
        pairs.iter().find_map(|p| {
            (p.kind() == "pair" && p.child_field("key").map(|k| src(k, text)) == Some(key))
                .then(|| p.child_field("value").map(|v| src(v, text)))
                .flatten()
        })
    };
    if value_of("provide") == Some("APP_GUARD")
        && let Some(guard) = value_of("useClass").or_else(|| value_of("useExisting"))
    {
        m.global_guards.push(guard.to_string());
    }
}

/// `NestJS`: each `@Get()`/`@Post()`/... method of an `@Controller("path")` class is an entry
/// point; `@UseGuards` on the class and the method are its middleware, in that order.
fn read_nest_controller<'t>(class: Node<'t>, parent: Option<Node<'t>>, text: &str, m: &mut Module) {
    let class_decorators = decorators(class, parent, text);
    let Some(prefix) = class_decorators.iter().find_map(|d| {
        let (name, args) = decorator_call(*d, text);
        (name == "Controller").then(|| {
            args.first()
                .and_then(|a| string_value(*a, text))
                .unwrap_or("")
                .to_string()
        })
    }) else {
        return;
    };
    let mut class_guards = Vec::new();
    nest_guards(&class_decorators, text, &mut class_guards);
    let Some(body) = class.child_field("body") else {
        return;
    };
    let members = named_children(body);
    for (i, member) in members.iter().enumerate() {
        if member.kind() != "method_definition" {
            continue;
        }
        // decorators of a method are its preceding `decorator` siblings in the class body
        let mut own: Vec<Node<'_>> = named_children(*member)
            .into_iter()
            .filter(|c| c.kind() == "decorator")
            .collect();
        own.extend(
            members[..i]
                .iter()
                .rev()
                .take_while(|c| c.kind() == "decorator")
                .copied(),
        );
        let Some((method, path)) = own.iter().find_map(|d| {
            let (name, args) = decorator_call(*d, text);
            let method = match name {
                "Get" | "Post" | "Put" | "Patch" | "Delete" | "All" => name.to_uppercase(),
                _ => return None,
            };
            let path = args
                .first()
                .and_then(|a| string_value(*a, text))
                .unwrap_or("");
            Some((method, path.to_string()))
        }) else {
            continue;
        };
        let mut middleware = class_guards.clone();
        nest_guards(&own, text, &mut middleware);
        let route =
            format!("/{}/{}", prefix.trim_matches('/'), path.trim_matches('/')).replace("//", "/");
        let route = if route.len() > 1 {
            route.trim_end_matches('/').to_string()
        } else {
            route
        };
        m.entries.push(EntryPoint {
            framework: Framework::Nest,
            method,
            route,
            site: member.byte_range(),
            handler: Handler::Inline(member.byte_range()),
            middleware,
            router: None,
            request: None,
        });
    }
}

/// The name a call's value is bound to: `export const x = onCall(...)`, `exports.x = ...`.
fn enclosing_name(node: Node<'_>, text: &str) -> Option<String> {
    let mut cur = node.parent();
    for _ in 0..4 {
        let n = cur?;
        match n.kind() {
            "variable_declarator" => {
                return n.child_field("name").map(|x| src(x, text).to_string());
            }
            "assignment_expression" | "pair" => {
                let key = n.child_field("left").or_else(|| n.child_field("key"))?;
                let k = src(key, text);
                return Some(k.rsplit('.').next().unwrap_or(k).to_string());
            }
            _ => cur = n.parent(),
        }
    }
    None
}

/// `supabase/functions/<name>/index.ts` gives `<name>`.
fn edge_function_name(path: &str) -> String {
    path.split("supabase/functions/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("")
        .to_string()
}

/// How the file's path and directives make its exports entry points.
#[derive(Debug)]
struct FileRouting {
    kind: Option<(Framework, &'static [&'static str])>,
    route: String,
}

impl FileRouting {
    fn of(path: &str, text: &str) -> FileRouting {
        let file = path.rsplit('/').next().unwrap_or(path);
        let stem = file.split('.').next().unwrap_or(file);
        let in_dir = |dir: &str| path.starts_with(dir) || path.contains(&format!("/{dir}"));
        let use_server = text
            .trim_start()
            .strip_prefix(['"', '\''])
            .is_some_and(|rest| rest.starts_with("use server"));
        let kind: Option<(Framework, &'static [&'static str])> =
            if stem == "route" && in_dir("app/") {
                Some((Framework::NextRoute, &EXPORTED_METHODS))
            } else if in_dir("pages/api/") {
                Some((Framework::NextPagesApi, &["default"]))
            } else if stem == "+server" || (in_dir("src/pages/") && !file.ends_with('x')) {
                Some((Framework::FileRoute, &EXPORTED_METHODS))
            } else if stem == "+page" && file.contains(".server.") || in_dir("app/routes/") {
                Some((Framework::FileRoute, &["action", "actions"]))
            } else if in_dir("server/api/") {
                Some((Framework::FileRoute, &["default"]))
            } else if use_server {
                Some((Framework::ServerAction, &["*"]))
            } else if in_dir("netlify/functions/") || in_dir("lambda/") || in_dir("functions/") {
                Some((Framework::Serverless, &["handler"]))
            } else {
                None
            };
        FileRouting {
            kind,
            route: route_of(path),
        }
    }

    fn accepts(&self, name: &str) -> Option<Framework> {
        let (framework, names) = self.kind?;
        (names.contains(&"*") || names.contains(&name)).then_some(framework)
    }

    fn push(
        &self,
        framework: Framework,
        method: &str,
        site: Node<'_>,
        handler: Node<'_>,
        text: &str,
        m: &mut Module,
    ) {
        let mut middleware = Vec::new();
        let Some(h) = handler_of(handler, text, &mut middleware) else {
            return;
        };
        let request = request_of(handler, text);
        let route = if framework == Framework::ServerAction || framework == Framework::Serverless {
            method.to_string()
        } else {
            self.route.clone()
        };
        m.entries.push(EntryPoint {
            framework,
            method: method.to_uppercase(),
            route,
            site: site.byte_range(),
            handler: h,
            middleware,
            router: None,
            request,
        });
    }

    /// `export function POST(...)` / `export async function action(...)`.
    fn exported_function(
        &self,
        function: Node<'_>,
        parent: Option<Node<'_>>,
        name: &str,
        text: &str,
        m: &mut Module,
    ) {
        if parent.is_some_and(|p| {
            p.kind() == "export_statement" && !src(p, text).starts_with("export default")
        }) && let Some(framework) = self.accepts(name)
        {
            self.push(framework, name, function, function, text, m);
        }
    }

    /// `export const POST = ...`, `exports.handler = ...`, `export const actions = { ... }`.
    fn exported_value(
        &self,
        name: &str,
        value: Node<'_>,
        site: Node<'_>,
        text: &str,
        m: &mut Module,
    ) {
        let Some(framework) = self.accepts(name) else {
            return;
        };
        let value = unwrap(value);
        if name == "actions" && value.kind() == "object" {
            for pair in named_children(value) {
                let key = pair.child_field("key").map_or("default", |k| src(k, text));
                if let Some(v) = pair.child_field("value") {
                    self.push(framework, key, pair, v, text, m);
                } else if pair.kind() == "method_definition" {
                    self.push(framework, key, pair, pair, text, m);
                }
            }
            return;
        }
        if is_function(value) || value.kind() == "call_expression" {
            self.push(framework, name, site, value, text, m);
        }
    }

    fn default_export(&self, value: Node<'_>, site: Node<'_>, text: &str, m: &mut Module) {
        if let Some(framework) = self.accepts("default") {
            if value.kind() == "identifier" {
                m.entries.push(EntryPoint {
                    framework,
                    method: "ANY".into(),
                    route: self.route.clone(),
                    site: site.byte_range(),
                    handler: Handler::Named(src(value, text).to_string()),
                    middleware: Vec::new(),
                    router: None,
                    request: None,
                });
            } else {
                self.push(framework, "ANY", site, value, text, m);
            }
        }
    }
}

/// The URL a file-routed endpoint answers: `app/api/users/[id]/route.ts` gives
/// `/api/users/[id]`, `pages/api/users.ts` gives `/api/users`. Route groups `(x)` are dropped.
pub fn route_of(path: &str) -> String {
    let rest = ["pages/", "app/", "routes/", "server/"]
        .iter()
        .filter_map(|dir| {
            path.strip_prefix(dir).or_else(|| {
                path.find(&format!("/{dir}"))
                    .map(|i| &path[i + dir.len() + 1..])
            })
        })
        .next_back()
        .unwrap_or(path);
    let rest = rest.rsplit_once('.').map_or(rest, |(a, _)| a);
    let segments: Vec<&str> = rest
        .split('/')
        .filter(|s| !(s.starts_with('(') && s.ends_with(')')))
        .filter(|s| !matches!(*s, "route" | "index" | "+server" | "+page.server"))
        .collect();
    format!("/{}", segments.join("/"))
}

/// The display paths a relative or aliased import may name, most likely first. `from` is the
/// importing file's display path. Bare package names give nothing.
pub fn resolve_import(from: &str, source: &str) -> Vec<String> {
    let base = if let Some(rest) = source
        .strip_prefix("@/")
        .or_else(|| source.strip_prefix("~/"))
    {
        // tsconfig alias: relative to the project's `src/` or root; the caller matches by suffix
        format!("*/{rest}")
    } else if source.starts_with('.') {
        join_path(from.rsplit_once('/').map_or("", |(d, _)| d), source)
    } else {
        return Vec::new();
    };
    let stem = [".js", ".mjs", ".cjs", ".ts", ".jsx", ".tsx"]
        .iter()
        .find_map(|e| base.strip_suffix(e))
        .unwrap_or(&base);
    let mut out = vec![base.clone()];
    for ext in ["ts", "js", "tsx", "jsx", "mjs", "cjs"] {
        out.push(format!("{stem}.{ext}"));
    }
    for ext in ["ts", "js", "tsx", "jsx"] {
        out.push(format!("{base}/index.{ext}"));
    }
    out
}

/// `dir` (a display path) joined with a relative path, `.` and `..` segments resolved; `..` above
/// the top is dropped and a leading `/` kept. The one path join of import resolution.
pub fn join_path(dir: &str, rel: &str) -> String {
    let joined;
    let path = if rel.starts_with('/') || dir.is_empty() {
        rel
    } else {
        joined = format!("{dir}/{rel}");
        &joined
    };
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let parts = parts.join("/");
    if path.starts_with('/') {
        format!("/{parts}")
    } else {
        parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{Grammar, parse};

    fn read(path: &str, code: &str) -> Module {
        let tree = parse(Grammar::TypeScript, code).expect("parses");
        module(path, code, tree.root_node())
    }

    #[test]
    fn express_routes_keep_middleware_and_handler_names() {
        let m = read(
            "src/routes/users.ts",
            "import { Router } from 'express';\nimport { del } from '../controllers/users';\nconst r = Router();\nr.use(requireAuth);\nr.delete('/users/:id', isAdmin, del);\nr.post('/x', withAuth(async (req, res) => res.json(1)));\n",
        );
        assert_eq!(m.entries.len(), 2);
        assert_eq!(m.entries[0].middleware, vec!["isAdmin"]);
        assert_eq!(m.entries[0].handler, Handler::Named("del".into()));
        assert_eq!(m.entries[1].middleware, vec!["withAuth"]);
        assert_eq!(m.entries[1].request.as_deref(), Some("req"));
        assert_eq!(m.uses[0].args, vec!["requireAuth"]);
        assert_eq!(
            m.import("del").map(|i| i.source.as_str()),
            Some("../controllers/users")
        );
    }

    #[test]
    fn file_routes_come_from_the_path() {
        let m = read(
            "web/app/api/(admin)/users/route.ts",
            "export async function POST(req: Request) { return Response.json(1) }\nexport function helper() {}\n",
        );
        assert_eq!(m.entries.len(), 1);
        assert_eq!(m.entries[0].route, "/api/users");
        assert_eq!(m.entries[0].framework, Framework::NextRoute);
        assert_eq!(route_of("pages/api/editUser.ts"), "/api/editUser");
    }

    #[test]
    fn platform_functions_are_entry_points() {
        let m = read(
            "functions/src/index.ts",
            "export const wipe = onCall(async (request) => { await db.doc('x').delete(); });\nexport const add = mutation({ args: {}, handler: async (ctx, args) => ctx.db.insert('t', args) });\nexport const p = publicProcedure.input(z.string()).mutation(async ({ input }) => input);\n",
        );
        let frameworks: Vec<_> = m.entries.iter().map(|e| e.framework).collect();
        assert_eq!(
            frameworks,
            vec![Framework::Firebase, Framework::Convex, Framework::Trpc]
        );
        assert_eq!(m.entries[0].route, "wipe");
        assert_eq!(m.entries[2].middleware, vec!["publicProcedure"]);
    }

    #[test]
    fn parse_functions_and_nest_controllers_are_entry_points() {
        let m = read(
            "cloud/main.js",
            "Parse.Cloud.define('wipe', async (req) => 1, { requireUser: true });\nParse.Cloud.job('nightly', async () => 1);\n",
        );
        assert_eq!(m.entries.len(), 1);
        assert_eq!(m.entries[0].framework, Framework::Parse);
        assert_eq!(m.entries[0].middleware, vec!["requireUser"]);
        let m = read(
            "src/users/users.controller.ts",
            "@Controller('users')\n@UseGuards(AuthGuard('jwt'))\nexport class UsersController {\n  @Delete(':id')\n  @UseGuards(RolesGuard)\n  remove(@Param('id') id: string) { return id; }\n  helper() {}\n}\n",
        );
        assert_eq!(m.entries.len(), 1);
        assert_eq!(m.entries[0].framework, Framework::Nest);
        assert_eq!(m.entries[0].route, "/users/:id");
        assert_eq!(m.entries[0].method, "DELETE");
        assert_eq!(m.entries[0].middleware, vec!["AuthGuard", "RolesGuard"]);
        let m = read(
            "src/app.module.ts",
            "@Module({ providers: [{ provide: APP_GUARD, useClass: JwtAuthGuard }] })\nexport class AppModule {}\n",
        );
        assert_eq!(m.global_guards, vec!["JwtAuthGuard"]);
    }

    #[test]
    fn imports_resolve_relative_paths() {
        let c = resolve_import("BE/routes/route.js", "../lib/queryDelete.js");
        assert!(c.contains(&"BE/lib/queryDelete.js".to_string()));
        assert!(c.contains(&"BE/lib/queryDelete.ts".to_string()));
        assert!(resolve_import("a.ts", "express").is_empty());
    }

    #[test]
    fn join_path_resolves_dot_segments_and_keeps_absolute_roots() {
        assert_eq!(join_path("app/routes", "../lib/db"), "app/lib/db");
        assert_eq!(join_path("app", "./x/./y"), "app/x/y");
        assert_eq!(join_path("", "../../x"), "x");
        assert_eq!(join_path("/srv/app", "../lib"), "/srv/lib");
        assert_eq!(join_path("app", "/abs/x"), "/abs/x");
    }
}
