//! `firebase.admin-sdk-in-client`: `firebase-admin` imported by code that ships to browsers or
//! phones (the Admin SDK carries service-account rights).

use std::ops::Range;
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

/// `firebase-admin` imported by client-side code.
pub fn check_admin_in_client(sink: &mut Sink<'_, '_>) {
    if sink.active(Check::AdminSdkInClient).is_none() {
        return;
    }
    let file = sink.ctx().file;
    if !is_client_side(&file.display, &file.text)
        || crate::platform::client_side::is_next_server_module(&file.display, &file.text)
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
