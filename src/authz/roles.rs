//! Who the caller is, beyond "signed in": role checks, comparisons with the caller's own id,
//! operations only an administrator should run on another user's account, and handlers that
//! take the caller's identity from the request instead of from the verified token.
//!
//! Text facts over one function's span, like [`super::ops`]; the project pass joins them with
//! the entry point's guard and the helpers the handler reaches.

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;

use crate::ascii_regex::AsciiRegex;

struct Patterns {
    role_check: AsciiRegex,
    compares_caller: AsciiRegex,
    lookup: AsciiRegex,
    user_marker: AsciiRegex,
    parse_user_query: AsciiRegex,
    role_write: AsciiRegex,
    identity_field: AsciiRegex,
    identity_header: AsciiRegex,
    verified_identity: AsciiRegex,
    verifies_token: AsciiRegex,
    header_var: AsciiRegex,
    fail_open: AsciiRegex,
    signature: AsciiRegex,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let re = AsciiRegex::new;
        Patterns {
            // a decision on the caller's role or permissions (not a role being written)
            role_check: re(concat!(
                r"(?i)\b(?:is_?admin|is_?super_?admin|is_?staff|is_?moderator|has_?role|has_?permission|has_?any_?role|require_?role|require_?admin|check_?role|check_?admin|ensure_?admin|assert_?admin|admin_?only|verify_?admin|validate_?admin|is_?administrator|can_?manage|user_roles|getRoles|Parse\.Role|requireUserRoles|requireAnyUserRoles|requireAllUserRoles|customClaims|admin_?emails?|admin_?ids|admin_?users|ability\.can)\b",
                r"|\brole\w*\s*(?:[!=]==?|\.includes\(|\.some\(|\.indexOf\()|[!=]==?\s*['\x22](?:admin|superadmin|super_admin|owner|staff|moderator|manager)['\x22]",
                r"|\.includes\(\s*['\x22](?:admin|superadmin)['\x22]|\b(?:claims|token|decoded|auth\.token)\??\.(?:admin|role)\b",
            )),
            // the request-chosen record compared with the caller's own id
            compares_caller: re(concat!(
                r"\b(?:req|request|ctx|context|locals)\.(?:user|auth)\??\.(?:id|uid|_id|objectId|sub)\s*[!=]==?",
                r"|[!=]==?\s*(?:req|request|ctx|context|locals)\.(?:user|auth)\??\.(?:id|uid|_id|objectId|sub)\b",
                r"|\b(?:user|currentUser|session\.user|decoded|decodedToken|claims|caller|me|authUser|authedUser|token|payload)\??\.(?:id|uid|sub|_id|userId)\s*[!=]==?",
                r"|[!=]==?\s*(?:user|currentUser|session\.user|decoded|decodedToken|claims|caller|me|authUser|authedUser|token|payload)\??\.(?:id|uid|sub|_id|userId)\b",
                r"|equalTo\(\s*['\x22]\w+['\x22]\s*,\s*(?:req|request)\.user\b",
                // re-authenticating with the account's own password proves the caller owns it
                r"|\.auth\.signInWithPassword\(",
            )),
            // an account (or record) chosen by a value: group 1 is the value's text
            lookup: re(concat!(
                r"\.(?:get|findById|findByPk|findUnique|findByIdAndDelete|findByIdAndUpdate|findByIdAndRemove|doc|deleteUser|updateUserById|updateUser|getUserById|setCustomUserClaims)\(\s*([\w$.\[\]'\x22]+)",
                r"|equalTo\(\s*['\x22](?:objectId|id|_id)['\x22]\s*,\s*([\w$.\[\]'\x22]+)",
                r"|\.eq\(\s*['\x22](?:id|user_id)['\x22]\s*,\s*([\w$.\[\]'\x22]+)",
                r"|where:\s*\{\s*(?:id|userId|email)\s*:\s*([\w$.\[\]'\x22]+)",
            )),
            // statements about user accounts
            user_marker: re(concat!(
                r"Parse\.User\b|['\x22]_User['\x22]|\b(?:User|Users|Account|Profile)\.(?:find\w*|update\w*|delete\w*|destroy|remove)\(",
                r"|\bprisma\.(?:user|account|profile)\.|\.from\(\s*['\x22](?:users|profiles|user_profiles|accounts)['\x22]\s*\)",
                r"|collection\(\s*['\x22](?:users|profiles|accounts)['\x22]\s*\)",
                r"|auth\.admin\.(?:deleteUser|updateUserById)|\.(?:deleteUser|updateUser|setCustomUserClaims)\(",
            )),
            parse_user_query: re(
                r"(\w+)\s*=\s*new\s+Parse\.Query\(\s*(?:Parse\.User|['\x22]_User['\x22])\s*\)",
            ),
            role_write: re(
                r"(?i)(?:\b|['\x22])(?:role|roles|is_?admin|user_?role|permissions)['\x22]?\s*[:,]|setCustomUserClaims\(",
            ),
            // request fields that name the acting user
            identity_field: re(
                r"(?i)^(?:user_?id|uid|owner_?id|author_?id|created_?by|sender_?id|customer_?id|member_?id|profile_?id|requester_?id|actor_?id)$",
            ),
            identity_header: re(
                r#"(?i)\b(?:req|request|event)\.headers(?:\.get\(\s*|\[\s*)['"`]x-(?:user|admin|role|auth-user|current-user|uid|email|account)[\w-]*['"`]"#,
            ),
            // uses of the verified identity
            verified_identity: re(concat!(
                r"\b(?:req|request|ctx|context|locals|event\.context)\.(?:user|auth|session|userId|uid)\b",
                r"|\b(?:decoded|decodedToken|claims|verified|payload|tokenData|authUser|authedUser|currentUser|session|user|caller|identity|me)\??\.(?:id|uid|sub|_id|userId|user_id|email|user)\b",
                r"|\{\s*(?:uid|sub|userId|user|data)\b[^}]*\}\s*=\s*(?:await\s+)?[\w.]*(?:verifyIdToken|verify|getUser|verifyToken|jwtVerify|auth|currentUser|getAuth)\(",
                r"|getUserIdentity",
            )),
            // a call that verifies a token or session (not only reads a header)
            verifies_token: re(
                r"verifyIdToken\(|verifySessionCookie\(|jwt\.verify\(|jwtVerify\(|verifyJwt\(|verifyJWT\(|verifyToken\(|verifyAccessToken\(|auth\.getUser\(|getClaims\(|getServerSession\(|getSession\(|\bauth\(\s*\)|currentUser\(|getUserIdentity\(|\bauthenticate\w*\(",
            ),
            // `if (secret && provided !== secret)`: group 1 and 3 must name the same variable
            fail_open: re(r"if\s*\(\s*(\w+)\s*&&\s*([^()&|;]+?(?:\([^()]*\))?)\s*!==?\s*(\w+)\s*\)"),
            signature: re(r"constructEvent(?:Async)?\(|createHmac\(|timingSafeEqual\(|verifySignature\(|verifyWebhook\w*\(|\bnew\s+Webhook\("),
            header_var: re(
                r#"(?i)(?:const|let|var)\s+(\w+)\s*=\s*(?:req|request)\.headers(?:\.get\(\s*['"]authorization['"]\s*\)|\.authorization\b|\[\s*['"]authorization['"]\s*\])"#,
            ),
        }
    })
}

