//! `http-env-secret-in-response`: a server-side secret read from the environment and sent back
//! to the caller in a response body.
//!
//! One pass over a JavaScript/TypeScript tree. A *secret read* is `process.env.NAME`,
//! `process.env["NAME"]` or `Deno.env.get("NAME")` where `NAME` says credential and is not a
//! public one ([`super::is_secret_var`]). A local carries the secret when its initializer is the
//! read itself, or an object, array, template, `??`/`||` or ternary branch holding it (not a call:
//! `new OpenAI({ apiKey })` is a client, not the key). A *response* is `new Response(body)`,
//! `Response.json`/`NextResponse.json`, `res.json`/`res.send` (any `res.status(..)` chain, Hono's
//! `c.json`), a `return` from a `"use server"` file or a Firebase `onCall` handler, or the `body`
//! of a returned AWS Lambda result (`return { statusCode, body }`).
//! Locals are looked up by name in the functions enclosing the response, innermost first.
//!
//! [`may_apply`] is a text prefilter run before the file is parsed: most files that read
//! `process.env` read only public settings (`NODE_ENV`, `PORT`), and the tree is walked only
//! when some secret-named variable is read.

use std::collections::BTreeSet;
use std::ops::Range;

use tree_sitter::Node;

use super::{Check, Extra, Sink};
use crate::parse::ChildField;
use crate::platform::js::{string_value, text, walk};

/// Reports every response body that carries a secret from the environment.
pub fn check_file(sink: &mut Sink<'_, '_>, root: Node<'_>) {
    for range in find(root, sink.text()) {
        sink.report(Check::EnvSecretInResponse, range, Extra::default());
    }
}

/// Whether `src` reads some secret-named environment variable in a shape [`find`] follows:
/// `process.env.NAME`, `process.env?.NAME`, `process.env["NAME"]`, `{ NAME } = process.env` or
/// `Deno.env.get("NAME")`. A cheap superset of what the tree walk accepts, so that files reading
/// only public settings are never parsed for this check.
pub fn may_apply(src: &str) -> bool {
    let bytes = src.as_bytes();
    for (at, _) in src.match_indices("process.env") {
        let after = skip_space(bytes, at + "process.env".len());
        // `process.envVar` is another identifier
        if bytes
            .get(at + "process.env".len())
            .is_some_and(|&b| is_ident_byte(b))
        {
            continue;
        }
        let mut next = after;
        if bytes[next..].starts_with(b"?.") {
            next = skip_space(bytes, next + 2);
        } else if bytes.get(next) == Some(&b'.') {
            next = skip_space(bytes, next + 1);
        }
        let name = if bytes.get(next) == Some(&b'[') {
            quoted(src, skip_space(bytes, next + 1))
        } else if next > after {
            Some(ident_at(src, next))
        } else {
            None
        };
        if name.is_some_and(super::is_secret_var) || destructured_secret(src, at) {
            return true;
        }
    }
    src.match_indices("Deno.env.get(").any(|(at, m)| {
        quoted(src, skip_space(bytes, at + m.len())).is_some_and(super::is_secret_var)
    })
}

