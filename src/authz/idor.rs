//! Insecure direct object references: a write or delete whose record is picked by an id the
//! request chose, in a handler that authenticates the caller but never relates the record to
//! them. Text facts per function, judged in the project pass with the entry point's guard.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use regex::Regex;

use crate::ascii_regex::AsciiRegex;

struct Patterns {
    direct: AsciiRegex,
    destructured: AsciiRegex,
    assigned: AsciiRegex,
    body_alias: AsciiRegex,
    caller: AsciiRegex,
    nest_param: AsciiRegex,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let re = AsciiRegex::new;
        Patterns {
            // req.params.id, request.query.email, body.userId, input.postId, args.id
            direct: re(r"\b(?:req|request|event)\.(?:params|query|body)\.(\w+)|\b(?:params|body|input|args|data)\.(\w+)"),
            destructured: re(r"(?:const|let|var)\s*\{([^}]*)\}\s*=\s*(?:await\s+)?(?:(?:req|request|event)\.(?:params|query|body|data|json\(\))|data\s*(?:as\s|;|\n))"),
            assigned: re(r"(?:const|let|var)\s+(\w+)\s*=\s*[^;\n]*\b(?:req|request)\.(?:params|query|body)\.(\w+)"),
            // `const reqBody = await req.json()`, `const payload = req.body as Input`: the whole
            // request input held in a variable, read later field by field
            body_alias: re(r"(?:const|let|var)\s+(\w+)\s*(?::\s*[\w<>\[\]]+\s*)?=\s*(?:await\s+)?(?:req|request|event)\.(?:body|query|params|data|json\(\s*\))\s*(?:as\s+\w+\s*)?(?:;|\n)"),
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
        out.extend(destructured_ids(c.get(1).map_or("", |m| m.as_str())));
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
    for alias in p.body_alias.captures_iter(body).filter_map(|c| c.get(1)) {
        out.extend(alias_ids(body, alias.as_str()));
    }
    out
}

/// The id-like locals an object pattern's inside binds: `id: postId` binds `postId`, `id` binds
/// `id`, `id = 0` binds `id`.
fn destructured_ids(pattern: &str) -> impl Iterator<Item = String> + '_ {
    pattern.split(',').filter_map(|part| {
        let local = part
            .rsplit(':')
            .next()
            .unwrap_or(part)
            .split('=')
            .next()
            .unwrap_or("")
            .trim();
        is_id_like(local).then(|| local.to_string())
    })
}

