//! What a handler does and how it checks its caller, read from its text.
//!
//! [`Operation`]s are privileged operations (admin clients, writes, deletes, user management,
//! payments, paid LLM calls, e-mail); [`has_caller_check`] recognises the ways code verifies who
//! is calling (sessions, tokens, platform auth context, webhook signatures, shared secrets) and
//! [`is_auth_middleware`] the names of middleware that does it. Matching is textual over a
//! function's span, found once per file: cheap, and robust to the many SDK spellings.

use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;

use crate::ascii_regex::AsciiRegex;
use crate::rules::Severity;

/// A kind of privileged operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum OpKind {
    /// Creating, deleting or changing user accounts and roles.
    UserManagement,
    /// Changing the database schema.
    Schema,
    /// Refunds, transfers, payouts.
    Payment,
    /// Deleting records or stored files.
    Delete,
    /// Writing records.
    Write,
    /// Storing uploaded files.
    Upload,
    /// Reading every user (admin listing, user collection dumps).
    UserListing,
    /// Reading every row of a table or collection with an admin client (no row filter).
    TableDump,
    /// Paid LLM API calls.
    Llm,
    /// E-mail or SMS.
    Message,
}

impl OpKind {
    /// What the operation does, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            OpKind::UserManagement => "manages user accounts or roles",
            OpKind::Schema => "changes the database schema",
            OpKind::Payment => "moves money",
            OpKind::Delete => "deletes records",
            OpKind::Write => "writes to the database",
            OpKind::Upload => "stores files in the project's storage",
            OpKind::UserListing => "reads every user record",
            OpKind::TableDump => "reads every row of a table",
            OpKind::Llm => "calls a paid LLM API on the owner's key",
            OpKind::Message => "sends e-mail, SMS or chat messages",
        }
    }

    /// Severity of an unguarded operation of this kind; `admin` when the code uses an admin
    /// client (service role, master key, Admin SDK) that bypasses row-level rules.
    pub fn severity(self, admin: bool) -> Severity {
        match self {
            OpKind::UserManagement | OpKind::Schema | OpKind::Payment => Severity::Critical,
            OpKind::Delete | OpKind::Write if admin => Severity::Critical,
            OpKind::Delete
            | OpKind::Write
            | OpKind::UserListing
            | OpKind::TableDump
            | OpKind::Upload => Severity::High,
            OpKind::Llm | OpKind::Message => Severity::Medium,
        }
    }
}

/// One privileged operation found in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// Its kind.
    pub kind: OpKind,
    /// The matched call (`.delete(`, `messages.create(`).
    pub range: Range<usize>,
}

