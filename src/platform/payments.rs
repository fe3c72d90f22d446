//! `authz.payment-amount-from-request`: a payment created, or a wallet credited, with an amount
//! the request chose.
//!
//! Per function: names bound to request input (`req.body`, `await req.json()`, a `payload` read
//! from either, destructured fields, and values computed from them by arithmetic or number
//! coercion) are followed to the amount of a payment call (Stripe `paymentIntents.create`,
//! `checkout.sessions.create` `unit_amount`, Razorpay `orders.create`, `PayPal` `requestBody`
//! `amount.value`, a `credit_wallet`-like RPC). Unlike the taint engine's injection rules, a
//! number is no cleaner than a string here: `typeof amount === "number"` and `amount * 100` keep
//! it the client's. Database lookups (`Product.findById(req.body.id)`) do not carry the request
//! into their result, so a price read from the server stays quiet.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::Node;

use crate::parse::ChildField;
use crate::platform::js::{self, text};
use crate::platform::{Check, Sink};

/// Payment calls and the keys that hold their amount.
static PAYMENT_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\.(?:paymentIntents|charges|invoiceItems|prices|paymentLinks)\.create$",
        r"|\.checkout\.sessions\.create$|\.orders\.create$|\.requestBody$|\.createOrder$",
        r"|\.PGCreateOrder$|\.transaction\.initialize$|\.rpc$",
    ))
    .expect("valid regex")
});

static AMOUNT_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:amount|unit_amount|unit_amount_decimal|order_amount|p_amount|amount_cents|total_amount)$")
        .expect("valid regex")
});

/// An RPC that credits an account.
static CREDIT_RPC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)credit|wallet|balance|top_?up|deposit|add_funds|add_coins|add_points")
        .expect("valid regex")
});

/// Request input roots (`request.data` is a Firebase callable's payload).
static REQUEST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:await\s+)?(?:req|request|event|ctx\.request|c\.req)\.(?:body|query|params|json\(\)|formData\(\))|^(?:await\s+)?(?:req|request)\.json\(\)|^JSON\.parse\(\s*(?:event|req|request)\.body|^request\.data\b")
        .expect("valid regex")
});

/// Schema validation and parsing calls: they check the shape of the client's value and return
/// it, so a validated amount is still the one the client chose (zod `Schema.parse(req.body)`,
/// `safeParse`, yup `validate`, joi `validateAsync`, valibot `v.parse(Schema, body)`).
static VALIDATE_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|\.)(?:parse|parseAsync|safeParse|safeParseAsync|validate|validateSync|validateAsync|cast|assert)$|^JSON\.parse$")
        .expect("valid regex")
});

/// Callees that register a Firebase callable function: its handler's first parameter is the
/// client's payload (v1 `(data, context)`) or the request whose `data` is (v2 `(request)`).
static CALLABLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|\.)onCall$").expect("valid regex"));

/// Calls that keep a number the client's: coercion and arithmetic helpers.
static NUMERIC_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:Number|parseInt|parseFloat|Math\.\w+|BigInt|String)$").expect("valid regex")
});

