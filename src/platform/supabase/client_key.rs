//! `supabase.service-role-key-in-client`: `createClient` with the service-role key in client-side
//! code or from an environment variable the bundler publishes. [`service_role_key`] is shared with
//! [`super::edge`], which needs to know which clients bypass RLS.

use std::sync::LazyLock;

use regex::Regex;

use crate::platform::client_side::is_client_side;
use crate::platform::js::{self, text};
use crate::platform::{Check, Sink};

static ENV_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([A-Za-z_][A-Za-z0-9_]*)['\x22]?\]?\)?\s*(\?\?|\|\||!|$)").expect("valid regex")
});

/// How a `createClient` key argument names the service-role key, if it does: whether the name
/// is published to browsers, and how to say it.
pub fn service_role_key(
    node: tree_sitter::Node<'_>,
    index: &js::Index<'_>,
    src: &str,
) -> Option<(bool, String)> {
    key_through_aliases(node, index, src, 0)
}

/// [`service_role_key`] following `const a = b` aliases, at most a few deep (`const a = b;
/// const b = a;` parses, and must not recurse forever).
fn key_through_aliases(
    node: tree_sitter::Node<'_>,
    index: &js::Index<'_>,
    src: &str,
    depth: usize,
) -> Option<(bool, String)> {
    let node = js::unwrap_expr(node);
    if let Some(s) = js::string_value(node, src) {
        return (s.starts_with("sb_secret_") || jwt_role(s).as_deref() == Some("service_role"))
            .then(|| (false, "a literal service-role key".to_string()));
    }
    let t = text(node, src);
    if node.kind() == "identifier"
        && let Some((_, value)) = index.declarations(src).into_iter().find(|(n, _)| n == t)
        && value.byte_range() != node.byte_range()
        && depth < 8
        && let Some(found) = key_through_aliases(value, index, src, depth + 1)
    {
        return Some(found);
    }
    let name = ENV_NAME
        .captures(t.trim())
        .and_then(|c| c.get(1))
        .map_or(t, |m| m.as_str());
    let normal = name.to_ascii_uppercase().replace('_', "");
    if normal.contains("SERVICEROLE")
        || normal.contains("SERVICEKEY")
        || (normal.contains("SECRETKEY") && normal.contains("SUPABASE"))
    {
        let exposed = crate::secrets::context::CLIENT_ENV_PREFIXES
            .iter()
            .any(|p| name.starts_with(p));
        return Some((exposed, format!("`{name}`")));
    }
    None
}

/// The `role` claim of a JWT, decoded without verifying it.
fn jwt_role(token: &str) -> Option<String> {
    let payload = crate::secrets::validate::jwt_payload(token)?;
    payload.get("role")?.as_str().map(str::to_string)
}

/// Whether the file is a script run by Node: it loads `.env` with dotenv, exits the process,
/// reads `process.argv` or starts with a shebang.
fn is_node_script(src: &str) -> bool {
    src.starts_with("#!")
        || [
            "require('dotenv')",
            "require(\"dotenv\")",
            "from 'dotenv'",
            "from \"dotenv\"",
            "'dotenv/config'",
            "\"dotenv/config\"",
            "process.exit(",
            "process.argv",
        ]
        .iter()
        .any(|m| src.contains(m))
}

/// `createClient(url, serviceRoleKey)` in client-side code, or with a service-role key from an
/// environment variable that bundlers publish (`NEXT_PUBLIC_...`, `VITE_...`).
pub fn check_client_file(sink: &mut Sink<'_, '_>) {
    if sink.active(Check::ServiceRoleKeyInClient).is_none() {
        return;
    }
    let ctx = sink.ctx();
    if !ctx.file.text.contains("supabase") {
        return;
    }
    let Some((src, _, index)) = sink.js() else {
        return;
    };
    // a Node script (dotenv, `process.exit`, a shebang) or a server module of a Next.js app is
    // never bundled for a browser, whatever its folder or the prefix of the variables it reads
    if is_node_script(src)
        || crate::platform::client_side::is_next_server_module(&ctx.file.display, src)
    {
        return;
    }
    let client = is_client_side(&ctx.file.display, src);
    let mut hits = Vec::new();
    for call in index.of(&["call_expression"]) {
        let callee = js::callee(call, src);
        if callee != "createClient" && !callee.ends_with(".createClient") {
            continue;
        }
        let Some(key) = js::arguments(call).get(1).copied() else {
            continue;
        };
        let Some((exposed, how)) = service_role_key(key, &index, src) else {
            continue;
        };
        if client || exposed {
            let why = if exposed && !client {
                "an environment variable the bundler publishes to the browser"
            } else {
                "client-side code"
            };
            hits.push((
                call.byte_range(),
                format!("Supabase client is created with the service-role key ({how}) in {why}: it bypasses every RLS policy and anyone can extract it"),
            ));
        }
    }
    for (range, message) in hits {
        sink.report(Check::ServiceRoleKeyInClient, range, Some(message), |_| {});
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn decodes_the_role_of_a_jwt() {
        // {"alg":"HS256"}.{"role":"service_role"}.sig
        assert_eq!(
            super::jwt_role("eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2ln").as_deref(),
            Some("service_role")
        );
    }
}
