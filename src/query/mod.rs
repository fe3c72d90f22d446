//! The `match:` matcher: tree-sitter queries with capture constraints and structural context.
//!
//! ```yaml
//! match:
//!   query: |                       # tree-sitter query; several patterns allowed
//!     (call_expression function: (identifier) @fn) @hit
//!   where:                         # constraints on captured text
//!     fn: { regex: '^eval$' }      # regex | not-regex | equals | not-equals | one-of
//!     key: { bound-to-string: true }  # a string literal, or a name this file binds to one only
//!     code: { not-bound-to-string: true }  # anything but that (a constant is not input)
//!     html: { from-parameter: true }  # names a parameter of a function around the match
//!     handler: { not-regex: origin, resolve: true }  # a name is read as its declaration's text
//!   inside: { query: ..., where: ... }      # an ancestor must match this
//!   not-inside: { query: ..., where: ... }  # no ancestor may match this
//!   report: hit                    # capture to report (default `hit`, else the widest)
//!   ignore-comments: true          # constraints read captures with their comments blanked
//! ```
//!
//! This module owns the compiled form of a rule's `match:` ([`QueryMatcher`], with the native
//! matcher of [`pattern`]) and how one match is judged (constraints, `inside`, `not-inside`), so
//! rules hold compiled matchers without knowing the engine; `engine::query` runs them over trees.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;
use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;
use streaming_iterator::StreamingIterator;
use tree_sitter::{Node, Query, QueryCursor, QueryMatch, Tree};

pub mod pattern;

use crate::discover::FileKind;
use crate::parse::ChildField;
use crate::parse::Grammar;
use pattern::{Dispatch, Patterns};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawQueryMatcher {
    query: String,
    #[serde(default, rename = "where")]
    constraints: HashMap<String, RawConstraint>,
    #[serde(default)]
    inside: Option<Box<RawQueryMatcher>>,
    #[serde(default)]
    not_inside: Option<Box<RawQueryMatcher>>,
    #[serde(default)]
    report: Option<String>,
    #[serde(default)]
    ignore_comments: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent switches of a YAML constraint, each read once"
)]
struct RawConstraint {
    regex: Option<String>,
    not_regex: Option<String>,
    equals: Option<String>,
    not_equals: Option<String>,
    #[serde(default)]
    one_of: Vec<String>,
    #[serde(default)]
    bound_to_string: bool,
    #[serde(default)]
    not_bound_to_string: bool,
    #[serde(default)]
    from_parameter: bool,
    #[serde(default)]
    resolve: bool,
}

/// A constraint's regex: its syntax checked when the rule loads, compiled on first use (compiling
/// the constraints of every embedded rule up front was a fifth of start-up). A regex over the
/// compiled-size limit fails [`QueryMatcher::check_compiles`] (at load for user rules, in
/// `tests/rules_meta.rs` for embedded ones); should one reach a match anyway, its constraint
/// rejects the capture.
#[derive(Debug)]
struct LazyRegex {
    source: String,
    compiled: OnceLock<Result<Regex, String>>,
}

impl LazyRegex {
    /// Checks the syntax of `source` (what `Regex::new` rejects, with the same message). With
    /// `full` unset (embedded rules, proven to compile by `tests/rules_meta.rs`) it is not even
    /// parsed: the syntax trees of every embedded constraint were a seventh of start-up (issue 22).
    fn new(source: String, full: bool) -> Result<Self, String> {
        if full {
            regex_syntax::Parser::new()
                .parse(&source)
                .map_err(|e| e.to_string())?;
        }
        Ok(LazyRegex {
            source,
            compiled: OnceLock::new(),
        })
    }

    fn compiled(&self) -> Result<&Regex, &String> {
        self.compiled
            .get_or_init(|| Regex::new(&self.source).map_err(|e| e.to_string()))
            .as_ref()
    }

