//! The walk: one pass over a file's syntax tree that tracks which variables hold untrusted values
//! (one bit per taint rule) and reports every sink an untrusted value reaches.
//!
//! Flow-sensitive inside a function (statements in order; `if` branches walked apart and merged;
//! an early `return` after a failed guard cleans the value afterwards), closures see the enclosing
//! function's variables, and calls to functions defined at the top of the same file use a summary
//! (which parameters reach which sinks, which reach the return value).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::ops::Range;
use std::rc::Rc;

use tree_sitter::{Node, Tree};

use super::Compiled;
use super::spec::{Seg, SinkKind, Source};

/// Longest flow kept; longer paths keep their first steps and the sink.
const MAX_STEPS: usize = 10;
/// How deep helper summaries may nest (helper calling helper).
const MAX_SUMMARY_DEPTH: usize = 2;

/// Methods whose result says something about a value without carrying it.
const CLEAN_METHODS: &[&str] = &[
    "includes",
    "has",
    "test",
    "startsWith",
    "endsWith",
    "indexOf",
    "lastIndexOf",
    "some",
    "every",
    "findIndex",
    "localeCompare",
    "hasOwnProperty",
    "search",
    "isArray",
    "isInteger",
    "isNaN",
    "isSafeInteger",
    "isFinite",
    "keys",
    "size",
    "length",
];

/// Methods that iterate a value and hand its elements to a callback's first parameter.
const ITERATORS: &[&str] = &[
    "map", "forEach", "filter", "find", "flatMap", "then", "some", "every",
];

/// Response methods that return the response, so `res.status(400).send(x)` is `res.send(x)`.
const CHAINABLE: &[&str] = &[
    "status",
    "type",
    "set",
    "header",
    "append",
    "cookie",
    "contentType",
    "code",
    "vary",
];

/// Methods that store their arguments in the receiver.
const MUTATORS: &[&str] = &["push", "unshift", "set", "append", "add"];

/// One step of a flow.
#[derive(Clone, Debug)]
pub struct Step {
    /// Where.
    pub range: Range<usize>,
    /// What happens there.
    pub note: String,
}

/// An untrusted value.
#[derive(Clone, Debug)]
struct Taint {
    /// Rules for which the value is still untrusted.
    mask: u64,
    /// How it got here, source first.
    steps: Vec<Step>,
    /// The whole request object (or a spread copy), not one of its fields.
    whole: bool,
    /// Not an object or array literal.
    stringy: bool,
    /// Built behind a constant scheme+host or a constant path: cannot choose the host.
    host_fixed: bool,
    /// In a helper summary: the parameters it came from (bit i = parameter i).
    params: u64,
}

impl Taint {
    fn step(mut self, range: Range<usize>, note: String) -> Self {
        if self.steps.len() < MAX_STEPS {
            self.steps.push(Step { range, note });
        }
        self
    }

    fn field(mut self) -> Self {
        self.whole = false;
        self.stringy = true;
        self
    }

    fn masked(mut self, clean: u64) -> Option<Self> {
        self.mask &= !clean;
        (self.mask != 0).then_some(self)
    }
}

fn union(a: Option<Taint>, b: Option<Taint>) -> Option<Taint> {
    match (a, b) {
        (Some(mut a), Some(b)) => {
            a.mask |= b.mask;
            a.whole |= b.whole;
            a.stringy |= b.stringy;
            a.host_fixed &= b.host_fixed;
            a.params |= b.params;
            Some(a)
        }
        (a, b) => a.or(b),
    }
}

/// A sink an untrusted value reached.
#[derive(Debug)]
pub struct Hit {
    /// Local rule number.
    pub rule: usize,
    /// The sink expression.
    pub range: Range<usize>,
    /// Source first, sink last.
    pub steps: Vec<Step>,
    /// The source's text, for messages.
    pub source: String,
    /// The sink's text, for messages.
    pub sink: String,
}

/// (parameters, rule, sink range, steps inside the helper, sink text).
type SummarySink = (u64, usize, Range<usize>, Vec<Step>, String);

/// Names a condition makes safe, with the rules it cleans for.
type Safe = Vec<(String, u64)>;

/// A helper's effect on its parameters.
#[derive(Debug, Default)]
struct Summary {
    /// Sinks inside the helper that its parameters reach.
    sinks: Vec<SummarySink>,
    /// (parameters, rules for which the return value carries them).
    returns: Vec<(u64, u64)>,
}

/// Variables and cleaned member paths at one point of a function.
#[derive(Clone, Debug, Default)]
struct State {
    vars: BTreeMap<String, Taint>,
    /// Member paths (`req.query.to`) a guard made safe, with the rules it cleaned for.
    cleared: BTreeMap<String, u64>,
}

impl State {
    fn merge(mut self, other: State) -> State {
        for (k, v) in other.vars {
            let merged = union(self.vars.remove(&k), Some(v));
            if let Some(t) = merged {
                self.vars.insert(k, t);
            }
        }
        self.cleared = self
            .cleared
            .into_iter()
            .filter_map(|(k, m)| {
                let both = m & other.cleared.get(&k).copied().unwrap_or(0);
                (both != 0).then_some((k, both))
            })
            .collect();
        self
    }

    fn clean(&mut self, name: &str, mask: u64) {
        if let Some(t) = self.vars.remove(name) {
            if let Some(t) = t.masked(mask) {
                self.vars.insert(name.to_string(), t);
            }
        } else {
            *self.cleared.entry(name.to_string()).or_default() |= mask;
        }
    }
}

/// What every walker of one file shares.
struct Shared<'t> {
    cfg: &'t Compiled,
    text: &'t str,
    active: u64,
    hint_offsets: Vec<usize>,
    functions: BTreeMap<String, Node<'t>>,
    summaries: RefCell<BTreeMap<usize, Rc<Summary>>>,
}

