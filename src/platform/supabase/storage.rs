//! Supabase Storage buckets made public: `storage.createBucket(name, { public: true })` and
//! `updateBucket(name, { public: true })` in JavaScript, and (through [`bucket_severity`]) the SQL
//! `insert into storage.buckets` judged by [`super::migrations`].
//!
//! A public bucket serves every file to anyone with its URL. That is the intent for avatars and
//! site assets (the Supabase quickstarts create a public `avatars` bucket), so those names are not
//! reported; names that say documents, invoices or private files are reported at high severity,
//! other names at the rule's medium.

use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::Node;

use crate::parse::ChildField;
use crate::platform::js::{self, text};
use crate::platform::{Check, Sink};
use crate::rules::Severity;

/// Bucket names whose files are meant for everyone.
static INTENDED_PUBLIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(public([-_].*)?|.*[-_]public|avatars?|profile[-_]?(pictures?|pics|photos?|images?|avatars?)|assets|static|logos?|icons?|thumbnails?|banners?|covers?|og[-_]?images?|emojis?|(product|blog|post)[-_]?(images?|photos?|media))$").expect("valid regex")
});
/// Bucket names that say the files are private.
static SENSITIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)document|invoice|receipt|private|contract|medical|health|kyc|passport|id[-_]?cards?|identit|verification|statement|payslip|payroll|tax|backup|export|resume|\bcvs?\b|attachment|secret|confidential|personal|signature").expect("valid regex")
});

/// The severity of a public bucket with this name: `None` when the name says it is meant to be
/// public, high when it says private content, medium otherwise (also when the name is unknown).
pub fn bucket_severity(name: Option<&str>) -> Option<Severity> {
    match name {
        Some(n) if INTENDED_PUBLIC.is_match(n) => None,
        Some(n) if SENSITIVE.is_match(n) => Some(Severity::High),
        _ => Some(Severity::Medium),
    }
}

/// The message for a public bucket.
pub fn bucket_message(name: Option<&str>) -> String {
    match name {
        Some(n) => format!(
            "Storage bucket `{n}` is public: every file in it can be downloaded by anyone who guesses or sees its path, with no policy check"
        ),
        None => "Storage bucket is public: every file in it can be downloaded by anyone who guesses or sees its path, with no policy check".into(),
    }
}

/// Whether `receiver` is Supabase's storage client: `<x>.storage`, or a name bound to it
/// (aliases followed a few deep: `const a = b; const b = a;` parses).
fn is_supabase_storage(receiver: Node<'_>, index: &js::Index<'_>, src: &str, depth: usize) -> bool {
    let receiver = js::unwrap_expr(receiver);
    match receiver.kind() {
        "member_expression" => receiver
            .child_field("property")
            .is_some_and(|p| text(p, src) == "storage"),
        "identifier" if depth < 8 => {
            let name = text(receiver, src);
            index.declarations(src).into_iter().any(|(n, value)| {
                n == name
                    && value.id() != receiver.id()
                    && is_supabase_storage(value, index, src, depth + 1)
            })
        }
        _ => false,
    }
}

/// `supabase.storage.createBucket(name, { public: true })` and `updateBucket(...)`.
pub fn check_file(sink: &mut Sink<'_, '_>) {
    if sink.active(Check::PublicStorageBucket).is_none() {
        return;
    }
    let ctx = sink.ctx();
    let src: &str = &ctx.file.text;
    if !src.contains("createBucket") && !src.contains("updateBucket") {
        return;
    }
    let Some(index) = sink.index() else {
        return;
    };
    let mut hits = Vec::new();
    for call in index.of(&["call_expression"]) {
        if !matches!(
            js::method_name(call, src),
            Some("createBucket" | "updateBucket")
        ) || !js::receiver(call).is_some_and(|r| is_supabase_storage(r, &index, src, 0))
        {
            continue;
        }
        let args = js::arguments(call);
        let is_public = args
            .get(1)
            .map(|o| js::unwrap_expr(*o))
            .filter(|o| o.kind() == "object")
            .and_then(|o| js::property(o, "public", src))
            .and_then(|p| p.child_field("value"))
            .is_some_and(|v| text(v, src) == "true");
        if !is_public {
            continue;
        }
        let name = args.first().and_then(|a| js::string_value(*a, src));
        if let Some(severity) = bucket_severity(name) {
            hits.push((call.byte_range(), bucket_message(name), severity));
        }
    }
    for (range, message, severity) in hits {
        sink.report(Check::PublicStorageBucket, range, Some(message), |f| {
            f.severity = severity;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::bucket_severity;
    use crate::rules::Severity;

    #[test]
    fn judges_bucket_names() {
        assert_eq!(bucket_severity(Some("avatars")), None);
        assert_eq!(bucket_severity(Some("public-assets")), None);
        assert_eq!(bucket_severity(Some("invoices")), Some(Severity::High));
        assert_eq!(
            bucket_severity(Some("user-documents")),
            Some(Severity::High)
        );
        assert_eq!(bucket_severity(Some("uploads")), Some(Severity::Medium));
        assert_eq!(bucket_severity(None), Some(Severity::Medium));
    }
}