struct Patterns {
    ops: Vec<(OpKind, AsciiRegex)>,
    check: AsciiRegex,
    admin: AsciiRegex,
    auth_middleware: AsciiRegex,
    not_auth_middleware: AsciiRegex,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let re = AsciiRegex::new;
        Patterns {
            ops: vec![
                (
                    OpKind::UserManagement,
                    re(r"auth\.admin\.(?:createUser|deleteUser|updateUserById|inviteUserByEmail|generateLink)\b|setCustomUserClaims\(|\.deleteUser\(|\bnew\s+Parse\.Role\(|\.updateUser\(\s*\w+\s*,"),
                ),
                (
                    OpKind::Schema,
                    re(r"\b(?:CREATE|ALTER|DROP|TRUNCATE)\s+(?:TABLE|INDEX|SCHEMA|DATABASE)\b|\.release(?:Firestore|Storage)RulesetFromSource\(|\.releaseDatabaseRules\("),
                ),
                (
                    OpKind::Payment,
                    re(r"\.(?:refunds|transfers|payouts)\.create\("),
                ),
                (
                    OpKind::Delete,
                    re(r"\.(?:delete|destroy|del|remove)\(\s*\)|\.delete\(\s*\{|\.destroy\(|\.remove\(\s*\[|\.(?:deleteOne|deleteMany|findByIdAndDelete|findOneAndDelete|findByIdAndRemove|recursiveDelete)\(|\bdb\.delete\(|\b(?:batch|transaction|tx|trx)\.delete\(|\bDELETE\s+FROM\b|\bfs\.(?:promises\.)?(?:unlink|rm)\(|\b(?:unlinkSync|rmSync)\("),
                ),
                (
                    OpKind::Write,
                    re(r"\.(?:insert|upsert|insertOne|insertMany|updateOne|updateMany|findByIdAndUpdate|findOneAndUpdate|createMany|bulkWrite|replaceOne|update)\(|\.save\(|\.create\(\s*\{|\.(?:set|add)\(\s*\{|\bdb\.(?:patch|replace|insert)\(|\bINSERT\s+INTO\b|\bUPDATE\s+\w+\s+SET\b|\.(?:addDocuments|addVectors|fromDocuments)\("),
                ),
                (OpKind::Upload, re(r"\.upload\(")),
                (
                    OpKind::UserListing,
                    re(r"\.listUsers\(|\b(?:User|Users|user|users)\.(?:find|findAll|findMany)\(\s*(?:\{\s*\})?\s*\)"),
                ),
                (
                    OpKind::Llm,
                    re(r"chat\.completions\.create\(|\.responses\.create\(|\bmessages\.(?:create|stream)\(|\b(?:generateText|streamText|generateObject|streamObject)\(|\bnew\s+(?:ChatOpenAI|ChatAnthropic|ChatGoogleGenerativeAI)\(|api\.openai\.com|api\.anthropic\.com|generativelanguage\.googleapis\.com|openrouter\.ai/api|ai\.gateway\.lovable\.dev|\.generateContent(?:Stream)?\(|\.embeddings\.create\(|\.images\.generate\("),
                ),
                (
                    OpKind::Message,
                    re(r"hooks\.slack\.com|SLACK_\w*WEBHOOK\w*|discord(?:app)?\.com/api/webhooks|\.sendMail\(|\.emails\.send\(|\bsgMail\.send\(|\bsendEmail\(|\bsendSms\(|\.sendTransacEmail\(|api\.sendgrid\.com/v3/mail/send|api\.resend\.com/emails|api\.mailgun\.net/v3/|api\.postmarkapp\.com/email"),
                ),
            ],
            check: re(concat!(
                r"getServerSession\(|getSession\(|\bauth\(\s*\)|currentUser\(|\bgetUser\(|\bgetAuth\(\s*(?:req|request|event|ctx)|getClaims\(|verifyIdToken\(|verifySessionCookie\(",
                r"|jwt\.verify\(|jwtVerify\(|verifyJwt\(|verifyJWT\(|verifyToken\(|verifyAccessToken\(",
                r"|\bcontext\.auth\b|\brequest\.auth\b|\breq\.auth\b|\bctx\.auth\b|getUserIdentity\(|event\.context\.(?:user|auth|session)\b|\blocals\.(?:user|session|auth)\b",
                r"|\breq\.user\b|\brequest\.user\b|\breq\.session\.\w*[uU]ser|\bctx\.(?:user|session)\b|\bctx\.state\.user\b|\bc\.get\(\s*['\x22](?:user|jwtPayload|session)",
                r"|constructEvent(?:Async)?\(|createHmac\(|timingSafeEqual\(|verifySignature\(|verifyWebhook\w*\(|validateSignature\(|\bnew\s+Webhook\(",
                r"|x-cron-secret|CRON_SECRET|INTERNAL_SECRET|x-internal|x-api-key",
                r"|\b(?:require|ensure|check|verify|validate|assert)_?(?:Auth|User|Admin|Session|Role|Token|Login|Permission|Caller|Owner|Signed)\w*\(",
                r"|\bisAuthenticated\b|\bauthenticate\w*\(|\bauthorize\w*\(|\bwithAuth\b|\bgetToken\(|getCurrentUser\(|getAuthUser\(|getUserFromRequest\(|getLoggedInUser\(|\bprotect\(",
                r"|[=!]==?\s*(?:process\.env\.\w*|Deno\.env\.get\(\s*['\x22]\w*)(?:SECRET|TOKEN|KEY)|(?:SECRET|TOKEN|KEY)\w*\)?\s*[=!]==?",
                r"|headers:\s*\{\s*[Aa]uthorization\s*:",
                r"|!\s*(?:request\.|context\.|ctx\.|event\.)?auth\b|\bauth\??\.uid\b|['\x22]unauthenticated['\x22]|statusCode:\s*40[13]\b|status\(\s*40[13]\s*\)|status:\s*40[13]\b",
                r"|get(?:User|Auth|Caller|Session)Context\(",
                // a record fetched only together with the secret the caller holds (an order's
                // confirmation token, an invite or share token): possession is the check
                r"|\.(?:eq|where|equalTo)\(\s*['\x22]\w*(?:token|secret)['\x22]\s*,",
                // a CAPTCHA answer verified with its provider: the endpoint is public on purpose
                r"|hcaptcha\.com/siteverify|google\.com/recaptcha/api/siteverify|challenges\.cloudflare\.com/turnstile/v0/siteverify",
            )),
            admin: re(r"(?:from|require\()\s*['\x22][^'\x22]*[aA]dmin['\x22]|SERVICE_ROLE|service_role|serviceRole|supabaseAdmin|adminClient|AdminClient|useMasterKey|firebase-admin|admin\.firestore\(|admin\.auth\(|auth\.admin\."),
            auth_middleware: re(r"(?i)auth|protect|verif|token|session|jwt|require|logged|guard|clerk|passport|admin|ensure|permission|role|firebase|secure|private|signed|isuser|ismember|owner"),
            not_auth_middleware: re(r"(?i)^(?:validate|upload|multer|cors|express|bodyparser|json|ratelimit|limiter|helmet|morgan|logger|static|compression|cookieparser|asynchandler|catchasync|trycatch)"),
        }
    })
}