/// Whether `node` (an expression) carries request input: a request root, a tainted name, a
/// member of either, arithmetic over one, a number coercion of one, or a method call on one
/// (`amount.toFixed(2)`, `items.reduce(...)`).
fn carries(node: Node<'_>, tainted: &BTreeSet<String>, src: &str) -> bool {
    let node = js::unwrap_expr(node);
    let t = text(node, src);
    if REQUEST.is_match(t) {
        return true;
    }
    match node.kind() {
        "identifier" | "shorthand_property_identifier" => tainted.contains(t),
        "member_expression" | "subscript_expression" => node
            .child_field("object")
            .is_some_and(|o| carries(o, tainted, src)),
        "binary_expression" => {
            let (Some(l), Some(r)) = (node.child_field("left"), node.child_field("right")) else {
                return false;
            };
            let (lc, rc) = (carries(l, tainted, src), carries(r, tainted, src));
            let op = node.child_field("operator").map_or("", |o| text(o, src));
            if op == "*" {
                // `amount * 100` stays the client's; `product.price * quantity` is the server's
                // price times a count
                let constant = |n: Node<'_>| js::unwrap_expr(n).kind() == "number";
                (lc && (rc || constant(r))) || (rc && constant(l))
            } else {
                lc || rc
            }
        }
        "unary_expression" => node
            .child_field("argument")
            .is_some_and(|c| carries(c, tainted, src)),
        "template_string" => {
            let mut c = node.walk();
            node.named_children(&mut c)
                .filter(|s| s.kind() == "template_substitution")
                .any(|s| s.named_child(0).is_some_and(|e| carries(e, tainted, src)))
        }
        "call_expression" => {
            let callee = js::callee(node, src);
            if NUMERIC_CALL.is_match(callee) {
                return js::arguments(node)
                    .first()
                    .is_some_and(|a| carries(*a, tainted, src));
            }
            if VALIDATE_CALL.is_match(callee) {
                return js::arguments(node)
                    .iter()
                    .any(|a| carries(*a, tainted, src));
            }
            // `x.toFixed(2)`, `items.reduce(...)`, `req.json().catch(...)`
            js::receiver(node).is_some_and(|r| carries(r, tainted, src))
        }
        _ => false,
    }
}

/// Names in `function` bound to request input, in source order, to a fixpoint.
fn tainted_names(function: Node<'_>, src: &str) -> BTreeSet<String> {
    let declarators = js::nodes_of(function, &["variable_declarator", "assignment_expression"]);
    let mut tainted = callable_payload(function, src);
    // other handlers' parameters are request objects only through the roots above
    for _ in 0..3 {
        let before = tainted.len();
        for d in &declarators {
            let (name, value) = if d.kind() == "variable_declarator" {
                (d.child_field("name"), d.child_field("value"))
            } else {
                (d.child_field("left"), d.child_field("right"))
            };
            let (Some(name), Some(value)) = (name, value) else {
                continue;
            };
            if !carries(value, &tainted, src) {
                continue;
            }
            match name.kind() {
                "identifier" => {
                    tainted.insert(text(name, src).to_string());
                }
                "object_pattern" | "array_pattern" => js::walk(name, |n| {
                    if matches!(
                        n.kind(),
                        "shorthand_property_identifier_pattern" | "identifier"
                    ) && n.parent().is_none_or(|p| {
                        // `{ data: { user } }`: the key `data` is not bound
                        p.kind() != "pair_pattern" || p.child_field("value").is_some_and(|v| v == n)
                    }) {
                        tainted.insert(text(n, src).to_string());
                    }
                }),
                _ => {}
            }
        }
        if tainted.len() == before {
            break;
        }
    }
    tainted
}

