//! Values that outlive the function that stored them: a module-level variable assigned in one
//! handler and read in another (`let current; app.post(.., (req) => { current = req.body.x })`),
//! and a class field set in one method and read in another (`this.cmd = req.query.cmd` in
//! `setup`, `exec(this.cmd)` in `run`).
//!
//! Handlers run in any order, so these stores are flow-insensitive: what any function stores is
//! what every function of the file (or every method of the class) reads. A file where something
//! escapes is walked a second time, so that reads written before the store see it too; never
//! more than twice, so the walk stays linear.

use crate::parse::ChildField;
use std::collections::{BTreeMap, BTreeSet};

use tree_sitter::Node;

use super::{Taint, Walker, is_function, node_text, strip, union};

/// Names a file declares with `let`/`var`/`const` at its top, other than functions.
pub(super) fn module_variables(root: Node<'_>, text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for stmt in crate::parse::named_children(root) {
        if !matches!(stmt.kind(), "lexical_declaration" | "variable_declaration") {
            continue;
        }
        for d in crate::parse::named_children(stmt) {
            if let Some(name) = d.child_field("name")
                && name.kind() == "identifier"
                && !d.child_field("value").is_some_and(is_function)
            {
                out.insert(node_text(text, name).to_string());
            }
        }
    }
    out
}

/// Names a file declares at its top as `const NAME = "literal"` (a fixed string).
pub(super) fn module_constants<'t>(root: Node<'_>, text: &'t str) -> BTreeMap<String, &'t str> {
    let mut out = BTreeMap::new();
    for stmt in crate::parse::named_children(root) {
        if stmt.kind() != "lexical_declaration" || !node_text(text, stmt).starts_with("const") {
            continue;
        }
        for d in crate::parse::named_children(stmt) {
            if let Some(name) = d.child_field("name")
                && name.kind() == "identifier"
                && let Some(value) = d.child_field("value")
                && let Some(v) = super::string_value(text, value)
            {
                out.insert(node_text(text, name).to_string(), v);
            }
        }
    }
    out
}