/// Whether `text` decides on the caller's role or permissions.
pub fn has_role_check(text: &str) -> bool {
    patterns().role_check.is_match(text)
}

/// Whether a middleware or guard name says it checks a role (`isAdmin`, `RolesGuard`).
pub fn is_role_middleware(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["admin", "role", "permission", "staff", "owner", "superuser"]
        .iter()
        .any(|w| lower.contains(w))
}

/// Whether `text` compares a record or id with the caller's own id.
pub fn compares_caller(text: &str) -> bool {
    patterns().compares_caller.is_match(text)
}

/// What an administrator-only operation does to another user's account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AccountOp {
    /// Deletes the account.
    Delete,
    /// Changes roles or claims.
    ChangeRole,
    /// Changes the account's fields (e-mail, password, profile).
    Change,
}

impl AccountOp {
    /// What it does, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            AccountOp::Delete => "deletes the user account",
            AccountOp::ChangeRole => "changes the roles of the user account",
            AccountOp::Change => "changes the user account",
        }
    }
}

/// Where `body` picks a user account by an id from the request (`ids` are the names bound
/// from request input) and what the function then does to it: relative range of the lookup.
/// `writes` and `deletes` say whether the function writes or deletes anything after it.
pub fn account_chosen_by_request(
    body: &str,
    ids: &BTreeSet<String>,
    writes: bool,
    deletes: bool,
) -> Option<(Range<usize>, AccountOp)> {
    if !writes && !deletes {
        return None;
    }
    let p = patterns();
    let parse_vars: Vec<&str> = p
        .parse_user_query
        .captures_iter(body)
        .filter_map(|c| c.get(1).map(|m| m.as_str()))
        .collect();
    for c in p.lookup.captures_iter(body) {
        let Some(value) = (1..=4).find_map(|i| c.get(i)) else {
            continue;
        };
        if !is_request_value(value.as_str(), ids) {
            continue;
        }
        let whole = c.get(0).map_or(0..0, |m| m.range());
        let statement = super::statement_at(body, whole.start);
        // the receiver of the lookup: `query` in `query.get(id)`
        let receiver = body[..whole.start]
            .trim_end_matches('.')
            .rsplit(|ch: char| !(ch.is_alphanumeric() || ch == '_' || ch == '$'))
            .next()
            .unwrap_or("");
        let on_accounts = p.user_marker.is_match(&statement) || parse_vars.contains(&receiver);
        if !on_accounts {
            continue;
        }
        let rest = &body[whole.start..];
        let op = if p.role_write.is_match(rest) {
            AccountOp::ChangeRole
        } else if deletes
            && (statement.contains("delete")
                || statement.contains("Delete")
                || rest.contains(".destroy(")
                || rest.contains(".delete("))
        {
            AccountOp::Delete
        } else {
            AccountOp::Change
        };
        return Some((whole, op));
    }
    None
}

