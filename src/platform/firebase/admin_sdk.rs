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

/// `firebase-admin` imported by client-side code.
pub fn check_admin_in_client(sink: &mut Sink<'_, '_>) {
    if sink.active(Check::AdminSdkInClient).is_none() {
        return;
    }
    let file = sink.ctx().file;
    if !is_client_side(&file.display, &file.text) {
        return;
    }
    let ranges: Vec<Range<usize>> = ADMIN_IMPORT
        .find_iter(&file.text)
        .map(|m| m.range())
        .collect();
    for range in ranges {
        sink.report(Check::AdminSdkInClient, range, None, |_| {});
    }
}