    /// Whether the regex matches `text`; `None` when it does not compile.
    fn is_match(&self, text: &str) -> Option<bool> {
        self.compiled().ok().map(|r| r.is_match(text))
    }
}

/// A constraint on the text of a capture.
#[derive(Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent tests on one capture, all of which must hold; not a state machine"
)]
struct Constraint {
    regex: Option<LazyRegex>,
    not_regex: Option<LazyRegex>,
    equals: Option<String>,
    not_equals: Option<String>,
    one_of: Vec<String>,
    /// The capture is a non-empty string literal, or an identifier that every declaration of
    /// that name in the file (`const`/`let`/`var`) binds to one.
    bound_to_string: bool,
    /// The opposite of `bound_to_string`: the capture is neither such a literal nor a name bound
    /// only to literals (audit rules that report any value a caller can choose).
    not_bound_to_string: bool,
    /// The capture (after `resolve`) reads a parameter of a function around the match: a value
    /// the caller of that function chooses (audit rules on helpers and components).
    from_parameter: bool,
    /// An identifier capture is judged by the text of what the file declares under that name (a
    /// function declaration, or a variable's value), when it declares it exactly once.
    resolve: bool,
}

impl Constraint {
    fn accepts(&self, text: &str) -> bool {
        self.regex
            .as_ref()
            .is_none_or(|r| r.is_match(text) == Some(true))
            && self
                .not_regex
                .as_ref()
                .is_none_or(|r| r.is_match(text) == Some(false))
            && self.equals.as_ref().is_none_or(|e| e == text)
            && self.not_equals.as_ref().is_none_or(|e| e != text)
            && (self.one_of.is_empty() || self.one_of.iter().any(|o| o == text))
    }
}

/// A compiled query matcher (one rule's `match:`, or a nested `inside`/`not-inside`).
#[derive(Debug)]
pub struct QueryMatcher {
    /// The query source, as written.
    pub source: String,
    constraints: Vec<(String, Constraint)>,
    inside: Option<Box<QueryMatcher>>,
    not_inside: Option<Box<QueryMatcher>>,
    report: Option<String>,
    /// Whether constraints read capture texts with comments blanked (training apps and real code
    /// alike keep the fix, or the flaw, in a comment next to the code).
    ignore_comments: bool,
    /// The grammars the rule targets.
    grammars: Vec<Grammar>,
    /// Compiled per grammar on first use (index = `Grammar::index`): compiling every query for
    /// every grammar up front cost a second of start-up, most of it for grammars never seen.
    queries: [OnceLock<Option<Query>>; 3],
    /// The native form of the query per grammar, when [`Patterns`] supports it.
    natives: [OnceLock<Option<Patterns>>; 3],
}

/// The captures of one match by name, in the order the matcher produced them.
pub(crate) type Named<'q, 't> = Vec<(&'q str, Node<'t>)>;

pub(crate) fn named<'q, 't>(m: &QueryMatch<'_, 't>, query: &'q Query) -> Named<'q, 't> {
    let names = query.capture_names();
    m.captures()
        .iter()
        .map(|c| (names[c.index as usize], c.node))
        .collect()
}

impl QueryMatcher {
    /// Reads a `match:` specification for the grammars of `languages`. With `eager`, every query is
    /// compiled now for every grammar, so errors surface at load (user rules); embedded rules are
    /// compiled on first use, and `tests/rules_meta.rs` proves they compile.
    pub fn compile(
        spec: &serde_yaml_ng::Value,
        languages: &[FileKind],
        eager: bool,
    ) -> Result<Self, String> {
        // read from the value in place (a clone of every rule's value was a fortieth of start-up)
        let raw = RawQueryMatcher::deserialize(spec).map_err(|e| e.to_string())?;
        let mut grammars: Vec<Grammar> = languages
            .iter()
            .flat_map(|k| Grammar::for_rule_kind(*k).iter().copied())
            .collect();
        grammars.sort();
        grammars.dedup();
        if grammars.is_empty() {
            return Err("query rules need a code language (js, ts, tsx)".into());
        }
        let matcher = Self::from_raw(raw, &grammars, eager)?;
        if eager {
            matcher.check_compiles()?;
        }
        Ok(matcher)
    }

