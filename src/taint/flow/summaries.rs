//! Helper summaries: for a function declared at the top of the file, which parameters reach
//! which sinks and which reach the return value, computed once per function and reused at
//! every call.

use crate::parse::ChildField;
use std::collections::BTreeMap;
use std::rc::Rc;

use tree_sitter::Node;

use super::{FIELD_BIT0, Facts, Step, Summary, Taint, Walker, is_function, node_text, short};

/// How deep helper summaries may nest (helper calling helper).
const MAX_SUMMARY_DEPTH: usize = 2;

/// Functions declared at the top of the file (or exported there), by name.
pub(super) fn top_level_functions<'t>(root: Node<'t>, text: &str) -> BTreeMap<String, Node<'t>> {
    let mut out = BTreeMap::new();
    let mut cursor = root.walk();
    for child in root.named_children(&mut cursor) {
        let decl = if child.kind() == "export_statement" {
            match child.child_field("declaration") {
                Some(d) => d,
                None => continue,
            }
        } else {
            child
        };
        declared_functions(decl, text, &mut |name, f| {
            out.insert(name.to_string(), f);
        });
    }
    out
}

/// Functions declared directly in a function body (`function helper(x) {}`,
/// `const helper = (x) => ...`), by name.
fn block_functions<'t>(body: Node<'t>, text: &'t str) -> Vec<(&'t str, Node<'t>)> {
    let mut out = Vec::new();
    let mut cursor = body.walk();
    for decl in body.named_children(&mut cursor) {
        declared_functions(decl, text, &mut |name, f| out.push((name, f)));
    }
    out
}

/// The functions one statement declares: a function declaration, or `const name = <function>`
/// for each declarator of a variable declaration.
fn declared_functions<'t, 's>(
    decl: Node<'t>,
    text: &'s str,
    found: &mut impl FnMut(&'s str, Node<'t>),
) {
    match decl.kind() {
        "function_declaration" | "generator_function_declaration" => {
            if let Some(name) = decl.child_field("name") {
                found(node_text(text, name), decl);
            }
        }
        "lexical_declaration" | "variable_declaration" => {
            let mut c = decl.walk();
            for d in decl.named_children(&mut c) {
                if let (Some(name), Some(value)) = (d.child_field("name"), d.child_field("value"))
                    && name.kind() == "identifier"
                    && is_function(value)
                {
                    found(node_text(text, name), value);
                }
            }
        }
        _ => {}
    }
}