/// The id-like names read from a variable that holds the whole request input: `const { userId }
/// = reqBody` binds `userId`, `reqBody.userId` is kept whole (a property read, see [`mentions`]).
fn alias_ids(body: &str, alias: &str) -> BTreeSet<String> {
    let alias = regex::escape(alias);
    let mut out = BTreeSet::new();
    if let Ok(destructured) = Regex::new(&format!(
        r"(?:const|let|var)\s*\{{([^}}]*)\}}\s*=\s*{alias}\b"
    )) {
        for c in destructured.captures_iter(body) {
            out.extend(destructured_ids(c.get(1).map_or("", |m| m.as_str())));
        }
    }
    if let Ok(field) = Regex::new(&format!(r"\b{alias}\??\.(\w+)")) {
        for c in field.captures_iter(body) {
            if let (Some(whole), Some(name)) = (c.get(0), c.get(1))
                && is_id_like(name.as_str())
            {
                out.insert(whole.as_str().to_string());
            }
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
    direct || ids.iter().any(|id| mentions(statement, id))
}

/// Whether `text` names the variable `name` (not a longer identifier, not a property `x.name`).
pub fn mentions(text: &str, name: &str) -> bool {
    mentions_at(text, name).next().is_some()
}

/// Where `text` names the variable `name`.
fn mentions_at<'a>(text: &'a str, name: &'a str) -> impl Iterator<Item = usize> + 'a {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    text.match_indices(name).map(|(i, _)| i).filter(move |&i| {
        !text[..i]
            .chars()
            .next_back()
            .is_some_and(|c| is_ident(c) || c == '.')
            && !text[i + name.len()..].chars().next().is_some_and(is_ident)
    })
}

/// Whether the record a write acts on was picked by a request id earlier in the function: the
/// receiver of `post.save()` (the op starts at `op_at` in `body`) is bound by
/// `const post = await Post.findById(req.params.id)`, or is the callback parameter of such a
/// lookup (`Post.findOne({ where: { id: req.body.id } }).then(post => ...)`, `function (err, post)`).
pub fn receiver_loaded_by_request_id(body: &str, op_at: usize, ids: &BTreeSet<String>) -> bool {
    let before = &body[..crate::source::floor_char(body, op_at.min(body.len()))];
    let start = before
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .map_or(0, |i| i + 1);
    let receiver = &before[start..];
    if receiver.is_empty() || matches!(receiver, "this" | "req" | "request" | "res" | "ctx") {
        return false;
    }
    for i in mentions_at(&before[..start], receiver) {
        let after = before[i + receiver.len()..].trim_start();
        if after.starts_with('=') && !after.starts_with("==") && !after.starts_with("=>") {
            // `post = await Post.findById(id)`: the right-hand side up to the statement's end
            let rhs = &after[1..];
            let end = rhs.find(';').unwrap_or(rhs.len()).min(300);
            if statement_uses_request_id(&rhs[..crate::source::floor_char(rhs, end)], ids) {
                return true;
            }
        } else if after.starts_with(')') || after.starts_with("=>") {
            // a callback parameter: the lookup is the call it is passed to
            let from = crate::source::floor_char(before, i.saturating_sub(300));
            let window = &before[from..i];
            let call = window.rsplit(';').next().unwrap_or(window);
            if call.contains('(') && statement_uses_request_id(call, ids) {
                return true;
            }
        }
    }
    false
}

/// The id-like parameter names of a function, by position: the first parenthesised list of its
/// text (`function update(userId, data)`, `async (postId) =>`, `remove(id: string)`); `None`
/// where a position is destructured or not id-like.
pub fn id_parameters(function_text: &str) -> Vec<Option<String>> {
    let Some(open) = function_text.find('(') else {
        return Vec::new();
    };
    // an arrow function of one bare parameter: `id => ...`
    if let Some(arrow) = function_text[..open].find("=>") {
        let name = function_text[..arrow]
            .trim()
            .trim_start_matches("async")
            .trim();
        return vec![is_id_like(name).then(|| name.to_string())];
    }
    let Some(args) = call_arguments(&function_text[open..]) else {
        return Vec::new();
    };
    args.into_iter()
        .map(|a| {
            let name = a
                .split([':', '='])
                .next()
                .unwrap_or("")
                .trim()
                .trim_start_matches("...");
            (!name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
                && is_id_like(name))
            .then(|| name.to_string())
        })
        .collect()
}

/// The top-level, comma-separated arguments of the call whose `(` starts `call`, up to its
/// closing `)` (looked for within 2,000 bytes); `None` when it does not close there.
pub fn call_arguments(call: &str) -> Option<Vec<&str>> {
    let bounded = &call[..crate::source::floor_char(call, 2000)];
    let end = crate::source::closing_bracket(bounded, '(', ')')?;
    let inner = &call[1..end];
    let mut depth = 0usize;
    let mut start = 0;
    let mut out = Vec::new();
    for (i, c) in crate::source::outside_quotes(inner) {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = inner[start..].trim();
    if !last.is_empty() || !out.is_empty() {
        out.push(last);
    }
    Some(out)
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
    let p = patterns();
    if !p.caller.is_match(body) {
        return false;
    }
    let text = without_echoed_output(body);
    // `user.email = req.body.email` writes a record that happens to be named `user`, and
    // `if (!context.auth) throw ...` only tests that someone signed in
    p.caller.find_iter(&text).any(|m| {
        let after = text[m.end()..].trim_start();
        let negated = text[..m.start()].trim_end().ends_with('!');
        !negated && (!after.starts_with('=') || after.starts_with("==") || after.starts_with("=>"))
    })
}

/// `body` with the arguments of calls that only echo data back blanked out: a page rendered
/// with `{ userId: req.user.id }`, a flash message, a log line. Mentioning the caller there does
/// not relate the record to them. A call whose arguments make calls of their own (a query
/// scoped to the caller inside `res.json(await ...)`) is kept.
fn without_echoed_output(body: &str) -> String {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"\b(?:res|response|reply)\.(?:status\(\s*\d+\s*\)\.)?(?:render|json|send|jsonp)\(|\breq\.flash\(|\bconsole\.\w+\(")
            .expect("output call regex is valid")
    });
    let mut out = body.to_string();
    for m in re.find_iter(body) {
        // the call's `(` is the match's last byte
        let call = &body[m.end() - 1..crate::source::floor_char(body, m.end() + 2000)];
        let Some(end) = crate::source::closing_bracket(call, '(', ')') else {
            continue;
        };
        let args = &call[1..end];
        if args.contains('(') {
            continue;
        }
        let span = m.end()..m.end() - 1 + end;
        let blank: String = body[span.clone()]
            .chars()
            .map(|c| if c == '\n' { c } else { ' ' })
            .collect();
        // same byte length only for ASCII; a span with other characters is left as it is
        if blank.len() == span.len() {
            out.replace_range(span, &blank);
        }
    }
    out
}

