//! Insecure direct object references: a write or delete whose record is picked by an id the
//! request chose, in a handler that authenticates the caller but never relates the record to
//! them. Text facts per function, judged in the project pass with the entry point's guard.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use regex::Regex;

struct Patterns {
    direct: Regex,
    destructured: Regex,
    assigned: Regex,
    caller: Regex,
    nest_param: Regex,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let re = |s: &str| Regex::new(s).expect("idor patterns are valid regexes");
        Patterns {
            // req.params.id, request.query.email, body.userId, input.postId, args.id
            direct: re(r"\b(?:req|request|event)\.(?:params|query|body)\.(\w+)|\b(?:params|body|input|args|data)\.(\w+)"),
            destructured: re(r"(?:const|let|var)\s*\{([^}]*)\}\s*=\s*(?:await\s+)?(?:(?:req|request|event)\.(?:params|query|body|data|json\(\))|data\s*(?:as\s|;|\n))"),
            assigned: re(r"(?:const|let|var)\s+(\w+)\s*=\s*[^;\n]*\b(?:req|request)\.(?:params|query|body)\.(\w+)"),
            // NestJS: `@Param("id") id: string`, `@Body("userId") userId`
            nest_param: re(r#"@(?:Param|Query|Body)\(\s*['"](\w+)['"]\s*\)\s*(\w+)"#),
            caller: re(concat!(
                r"\b(?:req|request|ctx|context|locals|c)\.(?:user|auth|session|userId)\b",
                r"|\b(?:user|session|auth|decoded|claims|identity|currentUser|me|caller|token|payload|profile)(?:\.user)?\??\.(?:id|_id|uid|sub|subject|userId|email)\b",
                r"|\{\s*userId\b[^}]*\}\s*=\s*(?:await\s+)?(?:getAuth|auth)\(",
                r"|\bauth\(\)|getUserIdentity|\buserId\s*[!=]==|[!=]==\s*userId\b|\bowner\w*|\bcreatedBy\b|\bauthorId\b|\.eq\(\s*['\x22]user_id['\x22]",
            )),
        }
    })
}

/// Whether an operation creates a new record (`INSERT`, `.insert`, `.create`, `.add`) rather
/// than changing or deleting an existing one picked by its id.
pub fn creates_record(op_text: &str) -> bool {
    let t = op_text.trim_start_matches('.');
    [
        "INSERT",
        "insert",
        "create",
        "add",
        "createMany",
        "addDocuments",
    ]
    .iter()
    .any(|p| t.starts_with(p))
}

/// Whether a name looks like it identifies a record or account.
fn is_id_like(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "id"
        || lower.ends_with("id")
        || lower.ends_with("_id")
        || lower.ends_with("ids")
        || matches!(lower.as_str(), "email" | "uid" | "slug" | "username")
}

/// The id-like names a function takes from the request: `req.params.id` directly, or through
/// `const { id } = req.body` / `const email = req.query.email`.
pub fn request_ids(body: &str) -> BTreeSet<String> {
    let p = patterns();
    let mut out = BTreeSet::new();
    for c in p.destructured.captures_iter(body) {
        for part in c.get(1).map_or("", |m| m.as_str()).split(',') {
            // `{ id: postId }` binds postId; `{ id }` binds id
            let local = part
                .rsplit(':')
                .next()
                .unwrap_or(part)
                .split('=')
                .next()
                .unwrap_or("")
                .trim();
            if is_id_like(local) {
                out.insert(local.to_string());
            }
        }
    }
    for c in p.nest_param.captures_iter(body) {
        if let (Some(field), Some(local)) = (c.get(1), c.get(2))
            && (is_id_like(field.as_str()) || is_id_like(local.as_str()))
        {
            out.insert(local.as_str().to_string());
        }
    }
    for c in p.assigned.captures_iter(body) {
        if let (Some(local), Some(field)) = (c.get(1), c.get(2))
            && (is_id_like(local.as_str()) || is_id_like(field.as_str()))
        {
            out.insert(local.as_str().to_string());
        }
    }
    out
}

/// Whether the statement around an operation picks its record by request input: a direct
/// `req.params.id`-style read or one of `ids`.
pub fn statement_uses_request_id(statement: &str, ids: &BTreeSet<String>) -> bool {
    let p = patterns();
    let direct = p.direct.captures_iter(statement).any(|c| {
        c.get(1)
            .or_else(|| c.get(2))
            .is_some_and(|m| is_id_like(m.as_str()))
    });
    direct
        || ids.iter().any(|id| {
            statement.match_indices(id.as_str()).any(|(i, _)| {
                let before = statement[..i].chars().next_back();
                let after = statement[i + id.len()..].chars().next();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
                    && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
            })
        })
}

/// Whether a function authenticates a machine rather than a user (shared or cron secrets, API
/// keys, webhook signatures): its callers act for the whole system, so ids are theirs to pick.
pub fn authenticates_machine(body: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)x-api-key|cron|internal_|_secret|api_key|constructEvent|createHmac|timingSafeEqual|verifySignature|verifyWebhook|signature")
            .expect("machine auth regex is valid")
    })
    .is_match(body)
}

/// Whether a function refers to the caller's identity (`req.user.id`, `session.user.id`,
/// `auth.uid`, an owner column): then its records are assumed related to the caller.
pub fn refers_to_caller(body: &str) -> bool {
    patterns().caller.is_match(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_ids_from_the_request() {
        let ids = request_ids(
            "const { email } = req.query; const { credits } = req.body; const postId = req.params.postId;",
        );
        assert_eq!(ids.into_iter().collect::<Vec<_>>(), vec!["email", "postId"]);
        let ids = request_ids("const { id } = req.body;");
        assert!(statement_uses_request_id(
            "await Post.findByIdAndDelete(id)",
            &ids
        ));
        assert!(!statement_uses_request_id(
            "await Post.deleteMany({ hidden: true })",
            &ids
        ));
        assert!(statement_uses_request_id(
            "await Post.deleteOne({ _id: req.params.id })",
            &BTreeSet::new()
        ));
    }

    #[test]
    fn caller_references_relate_the_record() {
        assert!(refers_to_caller("where: { id, authorId: session.user.id }"));
        assert!(refers_to_caller(".eq('user_id', user.id)"));
        assert!(!refers_to_caller(
            "await sql`UPDATE users SET credits = ${credits} WHERE email = ${email}`"
        ));
    }
}