/// Every privileged operation in `text`, in order, with receivers that are not databases (hashes,
/// sessions, SDKs of other services) left out.
pub fn operations(text: &str) -> Vec<Operation> {
    let mut out = Vec::new();
    for (kind, re) in &patterns().ops {
        for m in re.find_iter(text) {
            if matches!(kind, OpKind::Write | OpKind::Delete | OpKind::Upload)
                && !is_store_receiver(text, m.start())
                || *kind == OpKind::Write && is_tracking_write(text, m.start())
                || *kind == OpKind::Llm && is_callers_own_key(text, m.start())
                || is_line_comment(text, m.start())
            {
                continue;
            }
            // `messages.create` is Anthropic's LLM call and Twilio's SMS: the model decides
            let kind = if *kind == OpKind::Llm && m.as_str().starts_with("messages.create") {
                let args = &text
                    [m.end()..crate::source::floor_char(text, (m.end() + 400).min(text.len()))];
                if args.contains("model") {
                    OpKind::Llm
                } else {
                    OpKind::Message
                }
            } else {
                *kind
            };
            if out
                .iter()
                .any(|o: &Operation| o.range.start <= m.start() && m.start() < o.range.end)
            {
                continue;
            }
            out.push(Operation {
                kind,
                range: m.range(),
            });
        }
    }
    for range in table_dumps(text) {
        if !is_line_comment(text, range.start)
            && !out
                .iter()
                .any(|o| o.range.start <= range.start && range.start < o.range.end)
        {
            out.push(Operation {
                kind: OpKind::TableDump,
                range,
            });
        }
    }
    out.sort_by_key(|o| o.range.start);
    out
}