impl<'t> Walker<'_, 't> {
    pub(super) fn enter(
        &mut self,
        f: Node<'t>,
        params: &[Node<'t>],
        mut seeds: Vec<Option<Taint>>,
        roots: &[Option<String>],
    ) {
        for (i, p) in params.iter().enumerate() {
            let seed = seeds.get_mut(i).and_then(Option::take);
            let root = roots.get(i).cloned().flatten().map(|r| vec![r]);
            self.bind(*p, seed, root.as_deref());
        }
        self.enter_body(f);
    }

    /// Walks a function's body (its parameters bound).
    fn enter_body(&mut self, f: Node<'t>) {
        let Some(body) = f.child_field("body") else {
            return;
        };
        if body.kind() == "statement_block" {
            let outer = self.local_fns.len();
            let text = self.shared.text;
            self.local_fns.extend(block_functions(body, text));
            self.visit(body);
            self.local_fns.truncate(outer);
        } else {
            // expression body: its value is the return value
            let t = self.eval(body);
            if self.summary_mode
                && self.fn_depth <= 1
                && let Some(t) = t
                && t.params != 0
            {
                let derived = Self::builds_value(body);
                self.summary.returns.push((t.params, t.mask, derived));
            }
        }
    }

    /// Whether a returned expression builds a new value (a template, a concatenation, a field
    /// read) instead of handing back a parameter or its promise as it came.
    pub(super) fn builds_value(v: Node<'t>) -> bool {
        let mut v = v;
        while matches!(
            v.kind(),
            "parenthesized_expression"
                | "await_expression"
                | "as_expression"
                | "non_null_expression"
        ) {
            match v.named_child(0) {
                Some(c) => v = c,
                None => return false,
            }
        }
        matches!(
            v.kind(),
            "template_string" | "binary_expression" | "member_expression" | "subscript_expression"
        )
    }

    /// Gives each plain field of a destructured parameter (`{ apiKey, userId: id, model = m }`)
    /// its own parameter bit, recorded in the summary's `fields`; nested patterns and rest
    /// elements keep the whole parameter's bit.
    fn seed_fields(&mut self, param: usize, p: Node<'t>) {
        let Some(pattern) = object_pattern(p) else {
            return;
        };
        for (key, target) in pattern_fields(pattern, self.shared.text) {
            let j = self.summary.fields.len();
            if FIELD_BIT0 + j >= 64 {
                return;
            }
            self.summary.fields.push((param, key.clone()));
            let t = Taint {
                mask: self.shared.active,
                steps: vec![Step {
                    range: target.byte_range(),
                    note: format!("parameter field `{key}` of the helper"),
                }],
                whole: false,
                stringy: true,
                host_fixed: false,
                facts: Facts::default(),
                params: 1u64 << (FIELD_BIT0 + j),
            };
            self.state
                .vars
                .insert(node_text(self.shared.text, target).to_string(), t);
        }
    }

    pub(super) fn summary(&self, f: Node<'t>) -> Option<Rc<Summary>> {
        if self.depth >= MAX_SUMMARY_DEPTH {
            return None;
        }
        if let Some(s) = self.shared.summaries.borrow().get(&f.id()) {
            return Some(Rc::clone(s));
        }
        // recursion: a helper calling itself sees an empty summary
        self.shared
            .summaries
            .borrow_mut()
            .insert(f.id(), Rc::new(Summary::default()));
        let mut sub = Walker::new(self.shared, true, self.depth + 1, self.nesting);
        sub.state.aliases = self.shared.aliases.borrow().clone();
        sub.method = Some(f);
        let params = crate::parse::function_params(f);
        let seeds: Vec<Option<Taint>> = params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                Some(Taint {
                    mask: self.shared.active,
                    steps: vec![Step {
                        range: p.byte_range(),
                        note: format!("parameter `{}` of the helper", short(self.text(*p))),
                    }],
                    whole: false,
                    stringy: true,
                    host_fixed: false,
                    facts: Facts::default(),
                    params: if i < FIELD_BIT0 { 1u64 << i } else { 0 },
                })
            })
            .collect();
        for (p, seed) in params.iter().zip(seeds) {
            sub.bind(*p, seed, None);
        }
        for (i, p) in params.iter().enumerate() {
            sub.seed_fields(i, *p);
        }
        sub.enter_body(f);
        let summary = Rc::new(sub.summary);
        self.shared
            .summaries
            .borrow_mut()
            .insert(f.id(), Rc::clone(&summary));
        Some(summary)
    }
}

/// The object pattern of a parameter (`{ a, b }`, `{ a, b }: Options`, `{ a } = {}`).
pub(super) fn object_pattern(p: Node<'_>) -> Option<Node<'_>> {
    match p.kind() {
        "object_pattern" => Some(p),
        "required_parameter" | "optional_parameter" => {
            p.child_field("pattern").and_then(object_pattern)
        }
        "assignment_pattern" => p.child_field("left").and_then(object_pattern),
        _ => None,
    }
}

/// The plain fields of an object pattern: (key, the identifier it binds).
fn pattern_fields<'t>(pattern: Node<'t>, text: &str) -> Vec<(String, Node<'t>)> {
    let mut out = Vec::new();
    for prop in crate::parse::named_children(pattern) {
        match prop.kind() {
            "shorthand_property_identifier_pattern" => {
                out.push((node_text(text, prop).to_string(), prop));
            }
            "object_assignment_pattern" => {
                if let Some(l) = prop.child_field("left")
                    && l.kind() == "shorthand_property_identifier_pattern"
                {
                    out.push((node_text(text, l).to_string(), l));
                }
            }
            "pair_pattern" => {
                let (Some(k), Some(mut v)) = (prop.child_field("key"), prop.child_field("value"))
                else {
                    continue;
                };
                if v.kind() == "assignment_pattern"
                    && let Some(l) = v.child_field("left")
                {
                    v = l;
                }
                if k.kind() == "property_identifier" && v.kind() == "identifier" {
                    out.push((node_text(text, k).to_string(), v));
                }
            }
            _ => {}
        }
    }
    out
}