/// Whether `process.env` at `at` is the value of a destructuring `{ .. } =` naming a secret.
fn destructured_secret(src: &str, at: usize) -> bool {
    let before = src[..at].trim_end();
    let Some(before) = before.strip_suffix('=') else {
        return false;
    };
    let Some(before) = before.trim_end().strip_suffix('}') else {
        return false;
    };
    let Some(open) = before.rfind('{') else {
        return false;
    };
    before[open + 1..]
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
        .any(|word| !word.is_empty() && super::is_secret_var(word))
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// The identifier starting at `at` (empty when none does).
fn ident_at(src: &str, at: usize) -> &str {
    let len = src.as_bytes()[at..]
        .iter()
        .take_while(|&&b| is_ident_byte(b))
        .count();
    &src[at..at + len]
}

/// The text of a quoted string starting at `at` (`"X"`, `'X'` or `` `X` ``).
fn quoted(src: &str, at: usize) -> Option<&str> {
    let quote = *src.as_bytes().get(at)?;
    if !matches!(quote, b'"' | b'\'' | b'`') {
        return None;
    }
    let rest = &src[at + 1..];
    let end = rest.find(quote as char)?;
    Some(&rest[..end])
}

/// The byte ranges of responses whose body carries a secret from the environment.
fn find(root: Node<'_>, src: &str) -> Vec<Range<usize>> {
    let is_server_action_file = has_use_server(root, src);
    // (scope start byte, name) of locals holding a secret, filled in document order so that
    // `const a = Deno.env.get(..); const b = { a }` carries through
    let mut carriers: BTreeSet<(usize, String)> = BTreeSet::new();
    walk(root, |n| {
        if n.kind() != "variable_declarator" {
            return;
        }
        let (Some(name), Some(value)) = (n.child_field("name"), n.child_field("value")) else {
            return;
        };
        let scope = scope_of(n).start_byte();
        match name.kind() {
            "identifier" if carries(value, src, &carriers) => {
                carriers.insert((scope, text(name, src).to_string()));
            }
            // const { OPENAI_API_KEY } = process.env
            "object_pattern" if text(value, src) == "process.env" => {
                for p in name.named_children(&mut name.walk()) {
                    let (key, local) = match p.kind() {
                        "shorthand_property_identifier_pattern" => (p, p),
                        "pair_pattern" => match (p.child_field("key"), p.child_field("value")) {
                            (Some(k), Some(v)) if v.kind() == "identifier" => (k, v),
                            _ => continue,
                        },
                        _ => continue,
                    };
                    if super::is_secret_var(text(key, src)) {
                        carriers.insert((scope, text(local, src).to_string()));
                    }
                }
            }
            _ => {}
        }
    });
    let mut hits = Vec::new();
    walk(root, |n| {
        let body = match n.kind() {
            "new_expression" => n
                .child_field("constructor")
                .filter(|c| text(*c, src) == "Response")
                .and_then(|_| first_argument(n)),
            "call_expression" if is_response_call(n, src) => first_argument(n),
            "return_statement" => {
                let value = n.named_child(0);
                if let Some(body) = value.and_then(|v| lambda_body(v, src)) {
                    Some(body)
                } else if (is_server_action_file && in_exported_function(n)) || in_on_call(n, src) {
                    value
                } else {
                    None
                }
            }
            _ => None,
        };
        if let Some(body) = body
            && carries(body, src, &carriers)
        {
            hits.push(n.byte_range());
        }
    });
    hits
}

/// The name of a secret environment read, or `None`.
fn secret_read<'s>(node: Node<'_>, src: &'s str) -> Option<&'s str> {
    let name = match node.kind() {
        "member_expression" => {
            let object = node.child_field("object")?;
            if text(object, src) != "process.env" {
                return None;
            }
            text(node.child_field("property")?, src)
        }
        "subscript_expression" => {
            let object = node.child_field("object")?;
            if text(object, src) != "process.env" {
                return None;
            }
            string_value(node.child_field("index")?, src)?
        }
        "call_expression" => {
            let callee = node.child_field("function")?;
            if text(callee, src) != "Deno.env.get" {
                return None;
            }
            string_value(first_argument(node)?, src)?
        }
        _ => return None,
    };
    super::is_secret_var(name).then_some(name)
}

/// Whether the value of `node` is, or holds, a secret from the environment.
fn carries(node: Node<'_>, src: &str, carriers: &BTreeSet<(usize, String)>) -> bool {
    if secret_read(node, src).is_some() {
        return true;
    }
    let any_child = |kinds: &[&str]| {
        node.named_children(&mut node.walk())
            .filter(|c| kinds.is_empty() || kinds.contains(&c.kind()))
            .any(|c| carries(c, src, carriers))
    };
    match node.kind() {
        "identifier" | "shorthand_property_identifier" => is_carrier(node, src, carriers),
        "parenthesized_expression"
        | "spread_element"
        | "template_substitution"
        | "array"
        | "object"
        | "as_expression"
        | "non_null_expression"
        | "satisfies_expression" => any_child(&[]),
        "template_string" => any_child(&["template_substitution"]),
        "pair" => node
            .child_field("value")
            .is_some_and(|v| carries(v, src, carriers)),
        "binary_expression" => {
            let op = node.child_field("operator").map_or("", |o| text(o, src));
            matches!(op, "??" | "||" | "+")
                && ["left", "right"].iter().any(|f| {
                    node.child_field(f)
                        .is_some_and(|c| carries(c, src, carriers))
                })
        }
        "ternary_expression" => ["consequence", "alternative"].iter().any(|f| {
            node.child_field(f)
                .is_some_and(|c| carries(c, src, carriers))
        }),
        // JSON.stringify({ key }) is the body itself
        "call_expression" => {
            node.child_field("function")
                .is_some_and(|f| text(f, src) == "JSON.stringify")
                && first_argument(node).is_some_and(|a| carries(a, src, carriers))
        }
        _ => false,
    }
}

/// Whether the identifier names a local holding a secret in a scope enclosing it.
fn is_carrier(node: Node<'_>, src: &str, carriers: &BTreeSet<(usize, String)>) -> bool {
    let mut key = (0, text(node, src).to_string());
    let mut at = Some(node);
    while let Some(n) = at {
        if is_scope(n) {
            key.0 = n.start_byte();
            if carriers.contains(&key) {
                return true;
            }
        }
        at = n.parent();
    }
    false
}

fn is_scope(n: Node<'_>) -> bool {
    matches!(
        n.kind(),
        "program"
            | "function_declaration"
            | "function_expression"
            | "arrow_function"
            | "method_definition"
            | "generator_function_declaration"
    )
}

/// The innermost function (or the program) around `node`.
fn scope_of(node: Node<'_>) -> Node<'_> {
    let mut at = node;
    while let Some(p) = at.parent() {
        if is_scope(p) {
            return p;
        }
        at = p;
    }
    at
}

fn first_argument(call: Node<'_>) -> Option<Node<'_>> {
    call.child_field("arguments")?.named_child(0)
}

/// `res.json(..)`, `res.status(200).send(..)`, `c.json(..)`, `Response.json(..)`,
/// `NextResponse.json(..)`.
fn is_response_call(call: Node<'_>, src: &str) -> bool {
    let Some(callee) = call.child_field("function") else {
        return false;
    };
    if callee.kind() != "member_expression" {
        return false;
    }
    let method = callee.child_field("property").map_or("", |p| text(p, src));
    if !matches!(method, "json" | "send" | "end" | "jsonp") {
        return false;
    }
    let Some(mut object) = callee.child_field("object") else {
        return false;
    };
    // unwrap `res.status(200).set(..)` chains down to `res`
    while object.kind() == "call_expression" {
        match object
            .child_field("function")
            .and_then(|f| f.child_field("object"))
        {
            Some(inner) => object = inner,
            None => return false,
        }
    }
    matches!(
        text(object, src),
        "res" | "response" | "reply" | "c" | "ctx" | "Response" | "NextResponse"
    )
}

/// The `body` of an AWS Lambda / API Gateway result `{ statusCode, body }` (also the
/// Netlify-function shape), or `None` for any other value.
fn lambda_body<'t>(value: Node<'t>, src: &str) -> Option<Node<'t>> {
    if value.kind() != "object" {
        return None;
    }
    let mut status = false;
    let mut body = None;
    for pair in value.named_children(&mut value.walk()) {
        let key = match pair.kind() {
            "pair" => pair.child_field("key"),
            "shorthand_property_identifier" => Some(pair),
            _ => None,
        };
        match key.map(|k| text(k, src).trim_matches(['"', '\''])) {
            Some("statusCode") => status = true,
            Some("body") if pair.kind() == "pair" => body = pair.child_field("value"),
            Some("body") => body = Some(pair),
            _ => {}
        }
    }
    body.filter(|_| status)
}

/// Whether a `return` sits directly in an exported top-level function (a server action).
fn in_exported_function(ret: Node<'_>) -> bool {
    let function = scope_of(ret);
    if function.kind() == "program" || scope_of(function).kind() != "program" {
        return false;
    }
    let mut at = function.parent();
    while let Some(n) = at {
        if n.kind() == "export_statement" {
            return true;
        }
        at = n.parent();
    }
    false
}

/// Whether a `return` sits directly in a function passed to a Firebase `onCall`.
fn in_on_call(ret: Node<'_>, src: &str) -> bool {
    let function = scope_of(ret);
    let Some(call) = function.parent().and_then(|args| args.parent()) else {
        return false;
    };
    call.kind() == "call_expression"
        && call
            .child_field("function")
            .is_some_and(|f| text(f, src).ends_with("onCall"))
}

/// Whether the file opens with a `"use server"` directive (Next.js server actions).
fn has_use_server(root: Node<'_>, src: &str) -> bool {
    root.named_children(&mut root.walk())
        .take_while(|n| n.kind() == "expression_statement" || n.kind() == "comment")
        .any(|n| {
            n.named_child(0)
                .and_then(|s| string_value(s, src))
                .is_some_and(|v| v == "use server")
        })
}
