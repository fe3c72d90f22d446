//! Cross-file flows, the per-file half: which functions a module exports (and what their
//! parameters reach), and which calls pass untrusted values to functions imported from other
//! project files. Each file is summarised once, on its own; [`crate::taint`] joins the two lists
//! after every file (one lookup per call, no whole-program fixpoint), so the cost stays linear in
//! the size of the project.
//!
//! Module identity is the display path without its extension (and without a trailing `/index`);
//! `require("./dao")` and `import … from "../data/dao"` resolve against the importing file's
//! folder. Exports are keyed by their dotted name below the module: `getUser` for
//! `exports.getUser = …`, `export function getUser` or `module.exports = { getUser }`; the empty
//! key for the module itself (`module.exports = function …`, `export default function …`);
//! `Dao.update` for `this.update = …` inside an exported constructor `Dao`.

use crate::parse::ChildField;
use std::collections::BTreeMap;
use std::ops::Range;

use tree_sitter::Node;

use super::{Step, Walker, is_function, node_text};

/// The first path segment of a project module: `@mod:` and the module's identity.
pub(super) const MODULE_PREFIX: &str = "@mod:";

/// A sink inside an exported function that some of its parameters reach.
#[derive(Debug)]
pub struct ExportSink {
    /// The export's key (`module#name`).
    pub key: String,
    /// The parameters (bit i = parameter i) that reach the sink.
    pub params: u64,
    /// Local rule number.
    pub rule: usize,
    /// The sink expression.
    pub range: Range<usize>,
    /// The steps inside the exported function, parameter first, sink last.
    pub steps: Vec<Step>,
    /// The sink's text, for messages.
    pub sink: String,
}

/// A call that passes an untrusted value to a function imported from a project file.
#[derive(Debug)]
pub struct ImportCall {
    /// The callee's key (`module#name`).
    pub key: String,
    /// The argument position.
    pub arg: usize,
    /// Rules for which the argument is untrusted.
    pub mask: u64,
    /// Source first, the call last.
    pub steps: Vec<Step>,
    /// The source's text, for messages.
    pub source: String,
}

/// A parameter of an exported function handed on to a function of another project file.
#[derive(Debug)]
pub struct ExportForward {
    /// The export's key (`module#name`).
    pub key: String,
    /// The parameters (bit i = parameter i) in the argument.
    pub params: u64,
    /// Rules for which the argument is still untrusted.
    pub mask: u64,
    /// The callee's key (`module#name`).
    pub callee: String,
    /// The argument position.
    pub arg: usize,
    /// The steps inside the exported function, parameter first, call last.
    pub steps: Vec<Step>,
}

/// An untrusted value handed to a template: `res.render("profile", { bio: req.body.bio })`.
#[derive(Debug)]
pub struct RenderLocal {
    /// The view name as written (`profile`, `users/show`, `index.ejs`).
    pub view: String,
    /// The local's name (`bio`); `*` when the whole locals object is untrusted.
    pub key: String,
    /// For an object local, the members the template must print for it to matter: `Some([])`
    /// for any member, `Some(["term"])` for `{ output: { term: req.query.q, rows } }`; `None` for
    /// a string printed as it is.
    pub fields: Option<Vec<String>>,
    /// Local rule number.
    pub rule: usize,
    /// The property (or the locals argument) in the render call.
    pub range: Range<usize>,
    /// Source first, the render call last.
    pub steps: Vec<Step>,
    /// The source's text, for messages.
    pub source: String,
    /// The render call's callee, for messages.
    pub sink: String,
}

/// What one file offers other files and asks of them.
#[derive(Debug, Default)]
pub struct Crossing {
    /// Sinks reached by parameters of exported functions.
    pub exports: Vec<ExportSink>,
    /// Parameters of exported functions passed on to other project files.
    pub forwards: Vec<ExportForward>,
    /// Calls with untrusted arguments to imported functions.
    pub calls: Vec<ImportCall>,
    /// Untrusted values handed to templates.
    pub renders: Vec<RenderLocal>,
}