impl<'t> Walker<'_, 't> {
    /// Whether the walk is inside a function of the file (not at its top, not in a summary).
    fn in_function(&self) -> bool {
        !self.summary_mode && self.fn_depth > 0
    }

    /// Whether `this` stands for an instance of a class of the file where the walk is.
    pub(super) fn in_class(&self) -> bool {
        self.in_function() && self.class_of_this().is_some()
    }

    /// The key a store to `path` escapes under: a module variable the enclosing functions do
    /// not shadow (`current`), or a field of the class whose method is being walked
    /// (`<class>#this.cmd`).
    pub(super) fn escape_key(&self, path: &[String]) -> Option<String> {
        if !self.in_function() {
            return None;
        }
        match path {
            [name] => (self.shared.module_vars.contains(name) && !self.state.locals.contains(name))
                .then(|| name.clone()),
            [this, field, rest @ ..] if this == "this" => {
                let class = self.class_of_this()?.start_byte();
                // `this.state.theme`: one member of the field, so `this.state.user` stays
                // trusted; a computed member (`this.state[k]`) stands for the whole field
                Some(match rest.first().filter(|m| !is_any_member(m)) {
                    Some(member) => format!("{class}#this.{field}.{member}"),
                    None => format!("{class}#this.{field}"),
                })
            }
            _ => None,
        }
    }

    /// The class `this` stands for where the walk is: the innermost method (or arrow function
    /// in a class field) of the functions being walked (the summarised method last), unless a
    /// `function` rebinds `this` first.
    pub(super) fn class_of_this(&self) -> Option<Node<'t>> {
        for f in self.fn_stack.iter().rev().chain(self.method.iter()) {
            let holder = match f.kind() {
                "method_definition" => Some(*f),
                "arrow_function" => f
                    .parent()
                    .filter(|p| matches!(p.kind(), "public_field_definition" | "field_definition")),
                _ => return None,
            };
            if let Some(h) = holder {
                let body = h.parent().filter(|b| b.kind() == "class_body")?;
                return body.parent();
            }
        }
        None
    }

    /// Records that `t` was stored under `key` (from [`Self::escape_key`]).
    pub(super) fn escape(&mut self, key: String, t: &Taint, at: Node<'t>) {
        if t.params != 0 {
            return;
        }
        let t = t.clone().step(
            at.byte_range(),
            format!("kept in `{}` for later calls", self.text(at)),
        );
        let mut escaped = self.shared.escaped.borrow_mut();
        let merged = union(escaped.remove(&key), Some(t));
        if let Some(m) = merged {
            escaped.insert(key, m);
        }
    }

    /// `new Job(req.query.cmd)` of a class of this file: walks its constructor with the string
    /// arguments (once per class and walk), so what it stores in `this` reaches the methods.
    pub(super) fn construct(&mut self, class_name: &str, taints: &[Option<Taint>]) {
        if !self.in_function() || taints.iter().all(Option::is_none) {
            return;
        }
        let Some(class) = self.shared.classes.get(class_name).copied() else {
            return;
        };
        if !self.constructed.insert(class.id()) {
            return;
        }
        let ctor = class.child_field("body").and_then(|body| {
            crate::parse::named_children(body).into_iter().find(|m| {
                m.kind() == "method_definition"
                    && m.child_field("name")
                        .is_some_and(|n| self.text(n) == "constructor")
            })
        });
        // strings only: an options object with one untrusted member would make every field
        // the constructor copies from it untrusted
        let seeds: Vec<Option<Taint>> = taints
            .iter()
            .map(|t| t.clone().filter(|t| t.stringy && !t.whole))
            .collect();
        if let Some(ctor) = ctor
            && seeds.iter().any(Option::is_some)
        {
            // only the stores are wanted: sinks in the constructor are its own walk's to report
            let (hits, imports, renders) =
                (self.hits.len(), self.imports.len(), self.renders.len());
            self.function(ctor, seeds, Vec::new());
            self.hits.truncate(hits);
            self.imports.truncate(imports);
            self.renders.truncate(renders);
        }
    }

    /// The method `this.<name>(...)` calls: one of the class `this` stands for.
    pub(super) fn this_method(&self, name: &str) -> Option<Node<'t>> {
        let body = self.class_of_this()?.child_field("body")?;
        crate::parse::named_children(body)
            .into_iter()
            .find_map(|member| match member.kind() {
                "method_definition" => member
                    .child_field("name")
                    .filter(|n| self.text(*n) == name)
                    .map(|_| member),
                "public_field_definition" | "field_definition" => member
                    .child_field("property")
                    .or_else(|| member.child_field("name"))
                    .filter(|n| self.text(*n) == name)
                    .and_then(|_| member.child_field("value"))
                    .filter(|v| is_function(*v)),
                _ => None,
            })
    }

    /// Stores what an object literal written into a field of `this` holds member by member
    /// (`this.state = { user, theme: req.query.theme }` under `this.state.user` and
    /// `this.state.theme`), or whole when a spread or computed key hides its members.
    pub(super) fn escape_members(&mut self, path: &[String], object: Node<'t>, at: Node<'t>) {
        let hidden = crate::parse::named_children(object).into_iter().any(|m| {
            m.kind() == "spread_element"
                || m.child_field("key")
                    .is_some_and(|k| k.kind() == "computed_property_name")
        });
        if hidden {
            if let (Some(key), Some(t)) = (self.escape_key(path), self.eval(object)) {
                self.escape(key, &t, at);
            }
            return;
        }
        for (member, _, t) in self.object_entries(object) {
            let mut member_path = path.to_vec();
            member_path.push(member);
            if let (Some(key), Some(t)) = (self.escape_key(&member_path), t) {
                self.escape(key, &t, at);
            }
        }
    }

    /// React's `this.setState({ theme })` or `this.setState(prev => ({ theme }))`: the members
    /// it merges into `this.state`, stored as [`Self::escape_members`] does.
    pub(super) fn set_state(&mut self, call: Node<'t>) {
        let Some(arg) = Self::args(call).first().copied().map(strip) else {
            return;
        };
        let object = if is_function(arg) {
            arg.child_field("body").map(strip)
        } else {
            Some(arg)
        };
        let state = ["this".to_string(), "state".to_string()];
        match object {
            Some(o) if o.kind() == "object" => self.escape_members(&state, o, call),
            _ => {
                if let (Some(key), Some(t)) = (self.escape_key(&state), self.eval(arg)) {
                    self.escape(key, &t, call);
                }
            }
        }
    }

    /// What any function stored under the key of `path` (`current`, `this.cmd`): for a member
    /// of a field of `this`, what was stored in that member or in the whole field; for the
    /// field itself, what was stored in it or in any of its members.
    pub(super) fn escaped(&self, path: &[String]) -> Option<Taint> {
        let key = self.escape_key(path)?;
        let escaped = self.shared.escaped.borrow();
        match path {
            [this, field, member, ..] if this == "this" && !is_any_member(member) => {
                let whole = key.rsplit_once('.').map(|(w, _)| w).unwrap_or_default();
                union(
                    escaped.get(&key).cloned(),
                    escaped.get(whole).cloned().map(Taint::field),
                )
            }
            [this, _, ..] if this == "this" => {
                let members = format!("{key}.");
                escaped
                    .range(key.clone()..)
                    .take_while(|(k, _)| **k == key || k.starts_with(&members))
                    .map(|(_, t)| t.clone())
                    .fold(None, |acc, t| union(acc, Some(t)))
            }
            _ => escaped.get(&key).cloned(),
        }
    }
}

/// A member path segment that names no one member (`x[k]`, a call's result).
fn is_any_member(segment: &str) -> bool {
    matches!(segment, "*" | "?")
}
