//! `authz.user-search-returns-emails`: a function that searches the users (or profiles) by a
//! term the caller sends (a prefix range in Firestore, `ilike` in Supabase, `contains` in Prisma,
//! `$regex` in Mongo) and puts their e-mail addresses or phone numbers in what it returns, with
//! no role check: any caller can enumerate the user base and harvest contact data.
//!
//! Per function and syntactic: the search, the request input and the returned e-mail must be
//! in the same function.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::Node;

use crate::parse::ChildField;
use crate::platform::js::{self, text};
use crate::platform::{Check, Sink};

/// Collections and tables that hold people.
const PEOPLE: &str = r"(?:users?|profiles?|accounts?|members?|customers?|people|persons?)";

static FIRESTORE_PEOPLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?i)collection(?:Group)?\(\s*['"`]{PEOPLE}['"`]"#
    ))
    .expect("valid regex")
});

static SUPABASE_PEOPLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?i)\.from\(\s*['"`](?:public\.)?{PEOPLE}['"`]\s*\)"#
    ))
    .expect("valid regex")
});

static MODEL_PEOPLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(?:^|\.){PEOPLE}\.(?:findMany|find|findAll)$"
    ))
    .expect("valid regex")
});

/// Matching that finds many rows from a fragment: Prisma `contains`, Mongo `$regex`,
/// Sequelize `Op.like`/`Op.iLike`.
static FUZZY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bcontains\s*:|\bstartsWith\s*:|\$regex|new RegExp\(|Op\.i?[Ll]ike|\[Op\.(?:i?like|startsWith|substring)\]|\bsearch\s*:")
        .expect("valid regex")
});

/// Request input.
static REQUEST_INPUT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:req|request|event|ctx)\.(?:query|body|params|data)\b|\bdata\??\.\w+|searchParams|\.json\(\)|\bargs\.\w+|\binput\.\w+")
        .expect("valid regex")
});

/// A decision on the caller's role: an admin search is the point.
pub(crate) static ROLE_CHECK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\bis_?admin\b|\.role\s*[!=]==?|role\s*[!=]==?\s*['"]|roles?\.(?:includes|some)\(|hasRole|requireAdmin|requireRole|token\.admin|customClaims|\bpermissions?\."#)
        .expect("valid regex")
});

/// A contact field as a property key: `email: ...`, `{ email }`, `phoneNumber: ...`.
static CONTACT_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:e_?mail|email_?address|phone|phone_?number|mobile)$").expect("valid regex")
});