/// The identity of a module file: `src/data/dao.js` -> `src/data/dao`, `lib/index.ts` -> `lib`.
pub fn module_id(display: &str) -> String {
    let stem = match display.rsplit_once('.') {
        Some((stem, ext)) if !ext.contains('/') && ext.len() <= 4 => stem,
        _ => display,
    };
    stem.strip_suffix("/index").unwrap_or(stem).to_string()
}

/// The identity of `spec` imported from a file in `dir`, for relative specifiers only.
pub(crate) fn resolve_module(dir: &str, spec: &str) -> Option<String> {
    if !(spec.starts_with("./") || spec.starts_with("../") || spec == "." || spec == "..") {
        return None;
    }
    let joined = crate::entry::join_path(dir, spec);
    Some(module_id(&joined))
}

impl<'t> Walker<'_, 't> {
    /// Exported functions of this file with their keys (without the module part).
    pub(super) fn exported_functions(&self, root: Node<'t>) -> Vec<(String, Node<'t>)> {
        let mut out: Vec<(String, Node<'t>)> = Vec::new();
        let classes = &self.shared.classes;
        let function_of = |n: Node<'t>| -> Option<Node<'t>> {
            if is_function(n) {
                Some(n)
            } else if n.kind() == "identifier" {
                self.shared.functions.get(self.text(n)).copied()
            } else {
                None
            }
        };
        for child in crate::parse::named_children(root) {
            match child.kind() {
                "export_statement" => {
                    let is_default =
                        node_text(self.shared.text, child).starts_with("export default");
                    if let Some(decl) = child.child_field("declaration") {
                        if is_class(decl) {
                            // `export class Service { query(q) {} }`: `Service.query`
                            let name = decl
                                .child_field("name")
                                .map(|n| self.text(n).to_string())
                                .filter(|_| !is_default)
                                .unwrap_or_default();
                            self.class_methods(&name, decl, &mut out);
                        } else if is_function(decl) {
                            let name = decl
                                .child_field("name")
                                .map(|n| self.text(n).to_string())
                                .unwrap_or_default();
                            out.push((if is_default { String::new() } else { name }, decl));
                        } else {
                            for d in crate::parse::named_children(decl) {
                                if let (Some(n), Some(v)) =
                                    (d.child_field("name"), d.child_field("value"))
                                    && is_function(v)
                                {
                                    out.push((self.text(n).to_string(), v));
                                }
                            }
                        }
                    } else if let Some(value) = child.child_field("value") {
                        self.export_value(String::new(), value, classes, &mut out);
                    } else {
                        // `export { a, b as c }`
                        for clause in crate::parse::named_children(child)
                            .into_iter()
                            .filter(|c| c.kind() == "export_clause")
                        {
                            for spec in crate::parse::named_children(clause) {
                                let Some(name) = spec.child_field("name") else {
                                    continue;
                                };
                                let shown = spec.child_field("alias").unwrap_or(name);
                                if let Some(f) = function_of(name) {
                                    out.push((self.text(shown).to_string(), f));
                                } else if let Some(c) = classes.get(self.text(name)).copied() {
                                    self.class_methods(self.text(shown), c, &mut out);
                                }
                            }
                        }
                    }
                }
                "expression_statement" => {
                    let Some(assign) = child.named_child(0) else {
                        continue;
                    };
                    if assign.kind() != "assignment_expression" {
                        continue;
                    }
                    let (Some(left), Some(right)) =
                        (assign.child_field("left"), assign.child_field("right"))
                    else {
                        continue;
                    };
                    let path = self.path_of(left);
                    let key = match path.as_slice() {
                        [m, e] if m == "module" && e == "exports" => String::new(),
                        [m, e, k] if m == "module" && e == "exports" => k.clone(),
                        [e, k] if e == "exports" => k.clone(),
                        _ => continue,
                    };
                    self.export_value(key, right, classes, &mut out);
                }
                _ => {}
            }
        }
        // methods a constructor sets on `this` (`function Dao(db) { this.find = (id) => ... }`)
        let mut methods = Vec::new();
        for (key, f) in &out {
            let Some(body) = f.child_field("body") else {
                continue;
            };
            for stmt in crate::parse::named_children(body) {
                let Some(assign) = stmt.named_child(0) else {
                    continue;
                };
                if stmt.kind() != "expression_statement" || assign.kind() != "assignment_expression"
                {
                    continue;
                }
                if let (Some(left), Some(right)) =
                    (assign.child_field("left"), assign.child_field("right"))
                    && is_function(right)
                    && let [this, name] = self.path_of(left).as_slice()
                    && this == "this"
                {
                    let k = if key.is_empty() {
                        name.clone()
                    } else {
                        format!("{key}.{name}")
                    };
                    methods.push((k, right));
                }
            }
        }
        out.extend(methods);
        out
    }

    /// `module.exports = value`: a function, a same-file function's name, or an object of them.
    fn export_value(
        &self,
        key: String,
        value: Node<'t>,
        classes: &BTreeMap<&'t str, Node<'t>>,
        out: &mut Vec<(String, Node<'t>)>,
    ) {
        if crate::engine::stack::exhausted() {
            return;
        }
        let prefix = |k: &str| {
            if key.is_empty() {
                k.to_string()
            } else {
                format!("{key}.{k}")
            }
        };
        match value.kind() {
            "identifier" => {
                if let Some(f) = self.shared.functions.get(self.text(value)).copied() {
                    out.push((key, f));
                } else if let Some(c) = classes.get(self.text(value)).copied() {
                    // `module.exports = Service`: `new Service().query(q)` calls `query`
                    self.class_methods(&key, c, out);
                } else if key.is_empty()
                    && let Some(object) = top_level_object(value, self.text(value), self)
                {
                    // `var actions = { search: search }; module.exports = actions;`
                    self.export_value(key, object, classes, out);
                }
            }
            "object" => {
                for item in crate::parse::named_children(value) {
                    match item.kind() {
                        "shorthand_property_identifier" => {
                            if let Some(f) = self.shared.functions.get(self.text(item)).copied() {
                                out.push((prefix(self.text(item)), f));
                            }
                        }
                        "pair" => {
                            if let (Some(k), Some(v)) =
                                (item.child_field("key"), item.child_field("value"))
                            {
                                let k = prefix(unquote(self.text(k)));
                                self.export_value(k, v, classes, out);
                            }
                        }
                        "method_definition" => {
                            if let Some(n) = item.child_field("name") {
                                out.push((prefix(self.text(n)), item));
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ if is_function(value) => out.push((key, value)),
            _ if is_class(value) => self.class_methods(&key, value, out),
            // `module.exports = new Service()`: the instance's methods
            "new_expression" => {
                if let Some(c) = value
                    .child_field("constructor")
                    .filter(|c| c.kind() == "identifier")
                    .and_then(|c| classes.get(self.text(c)).copied())
                {
                    self.class_methods(&key, c, out);
                }
            }
            _ => {}
        }
    }

    /// The methods of a class (`query(q) {}`, `query = (q) => {}`; static or not), keyed
    /// `<key>.<method>` (`<method>` for the empty key). The constructor is left out: its
    /// parameters are stored, not used, and what it stores is not followed across files.
    fn class_methods(&self, key: &str, class: Node<'t>, out: &mut Vec<(String, Node<'t>)>) {
        let Some(body) = class.child_field("body") else {
            return;
        };
        for member in crate::parse::named_children(body) {
            let (name, f) = match member.kind() {
                "method_definition" => (member.child_field("name"), Some(member)),
                "public_field_definition" | "field_definition" => (
                    member
                        .child_field("property")
                        .or_else(|| member.child_field("name")),
                    member.child_field("value").filter(|v| is_function(*v)),
                ),
                _ => continue,
            };
            let (Some(name), Some(f)) = (name, f) else {
                continue;
            };
            let name = self.text(name);
            if name == "constructor" {
                continue;
            }
            out.push((
                if key.is_empty() {
                    name.to_string()
                } else {
                    format!("{key}.{name}")
                },
                f,
            ));
        }
    }

    /// Summaries of every exported function, as export sinks keyed `module#name`, and the
    /// parameters they hand on to other project files.
    pub(super) fn export_sinks(
        &self,
        root: Node<'t>,
        module: &str,
    ) -> (Vec<ExportSink>, Vec<ExportForward>) {
        let mut out = Vec::new();
        let mut forwards = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (key, f) in self.exported_functions(root) {
            if !seen.insert(key.clone()) {
                continue;
            }
            let Some(summary) = self.summary(f) else {
                continue;
            };
            // callers in other files are joined by argument position: a destructured field
            // stands for its whole parameter there
            for (params, rule, range, steps, sink) in &summary.sinks {
                out.push(ExportSink {
                    key: format!("{module}#{key}"),
                    params: summary.whole_params(*params),
                    rule: *rule,
                    range: range.clone(),
                    steps: steps.clone(),
                    sink: sink.clone(),
                });
            }
            for f in &summary.forwards {
                forwards.push(ExportForward {
                    key: format!("{module}#{key}"),
                    params: summary.whole_params(f.params),
                    mask: f.mask,
                    callee: f.key.clone(),
                    arg: f.arg,
                    steps: f.steps.clone(),
                });
            }
        }
        (out, forwards)
    }
}

/// Whether `n` declares a class (`class A {}` as a statement or an expression).
fn is_class(n: Node<'_>) -> bool {
    matches!(
        n.kind(),
        "class_declaration" | "class" | "abstract_class_declaration"
    )
}

/// The classes declared at the top of a file (exported or not, or `const Name = class {}`), by
/// name.
pub(super) fn top_level_classes<'t>(root: Node<'t>, text: &'t str) -> BTreeMap<&'t str, Node<'t>> {
    let mut out = BTreeMap::new();
    for stmt in crate::parse::named_children(root) {
        let decl = match stmt.kind() {
            "export_statement" => match stmt.child_field("declaration") {
                Some(d) => d,
                None => continue,
            },
            _ => stmt,
        };
        if is_class(decl) {
            if let Some(name) = decl.child_field("name") {
                out.insert(node_text(text, name), decl);
            }
        } else if matches!(decl.kind(), "lexical_declaration" | "variable_declaration") {
            for d in crate::parse::named_children(decl) {
                if let (Some(name), Some(value)) = (
                    d.child_field("name"),
                    d.child_field("value").filter(|v| is_class(*v)),
                ) {
                    out.insert(node_text(text, name), value);
                }
            }
        }
    }
    out
}

/// A property key without its quotes: `"getProduct"` -> `getProduct`.
fn unquote(key: &str) -> &str {
    key.trim_matches(|c| c == '"' || c == '\'' || c == '`')
}

/// The object literal a top-level `var`/`let`/`const` binds to `name`, for the file holding
/// `at` (`var actions = { list: listProducts }` before `module.exports = actions`).
fn top_level_object<'t>(at: Node<'t>, name: &str, walker: &Walker<'_, 't>) -> Option<Node<'t>> {
    let mut root = at;
    while let Some(parent) = root.parent() {
        root = parent;
    }
    crate::parse::named_children(root)
        .into_iter()
        .filter(|stmt| matches!(stmt.kind(), "variable_declaration" | "lexical_declaration"))
        .flat_map(crate::parse::named_children)
        .filter(|d| d.kind() == "variable_declarator")
        .filter(|d| {
            d.child_field("name")
                .is_some_and(|n| walker.text(n) == name)
        })
        .filter_map(|d| d.child_field("value"))
        .find(|v| v.kind() == "object")
}

#[cfg(test)]
mod tests {
    use super::{module_id, resolve_module};

    #[test]
    fn modules_resolve_relative_to_the_importing_folder() {
        assert_eq!(module_id("app/data/dao.js"), "app/data/dao");
        assert_eq!(module_id("lib/index.ts"), "lib");
        assert_eq!(
            resolve_module("app/routes", "../data/dao").as_deref(),
            Some("app/data/dao")
        );
        assert_eq!(
            resolve_module("app", "./lib/index.js").as_deref(),
            Some("app/lib")
        );
        assert_eq!(resolve_module("/tmp/x", "./y").as_deref(), Some("/tmp/x/y"));
        assert_eq!(resolve_module("app", "express"), None);
    }
}