/// The model a query names, as one key for every spelling: `Order`, `OrderModel`, `orders`,
/// `prisma.order` and `collection("orders")` are all `order`.
pub fn model_key(name: &str) -> String {
    let lower = name.to_ascii_lowercase().replace(['_', '-'], "");
    let lower = lower.strip_suffix("model").unwrap_or(&lower);
    let lower = lower.strip_suffix("collection").unwrap_or(lower);
    let lower = lower
        .strip_suffix('s')
        .filter(|l| !l.is_empty() && !l.ends_with('s'))
        .unwrap_or(lower);
    lower.to_string()
}

struct ModelPatterns {
    /// One record read by a lookup: `Order.findById(`, `prisma.invoice.findUnique(`,
    /// `db.collection("orders").doc(id).get()`.
    read: AsciiRegex,
    /// Any query of a model: the model is captured by one of the groups.
    query: AsciiRegex,
    /// A filter key naming the record's owner: `{ user: ...`, `userId:`, `where("ownerId", "=="`.
    owner_key: AsciiRegex,
}

fn model_patterns() -> &'static ModelPatterns {
    static PATTERNS: OnceLock<ModelPatterns> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let re = AsciiRegex::new;
        ModelPatterns {
            read: re(concat!(
                r"(?:\b(?:prisma|db|tx|this\.prisma|ctx\.prisma|ctx\.db)\.(\w+)|\b([A-Z]\w*))\.(?:findById|findByPk|findOne|findOneBy|findOneOrFail|findUnique|findUniqueOrThrow|findFirst|findFirstOrThrow)\(",
                r#"|\bcollection\(\s*['"]([\w-]+)['"]\s*\)\s*\.doc\("#,
            )),
            query: re(concat!(
                r"(?:\b(?:prisma|db|tx|this\.prisma|ctx\.prisma|ctx\.db)\.(\w+)|\b([A-Z]\w*))\.(?:find\w*|create\w*|update\w*|upsert|count|delete\w*|destroy|where|aggregate)\(",
                r#"|\bnew\s+([A-Z]\w*)\(\s*\{|\bcollection\(\s*['"]([\w-]+)['"]\s*\)"#,
            )),
            owner_key: re(
                r#"(?i)(?:[{,]\s*|\(\s*['"])(?:user|userid|user_id|owner|ownerid|owner_id|author|authorid|author_id|creator|createdby|created_by|customer|customerid|customer_id|uid)['"]?\s*[:,}]"#,
            ),
        }
    })
}

/// The model a `read` or `query` match names.
fn captured_model(c: &regex::Captures<'_>) -> Option<String> {
    (1..c.len())
        .find_map(|i| c.get(i))
        .map(|m| model_key(m.as_str()))
        .filter(|m| !m.is_empty())
}

/// Whether a request value names a record by an id (`id`, `orderId`, `invoice_id`), not by a
/// public handle (`slug`, `username`, `email`).
fn is_record_id(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "id" || lower.ends_with("id") || lower.ends_with("_id")
}

/// Lookups of one record (`Order.findById(req.params.id)`) whose statement picks it by a
/// request id: (offset of the call in `body`, model, matched text). `statement` gives the
/// statement around an offset of `body`.
pub fn reads_by_request_id(
    body: &str,
    ids: &BTreeSet<String>,
    statement: impl Fn(usize) -> String,
) -> Vec<(std::ops::Range<usize>, String, String)> {
    let p = patterns();
    let record_ids: BTreeSet<String> = ids.iter().filter(|i| is_record_id(i)).cloned().collect();
    model_patterns()
        .read
        .captures_iter(body)
        .filter_map(|c| {
            let whole = c.get(0)?;
            let model = captured_model(&c)?;
            let stmt = statement(whole.start());
            let direct = p.direct.captures_iter(&stmt).any(|d| {
                d.get(1)
                    .or_else(|| d.get(2))
                    .is_some_and(|m| is_record_id(m.as_str()))
            });
            (direct || record_ids.iter().any(|id| mentions(&stmt, id))).then(|| {
                (
                    whole.range(),
                    model,
                    whole.as_str().trim_end_matches('(').to_string(),
                )
            })
        })
        .collect()
}