/// A Supabase or SQL column list that includes contact fields or every column.
static SELECT_CONTACT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\.select\(\s*(?:\)|['"`]\s*\*|['"`][^'"`]*\b(?:e_?mail|phone\w*)\b)"#)
        .expect("valid regex")
});

/// Whether `call` searches people by a non-constant fragment; `scope` is the text of the
/// function around it (a Firestore collection is often bound to a variable first).
fn is_people_search(call: Node<'_>, scope: &str, src: &str) -> bool {
    let method = js::method_name(call, src).unwrap_or("");
    let args = js::arguments(call);
    let call_text = text(call, src);
    match method {
        // Firestore: a range or membership filter with a value from the caller
        "where" => {
            let (Some(op), Some(value)) = (args.get(1), args.get(2)) else {
                return false;
            };
            let op = js::string_value(*op, src).unwrap_or("");
            matches!(
                op,
                ">=" | ">" | "<=" | "<" | "array-contains" | "array-contains-any"
            ) && js::string_value(*value, src).is_none()
                && (FIRESTORE_PEOPLE.is_match(call_text) || FIRESTORE_PEOPLE.is_match(scope))
        }
        "ilike" | "like" | "textSearch" => {
            args.get(1)
                .is_some_and(|v| js::string_value(*v, src).is_none())
                && SUPABASE_PEOPLE.is_match(call_text)
        }
        "or" => {
            args.first().is_some_and(|v| {
                let t = text(*v, src);
                (t.contains("ilike") || t.contains("like.")) && js::string_value(*v, src).is_none()
            }) && SUPABASE_PEOPLE.is_match(call_text)
        }
        _ => {
            MODEL_PEOPLE.is_match(js::callee(call, src))
                && args
                    .first()
                    .is_some_and(|a| FUZZY.is_match(text(*a, src)) || scope.contains("new RegExp("))
        }
    }
}

/// Where `function` hands out a contact field, outside the `search` call's filter: an object key
/// `email`, or a column list with it (or `*`) in the search chain or in a Prisma `select`; the
/// first one after the search, else the first.
fn contact_output<'t>(function: Node<'t>, search: Node<'t>, src: &str) -> Option<Node<'t>> {
    let filter = js::arguments(search);
    let in_filter = |n: Node<'_>| {
        filter
            .iter()
            .any(|a| a.start_byte() <= n.start_byte() && n.end_byte() <= a.end_byte())
    };
    let mut found = Vec::new();
    js::walk(function, |n| {
        match n.kind() {
            "pair" => {
                let key = js::pair_key(n, src);
                if !CONTACT_KEY.is_match(key) {
                    return;
                }
                let value = n.child_field("value").map_or("", |v| text(v, src));
                // Prisma `select: { email: true }` selects it; `where: { email: { contains } }`
                // filters on it
                let selects = value == "true";
                if (selects || !in_filter(n)) && value != "false" {
                    found.push(n);
                }
            }
            "shorthand_property_identifier" if CONTACT_KEY.is_match(text(n, src)) => {
                found.push(n);
            }
            "call_expression" if js::method_name(n, src) == Some("select") => {
                let t = text(n, src);
                let tail = t.rfind(".select(").map_or(t, |i| &t[i..]);
                if SELECT_CONTACT.is_match(tail) {
                    found.push(n.child_field("arguments").unwrap_or(n));
                }
            }
            _ => {}
        }
    });
    // what the search's rows carry, rather than an exact lookup earlier in the function
    found
        .iter()
        .find(|n| n.start_byte() >= search.start_byte())
        .or_else(|| found.first())
        .copied()
}

/// Reports functions of a JS/TS file that search people by request input and return contacts.
pub fn check_file(sink: &mut Sink<'_, '_>) {
    if sink.active(Check::UserSearchReturnsEmails).is_none() {
        return;
    }
    let file = sink.ctx().file;
    // browser code runs with the user's own key: what it reads is the database rules' business
    if crate::platform::client_side::is_client_side(&file.display, &file.text) {
        return;
    }
    let Some((src, _, index)) = sink.js() else {
        return;
    };
    if !(src.contains("mail") || src.contains("phone")) {
        return;
    }
    let mut judged: Vec<Range<usize>> = Vec::new();
    let mut hits = Vec::new();
    let outermost = outermost_functions(&index);
    for call in index.of(&["call_expression"]) {
        let Some(function) = enclosing(&outermost, call) else {
            continue;
        };
        let range = function.byte_range();
        if judged.contains(&range) {
            continue;
        }
        let body = text(function, src);
        if !is_people_search(call, body, src) {
            continue;
        }
        judged.push(range);
        if !REQUEST_INPUT.is_match(body) || ROLE_CHECK.is_match(body) {
            continue;
        }
        if let Some(output) = contact_output(function, call, src) {
            hits.push(output.byte_range());
        }
    }
    for range in hits {
        sink.report(Check::UserSearchReturnsEmails, range, None, |_| {});
    }
}

/// The file's outermost functions (inside no other function), in source order: the handlers,
/// not the callbacks inside them. One pass over the named nodes; asking each call's ancestors
/// instead cost a `parent()` lookup (a search down from the root) per level (issue 22).
fn outermost_functions<'t>(index: &js::Index<'t>) -> Vec<Node<'t>> {
    let mut found: Vec<Node<'t>> = Vec::new();
    for &n in index.nodes() {
        // pre-order: a node inside the last outermost function starts before that function ends
        if js::FUNCTIONS.contains(&n.kind())
            && found.last().is_none_or(|f| n.start_byte() >= f.end_byte())
        {
            found.push(n);
        }
    }
    found
}

/// The outermost function around `node`, from [`outermost_functions`] (whose ranges are
/// disjoint and sorted).
fn enclosing<'t>(outermost: &[Node<'t>], node: Node<'t>) -> Option<Node<'t>> {
    let at = outermost.partition_point(|f| f.start_byte() <= node.start_byte());
    let f = *outermost.get(at.checked_sub(1)?)?;
    (node.start_byte() < f.end_byte() && node.end_byte() <= f.end_byte() && f.id() != node.id())
        .then_some(f)
}
