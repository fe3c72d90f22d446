//! Handlers whose route validates the request first: `router.post("/login",
//! validate(loginRules), login)` with express-validator, celebrate, zod or joi middleware
//! registered in one module, the handler exported from another. Schema validators make every
//! field the type they check, so type-confusion flows (an object where a string was expected,
//! the rules for which a `typeof x === "string"` check suffices) found in such a handler are
//! dropped in the project pass.

use std::sync::OnceLock;

use regex::Regex;
use tree_sitter::Node;

use crate::entry::{self, Handler};
use crate::parse::ChildField;

/// Middleware names that validate the request against a schema.
fn validator() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r"(?i)(^|\.)(validate\w*|\w*validat(or|ion|e)\w*|celebrate|checkSchema|checkExact|",
            r"zValidator|\w*schema\w*)$|",
            r#"^(body|check|query|param|oneOf)\(\s*['"]"#,
        ))
        .expect("valid regex")
    })
}

/// Middleware that checks who calls, not what they send (`validateToken`, `validateSession`).
fn checks_caller(name: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)token|session|auth|jwt|key|user|role|admin|permission|access|csrf|login|signature|webhook|captcha|recaptcha")
            .expect("valid regex")
    })
    .is_match(name)
}

/// Whether a file may register routes behind validation middleware (no parse needed to say no).
/// A handler also registered elsewhere without validation keeps its findings; that second
/// registration is only seen when its file passes this gate too.
pub(super) fn may_validate_routes(text: &str) -> bool {
    (text.contains("alid") || text.contains("celebrate") || text.contains("chema"))
        && re_route().is_match(text)
}

/// A route registered with a path and more arguments: `router.post("/login", ...`.
fn re_route() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"\.(get|post|put|patch|delete|all)\(\s*['"`]/[^'"`]*['"`]\s*,[^;]{0,400}?(?i:valid|celebrate|schema)"#)
            .expect("valid regex")
    })
}

/// Keys (`module#export`) of handlers imported from project files and registered here, each
/// with whether validation middleware runs before it on that route.
pub(super) fn validated_handlers(display: &str, text: &str, root: Node<'_>) -> Vec<(String, bool)> {
    let module = entry::module(display, text, root);
    let dir = display.rsplit_once('/').map_or("", |(d, _)| d);
    let mut out = Vec::new();
    for e in &module.entries {
        let Handler::Named(name) = &e.handler else {
            continue;
        };
        let validated = e
            .middleware
            .iter()
            .any(|m| validator().is_match(m) && !checks_caller(m));
        // `login` or `controller.login`
        let (local, member) = match name.split_once('.') {
            Some((l, m)) => (l, Some(m)),
            None => (name.as_str(), None),
        };
        let Some(import) = module.import(local) else {
            continue;
        };
        let Some(target) = super::flow::resolve_module(dir, &import.source) else {
            continue;
        };
        let export = match (&import.imported, member) {
            (Some(imported), None) => imported.clone(),
            (None, None) => String::new(),
            (Some(imported), Some(m)) => format!("{imported}.{m}"),
            (None, Some(m)) => m.to_string(),
        };
        out.push((format!("{target}#{export}"), validated));
    }
    out
}

/// The export name of the outermost named function around `offset`: a declaration, a `const`
/// bound to a function, `exports.name = function`, or a method of an exported object.
pub(super) fn enclosing_export(root: Node<'_>, text: &str, offset: usize) -> Option<String> {
    let mut node = root.descendant_for_byte_range(offset, offset)?;
    let mut name = None;
    while let Some(parent) = node.parent() {
        let is_fn = matches!(
            node.kind(),
            "arrow_function"
                | "function_expression"
                | "function"
                | "function_declaration"
                | "method_definition"
        );
        if is_fn {
            let named = match node.kind() {
                "function_declaration" | "method_definition" => node.child_field("name"),
                _ => match parent.kind() {
                    "variable_declarator" => parent.child_field("name"),
                    "pair" => parent.child_field("key"),
                    "assignment_expression" => parent
                        .child_field("left")
                        .and_then(|l| l.child_field("property")),
                    _ => None,
                },
            };
            // an inline callback (`router.post(p, (req, res) => ...)`) has no name: it is its
            // own entry point, not an export another module registers
            name = named
                .and_then(|n| text.get(n.byte_range()))
                .map(str::to_string);
        }
        node = parent;
    }
    name
}