    /// Compiles this matcher and its nested ones for every target grammar, and the regexes of
    /// their constraints; the first error wins.
    pub fn check_compiles(&self) -> Result<(), String> {
        for &g in &self.grammars {
            Query::new(&g.language(), &self.source)
                .map_err(|e| format!("query does not compile for {g:?}: {e}"))?;
        }
        for (name, constraint) in &self.constraints {
            for regex in [&constraint.regex, &constraint.not_regex]
                .into_iter()
                .flatten()
            {
                regex
                    .compiled()
                    .map_err(|e| format!("bad regex for `{name}`: {e}"))?;
            }
        }
        for nested in [&self.inside, &self.not_inside].into_iter().flatten() {
            nested.check_compiles()?;
        }
        Ok(())
    }

    fn from_raw(raw: RawQueryMatcher, grammars: &[Grammar], eager: bool) -> Result<Self, String> {
        let names = capture_names(&raw.query);
        let mut constraints = Vec::new();
        let mut keys: Vec<_> = raw.constraints.into_iter().collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, c) in keys {
            if !names.contains(&name) {
                return Err(format!(
                    "`where` names capture `@{name}`, which the query does not define (it has: {})",
                    names.join(", ")
                ));
            }
            let compile = |r: Option<String>| {
                r.map(|r| {
                    LazyRegex::new(r, eager).map_err(|e| format!("bad regex for `{name}`: {e}"))
                })
                .transpose()
            };
            constraints.push((
                name.clone(),
                Constraint {
                    regex: compile(c.regex)?,
                    not_regex: compile(c.not_regex)?,
                    equals: c.equals,
                    not_equals: c.not_equals,
                    one_of: c.one_of,
                    bound_to_string: c.bound_to_string,
                    not_bound_to_string: c.not_bound_to_string,
                    from_parameter: c.from_parameter,
                    resolve: c.resolve,
                },
            ));
        }
        if let Some(report) = &raw.report
            && !names.contains(report)
        {
            return Err(format!(
                "`report` names capture `@{report}`, which the query does not define"
            ));
        }
        let nested = |m: Option<Box<RawQueryMatcher>>| {
            m.map(|m| Self::from_raw(*m, grammars, eager).map(Box::new))
                .transpose()
        };
        Ok(QueryMatcher {
            source: raw.query,
            constraints,
            inside: nested(raw.inside)?,
            not_inside: nested(raw.not_inside)?,
            report: raw.report,
            ignore_comments: raw.ignore_comments,
            grammars: grammars.to_vec(),
            queries: [OnceLock::new(), OnceLock::new(), OnceLock::new()],
            natives: [OnceLock::new(), OnceLock::new(), OnceLock::new()],
        })
    }

    /// Whether the rule targets this grammar.
    pub fn targets(&self, grammar: Grammar) -> bool {
        self.grammars.contains(&grammar)
    }

    /// The compiled query for a grammar, if the rule targets it (compiled on first use; a query
    /// that does not compile yields `None`, which `check_compiles` reports at load or in tests).
    pub fn query(&self, grammar: Grammar) -> Option<&Query> {
        if !self.targets(grammar) {
            return None;
        }
        self.queries[grammar.index()]
            .get_or_init(|| Query::new(&grammar.language(), &self.source).ok())
            .as_ref()
    }

    /// The query for a grammar in the native matcher's form, when it supports it.
    pub fn native(&self, grammar: Grammar) -> Option<&Patterns> {
        if !self.targets(grammar) {
            return None;
        }
        self.natives[grammar.index()]
            .get_or_init(|| Patterns::compile(&self.source, &grammar.language()).ok())
            .as_ref()
    }

    /// Whether this matcher and its nested ones run on the native matcher for every grammar they
    /// target (else they fall back to slower tree-sitter queries).
    pub fn runs_natively(&self) -> bool {
        self.grammars.iter().all(|&g| self.native(g).is_some())
            && [&self.inside, &self.not_inside]
                .into_iter()
                .flatten()
                .all(|m| m.runs_natively())
    }

    /// Checks one match against the constraints and context. Returns the node to report.
    pub(crate) fn accept<'t>(
        &self,
        captures: &Named<'_, 't>,
        ctx: &MatchContext<'_, 't>,
    ) -> Option<Node<'t>> {
        for (name, node) in captures {
            let used_at = *node;
            for (cname, constraint) in &self.constraints {
                if cname != name {
                    continue;
                }
                let node = if constraint.resolve {
                    ctx.declaration_of(*node).unwrap_or(*node)
                } else {
                    *node
                };
                let accepted = if self.ignore_comments {
                    constraint.accepts(&ctx.code_text(node))
                } else {
                    constraint.accepts(ctx.node_text(node))
                };
                if !accepted
                    || (constraint.bound_to_string && !ctx.bound_to_string(node))
                    || (constraint.not_bound_to_string && ctx.bound_to_string(node))
                    || (constraint.from_parameter && !ctx.reads_parameter(node, used_at))
                {
                    return None;
                }
            }
        }
        let wanted = self.report.as_deref().unwrap_or("hit");
        let report = captures
            .iter()
            .find(|(name, _)| *name == wanted)
            .or_else(|| {
                captures
                    .iter()
                    .max_by_key(|(_, node)| node.end_byte() - node.start_byte())
            })?
            .1;
        if let Some(inside) = &self.inside
            && !ctx.encloses(inside, report)
        {
            return None;
        }
        if let Some(not_inside) = &self.not_inside
            && ctx.encloses(not_inside, report)
        {
            return None;
        }
        Some(report)
    }
}

