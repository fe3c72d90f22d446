//! Propagation: how taint moves through expressions (members, templates, concatenation,
//! objects, arrays, assignments to names) and into bound names (declarations, destructuring,
//! parameters), and which constant prefixes fix a URL's host.

use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::Node;

use super::sources::LOCATION_FIXED_FIELDS;
use super::{
    CLEAN_METHODS, Facts, MAX_NESTING, Step, Taint, Walker, is_name_or_member, short, string_value,
    strip, union, unwrap,
};
use crate::parse::ChildField;
use crate::taint::spec::SinkKind;

/// Whether a constant string prefix fixes the host (or is a same-site path).
pub(super) fn fixes_host(prefix: &str) -> bool {
    // behind a query or fragment mark the input cannot change scheme, host or path
    if prefix.contains(['?', '#']) {
        return true;
    }
    if let Some(rest) = prefix.split_once("://").map(|(_, r)| r) {
        return rest.contains('/');
    }
    // `//host/`: a scheme-relative URL whose host is written out
    if let Some(rest) = prefix.strip_prefix("//") {
        return rest
            .find('/')
            .is_some_and(|i| i > 0 && !rest[..i].contains('\\'));
    }
    if prefix.starts_with('/') {
        return prefix.len() > 1 && !prefix.starts_with("/\\");
    }
    // a relative path (`users/`): its first segment has no scheme colon
    prefix
        .find('/')
        .is_some_and(|i| i > 0 && !prefix[..i].contains([':', '\\']))
}

/// Whether a constant prefix makes any path relative: it names a first folder (`files/`,
/// `./`), with no root, drive or scheme before it.
fn relative_prefix(prefix: &str) -> bool {
    prefix
        .find(['/', '\\'])
        .is_some_and(|i| i > 0 && !prefix[..i].contains(':'))
}

/// Whether the untrusted part of `left + <input>` sits behind a constant `?` or `#` of `left`
/// (`someUrl() + "?next=" + x`): the strings `left` concatenates, read from the right.
fn query_before(text: &str, left: Node<'_>) -> bool {
    let has_mark =
        |n: Node<'_>| string_value(text, strip(n)).is_some_and(|v| v.contains(['?', '#']));
    // down the left spine of a `+` chain, a bounded number of steps (generated code nests
    // far deeper than anyone writes)
    let mut n = strip(left);
    for _ in 0..MAX_NESTING {
        if n.kind() != "binary_expression" {
            return has_mark(n);
        }
        let plus = n
            .child_field("operator")
            .is_some_and(|o| super::node_text(text, o) == "+");
        if !plus {
            return false;
        }
        if n.child_field("right").is_some_and(has_mark) {
            return true;
        }
        let Some(l) = n.child_field("left") else {
            return false;
        };
        n = strip(l);
    }
    false
}

/// Stands for a code-chosen value in a template prefix.
const CODE: char = '\u{1}';

/// Whether a prefix whose code-chosen parts are [`CODE`] fixes the host: a constant one does,
/// and so does a code-chosen base or host followed by a `/`, `?` or `#` (`${API_URL}/...`,
/// `https://${host}/`). A base the code chooses whole, with nothing written before it
/// (`${API_URL}${path}`, `config.base + path`), is taken to end in its own `/`, as `CodeQL` and
/// semgrep assume (issue 16); a gap when the configured base lacks one. A host alone
/// (`https://${host}${next}`) is not: `next` = `@evil.example` turns it into a user name.
/// Code text ending in `//` or `:` (`${proto}://${host}`) leaves the host to what follows.
fn code_fixes_host(prefix: &str) -> bool {
    let separated = |rest: &str| {
        rest.strip_prefix(CODE)
            .is_some_and(|r| r.contains(['/', '?', '#']) && !r.ends_with("//") && !r.ends_with(':'))
    };
    prefix.strip_prefix(CODE) == Some("")
        || separated(prefix)
        || prefix
            .split_once("://")
            .is_some_and(|(_, rest)| separated(rest))
        || prefix.strip_prefix("//").is_some_and(separated)
        || fixes_host(prefix)
}