/// Whether a lookup value is request input: `req.params.id`, `request.data.uid`, or a name bound
/// from the request.
fn is_request_value(value: &str, ids: &BTreeSet<String>) -> bool {
    let v = value.trim_matches(|c| c == '\'' || c == '"');
    ids.contains(v)
        || [
            "req.params.",
            "req.body.",
            "req.query.",
            "request.params.",
            "request.body.",
            "request.data.",
            "request.query.",
            "params.",
            "body.",
            "data.",
            "input.",
            "args.",
        ]
        .iter()
        .any(|p| v.starts_with(p))
}

/// Where a function takes the acting user's identity from the request: an identity header
/// (`x-user-email`) the client sets, or a request field named like a user id (`userId` from the
/// body, `uid` from `request.data`; the project pass checks that nothing uses the verified
/// identity instead). Relative range and the name or header.
pub fn identity_from_request(body: &str, ids: &BTreeSet<String>) -> Option<(Range<usize>, String)> {
    let p = patterns();
    if let Some(m) = p.identity_header.find(body) {
        return Some((m.range(), m.as_str().to_string()));
    }
    // `reqBody.userId` (a field of the held request body) is judged by its last segment
    let name = ids.iter().find(|id| {
        p.identity_field
            .is_match(id.rsplit('.').next().unwrap_or(id))
    })?;
    let at = body.find(name.as_str())?;
    Some((at..at + name.len(), name.clone()))
}

/// Whether `body` filters or keys a query by `name` (`.eq('user_id', userId)`,
/// `.where('uid', '==', uid)`, `.doc(userId)`, `equalTo('user', userId)`, `findOne({ userId })`):
/// reading another user's records by the id the request named is acting for them too.
pub fn queries_by(body: &str, name: &str) -> bool {
    let name = regex::escape(name);
    Regex::new(&format!(
        r"(?:\.(?:eq|match|where|filter|doc|child|in|contains|find\w*|get|equalTo|containedIn))\(\s*[^;()]*?(?:[^\w$.]|^){name}\b"
    ))
    .is_ok_and(|re| re.is_match(body))
}