/// The payload names of a Firebase callable handler (`onCall(async (data, context) => ...)`,
/// `onCall(opts, async ({ data, auth }) => ...)`): the first parameter when there are two (v1),
/// the `data` field destructured from the only one (v2; `request.data` is a root already).
fn callable_payload(function: Node<'_>, src: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let registered = function
        .parent()
        .filter(|p| p.kind() == "arguments")
        .and_then(|p| p.parent())
        .is_some_and(|call| {
            call.kind() == "call_expression" && CALLABLE.is_match(js::callee(call, src))
        });
    if !registered {
        return names;
    }
    let list: Vec<Node<'_>> = if let Some(single) = function.child_field("parameter") {
        vec![single]
    } else if let Some(params) = function.child_field("parameters") {
        let mut c = params.walk();
        params.named_children(&mut c).collect()
    } else {
        return names;
    };
    // TypeScript wraps each parameter (`data: Payload`) around its pattern
    let list: Vec<Node<'_>> = list
        .into_iter()
        .map(|p| p.child_field("pattern").unwrap_or(p))
        .collect();
    match list.as_slice() {
        [first, _] if first.kind() == "identifier" => {
            names.insert(text(*first, src).to_string());
        }
        [first] if first.kind() == "object_pattern" => {
            let mut c = first.walk();
            for p in first.named_children(&mut c) {
                match p.kind() {
                    "shorthand_property_identifier_pattern" if text(p, src) == "data" => {
                        names.insert("data".to_string());
                    }
                    // `{ data: payload }`
                    "pair_pattern" => {
                        if let (Some(k), Some(v)) = (p.child_field("key"), p.child_field("value"))
                            && text(k, src) == "data"
                            && v.kind() == "identifier"
                        {
                            names.insert(text(v, src).to_string());
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    names
}

/// The amount pairs inside a payment call's arguments.
fn amount_pairs<'t>(call: Node<'t>, function: Node<'t>, src: &str) -> Vec<Node<'t>> {
    let mut found = Vec::new();
    let Some(args) = call.child_field("arguments") else {
        return found;
    };
    // `const params = { amount, ... }; stripe.paymentIntents.create(params)`: the object the
    // argument names, declared in the same function
    let mut roots = vec![args];
    for arg in js::arguments(call) {
        if arg.kind() != "identifier" {
            continue;
        }
        let name = text(arg, src);
        for d in js::nodes_of(function, &["variable_declarator"]) {
            if d.child_field("name").is_some_and(|n| text(n, src) == name)
                && let Some(value) = d.child_field("value").map(js::unwrap_expr)
                && value.kind() == "object"
            {
                roots.push(value);
            }
        }
    }
    for root in roots {
        pairs_in(root, src, &mut found);
    }
    found
}

/// The amount pairs below `root`.
fn pairs_in<'t>(root: Node<'t>, src: &str, found: &mut Vec<Node<'t>>) {
    js::walk(root, |n| {
        if n.kind() == "pair" {
            let key = js::pair_key(n, src);
            // PayPal: `amount: { currency_code, value }`
            let paypal_value = key == "value"
                && n.parent()
                    .is_some_and(|o| text(o, src).contains("currency_code"));
            if AMOUNT_KEY.is_match(key) || paypal_value {
                found.push(n);
            }
        } else if n.kind() == "shorthand_property_identifier" && AMOUNT_KEY.is_match(text(n, src)) {
            found.push(n);
        }
    });
}

/// The outermost function around `node`.
fn outermost_function(node: Node<'_>) -> Option<Node<'_>> {
    let mut found = None;
    let mut cur = node.parent();
    while let Some(n) = cur {
        if js::FUNCTIONS.contains(&n.kind()) {
            found = Some(n);
        }
        cur = n.parent();
    }
    found
}

/// Reports payment amounts taken from the request in a JS/TS file.
pub fn check_file(sink: &mut Sink<'_, '_>) {
    if sink.active(Check::PaymentAmountFromRequest).is_none() {
        return;
    }
    let Some((src, _, index)) = sink.js() else {
        return;
    };
    let file = sink.ctx().file;
    if crate::platform::client_side::is_client_side(&file.display, &file.text) {
        return;
    }
    let mut hits = Vec::new();
    let mut cache: Vec<(std::ops::Range<usize>, BTreeSet<String>)> = Vec::new();
    for call in index.of(&["call_expression"]) {
        let callee = js::callee(call, src);
        if !PAYMENT_CALL.is_match(callee) {
            continue;
        }
        if callee.rsplit('.').next() == Some("rpc")
            && !js::arguments(call)
                .first()
                .and_then(|a| js::string_value(*a, src))
                .is_some_and(|name| CREDIT_RPC.is_match(name))
        {
            continue;
        }
        let Some(function) = outermost_function(call) else {
            continue;
        };
        // an admin crediting or charging an amount they choose is the point
        if crate::platform::user_search::ROLE_CHECK.is_match(text(function, src)) {
            continue;
        }
        let range = function.byte_range();
        let tainted = if let Some((_, t)) = cache.iter().find(|(r, _)| *r == range) {
            t.clone()
        } else {
            let t = tainted_names(function, src);
            cache.push((range, t.clone()));
            t
        };
        for pair in amount_pairs(call, function, src) {
            let value = if pair.kind() == "pair" {
                pair.child_field("value")
            } else {
                Some(pair)
            };
            if value.is_some_and(|v| carries(v, &tainted, src)) {
                hits.push(pair.byte_range());
            }
        }
    }
    for range in hits {
        sink.report(Check::PaymentAmountFromRequest, range, None, |_| {});
    }
}
