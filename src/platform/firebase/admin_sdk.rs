//! `firebase.admin-sdk-in-client`: `firebase-admin` imported by code that ships to browsers or
//! phones (the Admin SDK carries service-account rights).

use std::ops::Range;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use crate::platform::client_side::is_client_side;
use crate::platform::{Check, Sink};

static ADMIN_IMPORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(from\s+|require\(\s*|import\(\s*)["']firebase-admin(/[\w/-]+)?["']"#)
        .expect("valid regex")
});

/// `import type { X } from "firebase-admin/auth"`: erased at build time, nothing ships.
fn is_type_only(text: &str, at: usize) -> bool {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    text[line_start..at].trim_start().starts_with("import type")
}

/// A module of a Next.js app (a `next.config.*` in one of its folders) without `'use client'`:
/// Next.js runs it on the server, and bundling it for the browser fails at build time, so it
/// is not client code even under `web/`.
fn is_next_server_module(display: &str, text: &str) -> bool {
    let head = text.trim_start();
    if head.starts_with("'use client'") || head.starts_with("\"use client\"") {
        return false;
    }
    // Pages Router pages, components and hooks are bundled for the browser whatever they say
    let segments: Vec<&str> = display.split('/').collect();
    if segments
        .iter()
        .any(|s| matches!(*s, "components" | "hooks" | "pages"))
        && !display.contains("pages/api/")
    {
        return false;
    }
    let mut dir = Path::new(display).parent();
    for _ in 0..6 {
        let Some(d) = dir else { break };
        let d_or_here = if d.as_os_str().is_empty() {
            Path::new(".")
        } else {
            d
        };
        if [
            "next.config.js",
            "next.config.mjs",
            "next.config.ts",
            "next.config.cjs",
        ]
        .iter()
        .any(|n| d_or_here.join(n).is_file())
        {
            return true;
        }
        dir = d.parent();
    }
    false
}

/// `firebase-admin` imported by client-side code.
pub fn check_admin_in_client(sink: &mut Sink<'_, '_>) {
    if sink.active(Check::AdminSdkInClient).is_none() {
        return;
    }
    let file = sink.ctx().file;
    if !is_client_side(&file.display, &file.text)
        || is_next_server_module(&file.display, &file.text)
    {
        return;
    }
    let ranges: Vec<Range<usize>> = ADMIN_IMPORT
        .find_iter(&file.text)
        .filter(|m| !is_type_only(&file.text, m.start()))
        .map(|m| m.range())
        .collect();
    for range in ranges {
        sink.report(Check::AdminSdkInClient, range, None, |_| {});
    }
}
