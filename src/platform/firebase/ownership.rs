//! Firestore rules that check who writes the new document but not whose document it was:
//! `firebase.rules-update-ignores-owner` (an update or write that compares
//! `request.resource.data.owner` with the caller but never `resource.data.owner`, the path's user
//! id, a role lookup or a custom claim), and `firebase.rules-owner-writes-any-field` (a user may
//! update every field of their own user document, with no `affectedKeys().hasOnly([...])`, so
//! they can set the role, admin flag or plan that the rules or the server trust).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

use super::rules::{Allow, RulesFile};
use crate::platform::{Check, Sink};
use crate::rules::Severity;

/// The new document's owner field compared with the caller.
static NEW_OWNER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"new_data\.[\w.]+\s*==\s*request\.auth\.uid|request\.auth\.uid\s*==\s*new_data\.")
        .expect("valid regex")
});
/// The stored document's owner field related to the caller.
static OLD_OWNER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(^|[^\w.])resource\.data\.[\w.]+\s*(==|!=)\s*request\.auth\.uid|request\.auth\.uid\s*(==|!=|in)\s*resource\.data|request\.auth\.uid\s+in\s+resource")
        .expect("valid regex")
});
/// `request.auth.uid == userId`: the path's user id is the caller's.
static PATH_OWNER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"request\.auth\.uid\s*==\s*[A-Za-z_]\w*\s*($|[)&|;\s])|(^|[^\w.])[A-Za-z_]\w*\s*==\s*request\.auth\.uid")
        .expect("valid regex")
});
/// Role lookups and custom claims: authorization by something else than ownership.
static ROLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bget\(|\bexists\(|request\.auth\.token\.").expect("valid regex")
});
/// Restrictions on which fields change.
static KEYS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"affectedKeys|hasOnly|hasAll|hasAny|keys\(\)|diff\(").expect("valid regex")
});
/// Fields of a document the rules read to decide access, with its collection:
/// `get(/databases/$(database)/documents/users/$(request.auth.uid)).data.isAdmin`.
static TRUSTED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"/(\w+)/\$\([\w.]+\)\)\.data\.(\w+)").expect("valid regex"));
/// Collections of user documents.
static USER_DOCS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(users?|profiles?|accounts?|members?|customers?)$").expect("valid regex")
});

fn writes_existing(allow: &Allow) -> bool {
    allow
        .ops
        .iter()
        .any(|o| matches!(o.as_str(), "write" | "update"))
}

fn last_collection(allow: &Allow) -> String {
    allow
        .paths
        .last()
        .and_then(|p| {
            p.split('/')
                .rfind(|s| !s.is_empty() && !s.starts_with('{'))
                .map(str::to_string)
        })
        .unwrap_or_default()
}

/// Runs both checks over a parsed Firestore rules file.
pub fn check(sink: &mut Sink<'_, '_>, file: &RulesFile, text: &str) {
    if !sink.any_active(&[
        Check::RulesUpdateIgnoresOwner,
        Check::RulesOwnerWritesAnyField,
    ]) {
        return;
    }
    let trusted: BTreeSet<(String, String)> = TRUSTED
        .captures_iter(text)
        .map(|c| (c[1].to_string(), c[2].to_string()))
        .collect();
    for allow in &file.allows {
        let Some(condition) = allow.condition.as_deref() else {
            continue;
        };
        if !writes_existing(allow) {
            continue;
        }
        let expanded = file
            .expand(condition)
            .replace("request.resource.data", "new_data");
        let path = allow.paths.join("");
        let ops = allow.ops.join(", ");
        let old_owner = OLD_OWNER.is_match(&expanded);
        let path_owner = PATH_OWNER.is_match(&expanded);
        let role = ROLE.is_match(&expanded);
        if NEW_OWNER.is_match(&expanded) && !old_owner && !path_owner && !role {
            sink.report(
                Check::RulesUpdateIgnoresOwner,
                allow.range.clone(),
                Some(format!("`allow {ops}` on `{path}` only checks the owner field of the new document: any signed-in user can take over anyone's document by writing their own uid into it (`resource.data` is never compared with `request.auth.uid`)")),
                |_| {},
            );
            continue;
        }
        let collection = last_collection(allow);
        if !USER_DOCS.is_match(&collection)
            || !(old_owner || path_owner)
            || KEYS.is_match(&expanded)
        {
            continue;
        }
        let named: Vec<String> = trusted
            .iter()
            .filter(|(c, f)| *c == collection && !expanded.contains(f.as_str()))
            .map(|(_, f)| format!("`{f}`"))
            .collect();
        // below a recursive wildcard the rule covers subcollections too: without a trusted field
        // to point at, owner-only writes there are the documented pattern
        if named.is_empty() && path.contains("=**}") {
            continue;
        }
        let (severity, what) = if named.is_empty() {
            (
                Severity::Medium,
                "including any role, plan or credit field the app trusts".to_string(),
            )
        } else {
            (
                Severity::High,
                format!(
                    "including {}, which the rules read to grant access",
                    named.join(", ")
                ),
            )
        };
        sink.report(
            Check::RulesOwnerWritesAnyField,
            allow.range.clone(),
            Some(format!("`allow {ops}` on `{path}` lets each user change every field of their own document, {what} (no `affectedKeys().hasOnly([...])`)")),
            |f| f.severity = severity,
        );
    }
}