/// Models a function scopes to its caller: queried in a statement that filters or stamps an
/// owner key (`Order.find({ user: req.user.id })`, `new Order({ user: userId, ... })`,
/// `.where("userId", "==", uid)`), in a function that refers to the caller. `statement` as for
/// [`reads_by_request_id`].
pub fn owner_scoped_models(body: &str, statement: impl Fn(usize) -> String) -> BTreeSet<String> {
    let m = model_patterns();
    if !m.owner_key.is_match(body) || !refers_to_caller(body) {
        return BTreeSet::new();
    }
    m.query
        .captures_iter(body)
        .filter_map(|c| {
            let at = c.get(0)?.start();
            let model = captured_model(&c)?;
            m.owner_key.is_match(&statement(at)).then_some(model)
        })
        .collect()
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
        // echoing the caller back in a page or a flash message relates nothing
        assert!(!refers_to_caller(
            "user.email = req.body.email; res.render('edit', { userId: req.user.id, name: req.user.name });"
        ));
        assert!(refers_to_caller(
            "res.json(await Post.find({ authorId: req.user.id }))"
        ));
        assert!(!refers_to_caller(
            "user.email = req.body.email; user.save();"
        ));
        assert!(refers_to_caller(
            "if (user.id === post.authorId) post.save();"
        ));
        // testing that someone signed in relates nothing; comparing with them does
        assert!(!refers_to_caller(
            "if (!context.auth) throw new Error('unauthenticated'); await doc.delete();"
        ));
        assert!(refers_to_caller(
            "if (doc.ownerUid !== context.auth.uid) throw new Error('denied');"
        ));
    }

    #[test]
    fn models_scoped_to_their_owner_and_read_by_request_id() {
        assert_eq!(model_key("OrderModel"), "order");
        assert_eq!(model_key("orders"), "order");
        assert_eq!(model_key("Address"), "address");
        let statement = |text: &'static str| move |at: usize| text[at..].to_string();
        let list = "const o = await Order.find({ user: req.user.id });";
        assert!(owner_scoped_models(list, statement(list)).contains("order"));
        // a record looked up by the caller's own id is not an owner filter
        let me = "const u = await User.findById(req.user.id);";
        assert!(owner_scoped_models(me, statement(me)).is_empty());
        let read = "const o = await Order.findById(req.params.id);";
        let reads = reads_by_request_id(read, &BTreeSet::new(), statement(read));
        assert_eq!(reads.len(), 1);
        assert_eq!(reads[0].1, "order");
        // a public handle is no record id
        let slug = "const p = await Post.findOne({ slug: req.params.slug });";
        assert!(reads_by_request_id(slug, &BTreeSet::new(), statement(slug)).is_empty());
    }

    #[test]
    fn id_parameters_and_call_arguments_by_position() {
        assert_eq!(
            id_parameters("async function update(userId, data) { }"),
            vec![Some("userId".to_string()), None]
        );
        assert_eq!(
            id_parameters("(postId: string, { title }) => db.post.update()"),
            vec![Some("postId".to_string()), None]
        );
        assert_eq!(
            id_parameters("id => remove(id)"),
            vec![Some("id".to_string())]
        );
        assert_eq!(
            call_arguments("(req.params.id, { a: f(1, 2) }, 'x,y') + 1"),
            Some(vec!["req.params.id", "{ a: f(1, 2) }", "'x,y'"])
        );
        assert_eq!(call_arguments("() ;"), Some(vec![]));
    }

    #[test]
    fn records_loaded_by_a_request_id_are_followed_to_their_write() {
        let ids = request_ids("const { id } = req.params;");
        let body =
            "const post = await Post.findById(id); post.title = req.body.title; await post.save();";
        assert!(receiver_loaded_by_request_id(
            body,
            body.find(".save(").unwrap(),
            &ids
        ));
        let body = "db.User.find({ where: { 'id': req.body.id } }).then(user => { user.email = req.body.email; user.save() })";
        assert!(receiver_loaded_by_request_id(
            body,
            body.find(".save(").unwrap(),
            &ids
        ));
        let body =
            "User.findOne({ _id: req.params.userId }, function (err, user) { user.save(); })";
        assert!(receiver_loaded_by_request_id(
            body,
            body.find(".save(").unwrap(),
            &BTreeSet::new()
        ));
        // a record the caller owns, or a new one
        let body = "const post = await Post.findById(req.user.postId); await post.save();";
        assert!(!receiver_loaded_by_request_id(
            body,
            body.find(".save(").unwrap(),
            &BTreeSet::new()
        ));
        let body = "const post = new Post(req.body); await post.save();";
        assert!(!receiver_loaded_by_request_id(
            body,
            body.find(".save(").unwrap(),
            &BTreeSet::new()
        ));
    }
}
