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
/// Lists of the fields the new document may change or hold:
/// `new_data.diff(resource.data).affectedKeys().hasOnly([...])`, `new_data.keys().hasOnly([...])`.
static ALLOWED_KEYS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"new_data\s*\.\s*(?:diff\([^)]*\)\s*\.\s*affectedKeys|keys)\(\)\s*\.\s*hasOnly\(\s*\[([^\]]*)\]")
        .expect("valid regex")
});
/// Fields the new document may not change: `!new_data.diff(..).affectedKeys().hasAny([...])`,
/// `!('role' in new_data)`, `new_data.role == resource.data.role`.
static PINNED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"!\s*\(?\s*new_data\s*\.\s*diff\([^)]*\)\s*\.\s*affectedKeys\(\)\s*\.\s*hasAny\(\s*\[([^\]]*)\]|!\s*\(\s*['\x22](\w+)['\x22]\s+in\s+new_data\b|new_data\.(\w+)\s*==\s*resource\.data\.\w+|resource\.data\.\w+\s*==\s*new_data\.(\w+)")
        .expect("valid regex")
});
/// A field of the new document tied to constant values: `new_data.role == 'user'`,
/// `new_data.role in ['user', 'admin']`.
static VALUES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"new_data\.(\w+)\s*(?:==\s*(['\x22][^'\x22]*['\x22])|in\s*\[([^\]]*)\])")
        .expect("valid regex")
});
/// A test of the stored document's fields (`resource.data.keys()`, `resource.data.role in [..]`).
static STORED_CHECK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"resource\.data\.(?:keys\(\)|\w+\s+(?:in|is)\b)").expect("valid regex")
});
/// Field names that grant rights or money when a user sets them on their own document.
static PRIVILEGED_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:roles?|user_?role|is_?admin|admin|is_?staff|is_?moderator|permissions?|plan|tier|subscription_?(?:tier|plan|status)?|is_?premium|premium|is_?pro|credits?|balance|is_?verified|access_?level)$")
        .expect("valid regex")
});
/// Values a user must not give themselves: roles above a plain user, paid plans.
static PRIVILEGED_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:\w*admin\w*|super\w*|staff|moderator|root|owner|manager|pro|premium|plus|paid|enterprise|business|vip)$")
        .expect("valid regex")
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
        if !USER_DOCS.is_match(&collection) || !(old_owner || path_owner) {
            continue;
        }
        let bound = file
            .expand_bound(condition)
            .replace("request.resource.data", "new_data");
        let fields = Fields::read(&bound);
        let is_sensitive = |f: &str| {
            PRIVILEGED_FIELD.is_match(f) || trusted.contains(&(collection.clone(), f.to_string()))
        };
        if fields.restricts(is_sensitive) {
            // the new document's fields are restricted: report a trusted or privileged field
            // the restriction leaves open, or a value list that lets users pick a role or plan
            if let Some((field, why)) = fields.open_privilege(&trusted, &collection, &bound) {
                sink.report(
                    Check::RulesOwnerWritesAnyField,
                    allow.range.clone(),
                    Some(format!("`allow {ops}` on `{path}` lets each user set `{field}` on their own document ({why}): a user can give themselves the role or plan the app trusts")),
                    |f| f.severity = Severity::High,
                );
            }
            continue;
        }
        // only the stored document (`resource.data`) is validated, or keys are only required
        // (`hasAll`): nothing limits the new document
        let named: Vec<String> = trusted
            .iter()
            .filter(|(c, f)| *c == collection && !bound.contains(&format!("new_data.{f}")))
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
        // `validate(resource.data)`: the checks read the stored document, not the one written
        let validates_stored = STORED_CHECK.is_match(&bound);
        let how = if validates_stored && !bound.contains("new_data.") {
            "its checks read the stored document `resource.data`, not the new one, and there is no `affectedKeys().hasOnly([...])`"
        } else {
            "no `affectedKeys().hasOnly([...])`"
        };
        sink.report(
            Check::RulesOwnerWritesAnyField,
            allow.range.clone(),
            Some(format!("`allow {ops}` on `{path}` lets each user change every field of their own document, {what} ({how})")),
            |f| f.severity = severity,
        );
    }
}