/// Whether a function uses the verified identity (`req.user`, `decoded.uid`, `session.user.id`).
pub fn uses_verified_identity(body: &str) -> bool {
    patterns().verified_identity.is_match(body)
}

/// Whether a function verifies a token or session (a call that checks it, not only reads it).
pub fn verifies_token(body: &str) -> bool {
    patterns().verifies_token.is_match(body)
}

/// Where a function compares a shared secret only when one is configured
/// (`if (secret && provided !== secret)`): with the variable unset, every caller passes.
/// Relative range of the test; when the function verifies a signature, only a verification
/// run under `if (secret)` whose other branch takes the body unverified counts.
pub fn fail_open_secret(body: &str) -> Option<Range<usize>> {
    let p = patterns();
    if p.signature.is_match(body) {
        return fail_open_signature(body);
    }
    p.fail_open.captures_iter(body).find_map(|c| {
        let (Some(whole), Some(a), Some(b)) = (c.get(0), c.get(1), c.get(3)) else {
            return None;
        };
        let name = a.as_str().to_ascii_lowercase();
        (a.as_str() == b.as_str()
            && ["secret", "token", "key", "password"]
                .iter()
                .any(|w| name.contains(w)))
        .then(|| whole.range())
    })
}

/// Where a webhook verifies its signature only when the secret is configured
/// (`if (endpointSecret) { event = stripe.webhooks.constructEvent(...) } else { event =
/// JSON.parse(body) }`, or the `if (!secret)` mirror): with the variable unset, any forged event
/// is accepted. Relative range of the `if`.
fn fail_open_signature(body: &str) -> Option<Range<usize>> {
    static PATTERNS: OnceLock<(Regex, Regex)> = OnceLock::new();
    let (test, unverified) = PATTERNS.get_or_init(|| {
        (
            Regex::new(r#"if\s*\(\s*(!\s*)?(?:process\.env\.|Deno\.env\.get\(\s*['"])?\w*(?i:secret)\w*['"]?\)?\s*\)\s*\{"#)
                .expect("secret test regex is valid"),
            Regex::new(r"JSON\.parse\(|=\s*(?:await\s+)?(?:req|request)\.(?:body\b|json\(\))")
                .expect("unverified body regex is valid"),
        )
    });
    let p = patterns();
    for c in test.captures_iter(body) {
        let Some(whole) = c.get(0) else { continue };
        let Some(close) = matching_brace(body, whole.end() - 1) else {
            continue;
        };
        let then_block = &body[whole.end()..close];
        let rest = &body[close + 1..];
        let Some(after_else) = rest.trim_start().strip_prefix("else") else {
            continue;
        };
        let Some(open) = after_else
            .find('{')
            .filter(|o| after_else[..*o].trim().is_empty())
        else {
            continue;
        };
        let base = body.len() - after_else.len();
        let Some(end) = matching_brace(body, base + open) else {
            continue;
        };
        let else_block = &body[base + open + 1..end];
        let (verified, taken) = if c.get(1).is_some() {
            (else_block, then_block)
        } else {
            (then_block, else_block)
        };
        if p.signature.is_match(verified) && unverified.is_match(taken) {
            return Some(whole.range());
        }
    }
    None
}

/// Where a function reads the `Authorization` header and tests only that it is present
/// (`if (!authHeader) return 401`): relative range of the test.
pub fn header_presence_test(body: &str) -> Option<Range<usize>> {
    let p = patterns();
    for c in p.header_var.captures_iter(body) {
        let Some(var) = c.get(1) else { continue };
        let test = format!(r"if\s*\(\s*!\s*{}\s*\)", regex::escape(var.as_str()));
        if let Ok(re) = Regex::new(&test)
            && let Some(m) = re.find(body)
        {
            return Some(m.range());
        }
    }
    None
}

/// Where a function verifies the caller only when an `Authorization` header is sent
/// (`if (authHeader) { ...getUser(token)...; if (!isAdmin) return 403 }`) and carries on
/// without one: the block refuses callers, there is no `!authHeader` test, and nothing after the
/// block refuses a caller it did not identify. Relative range of the `if`.
pub fn optional_auth(body: &str) -> Option<Range<usize>> {
    static PATTERNS: OnceLock<Regex> = OnceLock::new();
    let refuses = PATTERNS.get_or_init(|| {
        Regex::new(r"(?i)\b40[13]\b|unauthori[sz]ed|unauthenticated|forbidden|if\s*\(\s*!\s*\w*(?:user|session|claims|uid|caller)\w*\s*\)")
            .expect("refusal regex is valid")
    });
    let p = patterns();
    for c in p.header_var.captures_iter(body) {
        let Some(var) = c.get(1) else { continue };
        let name = regex::escape(var.as_str());
        if Regex::new(&format!(r"!\s*{name}\b")).is_ok_and(|re| re.is_match(body)) {
            continue;
        }
        let Ok(test) = Regex::new(&format!(r"if\s*\(\s*{name}\s*(?:&&[^{{}}]*)?\)\s*\{{")) else {
            continue;
        };
        let Some(m) = test.find(body) else { continue };
        let Some(close) = matching_brace(body, m.end() - 1) else {
            continue;
        };
        // the block is a gate (it verifies and refuses some callers), not a personalisation
        let block = &body[m.end()..close];
        if !p.verifies_token.is_match(block) || !refuses.is_match(block) {
            continue;
        }
        let mut after = &body[close + 1..];
        // an `else { ... }` that only logs is part of the same decision
        if let Some(rest) = after.trim_start().strip_prefix("else")
            && let Some(open) = rest.find('{').filter(|o| rest[..*o].trim().is_empty())
        {
            let base = body.len() - rest.len();
            if let Some(end) = matching_brace(body, base + open) {
                after = &body[end + 1..];
            }
        }
        if !refuses.is_match(after) {
            return Some(m.range());
        }
    }
    None
}

/// Where a function signs the caller in only to choose something for them (their own API key,
/// their settings) and refuses nobody: a Supabase `const { data: { user } } = await
/// client.auth.getUser(...)` (or `session` from `getSession`) whose result is read only as
/// `user ? ... : ...`, `user && ...` or inside `if (user) { ... }` blocks, with no refusal anywhere
/// in the function (no 401/403, no `!user` test, no "unauthorized"). Relative range of the call.
pub fn optional_sign_in(body: &str) -> Option<Range<usize>> {
    static PATTERNS: OnceLock<(Regex, Regex)> = OnceLock::new();
    let (fetch, refusal) = PATTERNS.get_or_init(|| {
        (
            Regex::new(r"\{\s*data\s*:\s*\{\s*(user|session)\s*\}\s*(?:,[^{}]*)?\}\s*=\s*await\s+[\w$.]*\.auth\.(?:getUser|getSession)\(")
                .expect("sign-in regex is valid"),
            Regex::new(concat!(
                r"(?i)\b40[13]\b|unauthori[sz]ed|unauthenticated|forbidden|not\s+(?:authenticated|authori[sz]ed|logged|signed)",
                r"|(?:login|sign[- ]?in|auth\w*)\s+(?:is\s+)?required|invalid\s+(?:token|session|jwt|user)",
                r"|!\s*(?:\w+\.)?\w*(?:user|session|claims|uid|caller)\w*\b|(?:user|session)\w*\s*===?\s*(?:null|undefined)",
            ))
            .expect("refusal regex is valid"),
        )
    });
    if refusal.is_match(body) {
        return None;
    }
    let c = fetch.captures(body)?;
    let (call, var) = (c.get(0)?, c.get(1)?);
    let name = regex::escape(var.as_str());
    let after = call.end();
    // `if (user) { ... }` / `if (user && ...) { ... }`: whatever the block does, it is optional
    let blocks: Vec<Range<usize>> = Regex::new(&format!(r"if\s*\(\s*{name}\b[^{{}}()]*\)\s*\{{"))
        .ok()?
        .find_iter(&body[after..])
        .filter_map(|m| {
            let open = after + m.end() - 1;
            matching_brace(body, open).map(|close| after + m.start()..close)
        })
        .collect();
    let uses = Regex::new(&format!(r"\b{name}\b")).ok()?;
    let mut any = false;
    for m in uses.find_iter(&body[after..]) {
        let at = after + m.start();
        if blocks.iter().any(|b| b.contains(&at)) {
            any = true;
            continue;
        }
        let rest = body[after + m.end()..].trim_start();
        // the word in a string (`role: "user"`), a property of something else, an object key
        if body[..at].ends_with(['"', '\'', '`', '.'])
            || (rest.starts_with(':') && !rest.starts_with("::"))
        {
            continue;
        }
        // `user ? a : b` and `user && a`, not `user?.id` (a value that may reach a query)
        let tests = |r: &str| {
            (r.starts_with('?') && !r.starts_with("?.") && !r.starts_with("??"))
                || r.starts_with("&&")
        };
        // `user.id` in the branch of such a test earlier in the statement
        let statement_start = body[..at].rfind([';', '\n', '{']).map_or(0, |i| i + 1);
        let in_branch = uses
            .find_iter(&body[statement_start..at])
            .any(|u| tests(body[statement_start + u.end()..].trim_start()));
        let optional = tests(rest) || in_branch;
        if !optional {
            return None;
        }
        any = true;
    }
    any.then(|| call.range())
}

/// Where a function lets a request through because its body looks like a database webhook
/// (`const looksLikeWebhook = payload.type === 'INSERT' && payload.table === 'notifications'`,
/// then `if (!hasBearer && !looksLikeWebhook) return 401`, or `if (payload.type !== 'INSERT')
/// return 401`): any caller can send that body. A shape test that also compares a header,
/// secret or signature is a real check. Relative range of the shape test.
pub fn forgeable_webhook_check(body: &str) -> Option<Range<usize>> {
    static PATTERNS: OnceLock<(Regex, Regex, Regex, Regex)> = OnceLock::new();
    let (assigned, inline, secret, refuses) = PATTERNS.get_or_init(|| {
        let event = r#"\b(?:type|eventType|event_type|operation)\s*===?\s*['"](?:INSERT|UPDATE|DELETE)['"]"#;
        (
            Regex::new(&format!(r"(?:const|let|var)\s+(\w+)\s*=\s*([^;]*?{event}[^;]*)"))
                .expect("webhook-shape regex is valid"),
            Regex::new(r#"if\s*\([^{};]*\b(?:type|eventType|event_type)\s*!==?\s*['"](?:INSERT|UPDATE|DELETE)['"][^{};]*\)\s*\{?[^;]{0,160}?(?:\b40[13]\b|[Uu]nauthori[sz]ed|[Ff]orbidden)"#)
                .expect("webhook-shape regex is valid"),
            Regex::new(r"(?i)secret|signature|headers|token|hmac|\bkey\b|apikey|bearer")
                .expect("secret regex is valid"),
            Regex::new(r"(?i)\b40[13]\b|unauthori[sz]ed|forbidden").expect("refusal regex is valid"),
        )
    });
    for c in assigned.captures_iter(body) {
        let (Some(var), Some(expr)) = (c.get(1), c.get(2)) else {
            continue;
        };
        if secret.is_match(expr.as_str()) {
            continue;
        }
        // the shape stands in for authorisation: a refusal that the shape alone avoids
        let name = regex::escape(var.as_str());
        let Ok(gate) = Regex::new(&format!(
            r"if\s*\([^{{}};]*!\s*{name}\b[^{{}};]*\)\s*\{{?[^{{}};]{{0,200}}?"
        )) else {
            continue;
        };
        if gate.find_iter(body).any(|m| {
            let end = crate::source::floor_char(body, (m.end() + 200).min(body.len()));
            refuses.is_match(&body[m.start()..end])
        }) {
            return Some(expr.range());
        }
    }
    inline
        .find_iter(body)
        .find(|m| !secret.is_match(m.as_str()))
        .map(|m| m.range())
}

/// The offset of the `}` matching the `{` at `open`, skipping strings, templates and comments.
fn matching_brace(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut comment: Option<&str> = None;
    let rest = &text[open..];
    for (i, ch) in rest.char_indices() {
        if let Some(end) = comment {
            if rest[..i + ch.len_utf8()].ends_with(end) {
                comment = None;
            }
            continue;
        }
        if quote.is_none() && ch == '/' {
            match rest[i + 1..].chars().next() {
                Some('/') => {
                    comment = Some("\n");
                    continue;
                }
                Some('*') => {
                    comment = Some("*/");
                    continue;
                }
                _ => {}
            }
        }
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == q {
                quote = None;
            }
            continue;
        }
        match ch {
            '\'' | '"' | '`' => quote = Some(ch),
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_checks_are_decisions_not_writes() {
        assert!(has_role_check(
            "if (user.role !== 'admin') throw new Error('no')"
        ));
        assert!(has_role_check("if (!(await isAdmin(uid))) return"));
        assert!(has_role_check("if (!context.auth.token.admin) throw"));
        assert!(!has_role_check(
            "query.equalTo('role', request.params.role)"
        ));
        assert!(!has_role_check("await user.save({ role: 'member' })"));
    }

    #[test]
    fn finds_accounts_chosen_by_request_ids() {
        let body = "const q = new Parse.Query(Parse.User); q.equalTo(\"objectId\", req.params.id); const objs = await q.find({ useMasterKey: true }); await objs[0].destroy({ useMasterKey: true });";
        let (_, op) =
            account_chosen_by_request(body, &BTreeSet::new(), false, true).expect("found");
        assert_eq!(op, AccountOp::Delete);
        let ids: BTreeSet<String> = ["uid".to_string()].into();
        let body = "await admin.auth().setCustomUserClaims(uid, { admin: true });";
        let (_, op) = account_chosen_by_request(body, &ids, true, false).expect("found");
        assert_eq!(op, AccountOp::ChangeRole);
        let body = "await Post.findByIdAndDelete(req.params.id)";
        assert!(account_chosen_by_request(body, &BTreeSet::new(), false, true).is_none());
    }

    #[test]
    fn identity_from_the_request_unless_the_token_is_used() {
        let ids: BTreeSet<String> = ["userId".to_string()].into();
        assert!(identity_from_request("await verifyIdToken(t); save(userId)", &ids).is_some());
        assert!(uses_verified_identity(
            "const decoded = await verifyIdToken(t); if (decoded.uid !== userId) throw"
        ));
        assert!(
            identity_from_request(
                "const email = req.headers['x-user-email'];",
                &BTreeSet::new()
            )
            .is_some()
        );
    }

    #[test]
    fn a_secret_compared_only_when_set_fails_open() {
        assert!(fail_open_secret("if (webhookSecret && req.headers.get('x-secret') !== webhookSecret) { throw new Error('no') }").is_some());
        assert!(
            fail_open_secret(
                "if (!webhookSecret || provided !== webhookSecret) { throw new Error('no') }"
            )
            .is_none()
        );
    }

    #[test]
    fn a_signature_verified_only_when_the_secret_is_set_fails_open() {
        let open = "if (endpointSecret) { event = stripe.webhooks.constructEvent(req.body, sig, endpointSecret); } else { event = JSON.parse(req.body); }";
        assert!(fail_open_secret(open).is_some());
        let mirror = "if (!webhookSecret) { console.log('skip'); event = JSON.parse(body) } else { event = stripe.webhooks.constructEvent(body, sig, webhookSecret) }";
        assert!(fail_open_secret(mirror).is_some());
        // fails closed: no secret, no event
        let closed = "if (!webhookSecret) { return new Response('not configured', { status: 500 }) } event = stripe.webhooks.constructEvent(body, sig, webhookSecret);";
        assert!(fail_open_secret(closed).is_none());
        let always =
            "event = stripe.webhooks.constructEvent(body, sig, process.env.STRIPE_WEBHOOK_SECRET);";
        assert!(fail_open_secret(always).is_none());
    }

    #[test]
    fn header_presence_is_not_verification() {
        let body = "const authHeader = req.headers.get('authorization'); if (!authHeader) { return new Response('no', { status: 401 }) }";
        assert!(header_presence_test(body).is_some());
        assert!(!verifies_token(body));
    }

    #[test]
    fn a_gate_run_only_with_a_header_fails_open() {
        let gate = "const authHeader = req.headers.get('Authorization'); if (authHeader) { const { data: { user } } = await admin.auth.getUser(authHeader); if (user && !user.is_admin) { return new Response('Forbidden', { status: 403 }) } } else { console.log('it\\'s anonymous ✅') } await admin.from('t').delete();";
        assert!(optional_auth(gate).is_some());
        // refused after the block: fails closed
        let closed = gate.replace(
            "await admin.from",
            "if (!user) return new Response('no', { status: 401 }); await admin.from",
        );
        assert!(optional_auth(&closed).is_none());
        // personalisation: nothing in the block refuses
        let personal = "const authorization = req.headers.authorization; let viewer = null; if (authorization) { viewer = (await admin.auth().verifyIdToken(authorization)).uid } res.json({ viewer })";
        assert!(optional_auth(personal).is_none());
    }

    #[test]
    fn a_sign_in_that_only_picks_a_setting_refuses_nobody() {
        let pick = "let key = Deno.env.get('KEY'); const auth = req.headers.get('Authorization'); if (auth?.startsWith('Bearer ')) { const { data: { user } } = await client.auth.getUser(); if (user) { const { data } = await admin.from('keys').select('v').eq('user_id', user.id).maybeSingle(); if (data) key = data.v; } } await admin.from('products').update({ x }).eq('id', id);";
        assert!(optional_sign_in(pick).is_some());
        let ternary = "const { data: { user } } = await supabase.auth.getUser(token); const key = user ? await loadKey(user.id) : defaultKey; await llm({ messages: [{ role: \"user\", content }] });";
        assert!(optional_sign_in(ternary).is_some());
        // refused without a user, or the identity used as such: a real check
        let refused = ternary.replace(
            "const key",
            "if (!user) return new Response('no', { status: 401 }); const key",
        );
        assert!(optional_sign_in(&refused).is_none());
        let used = "const { data: { user } } = await supabase.auth.getUser(token); await admin.from('notes').insert({ owner: user.id });";
        assert!(optional_sign_in(used).is_none());
        let chained = "const { data: { user }, error } = await supabase.auth.getUser(token); await admin.from('notes').insert({ owner: user?.id });";
        assert!(optional_sign_in(chained).is_none());
    }

    #[test]
    fn a_body_shaped_like_a_webhook_is_not_authorisation() {
        let forged = "const payload = await req.json(); const hasBearer = auth === serviceKey; const looksLikeWebhook = payload.type === 'INSERT' && payload.table === 'notifications'; if (!hasBearer && !looksLikeWebhook) { return new Response('Unauthorized', { status: 401 }); }";
        assert!(forged_at(forged));
        let inline = "const { type, record } = payload; if (payload.type !== 'INSERT') { return new Response('no', { status: 401 }) }";
        assert!(forged_at(inline));
        // the shape plus a secret header is a check; a shape test that only routes is no gate
        let signed = forged.replace(
            "payload.type === 'INSERT'",
            "req.headers.get('x-webhook-secret') === secret && payload.type === 'INSERT'",
        );
        assert!(!forged_at(&signed));
        let routing = "const isInsert = payload.type === 'INSERT'; if (!isInsert) { return new Response('ignored', { status: 200 }); }";
        assert!(!forged_at(routing));
    }

    fn forged_at(body: &str) -> bool {
        forgeable_webhook_check(body).is_some()
    }

    #[test]
    fn matching_brace_skips_strings_and_comments() {
        let text = "{ const s = '}'; // don't } ✅\n /* } */ if (x) { y } }";
        assert_eq!(matching_brace(text, 0), Some(text.len() - 1));
    }
}