/// Reads of a whole table: a Supabase `.from("t").select(...)` chain with no row filter, or a
/// Firestore `collection("c").get()` with no query. Whether the client bypasses row-level rules
/// (service role, Admin SDK) is the caller's to decide: with the anon key such a read is the
/// table's policies' business. Ranges cover `.select(` / `.get(`.
pub fn table_dumps(text: &str) -> Vec<Range<usize>> {
    static PATTERNS: OnceLock<(AsciiRegex, AsciiRegex, AsciiRegex)> = OnceLock::new();
    let (select, collection, filter) = PATTERNS.get_or_init(|| {
        let re = AsciiRegex::new;
        (
            // the table named by a literal, or by a variable (a route parameter checked
            // against an allow-list of tables is still any of them)
            re(r#"\.from\(\s*(?:['"`][\w.]+['"`]|[A-Za-z_$][\w$]*)\s*\)\s*(\.select\()"#),
            re(r#"\.collection\(\s*['"`]\w+['"`]\s*\)\s*(\.get\(\s*\))"#),
            // a row filter, a single row, a count, or a write whose rows the filter picks
            re(r"\.(?:eq|neq|in|match|or|not|filter|single|maybeSingle|contains|containedBy|overlaps|gt|gte|lt|lte|like|ilike|is|textSearch|rangeGt|rangeLt|insert|upsert|update|delete)\(|head:\s*true|\.limit\(\s*1\s*\)"),
        )
    });
    let mut out = Vec::new();
    for c in select.captures_iter(text) {
        let (Some(whole), Some(call)) = (c.get(0), c.get(1)) else {
            continue;
        };
        if !filter.is_match(query_chain(text, whole.start())) {
            out.push(call.range());
        }
    }
    for c in collection.captures_iter(text) {
        if let Some(call) = c.get(1) {
            out.push(call.range());
        }
    }
    out
}

/// The query chain starting at `at`: up to the first `;`, or, in code without semicolons, the
/// lines that continue it (those starting with `.`), at most 1000 bytes.
fn query_chain(text: &str, at: usize) -> &str {
    let limit = crate::source::floor_char(text, (at + 1000).min(text.len()));
    let rest = &text[at..limit];
    let mut end = 0;
    for line in rest.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if end > 0 && !trimmed.starts_with('.') && !trimmed.starts_with("//") && !trimmed.is_empty()
        {
            break;
        }
        if let Some(semi) = line.find(';') {
            end += semi;
            return &rest[..end];
        }
        end += line.len();
    }
    &rest[..end]
}

/// Whether a write at `at` only records analytics (page views, clicks, events, logs) in a table
/// named as such in the same statement: public endpoints do that by design.
fn is_tracking_write(text: &str, at: usize) -> bool {
    static TRACKING: OnceLock<Regex> = OnceLock::new();
    let re = TRACKING.get_or_init(|| {
        Regex::new(r#"(?i)['"`][\w]*(?:view|analytic|event|log|click|impression|visit|metric|track)s?['"`]"#)
            .expect("tracking regex is valid")
    });
    let from = crate::source::floor_char(text, at.saturating_sub(200));
    let statement = text[from..at].rsplit([';', '{', '}']).next().unwrap_or("");
    re.is_match(statement)
}

/// Whether the LLM call at `at` authenticates with an API key the caller sent (a "bring your
/// own key" endpoint): every key the call or its client names near `at` is read from the request
/// and none from the environment. Such a call spends the caller's quota, not the owner's.
fn is_callers_own_key(text: &str, at: usize) -> bool {
    static KEY_USE: OnceLock<Regex> = OnceLock::new();
    let key_use = KEY_USE.get_or_init(|| {
        Regex::new(concat!(
            r#"(?:['"]x-(?:goog-)?api-key['"]|\bapi_?[kK]ey)\s*:\s*([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\s*[,}\n]"#,
            r"|\bBearer \$\{\s*([A-Za-z_$][\w$]*)\s*\}|[?&]key=\$\{\s*([A-Za-z_$][\w$]*)\s*\}",
            r"|\bnew\s+(?:GoogleGenerativeAI|GoogleGenAI|OpenAI|Anthropic|Groq|Mistral)\(\s*([A-Za-z_$][\w$]*)\s*\)",
            // `new OpenAI({ apiKey })`: shorthand in an options object (not a destructuring)
            r"|\(\s*\{\s*(api_?[kK]ey)\s*[,}]",
        ))
        .expect("key-use regex is valid")
    });
    let from = crate::source::floor_char(text, at.saturating_sub(1500));
    let to = crate::source::floor_char(text, (at + 800).min(text.len()));
    let mut keys: Vec<&str> = key_use
        .captures_iter(&text[from..to])
        .filter_map(|c| c.iter().skip(1).flatten().next().map(|m| m.as_str()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    !keys.is_empty() && keys.iter().all(|k| is_request_value(text, k))
}

/// Whether `name` (an identifier, or a member path such as `req.body.apiKey`) holds a value
/// the request carried and nothing from the environment.
fn is_request_value(text: &str, name: &str) -> bool {
    const REQUEST: &str = r"(?:req|request|event|ctx|c)\.(?:body|query|params|headers)\b";
    if name.contains('.') {
        return Regex::new(&format!("^{REQUEST}")).is_ok_and(|re| re.is_match(name));
    }
    let n = regex::escape(name);
    let from_request = Regex::new(&format!(
        r"\{{[^}}]*\b{n}\b[^}}]*\}}\s*=\s*(?:await\s+)?(?:(?:req|request|event|ctx|c)\.(?:json\(\s*\)|body|query|params)|(?:req|request)\.headers)|\b{n}\s*=\s*(?:await\s+)?(?:{REQUEST}|(?:req|request)\.headers\.get\()"
    ));
    let from_env = Regex::new(&format!(
        r"\b{n}\s*=\s*[^;\n]*(?:process\.env|Deno\.env|import\.meta\.env|functions\.config\(|defineSecret)"
    ));
    from_request.is_ok_and(|re| re.is_match(text)) && !from_env.is_ok_and(|re| re.is_match(text))
}

/// Whether `at` sits on a line that is a comment (`//` or a `*` line of a block): commented-out
/// code is not an operation. Callers with a syntax tree also drop matches inside comment nodes.
fn is_line_comment(text: &str, at: usize) -> bool {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..at].trim_start();
    line.starts_with("//") || line.starts_with('*')
}

/// Whether the receiver before `.method(` at `dot` can be a data store: not a hash, session,
/// collection type, LLM or payment SDK, DOM or response object, cookie jar (`cookies().set({`).
fn is_store_receiver(text: &str, dot: usize) -> bool {
    const NOT_STORES: [&str; 24] = [
        "hash",
        "hmac",
        "cipher",
        "decipher",
        "sha",
        "md5",
        "digest",
        "shasum",
        "session",
        "sessions",
        "checkout",
        "completions",
        "messages",
        "chat",
        "stripe",
        "openai",
        "anthropic",
        "cache",
        "map",
        "set",
        "headers",
        "params",
        "searchparams",
        "formdata",
    ];
    let before = &text[..dot];
    // past the last character that cannot be part of the receiver (which may be several bytes)
    let start = before
        .char_indices()
        .rev()
        .find(|&(_, c)| {
            !(c.is_alphanumeric() || matches!(c, '_' | '$' | '.' | '(' | ')' | '\'' | '"'))
        })
        .map_or(0, |(i, c)| i + c.len_utf8());
    let receiver = before[start..].to_ascii_lowercase();
    let last = receiver.rsplit('.').next().unwrap_or(&receiver);
    !NOT_STORES
        .iter()
        .any(|n| last == *n || last.ends_with("cache") || last.contains("cookie"))
        // `ai.chats.create({ model })` of Google's Gen AI SDK opens a chat with the model
        && !receiver.ends_with("ai.chats")
        && !receiver.contains("stripe.")
        && !receiver.contains("hash")
        && !receiver.contains("hmac")
        && !receiver.contains("cipher")
        && !receiver.contains("session")
        && !receiver.starts_with("res")
        && !receiver.starts_with("response")
        && !receiver.starts_with("document")
        && !receiver.starts_with('$')
        && !receiver.starts_with("window")
        && !receiver.starts_with("localstorage")
        && !receiver.starts_with("sessionstorage")
        && !receiver.starts_with("redis")
}

/// Byte offsets where `text` checks its caller (see the module docs).
pub fn caller_checks(text: &str) -> Vec<usize> {
    patterns()
        .check
        .find_iter(text)
        .map(|m| m.start())
        .collect()
}

/// Whether `text` uses a Supabase client created with the service-role key.
pub fn uses_supabase_service_role(text: &str) -> bool {
    [
        "SERVICE_ROLE",
        "SERVICE_KEY",
        "service_role",
        "serviceRole",
        "supabaseAdmin",
        "createAdminClient",
        "sb_secret_",
    ]
    .iter()
    .any(|m| text.contains(m))
}

/// Whether `text` uses an admin client (service role, master key, Admin SDK) that ignores
/// row-level rules.
pub fn uses_admin_client(text: &str) -> bool {
    patterns().admin.is_match(text)
}

/// Whether a middleware, guard or wrapper name (`requireAuth`, `passport.authenticate`,
/// `protectedProcedure`, `withAuth`) says it authenticates or authorises.
pub fn is_auth_middleware(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    let p = patterns();
    !p.not_auth_middleware.is_match(last) && p.auth_middleware.is_match(name)
}

/// Whether a route or function name is one that must stay public: sign-up, login, password
/// reset, health checks, OAuth callbacks, webhooks (which carry their own signature checks),
/// contact forms and newsletters.
pub fn is_public_name(name: &str) -> bool {
    const PUBLIC: [&str; 26] = [
        "login",
        "signin",
        "signup",
        "register",
        "logout",
        "signout",
        "forgot",
        "forgotpassword",
        "reset",
        "resetpassword",
        "resetpass",
        "health",
        "healthz",
        "healthcheck",
        "ping",
        "callback",
        "oauth",
        "contact",
        "newsletter",
        "subscribe",
        "waitlist",
        "verifyemail",
        "auth",
        "track",
        "unsubscribe",
        "pixel",
    ];
    // forms anyone may submit, named as such anywhere in the name
    const PUBLIC_PARTS: [&str; 7] = [
        "webhook",
        "callback",
        "feedback",
        "contact",
        "newsletter",
        "waitlist",
        "otp",
    ];
    name.split(['/', '.', ':'])
        .map(|s| s.to_ascii_lowercase().replace(['-', '_'], ""))
        .any(|s| PUBLIC.contains(&s.as_str()) || PUBLIC_PARTS.iter().any(|p| s.contains(p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_database_writes_but_not_hash_updates() {
        let ops = operations(
            "hash.update(body); await supabase.from('x').delete().eq('id', id); req.session.destroy(); await prisma.user.update({ where })",
        );
        let kinds: Vec<_> = ops.iter().map(|o| o.kind).collect();
        assert_eq!(kinds, vec![OpKind::Delete, OpKind::Write]);
    }

    #[test]
    fn whole_table_reads_by_a_table_variable_are_dumps() {
        let text = "const { data } = await admin.from(table).select('*').limit(1000);";
        assert_eq!(table_dumps(text).len(), 1);
        let filtered = "const { data } = await admin.from(table).select('*').eq('id', id);";
        assert!(table_dumps(filtered).is_empty());
    }

    #[test]
    fn llm_calls_with_the_callers_own_key_are_not_operations() {
        let byok = r#"export async function POST(request) {
  const { apiKey, prompt } = await request.json();
  const r = await fetch(`https://generativelanguage.googleapis.com/v1beta/models/m:generateContent`, {
    method: "POST",
    headers: { "x-goog-api-key": apiKey },
  });
}"#;
        assert!(operations(byok).is_empty());
        let owner = byok.replace(
            "const { apiKey, prompt } = await request.json();",
            "const { prompt } = await request.json();\n  const apiKey = process.env.GEMINI_API_KEY;",
        );
        assert_eq!(operations(&owner)[0].kind, OpKind::Llm);
        let fallback = byok.replace(
            "\"x-goog-api-key\": apiKey",
            "\"x-goog-api-key\": apiKey || process.env.GEMINI_API_KEY",
        );
        assert_eq!(operations(&fallback)[0].kind, OpKind::Llm);
        let sdk = "const { key, q } = await req.json();\nconst genAI = new GoogleGenerativeAI(key);\nconst r = await genAI.getGenerativeModel({ model: 'g' }).generateContent(q);";
        assert!(operations(sdk).is_empty());
        let env_sdk = "const genAI = new GoogleGenerativeAI(process.env.KEY);\nconst r = await model.generateContent(q);";
        assert_eq!(operations(env_sdk)[0].kind, OpKind::Llm);
    }

    #[test]
    fn llm_calls_are_not_database_writes() {
        let ops = operations("await anthropic.messages.create({ model })");
        assert_eq!(ops.len(), 1);
        assert_eq!(ops[0].kind, OpKind::Llm);
        // Google Gen AI's chat session, and cookie jars, are not stores; a model named `Chats` is
        assert!(operations("const chat = await ai.chats.create({ model, history })").is_empty());
        assert!(operations("cookieStore.set({ name, value, ...options })").is_empty());
        assert!(operations("cookies().set({ name: 'sb', value })").is_empty());
        let ops = operations("await Chats.create({ userId, messages })");
        assert_eq!(ops.len(), 1);
        assert_eq!(ops[0].kind, OpKind::Write);
    }

    #[test]
    fn whole_table_reads_have_no_row_filter() {
        let dumps = |t: &str| table_dumps(t).len();
        assert_eq!(
            dumps("const { data } = await admin.from('letters').select('*').order('created_at')"),
            1
        );
        assert_eq!(
            dumps(
                "await admin\n  .from('letters')\n  .select('*')\n  // newest\n  .order('at')\nreturn data"
            ),
            1
        );
        assert_eq!(
            dumps("await admin.from('letters').select('*').eq('user_id', user.id);"),
            0
        );
        assert_eq!(
            dumps("await admin.from('t').select('id', { count: 'exact', head: true });"),
            0
        );
        assert_eq!(dumps("await admin.from('t').insert(row).select();"), 0);
        assert_eq!(
            dumps("const snap = await db.collection('orders').get();"),
            1
        );
        assert_eq!(
            dumps("await db.collection('orders').where('uid', '==', uid).get();"),
            0
        );
    }

    #[test]
    fn recognises_checks_and_middleware() {
        assert!(
            !caller_checks("const { data: { user } } = await supabase.auth.getUser(token)")
                .is_empty()
        );
        assert!(!caller_checks("if (secret !== Deno.env.get('CRON_SECRET')) return").is_empty());
        assert!(caller_checks("const body = await req.json()").is_empty());
        assert!(is_auth_middleware("passport.authenticate"));
        assert!(is_auth_middleware("verification"));
        assert!(is_auth_middleware("protectedProcedure"));
        assert!(!is_auth_middleware("publicProcedure"));
        assert!(!is_auth_middleware("validate"));
        assert!(is_public_name("/api/auth/signup"));
        assert!(is_public_name("stripe-webhook"));
        assert!(!is_public_name("update-letter-status"));
        assert!(is_public_name("verify-otp"));
    }
}