impl<'t> Walker<'_, 't> {
    /// `obj.x = t` or `list.push(t)`: the container `name` now holds (part of) an untrusted value.
    /// The container itself is neither the whole request object nor a string.
    /// The path a declared name stands for: the module of `require("m")` / `await import("m")`,
    /// the wrapped function of `promisify(f)` / `f.bind(x)`, else the value's own path.
    pub(super) fn value_path(&self, v: Node<'t>) -> Vec<String> {
        if crate::engine::stack::exhausted() {
            return vec!["?".into()];
        }
        let v = strip(v);
        if v.kind() == "call_expression"
            && let Some(callee) = v.child_field("function")
        {
            let callee_path = self.path_of(callee);
            let first = Self::args(v).first().copied().map(strip);
            let callee_name = callee_path.last().map_or("", String::as_str);
            if matches!(callee.kind(), "identifier" | "import")
                && matches!(callee_name, "require" | "import")
                && let Some(m) = first.and_then(|a| string_value(self.shared.text, a))
            {
                return self.module_segments(m);
            }
            if callee_name == "promisify"
                && let Some(f) = first
            {
                return self.path_of(f);
            }
            if callee_name == "bind"
                && let Some(obj) = callee.child_field("object")
            {
                return self.path_of(obj);
            }
            // `require("m").x`-style calls keep their own (unknown) path
        }
        // `new Dao(db)` of a project module stands for `Dao`, so `dao.find(...)` is `Dao.find(...)`
        if v.kind() == "new_expression"
            && let Some(ctor) = v.child_field("constructor")
        {
            let path = self.path_of(ctor);
            if self
                .resolve(&path)
                .and_then(|p| p.first().cloned())
                .is_some_and(|m| m.starts_with(super::modules::MODULE_PREFIX))
            {
                return path;
            }
            return vec!["?".into()];
        }
        if v.kind() == "member_expression"
            && let Some(obj) = v.child_field("object").map(strip)
            && obj.kind() == "call_expression"
        {
            // `require("child_process").exec`
            let mut base = self.value_path(obj);
            if base.first().is_some_and(|s| s != "?") {
                base.push(
                    v.child_field("property")
                        .map_or("?", |p| self.text(p))
                        .to_string(),
                );
                return base;
            }
        }
        self.path_of(v)
    }

    /// The path a module specifier stands for: a project file (`./dao`) becomes one
    /// `@mod:<identity>` segment, a package its name's segments.
    pub(super) fn module_segments(&self, module: &str) -> Vec<String> {
        let id = super::modules::resolve_module(&self.shared.dir, module)
            .or_else(|| self.shared.paths.and_then(|p| p.resolve(module)));
        match id {
            Some(id) => vec![format!("{}{id}", super::modules::MODULE_PREFIX)],
            None => module_path(module),
        }
    }

    /// `import p from "path"`, `import * as cp from "child_process"`,
    /// `import { exec as run } from "child_process"`: the local names become aliases.
    pub(super) fn import(&mut self, n: Node<'t>) {
        let Some(module) = n
            .child_field("source")
            .and_then(|s| string_value(self.shared.text, s))
        else {
            return;
        };
        let base = self.module_segments(module);
        let Some(clause) = crate::parse::named_children(n)
            .into_iter()
            .find(|c| c.kind() == "import_clause")
        else {
            return;
        };
        for item in crate::parse::named_children(clause) {
            match item.kind() {
                "identifier" => {
                    self.state
                        .aliases
                        .insert(self.text(item).to_string(), base.clone());
                }
                "namespace_import" => {
                    if let Some(id) = item.named_child(0) {
                        self.state
                            .aliases
                            .insert(self.text(id).to_string(), base.clone());
                    }
                }
                "named_imports" => {
                    for spec in crate::parse::named_children(item) {
                        let (Some(name), alias) =
                            (spec.child_field("name"), spec.child_field("alias"))
                        else {
                            continue;
                        };
                        let local = self.text(alias.unwrap_or(name)).to_string();
                        let mut target = base.clone();
                        target.push(self.text(name).to_string());
                        self.state.aliases.insert(local, target);
                    }
                }
                _ => {}
            }
        }
    }

    pub(super) fn taint_container(&mut self, name: String, t: &Taint) {
        let mut stored = t.clone();
        stored.whole = false;
        stored.stringy = false;
        if let Some(m) = union(self.state.vars.remove(&name), Some(stored)) {
            self.state.vars.insert(name, m);
        }
    }

    /// Binds a declaration/parameter pattern to a value (`path`: the value's dotted path, so
    /// `const { body } = req` finds the source `req.body`).
    pub(super) fn bind(&mut self, pat: Node<'t>, t: Option<Taint>, path: Option<&[String]>) {
        if self.nesting >= MAX_NESTING {
            return;
        }
        self.nesting += 1;
        self.bind_node(pat, t, path);
        self.nesting -= 1;
    }

    pub(super) fn bind_node(&mut self, pat: Node<'t>, t: Option<Taint>, path: Option<&[String]>) {
        match pat.kind() {
            "identifier" | "shorthand_property_identifier_pattern" => {
                let name = self.text(pat).to_string();
                // only names that shadow a module variable are kept (the state is cloned at
                // every branch: a set of every local would make long functions quadratic)
                if !self.summary_mode
                    && self.fn_depth > 0
                    && self.shared.module_vars.contains(&name)
                {
                    self.state.locals.insert(name.clone());
                }
                // the name now stands for `path` (`const p = require("path")`, `(req) =>` of a
                // handler declared `as: req`), or for nothing known
                match path.filter(|p| !p.is_empty() && p.iter().all(|s| s != "?" && s != "*")) {
                    Some(p) => {
                        let target = self.resolve(p).unwrap_or_else(|| p.to_vec());
                        if target.first() != Some(&name) || target.len() > 1 {
                            self.state.aliases.insert(name.clone(), target);
                        }
                    }
                    None => {
                        self.state.aliases.remove(&name);
                    }
                }
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
                if let Some(p) = pat.child_field("pattern") {
                    self.bind(p, t, path);
                }
            }
            "assignment_pattern" | "object_assignment_pattern" => {
                let default = pat.child_field("right").and_then(|r| self.eval(r));
                if let Some(l) = pat.child_field("left") {
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
                            let left = prop.child_field("left");
                            match left {
                                Some(l) => (Some(l), prop),
                                None => continue,
                            }
                        }
                        "pair_pattern" => {
                            match (prop.child_field("key"), prop.child_field("value")) {
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
                    let sub = merge_named(t.clone().map(Taint::field), from_source);
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

    pub(super) fn eval(&mut self, n: Node<'t>) -> Option<Taint> {
        if self.nesting >= MAX_NESTING || crate::engine::stack::exhausted() {
            return None;
        }
        self.nesting += 1;
        let taint = self.eval_node(n);
        self.nesting -= 1;
        taint
    }

    pub(super) fn eval_node(&mut self, n: Node<'t>) -> Option<Taint> {
        match n.kind() {
            "identifier" => self.eval_name(n),
            "member_expression" | "subscript_expression" => self.member(n),
            "call_expression" | "new_expression" => self.call(n),
            "template_string" => {
                let mut c = n.walk();
                let parts: Vec<_> = n.named_children(&mut c).collect();
                let mut t = None;
                // the text before the first untrusted part; code-chosen parts (`${API_URL}`)
                // stand as CODE: they fix the host as a constant would
                let mut prefix = String::new();
                for p in &parts {
                    if p.kind() == "template_substitution" {
                        let part = p.named_child(0).and_then(|e| self.eval(e));
                        if t.is_none() && part.is_none() {
                            prefix.push(CODE);
                        }
                        t = union(t, part);
                    } else if t.is_none() {
                        prefix.push_str(self.text(*p));
                    }
                }
                let anchored = !prefix.is_empty();
                let dot_free = self.shared.cfg.dot_free;
                t.and_then(|mut t| {
                    t.stringy = true;
                    t.facts.set(Facts::BUILT, true);
                    t.whole = false;
                    t.host_fixed = t.host_fixed || code_fixes_host(&prefix);
                    t.facts
                        .set(Facts::ANCHORED, t.facts.has(Facts::ANCHORED) || anchored);
                    t.facts.set(Facts::NORMALIZED, false);
                    t.facts.set(Facts::RELATIVE, false);
                    t.facts.set(Facts::SEGMENTS, false);
                    let clean = if anchored && t.facts.has(Facts::NO_DOTDOT) {
                        dot_free
                    } else {
                        0
                    };
                    t.masked(clean)
                })
            }
            "binary_expression" => {
                let l = n.child_field("left");
                let r = n.child_field("right");
                let lt = l.and_then(|l| self.eval(l));
                let rt = r.and_then(|r| self.eval(r));
                match self.op(n) {
                    "+" => {
                        let text = self.shared.text;
                        let literal = l.and_then(|l| self.constant_text(l));
                        // a code-chosen, non-empty left side starts the value
                        let anchored = match &lt {
                            Some(lt) => lt.facts.has(Facts::ANCHORED),
                            None => l.is_some() && literal != Some(""),
                        };
                        let host_fixed = match &lt {
                            Some(lt) => lt.host_fixed,
                            None => l.is_some_and(|l| {
                                query_before(text, l)
                                    || self.code_prefix(l).is_some_and(|p| code_fixes_host(&p))
                            }),
                        };
                        // `"/" + ("/u" + x)`: the right side fixed the host only while it
                        // started the value; behind the left's text it may not (`//u...`)
                        let rejoined = (lt.is_none() && rt.as_ref().is_some_and(|t| t.host_fixed))
                            .then(|| {
                                let left = self.code_prefix(l?)?;
                                let right = self.literal_start(r?)?;
                                Some(code_fixes_host(&(left + &right)))
                            })
                            .flatten();
                        let dot_free = lt.is_none()
                            && anchored
                            && rt.as_ref().is_some_and(|t| t.facts.has(Facts::NO_DOTDOT));
                        // `"files/" + x` is a relative path whatever `x` holds
                        let relative = match &lt {
                            Some(lt) => lt.facts.has(Facts::RELATIVE),
                            None => literal.is_some_and(relative_prefix),
                        };
                        let clean = if dot_free {
                            self.shared.cfg.dot_free
                        } else {
                            0
                        };
                        union(lt, rt).and_then(|mut t| {
                            t.stringy = true;
                            t.facts.set(Facts::BUILT, true);
                            t.whole = false;
                            t.host_fixed = match rejoined {
                                Some(fixed) => fixed || host_fixed,
                                None => t.host_fixed || host_fixed,
                            };
                            t.facts.set(Facts::ANCHORED, anchored);
                            t.facts.set(Facts::NO_DOTDOT, false);
                            t.facts.set(Facts::NORMALIZED, false);
                            t.facts.set(Facts::RELATIVE, relative);
                            t.facts.set(Facts::SEGMENTS, false);
                            t.masked(clean)
                        })
                    }
                    "||" | "??" | "&&" => union(lt, rt),
                    _ => None,
                }
            }
            "ternary_expression" => {
                let cond = n.child_field("condition");
                if let Some(c) = cond {
                    self.eval(c);
                }
                // `RE.test(x) ? x : "default"`: the guard holds in the chosen branch
                let (then_safe, else_safe) = cond.map(|c| self.guards(c)).unwrap_or_default();
                let a = self.guarded(n.child_field("consequence"), &then_safe);
                let b = self.guarded(n.child_field("alternative"), &else_safe);
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
                let t = n.child_field("argument").and_then(|a| self.eval(a));
                // `+req.query.w`: a number, as large as the caller likes (`spec::UPPER_BOUND`)
                let bounded = self.shared.cfg.bounded;
                if bounded != 0 && n.kind() == "unary_expression" && self.op(n) == "+" {
                    return t.and_then(|t| t.number(bounded));
                }
                None
            }
            "object" => self.object(n),
            "array" => {
                let mut c = n.walk();
                let kids: Vec<_> = n.named_children(&mut c).collect();
                // `[system, ...messages]`: a request value spread in keeps the caller's list (its
                // items, whatever they hold), unlike items the code builds around request values
                let mut spreads_input = false;
                kids.into_iter()
                    .fold(None, |acc, k| {
                        let t = self.eval(k);
                        spreads_input |= k.kind() == "spread_element"
                            && t.as_ref().is_some_and(|t| t.stringy && !t.whole);
                        union(acc, t)
                    })
                    .map(|mut t| {
                        t.stringy = spreads_input;
                        t.whole = false;
                        t
                    })
            }
            "assignment_expression" => self.assignment(n),
            "augmented_assignment_expression" => {
                let right = n.child_field("right");
                let t = match n.child_field("left") {
                    // `x ||= f(x)` runs `f(x)` only when `x` is falsy (`??=`: null or undefined)
                    Some(l) if matches!(self.op(n), "||=" | "??=") && is_name_or_member(l) => {
                        let safe = vec![(self.path_of(l).join("."), u64::MAX)];
                        self.guarded(right, &safe)
                    }
                    _ => right.and_then(|r| self.eval(r)),
                };
                // `x &&= y`: a truthy `x` becomes `y`, a falsy one ("", 0, null) carries nothing
                if self.op(n) == "&&="
                    && let Some(l) = n.child_field("left")
                    && l.kind() == "identifier"
                {
                    let name = self.text(l).to_string();
                    match t.clone() {
                        Some(t) => {
                            self.state.vars.insert(name, t);
                        }
                        None => {
                            self.state.vars.remove(&name);
                        }
                    }
                    return t;
                }
                if let Some(l) = n.child_field("left")
                    && l.kind() == "identifier"
                    && let Some(t) = t.clone()
                {
                    let name = self.text(l).to_string();
                    let before = self.state.vars.remove(&name);
                    // `url += "?" + qs` keeps the start, so the host, `url` had
                    let kept = before
                        .as_ref()
                        .map(|b| (b.host_fixed, b.facts.has(Facts::ANCHORED)));
                    let merged = union(before, Some(t)).map(|mut m| {
                        if let Some((host_fixed, anchored)) = kept {
                            m.host_fixed = host_fixed;
                            m.facts.set(Facts::ANCHORED, anchored);
                        }
                        m.facts.set(Facts::NO_DOTDOT, false);
                        m.facts.set(Facts::NORMALIZED, false);
                        m.facts.set(Facts::RELATIVE, false);
                        m.facts.set(Facts::SEGMENTS, false);
                        m
                    });
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
                self.function(n, Vec::new(), Vec::new());
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
                            && !(sink.string && (!t.stringy || t.whole))
                            && !(sink.host && t.host_fixed)
                            && !(sink.unanchored && t.facts.has(Facts::ANCHORED))
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

    pub(super) fn member(&mut self, n: Node<'t>) -> Option<Taint> {
        let path = self.path_of(n);
        let named = self.source_for_path(&path, n.byte_range(), self.text(n));
        // `this.cmd` that another method of the class stored; `this.state.theme` is one member
        // of what was stored in `this.state`
        let mut from_object = if path.len() == 3 && path[0] == "this" && self.in_class() {
            self.escaped(&path)
        } else {
            self.member_of_object(n, &path)
        };
        if path.len() == 2 && path[0] == "this" {
            from_object = union(from_object, self.escaped(&path));
        }
        // `req.fileData.directory` that this function stored (see `assignment`)
        if path.len() == 2 && !self.state.vars.is_empty() {
            let stored = self.state.vars.get(&path.join(".")).cloned();
            from_object = union(from_object, stored);
        }
        merge_named(from_object, named)
    }

    /// The taint a member expression takes from its object (`body.email` from `body`).
    fn member_of_object(&mut self, n: Node<'t>, path: &[String]) -> Option<Taint> {
        if n.kind() == "subscript_expression"
            && let Some(i) = n.child_field("index")
        {
            self.eval(i);
        }
        let object = n.child_field("object")?;
        let mut t = self.eval(object)?;
        // `parts[0]`, `parts[parts.length - 1]` of `parts = p.split("/")`: one segment
        if t.facts.has(Facts::SEGMENTS) && self.is_end_index(n, object) {
            return t.field().masked(self.shared.cfg.dot_free);
        }
        let prop = path.last().map_or("", String::as_str);
        if CLEAN_METHODS.contains(&prop) {
            return None;
        }
        // `document.location.origin`, `here.host` for `const here = window.location`: the
        // page's own address, whatever the link added
        let of_location = |p: &[String]| p.len() >= 2 && p[p.len() - 2] == "location";
        if LOCATION_FIXED_FIELDS.contains(&prop)
            && (of_location(path) || self.resolve(path).is_some_and(|r| of_location(&r)))
        {
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
        let first_segment = if self.is_first_segment(n) {
            self.shared.cfg.dot_free
        } else {
            0
        };
        t.field().masked(cleared | first_segment)
    }

    /// `x.split("/")[0]` (or `split(/\//)`): the first segment of a path, which holds no `/`
    /// and is empty for an absolute path; it cannot climb out of a folder nor name a file
    /// elsewhere. Any other index, or a split on other text (`split("?")[0]`), proves nothing.
    fn is_first_segment(&self, n: Node<'t>) -> bool {
        if n.kind() != "subscript_expression"
            || n.child_field("index")
                .is_none_or(|i| self.text(strip(i)) != "0")
        {
            return false;
        }
        let Some(call) = n
            .child_field("object")
            .map(strip)
            .filter(|o| o.kind() == "call_expression")
        else {
            return false;
        };
        let is_split = call
            .child_field("function")
            .and_then(|f| strip(f).child_field("property"))
            .is_some_and(|p| self.text(p) == "split");
        is_split && self.splits_on_slash(&Self::args(call))
    }

    /// Whether the arguments of a `split` are one `/` separator (`"/"`, `/\//`).
    pub(super) fn splits_on_slash(&self, args: &[Node<'t>]) -> bool {
        let on_slash = args.first().map(|a| strip(*a)).is_some_and(|a| {
            string_value(self.shared.text, a) == Some("/")
                || (a.kind() == "regex"
                    && a.child_field("pattern")
                        .is_some_and(|p| matches!(self.text(p), "\\/" | "/")))
        });
        on_slash && args.len() == 1
    }

    /// Whether `n` reads the first or the last item of `object`: `a[0]`, `a[a.length - 1]`.
    fn is_end_index(&self, n: Node<'t>, object: Node<'t>) -> bool {
        if n.kind() != "subscript_expression" {
            return false;
        }
        let Some(index) = n.child_field("index").map(strip) else {
            return false;
        };
        if self.text(index) == "0" {
            return true;
        }
        let object = strip(object);
        index.kind() == "binary_expression"
            && self.op(index) == "-"
            && index
                .child_field("right")
                .is_some_and(|r| self.text(strip(r)) == "1")
            && index.child_field("left").map(strip).is_some_and(|l| {
                l.kind() == "member_expression"
                    && l.child_field("property")
                        .is_some_and(|p| self.text(p) == "length")
                    && l.child_field("object")
                        .is_some_and(|o| self.text(strip(o)) == self.text(object))
            })
    }

    /// Whether `new URL(first, base)` keeps the request's own origin: `first` starts with a
    /// path the code writes out (`"/admin"`, `` `/orders/${id}` ``, not `//` or `/\\`), and
    /// `base` is the URL of the request being served (`req.url`, `request.nextUrl`), which names
    /// this server. Such a URL cannot send the user to another site.
    pub(super) fn keeps_own_origin(&self, args: &[Node<'t>]) -> bool {
        static OWN_URL: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"^(?:req|request)\.(?:url|nextUrl(?:\.(?:origin|href))?)$")
                .expect("own URL regex is valid")
        });
        let [first, base] = args else {
            return false;
        };
        OWN_URL.is_match(self.text(strip(*base)))
            && self.code_prefix(*first).is_some_and(|p| {
                let mut chars = p.chars();
                chars.next() == Some('/')
                    && chars
                        .next()
                        .is_some_and(|c| !matches!(c, '/' | '\\' | CODE))
            })
    }

    /// The text an untrusted-free left side of `+` puts first, code-chosen parts (names,
    /// members, calls, template substitutions) as [`CODE`]: `"//" + host` is `//` then CODE.
    /// `None` for a side that is no string (`undefined`, an object).
    fn code_prefix(&self, n: Node<'t>) -> Option<String> {
        let mut parts = Vec::new();
        let mut n = strip(n);
        // down the left spine of a `+` chain, a bounded number of steps
        for _ in 0..MAX_NESTING {
            if n.kind() == "binary_expression" && self.op(n) == "+" {
                parts.push(strip(n.child_field("right")?));
                n = strip(n.child_field("left")?);
            } else {
                parts.push(n);
                break;
            }
        }
        let mut prefix = String::new();
        for p in parts.into_iter().rev() {
            if let Some(v) = self.constant_text(p) {
                prefix.push_str(v);
                continue;
            }
            match p.kind() {
                "call_expression" => match self.call_text(p) {
                    Some(text) => prefix.push_str(&text),
                    None => prefix.push(CODE),
                },
                "identifier"
                | "member_expression"
                | "subscript_expression"
                | "await_expression" => {
                    prefix.push(CODE);
                }
                "template_string" => {
                    let mut c = p.walk();
                    for part in p.named_children(&mut c) {
                        if part.kind() == "template_substitution" {
                            prefix.push(CODE);
                        } else {
                            prefix.push_str(self.text(part));
                        }
                    }
                }
                _ => return None,
            }
        }
        Some(prefix)
    }

    /// The literal text a `+` chain or template written in place starts with (`"/u"` of
    /// `"/u" + x`); `None` for anything else, names included.
    fn literal_start(&self, n: Node<'t>) -> Option<String> {
        let n = strip(n);
        match n.kind() {
            "binary_expression" if self.op(n) == "+" => self.literal_start(n.child_field("left")?),
            "string" => string_value(self.shared.text, n).map(String::from),
            "template_string" => {
                let first = crate::parse::named_children(n).into_iter().next();
                let end = first.map_or(n.end_byte() - 1, |f| f.start_byte());
                self.shared
                    .text
                    .get(n.start_byte() + 1..end)
                    .map(String::from)
            }
            _ => None,
        }
    }

    /// The text a call is known to start with, code-chosen parts as [`CODE`]: the strings
    /// leading `[a, b].join(sep)`, or the literal a same-file function returns whole
    /// (`function questionMark() { return "?"; }`).
    fn call_text(&self, call: Node<'t>) -> Option<String> {
        let callee = strip(call.child_field("function")?);
        let args = Self::args(call);
        if callee.kind() == "member_expression" {
            let method = self.text(callee.child_field("property")?);
            let list = strip(callee.child_field("object")?);
            let mut text = self.joined_prefix(method, Some(list), &args)?;
            let items = crate::parse::named_children(list);
            let all_constant = items
                .iter()
                .all(|i| string_value(self.shared.text, strip(*i)).is_some());
            if all_constant {
                // the separator follows every item but the last
                let sep = args
                    .first()
                    .and_then(|a| string_value(self.shared.text, strip(*a)))
                    .unwrap_or(",");
                text.truncate(text.len() - sep.len());
            } else {
                text.push(CODE);
            }
            return Some(text);
        }
        if !args.is_empty() {
            return None;
        }
        let (_, returned) = self.single_return(callee)?;
        string_value(self.shared.text, strip(returned)).map(String::from)
    }

    /// The text of a string literal, or of a top-level `const NAME = "literal"` the name is not
    /// shadowed for.
    pub(super) fn constant_text(&self, n: Node<'t>) -> Option<&'t str> {
        let n = strip(n);
        string_value(self.shared.text, n).or_else(|| {
            (n.kind() == "identifier" && !self.state.locals.contains(self.text(n)))
                .then(|| self.shared.constants.get(self.text(n)).copied())
                .flatten()
        })
    }

    pub(super) fn object(&mut self, n: Node<'t>) -> Option<Taint> {
        let mut c = n.walk();
        let kids: Vec<_> = n.named_children(&mut c).collect();
        let mut acc = None;
        for k in kids {
            match k.kind() {
                "pair" => {
                    let value = k.child_field("value").and_then(|v| self.eval(v));
                    // a string under an operator key (`$where`, `$regex`) is code or a pattern:
                    // the object is no plain filter of strings
                    let mut operator = false;
                    let eq = k.child_field("key").is_some_and(|key| {
                        string_value(self.shared.text, key).unwrap_or_else(|| self.text(key))
                            == "$eq"
                    });
                    if let (Some(t), Some(key)) = (&value, k.child_field("key")) {
                        let key_text =
                            string_value(self.shared.text, key).unwrap_or_else(|| self.text(key));
                        operator = key_text.starts_with('$') && key_text != "$eq";
                        self.property_sinks(n, k, key_text, t);
                    }
                    acc = union(
                        acc,
                        value.map(|mut t| {
                            t.whole = false;
                            t.facts
                                .set(Facts::BUILT, t.facts.has(Facts::BUILT) && !operator);
                            // `{ $eq: x }` compares with `x` as a value, operators and all
                            t.facts.set(Facts::BUILT, t.facts.has(Facts::BUILT) || eq);
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

    pub(super) fn eval_name(&self, n: Node<'t>) -> Option<Taint> {
        let name = self.text(n);
        let path = [name.to_string()];
        let held = self.state.vars.get(name).cloned();
        let named = self.source_for_path(&path, n.byte_range(), name);
        // a local read again through its alias (`resp` of `var resp = req.foo`): the flow that
        // bound it covers the same rules and its steps start where the input entered
        if let (Some(h), Some(named)) = (&held, &named)
            && named.mask & !h.mask == 0
        {
            return held;
        }
        merge_named(held.or_else(|| self.escaped(&path)), named)
    }
}

/// The path a module stands for: `node:fs/promises` -> `fs.promises`, `child_process`.
fn module_path(module: &str) -> Vec<String> {
    let m = module.strip_prefix("node:").unwrap_or(module);
    m.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| s.replace(['-', '@'], "_"))
        .collect()
}

/// A value's taint from the flow (`held`) joined with the taint its name declares (`named`: a
/// source path such as `req.body`, or a personal-data name such as `user.email`). Each keeps its
/// rules: the one whose rules the other does not cover leads (its steps and flags), and the
/// other only adds its rule bits, so naming a request field `email` does not hide the request.
fn merge_named(held: Option<Taint>, named: Option<Taint>) -> Option<Taint> {
    match (held, named) {
        (Some(h), Some(n)) => {
            let (mut lead, other) = if h.mask & !n.mask != 0 {
                (h, n)
            } else {
                (n, h)
            };
            lead.mask |= other.mask;
            Some(lead)
        }
        (h, n) => h.or(n),
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
        assert!(super::code_fixes_host("\u{1}/api/"));
        assert!(super::code_fixes_host("https://\u{1}/"));
        assert!(!super::code_fixes_host("https://\u{1}"));
        // a base the code chooses whole (`${API_URL}${path}`) is taken to end in its own `/`
        assert!(super::code_fixes_host("\u{1}"));
        assert!(!super::code_fixes_host("//\u{1}"));
        assert!(!super::code_fixes_host("https://"));
    }
}