/// Runs every active rule (bits of `active`) over one file.
/// `hint_offsets`: where source words occur (sorted), so functions without one are skipped.
pub fn analyze(
    cfg: &Compiled,
    text: &str,
    tree: &Tree,
    active: u64,
    hint_offsets: Vec<usize>,
) -> Vec<Hit> {
    if hint_offsets.is_empty() {
        return Vec::new();
    }
    let root = tree.root_node();
    let shared = Shared {
        cfg,
        text,
        active,
        hint_offsets,
        functions: top_level_functions(root, text),
        summaries: RefCell::new(BTreeMap::new()),
    };
    let mut walker = Walker::new(&shared, false, 0, 0);
    walker.visit(root);
    let mut hits = walker.hits;
    hits.sort_by_key(|h| (h.range.start, h.rule));
    hits.dedup_by(|a, b| a.range.start == b.range.start && a.rule == b.rule);
    hits
}

/// Functions declared at the top of the file (or exported there), by name.
fn top_level_functions<'t>(root: Node<'t>, text: &str) -> BTreeMap<String, Node<'t>> {
    let mut out = BTreeMap::new();
    let mut cursor = root.walk();
    for child in root.named_children(&mut cursor) {
        let decl = if child.kind() == "export_statement" {
            match child.child_by_field_name("declaration") {
                Some(d) => d,
                None => continue,
            }
        } else {
            child
        };
        match decl.kind() {
            "function_declaration" | "generator_function_declaration" => {
                if let Some(name) = decl.child_by_field_name("name") {
                    out.insert(node_text(text, name).to_string(), decl);
                }
            }
            "lexical_declaration" | "variable_declaration" => {
                let mut c = decl.walk();
                for d in decl.named_children(&mut c) {
                    if let (Some(name), Some(value)) = (
                        d.child_by_field_name("name"),
                        d.child_by_field_name("value"),
                    ) && name.kind() == "identifier"
                        && is_function(value)
                    {
                        out.insert(node_text(text, name).to_string(), value);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn node_text<'a>(text: &'a str, n: Node<'_>) -> &'a str {
    text.get(n.byte_range()).unwrap_or("")
}

fn is_function(n: Node<'_>) -> bool {
    matches!(
        n.kind(),
        "arrow_function"
            | "function_expression"
            | "function"
            | "generator_function"
            | "function_declaration"
            | "generator_function_declaration"
            | "method_definition"
    )
}

fn short(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 60 {
        one_line.chars().take(57).collect::<String>() + "..."
    } else {
        one_line
    }
}

/// The content of a string literal, if `n` is one.
fn string_value<'a>(text: &'a str, n: Node<'_>) -> Option<&'a str> {
    (n.kind() == "string").then(|| {
        let t = node_text(text, n);
        t.get(1..t.len().saturating_sub(1)).unwrap_or("")
    })
}

/// Whether a constant string prefix fixes the host (or is a same-site path).
fn fixes_host(prefix: &str) -> bool {
    if let Some(rest) = prefix.split_once("://").map(|(_, r)| r) {
        return rest.contains('/') || rest.contains('?') || rest.contains('#');
    }
    prefix.starts_with('/') && prefix.len() > 1 && !prefix.starts_with("//")
        || prefix.starts_with("./")
}

struct Walker<'s, 't> {
    shared: &'s Shared<'t>,
    state: State,
    hits: Vec<Hit>,
    summary_mode: bool,
    summary: Summary,
    depth: usize,
    fn_depth: usize,
    calls: Vec<Vec<String>>,
    /// How many `visit`/`eval` calls are on the stack: code nested deeper than [`MAX_NESTING`]
    /// (generated or hostile files) is not followed, so the walk cannot overflow the stack.
    nesting: usize,
    /// The same bound for the read-only recursive helpers (`path_of`, `guards`).
    helper_nesting: Cell<usize>,
}

/// The deepest syntax nesting the walk follows.
const MAX_NESTING: usize = 400;

impl<'s, 't> Walker<'s, 't> {
    fn new(shared: &'s Shared<'t>, summary_mode: bool, depth: usize, nesting: usize) -> Self {
        Walker {
            shared,
            state: State::default(),
            hits: Vec::new(),
            summary_mode,
            summary: Summary::default(),
            depth,
            fn_depth: 0,
            calls: Vec::new(),
            nesting,
            helper_nesting: Cell::new(0),
        }
    }

    /// `obj.x = t` or `list.push(t)`: the container `name` now holds (part of) an untrusted value.
    /// The container itself is neither the whole request object nor a string.
    fn taint_container(&mut self, name: String, t: &Taint) {
        let mut stored = t.clone();
        stored.whole = false;
        stored.stringy = false;
        if let Some(m) = union(self.state.vars.remove(&name), Some(stored)) {
            self.state.vars.insert(name, m);
        }
    }

    fn text(&self, n: Node<'_>) -> &'t str {
        node_text(self.shared.text, n)
    }

    fn has_taint(&self) -> bool {
        self.state.vars.values().any(|t| t.mask != 0)
    }

    fn contains_hint(&self, n: Node<'_>) -> bool {
        let offsets = &self.shared.hint_offsets;
        let i = offsets.partition_point(|&o| o < n.start_byte());
        offsets.get(i).is_some_and(|&o| o < n.end_byte())
    }

    // ---- paths -------------------------------------------------------------------------------

    /// The dotted path of an expression: `req.query.id` -> [req, query, id]; anything that is not
    /// a name, member or constant subscript becomes `?` (matches `$X` and `*` only).
    fn path_of(&self, n: Node<'_>) -> Vec<String> {
        let depth = self.helper_nesting.get();
        if depth >= MAX_NESTING {
            return vec!["?".into()];
        }
        self.helper_nesting.set(depth + 1);
        let path = self.path_of_node(n);
        self.helper_nesting.set(depth);
        path
    }

    fn path_of_node(&self, n: Node<'_>) -> Vec<String> {
        match n.kind() {
            "identifier"
            | "property_identifier"
            | "this"
            | "private_property_identifier"
            | "shorthand_property_identifier"
            | "super" => vec![self.text(n).to_string()],
            "member_expression" => {
                let mut p = n
                    .child_by_field_name("object")
                    .map_or_else(|| vec!["?".into()], |o| self.path_of(o));
                p.push(
                    n.child_by_field_name("property")
                        .map_or("?", |x| self.text(x))
                        .to_string(),
                );
                p
            }
            "subscript_expression" => {
                let mut p = n
                    .child_by_field_name("object")
                    .map_or_else(|| vec!["?".into()], |o| self.path_of(o));
                let index = n.child_by_field_name("index");
                p.push(
                    index
                        .and_then(|i| string_value(self.shared.text, i))
                        .unwrap_or("*")
                        .to_string(),
                );
                p
            }
            "parenthesized_expression"
            | "non_null_expression"
            | "as_expression"
            | "satisfies_expression" => {
                unwrap(n).map_or_else(|| vec!["?".into()], |c| self.path_of(c))
            }
            // `res.status(404).send(...)` is `res.send(...)`: chained setters return the receiver
            "call_expression" => {
                let callee = n.child_by_field_name("function");
                match callee.filter(|c| c.kind() == "member_expression") {
                    Some(c)
                        if c.child_by_field_name("property")
                            .is_some_and(|p| CHAINABLE.contains(&self.text(p))) =>
                    {
                        c.child_by_field_name("object")
                            .map_or_else(|| vec!["?".into()], |o| self.path_of(o))
                    }
                    _ => vec!["?".into()],
                }
            }
            _ => vec!["?".into()],
        }
    }

    fn source_for_path(&self, path: &[String], range: Range<usize>, shown: &str) -> Option<Taint> {
        let mut mask = 0;
        for (s, bit) in &self.shared.cfg.sources {
            if let Source::Pattern(p) = s
                && p.args.is_none()
                && p.matches_path(path)
            {
                mask |= bit;
            }
        }
        mask &= self.shared.active;
        if let Some(cleared) = self.state.cleared.get(&path.join(".")) {
            mask &= !cleared;
        }
        (mask != 0).then(|| Taint {
            mask,
            steps: vec![Step {
                range,
                note: format!("untrusted input enters here: `{}`", short(shown)),
            }],
            whole: true,
            stringy: true,
            host_fixed: false,
            params: 0,
        })
    }

    // ---- statements --------------------------------------------------------------------------

    fn visit(&mut self, n: Node<'t>) {
        if self.nesting >= MAX_NESTING {
            return;
        }
        self.nesting += 1;
        self.visit_node(n);
        self.nesting -= 1;
    }

    fn visit_node(&mut self, n: Node<'t>) {
        match n.kind() {
            "comment" => {}
            "program" | "statement_block" | "class_body" | "else_clause" => self.children(n),
            "lexical_declaration" | "variable_declaration" => {
                let mut c = n.walk();
                let decls: Vec<_> = n.named_children(&mut c).collect();
                for d in decls {
                    if d.kind() != "variable_declarator" {
                        continue;
                    }
                    let value = d.child_by_field_name("value");
                    let t = value.and_then(|v| self.eval(v));
                    let path = value.map(|v| self.path_of(v));
                    if let Some(name) = d.child_by_field_name("name") {
                        self.bind(name, t, path.as_deref());
                    }
                }
            }
            "return_statement" => {
                let t = n.named_child(0).and_then(|c| self.eval(c));
                if self.summary_mode
                    && self.fn_depth == 0
                    && let Some(t) = t
                    && t.params != 0
                {
                    self.summary.returns.push((t.params, t.mask));
                }
            }
            "if_statement" => self.if_statement(n),
            "for_in_statement" => {
                let t = n
                    .child_by_field_name("right")
                    .and_then(|r| self.eval(r))
                    .map(Taint::field);
                let pre = self.state.clone();
                if let Some(left) = n.child_by_field_name("left") {
                    self.bind(left, t, None);
                }
                if let Some(body) = n.child_by_field_name("body") {
                    self.visit(body);
                }
                let after = std::mem::take(&mut self.state);
                self.state = pre.merge(after);
            }
            "for_statement" | "while_statement" | "do_statement" => {
                let pre = self.state.clone();
                self.children(n);
                let after = std::mem::take(&mut self.state);
                self.state = pre.merge(after);
            }
            "function_declaration" | "generator_function_declaration" => {
                self.function(n, Vec::new());
            }
            _ => {
                self.eval(n);
            }
        }
    }

    fn children(&mut self, n: Node<'t>) {
        let mut c = n.walk();
        let kids: Vec<_> = n.named_children(&mut c).collect();
        for k in kids {
            self.visit(k);
        }
    }

    fn if_statement(&mut self, n: Node<'t>) {
        let cond = n.child_by_field_name("condition");
        if let Some(c) = cond {
            self.eval(c);
        }
        let (then_safe, else_safe) = cond.map(|c| self.guards(c)).unwrap_or_default();
        let pre = self.state.clone();
        for (name, mask) in &then_safe {
            self.state.clean(name, *mask);
        }
        let consequence = n.child_by_field_name("consequence");
        if let Some(c) = consequence {
            self.visit(c);
        }
        let then_state = std::mem::replace(&mut self.state, pre);
        for (name, mask) in &else_safe {
            self.state.clean(name, *mask);
        }
        let alternative = n.child_by_field_name("alternative");
        if let Some(a) = alternative {
            self.visit(a);
        }
        let else_state = std::mem::take(&mut self.state);
        let then_exits = consequence.is_some_and(exits);
        let else_exits = alternative.is_some_and(exits);
        self.state = match (then_exits, else_exits) {
            (true, false) => else_state,
            (false, true) => then_state,
            _ => then_state.merge(else_state),
        };
    }

    /// Names a condition proves safe when true (then) and when false (else), with rule masks.
    fn guards(&self, cond: Node<'t>) -> (Safe, Safe) {
        let depth = self.helper_nesting.get();
        if depth >= MAX_NESTING {
            return (Safe::default(), Safe::default());
        }
        self.helper_nesting.set(depth + 1);
        let safe = self.guards_node(cond);
        self.helper_nesting.set(depth);
        safe
    }

    fn guards_node(&self, cond: Node<'t>) -> (Safe, Safe) {
        match cond.kind() {
            "parenthesized_expression" => cond
                .named_child(0)
                .map(|c| self.guards(c))
                .unwrap_or_default(),
            "unary_expression" if self.op(cond) == "!" => {
                let (t, e) = cond
                    .child_by_field_name("argument")
                    .map(|c| self.guards(c))
                    .unwrap_or_default();
                (e, t)
            }
            "binary_expression" => {
                let (Some(l), Some(r)) = (
                    cond.child_by_field_name("left"),
                    cond.child_by_field_name("right"),
                ) else {
                    return Default::default();
                };
                match self.op(cond) {
                    "&&" => {
                        let (mut t, _) = self.guards(l);
                        t.extend(self.guards(r).0);
                        (t, Vec::new())
                    }
                    "||" => {
                        let (_, mut e) = self.guards(l);
                        e.extend(self.guards(r).1);
                        (Vec::new(), e)
                    }
                    op @ ("===" | "==" | "!==" | "!=") => {
                        // comparing with a constant string is the smallest allowlist
                        let (var, constant) = if string_value(self.shared.text, r).is_some() {
                            (strip(l), true)
                        } else {
                            (strip(r), string_value(self.shared.text, l).is_some())
                        };
                        if !constant || !is_name_or_member(var) {
                            return Default::default();
                        }
                        let safe = vec![(self.path_of(var).join("."), u64::MAX)];
                        if op.starts_with('!') {
                            (Vec::new(), safe)
                        } else {
                            (safe, Vec::new())
                        }
                    }
                    _ => Default::default(),
                }
            }
            "call_expression" => {
                let Some(callee) = cond.child_by_field_name("function") else {
                    return Default::default();
                };
                let path = self.path_of(callee);
                let args = Self::args(cond);
                let mut safe = Vec::new();
                for (g, mask) in &self.shared.cfg.guards {
                    if g.is_new || !g.matches_path(&path) {
                        continue;
                    }
                    let guarded = if let Some(hole) = g.path.iter().position(|s| *s == Seg::Hole) {
                        // `#.startsWith(...)`: the value is the receiver path up to the hole
                        (hole + 1 == path.len() - 1).then(|| path[..=hole].join("."))
                    } else {
                        g.args
                            .as_ref()
                            .and_then(|a| a.first())
                            .and_then(|i| args.get(*i))
                            .map(|a| strip(*a))
                            .filter(|a| is_name_or_member(*a))
                            .map(|a| self.path_of(a).join("."))
                    };
                    if let Some(name) = guarded {
                        safe.push((name, *mask));
                    }
                }
                (safe, Vec::new())
            }
            _ => Default::default(),
        }
    }

    fn op(&self, n: Node<'_>) -> &'t str {
        n.child_by_field_name("operator")
            .map_or("", |o| self.text(o))
    }

    // ---- binding -----------------------------------------------------------------------------

    /// Binds a declaration/parameter pattern to a value (`path`: the value's dotted path, so
    /// `const { body } = req` finds the source `req.body`).
    fn bind(&mut self, pat: Node<'t>, t: Option<Taint>, path: Option<&[String]>) {
        if self.nesting >= MAX_NESTING {
            return;
        }
        self.nesting += 1;
        self.bind_node(pat, t, path);
        self.nesting -= 1;
    }

    fn bind_node(&mut self, pat: Node<'t>, t: Option<Taint>, path: Option<&[String]>) {
        match pat.kind() {
            "identifier" | "shorthand_property_identifier_pattern" => {
                let name = self.text(pat).to_string();
                match t {
                    Some(t) if t.mask != 0 => {
                        let t = t.step(pat.byte_range(), format!("flows into `{name}`"));
                        self.state.vars.insert(name, t);
                    }
                    _ => {
                        self.state.vars.remove(&name);
                    }
                }
            }
            "required_parameter" | "optional_parameter" => {
                if let Some(p) = pat.child_by_field_name("pattern") {
                    self.bind(p, t, path);
                }
            }
            "assignment_pattern" | "object_assignment_pattern" => {
                let default = pat.child_by_field_name("right").and_then(|r| self.eval(r));
                if let Some(l) = pat.child_by_field_name("left") {
                    self.bind(l, union(t, default), path);
                }
            }
            "rest_pattern" => {
                if let Some(inner) = pat.named_child(0) {
                    self.bind(inner, t, path);
                }
            }
            "object_pattern" => {
                let mut c = pat.walk();
                let props: Vec<_> = pat.named_children(&mut c).collect();
                for prop in props {
                    let (key, target) = match prop.kind() {
                        "shorthand_property_identifier_pattern" => (Some(prop), prop),
                        "object_assignment_pattern" => {
                            let left = prop.child_by_field_name("left");
                            match left {
                                Some(l) => (Some(l), prop),
                                None => continue,
                            }
                        }
                        "pair_pattern" => {
                            match (
                                prop.child_by_field_name("key"),
                                prop.child_by_field_name("value"),
                            ) {
                                (Some(k), Some(v)) => (Some(k), v),
                                _ => continue,
                            }
                        }
                        "rest_pattern" => (None, prop),
                        _ => continue,
                    };
                    let Some(key) = key else {
                        self.bind(target, t.clone(), path);
                        continue;
                    };
                    let key_text = string_value(self.shared.text, key)
                        .unwrap_or_else(|| self.text(key))
                        .to_string();
                    let sub_path = path.map(|p| {
                        let mut p = p.to_vec();
                        p.push(key_text.clone());
                        p
                    });
                    let from_source = sub_path
                        .as_ref()
                        .and_then(|p| self.source_for_path(p, key.byte_range(), &p.join(".")));
                    let sub = from_source.or_else(|| t.clone().map(Taint::field));
                    self.bind(target, sub, sub_path.as_deref());
                }
            }
            "array_pattern" => {
                let mut c = pat.walk();
                let items: Vec<_> = pat.named_children(&mut c).collect();
                for item in items {
                    self.bind(item, t.clone().map(Taint::field), None);
                }
            }
            // `obj.x = ...` as a pattern target, or anything else: evaluate for side effects
            _ => {}
        }
    }

    // ---- functions ---------------------------------------------------------------------------

    fn function_name(&self, f: Node<'t>) -> Option<&'t str> {
        if let Some(n) = f.child_by_field_name("name") {
            return Some(self.text(n));
        }
        let parent = f.parent()?;
        (parent.kind() == "variable_declarator")
            .then(|| parent.child_by_field_name("name"))
            .flatten()
            .map(|n| self.text(n))
    }

    /// Walks a function (closure) with the enclosing state; `seeds` taints parameters.
    fn function(&mut self, f: Node<'t>, mut seeds: Vec<Option<Taint>>) {
        let params = crate::parse::function_params(f);
        // handler parameters declared as sources (`export async function GET(req, { params })`)
        if let Some(name) = self.function_name(f) {
            for (s, bit) in &self.shared.cfg.sources {
                if let Source::Param { functions, index } = s
                    && bit & self.shared.active != 0
                    && functions.iter().any(|x| x == name)
                    && let Some(p) = params.get(*index)
                {
                    if seeds.len() <= *index {
                        seeds.resize(index + 1, None);
                    }
                    // show `{ params }`, not its type annotation
                    let shown = p.child_by_field_name("pattern").unwrap_or(*p);
                    let t = Taint {
                        mask: bit & self.shared.active,
                        steps: vec![Step {
                            range: shown.byte_range(),
                            note: format!(
                                "untrusted input enters here: `{}`",
                                short(self.text(shown))
                            ),
                        }],
                        whole: true,
                        stringy: true,
                        host_fixed: false,
                        params: 0,
                    };
                    seeds[*index] = union(seeds[*index].take(), Some(t));
                }
            }
        }
        let seeded = seeds.iter().any(Option::is_some);
        if !seeded && !self.has_taint() && !self.contains_hint(f) {
            return;
        }
        let saved = self.state.clone();
        self.fn_depth += 1;
        self.enter(f, &params, seeds);
        self.fn_depth -= 1;
        self.state = saved;
    }

    fn enter(&mut self, f: Node<'t>, params: &[Node<'t>], mut seeds: Vec<Option<Taint>>) {
        for (i, p) in params.iter().enumerate() {
            let seed = seeds.get_mut(i).and_then(Option::take);
            self.bind(*p, seed, None);
        }
        let Some(body) = f.child_by_field_name("body") else {
            return;
        };
        if body.kind() == "statement_block" {
            self.visit(body);
        } else {
            // expression body: its value is the return value
            let t = self.eval(body);
            if self.summary_mode
                && self.fn_depth <= 1
                && let Some(t) = t
                && t.params != 0
            {
                self.summary.returns.push((t.params, t.mask));
            }
        }
    }

    fn summary(&self, f: Node<'t>) -> Option<Rc<Summary>> {
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
        let params = crate::parse::function_params(f);
        let seeds = params
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
                    params: 1u64.checked_shl(i as u32).unwrap_or(0),
                })
            })
            .collect();
        sub.enter(f, &params, seeds);
        let summary = Rc::new(sub.summary);
        self.shared
            .summaries
            .borrow_mut()
            .insert(f.id(), Rc::clone(&summary));
        Some(summary)
    }

    // ---- expressions -------------------------------------------------------------------------

    fn args(call: Node<'t>) -> Vec<Node<'t>> {
        let Some(list) = call.child_by_field_name("arguments") else {
            return Vec::new();
        };
        if list.kind() != "arguments" {
            return Vec::new();
        }
        crate::parse::named_children(list)
    }

    fn report(&mut self, rule: usize, range: Range<usize>, t: &Taint, at: Node<'t>, sink: &str) {
        self.report_range(rule, range, t, at.byte_range(), sink);
    }

    fn eval(&mut self, n: Node<'t>) -> Option<Taint> {
        if self.nesting >= MAX_NESTING {
            return None;
        }
        self.nesting += 1;
        let taint = self.eval_node(n);
        self.nesting -= 1;
        taint
    }

    fn eval_node(&mut self, n: Node<'t>) -> Option<Taint> {
        match n.kind() {
            "identifier" => {
                let name = self.text(n);
                self.state
                    .vars
                    .get(name)
                    .cloned()
                    .or_else(|| self.source_for_path(&[name.to_string()], n.byte_range(), name))
            }
            "member_expression" | "subscript_expression" => self.member(n),
            "call_expression" | "new_expression" => self.call(n),
            "template_string" => {
                let mut c = n.walk();
                let parts: Vec<_> = n.named_children(&mut c).collect();
                let mut t = None;
                for p in &parts {
                    if p.kind() == "template_substitution" {
                        t = union(t, p.named_child(0).and_then(|e| self.eval(e)));
                    }
                }
                let prefix: String = parts
                    .iter()
                    .take_while(|p| p.kind() != "template_substitution")
                    .map(|p| self.text(*p))
                    .collect();
                t.map(|mut t| {
                    t.stringy = true;
                    t.whole = false;
                    t.host_fixed = t.host_fixed || fixes_host(&prefix);
                    t
                })
            }
            "binary_expression" => {
                let l = n.child_by_field_name("left");
                let r = n.child_by_field_name("right");
                let lt = l.and_then(|l| self.eval(l));
                let rt = r.and_then(|r| self.eval(r));
                match self.op(n) {
                    "+" => {
                        let prefix = l
                            .and_then(|l| string_value(self.shared.text, l))
                            .is_some_and(fixes_host);
                        union(lt, rt).map(|mut t| {
                            t.stringy = true;
                            t.whole = false;
                            t.host_fixed |= prefix;
                            t
                        })
                    }
                    "||" | "??" | "&&" => union(lt, rt),
                    _ => None,
                }
            }
            "ternary_expression" => {
                let cond = n.child_by_field_name("condition");
                if let Some(c) = cond {
                    self.eval(c);
                }
                // `RE.test(x) ? x : "default"`: the guard holds in the chosen branch
                let (then_safe, else_safe) = cond.map(|c| self.guards(c)).unwrap_or_default();
                let a = self.guarded(n.child_by_field_name("consequence"), &then_safe);
                let b = self.guarded(n.child_by_field_name("alternative"), &else_safe);
                union(a, b)
            }
            "parenthesized_expression"
            | "await_expression"
            | "non_null_expression"
            | "as_expression"
            | "satisfies_expression"
            | "type_assertion"
            | "spread_element"
            | "jsx_expression"
            | "template_substitution" => unwrap(n).and_then(|inner| self.eval(inner)),
            "sequence_expression" => {
                let mut c = n.walk();
                let kids: Vec<_> = n.named_children(&mut c).collect();
                kids.into_iter().fold(None, |_, k| self.eval(k))
            }
            "unary_expression" | "update_expression" => {
                if let Some(a) = n.child_by_field_name("argument") {
                    self.eval(a);
                }
                None
            }
            "object" => self.object(n),
            "array" => {
                let mut c = n.walk();
                let kids: Vec<_> = n.named_children(&mut c).collect();
                kids.into_iter()
                    .fold(None, |acc, k| union(acc, self.eval(k)))
                    .map(|mut t| {
                        t.stringy = false;
                        t.whole = false;
                        t
                    })
            }
            "assignment_expression" => self.assignment(n),
            "augmented_assignment_expression" => {
                let t = n.child_by_field_name("right").and_then(|r| self.eval(r));
                if let Some(l) = n.child_by_field_name("left")
                    && l.kind() == "identifier"
                    && let Some(t) = t.clone()
                {
                    let name = self.text(l).to_string();
                    let merged = union(self.state.vars.remove(&name), Some(t));
                    if let Some(m) = merged {
                        let m = m.step(n.byte_range(), format!("appended to `{name}`"));
                        self.state.vars.insert(name, m);
                    }
                }
                t
            }
            "arrow_function"
            | "function_expression"
            | "function"
            | "generator_function"
            | "method_definition"
            | "function_declaration"
            | "generator_function_declaration" => {
                self.function(n, Vec::new());
                None
            }
            "jsx_attribute" => {
                let mut c = n.walk();
                let kids: Vec<_> = n.named_children(&mut c).collect();
                let name = kids.first().map_or("", |k| self.text(*k));
                let value = kids.get(1).and_then(|v| self.eval(*v));
                if let Some(t) = value {
                    for (sink, rule) in &self.shared.cfg.sinks {
                        if let SinkKind::Jsx(attr) = &sink.kind
                            && attr == name
                            && t.mask & (1 << rule) != 0
                        {
                            self.report(*rule, n.byte_range(), &t, n, name);
                        }
                    }
                }
                None
            }
            "string"
            | "number"
            | "true"
            | "false"
            | "null"
            | "undefined"
            | "regex"
            | "comment"
            | "type_annotation"
            | "type_alias_declaration"
            | "interface_declaration"
            | "import_statement" => None,
            _ => {
                let mut c = n.walk();
                let kids: Vec<_> = n.named_children(&mut c).collect();
                for k in kids {
                    self.visit(k);
                }
                None
            }
        }
    }

    /// Evaluates `n` with the names in `safe` cleaned, then restores the state.
    fn guarded(&mut self, n: Option<Node<'t>>, safe: &[(String, u64)]) -> Option<Taint> {
        let n = n?;
        if safe.is_empty() {
            return self.eval(n);
        }
        let saved = self.state.clone();
        for (name, mask) in safe {
            self.state.clean(name, *mask);
        }
        let t = self.eval(n);
        self.state = saved;
        t
    }

    fn member(&mut self, n: Node<'t>) -> Option<Taint> {
        let path = self.path_of(n);
        if let Some(t) = self.source_for_path(&path, n.byte_range(), self.text(n)) {
            return Some(t);
        }
        if n.kind() == "subscript_expression"
            && let Some(i) = n.child_by_field_name("index")
        {
            self.eval(i);
        }
        let object = n.child_by_field_name("object")?;
        let mut t = self.eval(object)?;
        let prop = path.last().map_or("", String::as_str);
        if CLEAN_METHODS.contains(&prop) {
            return None;
        }
        // show the source as written: `req.query.id`, not `req.query`
        if t.steps.len() == 1 && t.steps[0].range == object.byte_range() && t.params == 0 {
            t.steps[0] = Step {
                range: n.byte_range(),
                note: format!("untrusted input enters here: `{}`", short(self.text(n))),
            };
        }
        let cleared = self
            .state
            .cleared
            .get(&path.join("."))
            .copied()
            .unwrap_or(0);
        t.field().masked(cleared)
    }

    fn object(&mut self, n: Node<'t>) -> Option<Taint> {
        let mut c = n.walk();
        let kids: Vec<_> = n.named_children(&mut c).collect();
        let mut acc = None;
        for k in kids {
            match k.kind() {
                "pair" => {
                    let value = k.child_by_field_name("value").and_then(|v| self.eval(v));
                    if let (Some(t), Some(key)) = (&value, k.child_by_field_name("key")) {
                        let key_text =
                            string_value(self.shared.text, key).unwrap_or_else(|| self.text(key));
                        self.property_sinks(n, k, key_text, t);
                    }
                    acc = union(
                        acc,
                        value.map(|mut t| {
                            t.whole = false;
                            t
                        }),
                    );
                }
                "shorthand_property_identifier" => {
                    let value = self.eval_name(k);
                    if let Some(t) = &value {
                        let key = self.text(k);
                        self.property_sinks(n, k, key, t);
                    }
                    acc = union(
                        acc,
                        value.map(|mut t| {
                            t.whole = false;
                            t
                        }),
                    );
                }
                "spread_element" => acc = union(acc, self.eval(k)),
                _ => {
                    self.eval(k);
                }
            }
        }
        acc.map(|mut t| {
            t.stringy = false;
            t
        })
    }

    fn eval_name(&self, n: Node<'t>) -> Option<Taint> {
        let name = self.text(n);
        self.state
            .vars
            .get(name)
            .cloned()
            .or_else(|| self.source_for_path(&[name.to_string()], n.byte_range(), name))
    }

    fn property_sinks(&mut self, object: Node<'t>, pair: Node<'t>, key: &str, t: &Taint) {
        for (sink, rule) in &self.shared.cfg.sinks {
            let SinkKind::Property {
                key: want,
                inside,
                sibling,
            } = &sink.kind
            else {
                continue;
            };
            if want != key
                || t.mask & (1 << rule) == 0
                || (sink.string && (!t.stringy || t.whole))
                || (sink.whole && !t.whole)
            {
                continue;
            }
            if let Some(re) = sibling
                && !re.is_match(self.text(object))
            {
                continue;
            }
            if let Some(p) = inside
                && !self.calls.iter().any(|c| p.matches_path(c))
            {
                continue;
            }
            self.report(*rule, pair.byte_range(), t, pair, key);
        }
    }

    fn assignment(&mut self, n: Node<'t>) -> Option<Taint> {
        let t = n.child_by_field_name("right").and_then(|r| self.eval(r));
        let left = n.child_by_field_name("left")?;
        match left.kind() {
            "identifier" => {
                let name = self.text(left).to_string();
                match t.clone() {
                    Some(t) => {
                        let t = t.step(left.byte_range(), format!("flows into `{name}`"));
                        self.state.vars.insert(name.clone(), t);
                    }
                    None => {
                        // reassignment with a clean value clears the variable
                        self.state.vars.remove(&name);
                    }
                }
                self.state.cleared.remove(&name);
            }
            "member_expression" | "subscript_expression" => {
                let path = self.path_of(left);
                if let Some(t) = &t {
                    for (sink, rule) in &self.shared.cfg.sinks {
                        if let SinkKind::Assign(p) = &sink.kind
                            && p.matches_path(&path)
                            && t.mask & (1 << rule) != 0
                            && (!sink.string || (t.stringy && !t.whole))
                        {
                            self.report(*rule, n.byte_range(), t, left, self.text(left));
                        }
                    }
                    // `obj.x = tainted` taints `obj`
                    let root = root_identifier(left);
                    if let Some(root) = root {
                        let name = self.text(root).to_string();
                        self.taint_container(name, t);
                    }
                }
            }
            "object_pattern" | "array_pattern" => self.bind(left, t.clone(), None),
            _ => {}
        }
        t
    }

    fn call(&mut self, n: Node<'t>) -> Option<Taint> {
        let is_new = n.kind() == "new_expression";
        let callee = n.child_by_field_name(if is_new { "constructor" } else { "function" })?;
        let path = self.path_of(callee);
        let method = path.last().map_or("", String::as_str);
        let receiver = (callee.kind() == "member_expression")
            .then(|| callee.child_by_field_name("object"))
            .flatten();
        let recv = match receiver {
            Some(r) => self.eval(r),
            None if callee.kind() == "identifier" => None,
            None => {
                self.eval(callee);
                None
            }
        };
        let args = Self::args(n);
        let tagged = n
            .child_by_field_name("arguments")
            .is_some_and(|a| a.kind() == "template_string");
        if tagged {
            // sql`...`, html`...`: tag functions receive the parts apart (parameterised)
            if let Some(a) = n.child_by_field_name("arguments") {
                self.eval(a);
            }
            return None;
        }
        self.calls.push(path.clone());
        let mut taints: Vec<Option<Taint>> = Vec::with_capacity(args.len());
        for a in &args {
            if is_function(*a) {
                taints.push(None);
            } else {
                let t = self.eval(*a);
                taints.push(t);
            }
        }
        self.calls.pop();

        // callbacks: iteration over a tainted value, registered message handlers
        for (i, a) in args.iter().enumerate() {
            if !is_function(*a) {
                continue;
            }
            let mut seeds: Vec<Option<Taint>> = Vec::new();
            if let Some(r) = &recv
                && ITERATORS.contains(&method)
            {
                seeds.push(Some(r.clone().field()));
            }
            for (s, bit) in &self.shared.cfg.sources {
                if let Source::Callback { call, event, index } = s
                    && bit & self.shared.active != 0
                    && call.matches_path(&path)
                    && event.as_ref().is_none_or(|e| {
                        args.first()
                            .and_then(|f| string_value(self.shared.text, *f))
                            .is_some_and(|v| v == e)
                    })
                    && i > 0
                {
                    let params = crate::parse::function_params(*a);
                    if let Some(p) = params.get(*index) {
                        if seeds.len() <= *index {
                            seeds.resize(index + 1, None);
                        }
                        let seed = Some(Taint {
                            mask: bit & self.shared.active,
                            steps: vec![Step {
                                range: p.byte_range(),
                                note: format!(
                                    "untrusted message enters here: `{}`",
                                    short(self.text(*p))
                                ),
                            }],
                            whole: true,
                            stringy: true,
                            host_fixed: false,
                            params: 0,
                        });
                        seeds[*index] = union(seeds[*index].take(), seed);
                    }
                }
            }
            self.function(*a, seeds);
        }

        // sinks
        let arg_text = n
            .child_by_field_name("arguments")
            .map_or("", |a| self.text(a));
        for (sink, rule) in &self.shared.cfg.sinks {
            let SinkKind::Call(p) = &sink.kind else {
                continue;
            };
            if p.is_new != is_new || !p.matches_path(&path) {
                continue;
            }
            if sink
                .if_args
                .as_ref()
                .is_some_and(|re| !re.is_match(arg_text))
                || sink
                    .unless_args
                    .as_ref()
                    .is_some_and(|re| re.is_match(arg_text))
            {
                continue;
            }
            let positions: Vec<usize> = match &p.args {
                Some(a) if !a.is_empty() => a.clone(),
                _ => (0..args.len()).collect(),
            };
            for pos in positions {
                let Some(Some(t)) = taints.get(pos) else {
                    continue;
                };
                if t.mask & (1 << rule) == 0
                    || (sink.string && (!t.stringy || t.whole))
                    || (sink.whole && !t.whole)
                    || (sink.host && t.host_fixed)
                {
                    continue;
                }
                let t = t.clone();
                self.report(*rule, n.byte_range(), &t, args[pos], self.text(callee));
            }
        }

        let sanitized = self
            .shared
            .cfg
            .sanitizers
            .iter()
            .filter(|(p, _)| p.is_new == is_new && p.matches_path(&path))
            .fold(0, |m, (_, bit)| m | bit);

        // same-file helpers
        if callee.kind() == "identifier"
            && let Some(f) = self.shared.functions.get(self.text(callee)).copied()
            && taints.iter().any(Option::is_some)
        {
            let summary = self.summary(f)?;
            let name = self.text(callee);
            let mut result = None;
            for (i, t) in taints.iter().enumerate() {
                let Some(t) = t else { continue };
                if t.params != 0 && !self.summary_mode {
                    continue;
                }
                let bit = 1u64.checked_shl(i as u32).unwrap_or(0);
                for (p, rule, range, steps, sink) in &summary.sinks {
                    if p & bit == 0 || t.mask & (1 << rule) == 0 {
                        continue;
                    }
                    let mut through = t
                        .clone()
                        .step(args[i].byte_range(), format!("passed to `{name}`"));
                    for s in steps.iter().take(steps.len().saturating_sub(1)) {
                        through = through.step(s.range.clone(), s.note.clone());
                    }
                    let at = steps.last().map_or(range.clone(), |s| s.range.clone());
                    self.report_range(*rule, range.clone(), &through, at, sink);
                }
                for (p, mask) in &summary.returns {
                    if p & bit != 0
                        && let Some(r) = t.clone().masked(!mask)
                    {
                        result = union(result, Some(r));
                    }
                }
            }
            return result.and_then(|t| t.masked(sanitized));
        }

        // sources
        let mut source_mask = 0;
        for (s, bit) in &self.shared.cfg.sources {
            if let Source::Pattern(p) = s
                && p.args.is_some()
                && p.is_new == is_new
                && p.matches_path(&path)
            {
                source_mask |= bit;
            }
        }
        source_mask &= self.shared.active;
        if source_mask != 0 {
            return Some(Taint {
                mask: source_mask,
                steps: vec![Step {
                    range: n.byte_range(),
                    note: format!("untrusted input enters here: `{}`", short(self.text(n))),
                }],
                whole: true,
                stringy: true,
                host_fixed: false,
                params: 0,
            });
        }

        // mutators: `list.push(x)` taints `list`
        let all_args = taints.iter().cloned().fold(None, union);
        if let (Some(r), Some(t)) = (receiver, &all_args)
            && r.kind() == "identifier"
            && MUTATORS.contains(&method)
        {
            let name = self.text(r).to_string();
            self.taint_container(name, t);
        }
        if path == ["Object", "assign"]
            && let Some(target) = args.first()
            && target.kind() == "identifier"
            && let Some(t) = taints.iter().skip(1).cloned().fold(None, union)
        {
            let name = self.text(*target).to_string();
            let merged = union(self.state.vars.remove(&name), Some(t));
            if let Some(m) = merged {
                self.state.vars.insert(name, m);
            }
        }

        // result
        if CLEAN_METHODS.contains(&method) {
            return None;
        }
        let propagates = self
            .shared
            .cfg
            .propagators
            .iter()
            .any(|p| p.is_new == is_new && p.matches_path(&path));
        let result = if receiver.is_some() && recv.is_some() {
            union(recv.map(Taint::field), all_args)
        } else if propagates {
            all_args.map(Taint::field)
        } else {
            None
        };
        result.and_then(|t| t.masked(sanitized))
    }

    fn report_range(
        &mut self,
        rule: usize,
        range: Range<usize>,
        t: &Taint,
        at: Range<usize>,
        sink: &str,
    ) {
        let note = format!("reaches `{}`", short(sink));
        if self.summary_mode {
            if t.params != 0 {
                let mut steps: Vec<Step> = t.steps.iter().skip(1).cloned().collect();
                steps.push(Step { range: at, note });
                self.summary
                    .sinks
                    .push((t.params, rule, range, steps, sink.to_string()));
            }
            return;
        }
        if t.params != 0 {
            return;
        }
        let mut steps = t.steps.clone();
        steps.push(Step { range: at, note });
        let source = steps
            .first()
            .map(|s| short(self.shared.text.get(s.range.clone()).unwrap_or("")))
            .unwrap_or_default();
        self.hits.push(Hit {
            rule,
            range,
            steps,
            source,
            sink: short(sink),
        });
    }
}

/// The expression inside a wrapper (`(x)`, `await x`, `x as T`, `x!`, `<T>x`, `...x`).
fn unwrap(n: Node<'_>) -> Option<Node<'_>> {
    let kids = crate::parse::named_children(n);
    if n.kind() == "type_assertion" {
        kids.last().copied()
    } else {
        kids.first().copied()
    }
}

/// Strips wrappers that do not change the value: `(x)`, `x as T`, `x!`, `await x`.
fn strip(mut n: Node<'_>) -> Node<'_> {
    while matches!(
        n.kind(),
        "parenthesized_expression"
            | "non_null_expression"
            | "as_expression"
            | "satisfies_expression"
            | "type_assertion"
            | "await_expression"
    ) {
        match unwrap(n) {
            Some(inner) => n = inner,
            None => break,
        }
    }
    n
}

fn is_name_or_member(n: Node<'_>) -> bool {
    matches!(
        n.kind(),
        "identifier" | "member_expression" | "subscript_expression"
    )
}

fn root_identifier(mut n: Node<'_>) -> Option<Node<'_>> {
    loop {
        match n.kind() {
            "identifier" => return Some(n),
            "member_expression" | "subscript_expression" => n = n.child_by_field_name("object")?,
            _ => return None,
        }
    }
}

/// Whether a statement always leaves the enclosing block (return, throw, break, continue).
fn exits(n: Node<'_>) -> bool {
    match n.kind() {
        "return_statement" | "throw_statement" | "break_statement" | "continue_statement" => true,
        "statement_block" => crate::parse::named_children(n)
            .last()
            .copied()
            .is_some_and(exits),
        "if_statement" => {
            n.child_by_field_name("consequence").is_some_and(exits)
                && n.child_by_field_name("alternative").is_some_and(exits)
        }
        "else_clause" => n.named_child(0).is_some_and(exits),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::fixes_host;

    #[test]
    fn constant_prefixes_that_fix_the_host() {
        assert!(fixes_host("https://api.example.com/users/"));
        assert!(fixes_host("/profile/"));
        assert!(!fixes_host("https://"));
        assert!(!fixes_host("//"));
        assert!(!fixes_host(""));
    }
}