/// What a write condition (helpers bound, `request.resource.data` read as `new_data`) says
/// about the fields of the new document.
#[derive(Default)]
struct Fields {
    /// `hasOnly([...])` lists: the fields that may change; `None` without such a list.
    allowed: Option<BTreeSet<String>>,
    /// Fields that may not change.
    pinned: BTreeSet<String>,
    /// Fields tied to constant values, with the values.
    values: Vec<(String, Vec<String>)>,
}

/// The quoted names of a `['a', "b"]` list body.
fn names(list: &str) -> impl Iterator<Item = String> + '_ {
    list.split(',')
        .map(|n| n.trim().trim_matches(|c| c == '\'' || c == '"').to_string())
        .filter(|n| !n.is_empty())
}

impl Fields {
    fn read(bound: &str) -> Fields {
        let mut out = Fields::default();
        for c in ALLOWED_KEYS.captures_iter(bound) {
            out.allowed
                .get_or_insert_with(BTreeSet::new)
                .extend(names(&c[1]));
        }
        for c in PINNED.captures_iter(bound) {
            match (c.get(1), c.get(2).or(c.get(3)).or(c.get(4))) {
                (Some(list), _) => out.pinned.extend(names(list.as_str())),
                (None, Some(field)) => {
                    out.pinned.insert(field.as_str().to_string());
                }
                _ => {}
            }
        }
        for c in VALUES.captures_iter(bound) {
            let values = c.get(2).or(c.get(3)).map_or("", |m| m.as_str());
            out.values.push((c[1].to_string(), names(values).collect()));
        }
        out
    }

    /// Whether the condition limits which fields the new document changes, or pins or bounds
    /// a `sensitive` one (pins of other fields, `!('bio' in new_data) || ...`, are validation).
    fn restricts(&self, sensitive: impl Fn(&str) -> bool) -> bool {
        self.allowed.is_some()
            || self.pinned.iter().any(|f| sensitive(f))
            || self.values.iter().any(|(f, _)| sensitive(f))
    }

    /// A field users may still set to a privileged value, with the reason: one the rules
    /// read to grant access (from `trusted`, for this `collection`) or one named like a role
    /// or plan in the condition, left out of every restriction or allowed an admin or paid value.
    fn open_privilege(
        &self,
        trusted: &BTreeSet<(String, String)>,
        collection: &str,
        bound: &str,
    ) -> Option<(String, String)> {
        for (field, values) in &self.values {
            if !self.pinned.contains(field)
                && let Some(value) = values.iter().find(|v| PRIVILEGED_VALUE.is_match(v))
            {
                return Some((
                    field.clone(),
                    format!("`{value}` is among the values it may take"),
                ));
            }
        }
        let mentioned = bound
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| PRIVILEGED_FIELD.is_match(w))
            .map(str::to_string);
        let candidates: BTreeSet<String> = trusted
            .iter()
            .filter(|(c, _)| c == collection)
            .map(|(_, f)| f.clone())
            .chain(mentioned)
            .collect();
        for field in candidates {
            if self.pinned.contains(&field) || self.values.iter().any(|(f, _)| *f == field) {
                continue;
            }
            match &self.allowed {
                Some(allowed) if allowed.contains(&field) => {
                    return Some((
                        field,
                        "it is in the `hasOnly` list of fields that may change".into(),
                    ));
                }
                None if trusted.contains(&(collection.to_string(), field.clone())) => {
                    return Some((field, "no restriction of the new document names it".into()));
                }
                Some(_) | None => {}
            }
        }
        None
    }
}