/// The capture names a query defines (`@name`), read from its text without compiling it.
fn capture_names(query: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_string = false;
    let mut chars = query.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => in_string = !in_string,
            '\\' if in_string => {
                chars.next();
            }
            ';' if !in_string => {
                // comment to end of line
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '@' if !in_string => {
                let name: String = query[i + 1..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
                    .collect();
                if !name.is_empty() && !names.contains(&name) {
                    names.push(name);
                }
            }
            _ => {}
        }
    }
    names
}

/// Whether `node` is a string literal with some text: `"x"`, `'x'`, or a template without `${}`.
fn is_string_literal(node: Node<'_>) -> bool {
    let quoted = match node.kind() {
        "string" => true,
        "template_string" => {
            let mut cursor = node.walk();
            !node
                .children(&mut cursor)
                .any(|c| c.kind() == "template_substitution")
        }
        _ => false,
    };
    quoted && node.byte_range().len() > 2
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// Whether `node` is a function: a declaration, an expression, an arrow or a method.
fn is_function(node: Node<'_>) -> bool {
    matches!(
        node.kind(),
        "function_declaration"
            | "generator_function_declaration"
            | "function_expression"
            | "function"
            | "arrow_function"
            | "method_definition"
    )
}

/// The innermost function (declaration, expression, arrow or method) around `node`.
fn enclosing_function(node: Node<'_>) -> Option<Node<'_>> {
    let mut up = node.parent();
    while let Some(n) = up {
        if is_function(n) {
            return Some(n);
        }
        up = n.parent();
    }
    None
}

/// The declarations of a file's names: each name's functions and variable values.
type Declarations<'t> = HashMap<String, Vec<Node<'t>>>;

/// Per-file state shared by all query matches: the tree, the text, and cached context ranges.
pub(crate) struct MatchContext<'a, 't> {
    pub(crate) grammar: Grammar,
    pub(crate) tree: &'t Tree,
    pub(crate) text: &'a str,
    /// Whether matchers run natively where they can (else always on tree-sitter queries).
    pub(crate) native: bool,
    /// Ranges matched by each `inside`/`not-inside` matcher, keyed by the matcher's address.
    pub(crate) cache: RefCell<HashMap<usize, Rc<[Range<usize>]>>>,
    /// Texts of nodes with their comments blanked, keyed by byte range.
    pub(crate) code_texts: RefCell<HashMap<Range<usize>, Rc<str>>>,
    /// What each name of the file is declared as (functions, and variables' values), read in one
    /// walk on the first `resolve` constraint: a walk per lookup made big bundles quadratic.
    pub(crate) declarations: RefCell<Option<Rc<Declarations<'t>>>>,
}

impl<'t> MatchContext<'_, 't> {
    pub(crate) fn node_text(&self, node: Node<'t>) -> &str {
        self.text.get(node.byte_range()).unwrap_or("")
    }

    /// The text of `node` with every comment inside it blanked ([`crate::parse::code_text`]), so
    /// a regex sees only code. Computed once per node range.
    pub(crate) fn code_text(&self, node: Node<'t>) -> Rc<str> {
        let range = node.byte_range();
        if let Some(text) = self.code_texts.borrow().get(&range) {
            return Rc::clone(text);
        }
        let text = crate::parse::code_text(node, self.text);
        let text: Rc<str> = text.into();
        self.code_texts.borrow_mut().insert(range, Rc::clone(&text));
        text
    }

    /// Whether `node` is a non-empty string literal (a template without substitutions counts), or
    /// an identifier declared in this file only with such literals (`const secret = "shhh"`; a
    /// name also bound to anything else, or never declared here, is not), or a key made from one
    /// of those by a key constructor (`JWK.asKey(SECRET)`, `new TextEncoder().encode(SECRET)`).
    pub(crate) fn bound_to_string(&self, node: Node<'t>) -> bool {
        if is_string_literal(node) {
            return true;
        }
        if node.kind() == "member_expression" {
            return self.member_bound_to_string(node);
        }
        if let Some(material) = self.key_material(node) {
            return self.bound_to_string(material);
        }
        // `{ url }` in an object literal reads the variable `url`
        if !matches!(node.kind(), "identifier" | "shorthand_property_identifier") {
            return false;
        }
        let name = self.node_text(node);
        // a parameter of a function around the use shadows the file's declarations
        if self.parameter_names(node).contains(&name) {
            return false;
        }
        let mut declared = false;
        let mut stack = vec![self.tree.root_node()];
        while let Some(n) = stack.pop() {
            if n.kind() == "variable_declarator"
                && let Some(id) = n.child_field("name")
                && id.kind() == "identifier"
                && self.node_text(id) == name
            {
                match n.child_field("value") {
                    Some(value) if is_string_literal(value) => declared = true,
                    _ => return false,
                }
            }
            let mut cursor = n.walk();
            stack.extend(n.children(&mut cursor));
        }
        declared
    }

    /// The one argument of a call that turns a string into key material without changing what it
    /// encodes: jose's `JWK.asKey(s)`, `new TextEncoder().encode(s)`, `Buffer.from(s[, encoding])`,
    /// `crypto.createSecretKey(s)`. A key made from a constant is as hard-coded as the constant.
    fn key_material(&self, node: Node<'t>) -> Option<Node<'t>> {
        const WRAPPERS: [&str; 4] = [
            "JWK.asKey",
            "Buffer.from",
            "createSecretKey",
            "crypto.createSecretKey",
        ];
        if node.kind() != "call_expression" {
            return None;
        }
        let callee = self.node_text(node.child_field("function")?);
        let encoder = callee.strip_suffix(".encode").is_some_and(|object| {
            let object: String = object.chars().filter(|c| !c.is_whitespace()).collect();
            object == "newTextEncoder()"
        });
        if !encoder && !WRAPPERS.contains(&callee) {
            return None;
        }
        let arguments = node.child_field("arguments")?;
        let mut cursor = arguments.walk();
        let mut named = arguments
            .named_children(&mut cursor)
            .filter(|a| a.kind() != "comment");
        let first = named.next()?;
        // at most an encoding after it: `Buffer.from(SECRET, "utf8")`
        match named.next() {
            None => Some(first),
            Some(encoding) if is_string_literal(encoding) && named.next().is_none() => Some(first),
            Some(_) => None,
        }
    }

    /// The names the parameters of the functions around `at` bind (destructured ones too:
    /// `({ input }) => ...`); default values of parameters are not names.
    fn parameter_names(&self, at: Node<'t>) -> Vec<&str> {
        let mut names = Vec::new();
        let mut up = at.parent();
        while let Some(f) = up {
            if is_function(f) && !self.is_message_listener(f) {
                for p in crate::parse::function_params(f) {
                    let mut stack = vec![p];
                    while let Some(n) = stack.pop() {
                        match n.kind() {
                            "identifier" | "shorthand_property_identifier_pattern" => {
                                names.push(self.node_text(n));
                            }
                            // `(x = fallback)`: only the left side is a parameter
                            "assignment_pattern" => stack.extend(n.child_field("left")),
                            _ => {
                                let mut cursor = n.walk();
                                stack.extend(n.named_children(&mut cursor));
                            }
                        }
                    }
                }
            }
            up = f.parent();
        }
        names
    }

    /// Whether `f` is a function declaration the file registers as a browser `message` listener
    /// by name (`addEventListener("message", onMessage)`, also `onMessage.bind(null, ...)`): its
    /// parameters are the event's, which the data-flow rules trace, with the origin check they
    /// know to look for; inline listeners are left out by the rules' own `not-inside`.
    fn is_message_listener(&self, f: Node<'t>) -> bool {
        if f.kind() != "function_declaration" {
            return false;
        }
        let Some(name) = f.child_field("name").map(|n| self.node_text(n)) else {
            return false;
        };
        let mut rest = self.text;
        while let Some(at) = rest.find("addEventListener(") {
            rest = &rest[at + "addEventListener(".len()..];
            let args = rest.trim_start();
            let Some(quote) = args
                .chars()
                .next()
                .filter(|c| matches!(c, '"' | '\'' | '`'))
            else {
                continue;
            };
            let Some(after) = args[1..].strip_prefix("message") else {
                continue;
            };
            let Some(listener) = after
                .strip_prefix(quote)
                .and_then(|a| a.trim_start().strip_prefix(','))
            else {
                continue;
            };
            let listener = listener.trim_start();
            if listener.strip_prefix(name).is_some_and(|tail| {
                !tail.starts_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$')
            }) {
                return true;
            }
        }
        false
    }

    /// Whether an identifier in `node` names a parameter of a function around `used_at`, directly
    /// or through local variables declared from one (`const table = input.args[0]`), two hops
    /// deep.
    pub(crate) fn reads_parameter(&self, node: Node<'t>, used_at: Node<'t>) -> bool {
        let names = self.parameter_names(used_at);
        if names.is_empty() {
            return false;
        }
        let mut seen: Vec<usize> = Vec::new();
        let mut stack = vec![(node, 0u8)];
        while let Some((n, depth)) = stack.pop() {
            if n.kind() == "identifier" {
                if names.contains(&self.node_text(n)) {
                    return true;
                }
                if depth < 2
                    && let Some(value) = self.declaration_of(n)
                    && !seen.contains(&value.id())
                {
                    seen.push(value.id());
                    stack.push((value, depth + 1));
                }
            }
            let mut cursor = n.walk();
            stack.extend(n.named_children(&mut cursor).map(|c| (c, depth)));
        }
        false
    }

    /// Whether the property `node` (`this.jwtSecret`, `config.secret`) is assigned somewhere in
    /// this file, and only ever string literals (`this.jwtSecret = "shhh"`): a constructor that
    /// keeps a literal on `this` hard-codes it as surely as a `const` does.
    fn member_bound_to_string(&self, node: Node<'t>) -> bool {
        let values = self.member_assignments(node);
        !values.is_empty() && values.iter().all(|&value| is_string_literal(value))
    }

    /// The values this file assigns to the property `node` by its exact text (`config.x = value`);
    /// for `this.x`, only the assignments inside the class that reads it (another class of the
    /// file has its own `this`).
    fn member_assignments(&self, node: Node<'t>) -> Vec<Node<'t>> {
        let target = self.node_text(node);
        let mut scope = self.tree.root_node();
        if target.starts_with("this.") {
            let mut up = node.parent();
            while let Some(a) = up {
                if a.kind() == "class_body" {
                    scope = a;
                    break;
                }
                up = a.parent();
            }
        }
        let mut values = Vec::new();
        let mut stack = vec![scope];
        while let Some(n) = stack.pop() {
            if n.kind() == "assignment_expression"
                && let Some(left) = n.child_field("left")
                && left.kind() == "member_expression"
                && self.node_text(left) == target
                && let Some(value) = n.child_field("right")
            {
                values.push(value);
            }
            let mut cursor = n.walk();
            stack.extend(n.children(&mut cursor));
        }
        values
    }

    /// The byte ranges of the credential `node` stands for, without quotes: the literal itself,
    /// the literal a name is declared as once, or the literals a property is assigned.
    pub(crate) fn secret_literals(&self, node: Node<'t>) -> Vec<Range<usize>> {
        let values = match node.kind() {
            "identifier" => self.declaration_of(node).into_iter().collect(),
            "member_expression" => self.member_assignments(node),
            _ => vec![node],
        };
        values
            .into_iter()
            .filter(|&v| is_string_literal(v))
            .map(|v| v.start_byte() + 1..v.end_byte() - 1)
            .collect()
    }

    /// What the file declares under the name `node` holds: the function of `function name() {}`,
    /// or the value of `const name = ...`. A name declared several times resolves to the one
    /// declaration earlier in the same function as the use. `None` for other nodes, for a
    /// parameter of a function around the use (it shadows the file's declarations), and for names
    /// declared never or ambiguously.
    pub(crate) fn declaration_of(&self, node: Node<'t>) -> Option<Node<'t>> {
        if node.kind() != "identifier" || self.parameter_names(node).contains(&self.node_text(node))
        {
            return None;
        }
        let declarations = Rc::clone(
            self.declarations
                .borrow_mut()
                .get_or_insert_with(|| Rc::new(self.collect_declarations())),
        );
        match declarations.get(self.node_text(node)).map(Vec::as_slice) {
            Some([only]) => Some(*only),
            // a name declared in several functions (`let query = ...` in each handler of a
            // module): the one declaration earlier in the same function as the use
            Some(many) => {
                let scope = enclosing_function(node)?;
                let mut local = many.iter().filter(|d| {
                    d.start_byte() < node.start_byte() && enclosing_function(**d) == Some(scope)
                });
                let first = local.next()?;
                local.next().is_none().then_some(*first)
            }
            None => None,
        }
    }

    /// Every `function name() {}` and `const name = value` of the file, by name.
    fn collect_declarations(&self) -> Declarations<'t> {
        let mut out: Declarations<'t> = HashMap::new();
        let mut stack = vec![self.tree.root_node()];
        while let Some(n) = stack.pop() {
            let declared = match n.kind() {
                "function_declaration" | "generator_function_declaration" => Some(n),
                "variable_declarator" => n.child_field("value"),
                _ => None,
            };
            if let Some(value) = declared
                && let Some(id) = n.child_field("name")
                && id.kind() == "identifier"
            {
                out.entry(self.node_text(id).to_string())
                    .or_default()
                    .push(value);
            }
            let mut cursor = n.walk();
            stack.extend(n.children(&mut cursor));
        }
        out
    }

    /// Whether a node reported by `matcher` contains `node`.
    ///
    /// When the matcher runs natively and reports the root of its patterns, only the nodes whose
    /// range can contain `node` are tried: its ancestors, itself, and its descendants spanning
    /// the same bytes (sibling ranges never overlap). Otherwise every match in the file is
    /// computed once and cached.
    fn encloses(&self, matcher: &QueryMatcher, node: Node<'t>) -> bool {
        let range = node.byte_range();
        if self.native
            && !range.is_empty()
            && let Some(patterns) = matcher.native(self.grammar)
            && patterns.reports_root(
                matcher.report.as_deref().unwrap_or("hit"),
                matcher.report.is_none(),
            )
        {
            let mut candidates = vec![node];
            let mut k = 0;
            while k < candidates.len() {
                let n = candidates[k];
                k += 1;
                let mut cursor = n.walk();
                candidates.extend(n.children(&mut cursor).filter(|c| c.byte_range() == range));
            }
            let mut up = node.parent();
            while let Some(a) = up {
                candidates.push(a);
                up = a.parent();
            }
            let mut found = Vec::new();
            for candidate in candidates {
                for index in 0..patterns.len() {
                    found.clear();
                    patterns.matches_at(index, candidate, &mut found);
                    for captures in &found {
                        if let Some(r) = matcher.accept(&patterns.named(captures), self)
                            && contains(&r.byte_range(), &range)
                        {
                            return true;
                        }
                    }
                }
            }
            return false;
        }
        self.enclosing(matcher).iter().any(|r| contains(r, &range))
    }

    /// The ranges of every node matching `matcher` in this file, computed once per file.
    fn enclosing(&self, matcher: &QueryMatcher) -> Rc<[Range<usize>]> {
        let key = std::ptr::from_ref(matcher) as usize;
        if let Some(ranges) = self.cache.borrow().get(&key) {
            return Rc::clone(ranges);
        }
        let mut ranges = Vec::new();
        if self.native
            && let Some(patterns) = matcher.native(self.grammar)
        {
            let mut dispatch = Dispatch::default();
            dispatch.add(0, patterns);
            let mut found = Vec::new();
            dispatch.walk(self.tree.root_node(), |node, entries| {
                for entry in entries {
                    found.clear();
                    patterns.matches_at(entry.pattern, node, &mut found);
                    for captures in &found {
                        let captures = patterns.named(captures);
                        if let Some(node) = matcher.accept(&captures, self) {
                            ranges.push(node.byte_range());
                        }
                    }
                }
            });
        } else if let Some(query) = matcher.query(self.grammar) {
            let mut cursor = QueryCursor::new();
            let mut matches = cursor.matches(query, self.tree.root_node(), self.text.as_bytes());
            while let Some(m) = matches.next() {
                if let Some(node) = matcher.accept(&named(m, query), self) {
                    ranges.push(node.byte_range());
                }
            }
        }
        let ranges: Rc<[Range<usize>]> = ranges.into();
        self.cache.borrow_mut().insert(key, Rc::clone(&ranges));
        ranges
    }
}

impl Patterns {
    /// The captures of a native match by name.
    pub(crate) fn named<'q, 't>(&'q self, captures: &[(u32, Node<'t>)]) -> Named<'q, 't> {
        captures
            .iter()
            .map(|(id, node)| (self.capture_name(*id), *node))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::capture_names;

    #[test]
    fn reads_capture_names_without_compiling() {
        let q =
            "(call_expression function: (identifier) @fn) @hit ; @comment\n(string \"@not\") @s";
        assert_eq!(capture_names(q), vec!["fn", "hit", "s"]);
    }
}
