//! The walk: one pass over a file's syntax tree that tracks which variables hold untrusted values
//! (one bit per taint rule) and reports every sink an untrusted value reaches.
//!
//! Flow-sensitive inside a function (statements in order; `if` branches walked apart and merged;
//! an early `return` after a failed guard cleans the value afterwards), closures see the enclosing
//! function's variables, and calls to functions defined at the top of the same file use a summary
//! (which parameters reach which sinks, which reach the return value).
//!
//! This file owns the shared types (taint values, state, hits), the statement walk (blocks,
//! declarations, `if`, loops) and reporting; the other concerns live beside it:
//! [`sources`] (where taint enters), [`propagation`] (expressions and bindings), [`calls`] (calls,
//! sinks, sanitizers, callbacks), [`guards`] (conditions that clean values) and [`summaries`]
//! (same-file helper summaries).

mod calls;
mod escapes;
mod guards;
mod modules;
mod propagation;
mod sources;
mod summaries;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::rc::Rc;

use tree_sitter::{Node, Tree};

use super::Compiled;
use super::paths::PathAliases;
use crate::engine::stack;
use crate::parse::ChildField;
use guards::exits;
use modules::ImportCall;
pub(crate) use modules::resolve_module;
pub use modules::{Crossing, RenderLocal, module_id};
use summaries::top_level_functions;

/// Longest flow kept; longer paths keep their first steps and the sink.
const MAX_STEPS: usize = 10;

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
    "charCodeAt",
    "codePointAt",
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

/// What is known of an untrusted value's shape, each bit lost when values of unlike shape merge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Facts(u8);

impl Facts {
    /// Starts with code-chosen text (`DIR + "/" + x`, `` `data/${x}` ``), so the input cannot
    /// make the whole value an absolute path; dropped by normalising calls (`path.join`).
    const ANCHORED: u8 = 1;
    /// Holds no `..` sequence: every dot or slash was removed (`x.replace(/[./]/g, "")`), a
    /// normalised path had its leading `../` run stripped, or a check found none.
    const NO_DOTDOT: u8 = 2;
    /// A path with its `.` and `..` segments resolved (`path.normalize`, `join`, `resolve`,
    /// `relative`): `..` can only lead it.
    const NORMALIZED: u8 = 4;
    /// A path proven not absolute (`!path.isAbsolute(p)`, `"files/" + x`).
    const RELATIVE: u8 = 8;
    /// A string for sure (built by `+`, a template literal or a string method), never an object.
    const BUILT: u8 = 16;
    /// The array of a path's segments (`p.split("/")`): no item holds a `/`. Only the split
    /// itself sets it; every other step that makes a new value drops it.
    const SEGMENTS: u8 = 32;

    fn has(self, fact: u8) -> bool {
        self.0 & fact != 0
    }

    fn set(&mut self, fact: u8, on: bool) {
        if on {
            self.0 |= fact;
        } else {
            self.0 &= !fact;
        }
    }

    fn with(mut self, fact: u8, on: bool) -> Self {
        self.set(fact, on);
        self
    }

    /// What holds of both.
    fn and(self, other: Facts) -> Facts {
        Facts(self.0 & other.0)
    }
}

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
    /// What else is known of the value's shape (see [`Facts`]).
    facts: Facts,
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
        // an item of an array of segments is a string, not the array
        self.facts.set(Facts::SEGMENTS, false);
        self
    }

    fn masked(mut self, clean: u64) -> Option<Self> {
        self.mask &= !clean;
        (self.mask != 0).then_some(self)
    }

    /// The number a coercion makes of the value (`parseInt(x)`, `+x`): no string and none of
    /// its facts, still as large as the caller likes; kept only for the rules of `bounded`
    /// (those asking for an upper bound, `spec::UPPER_BOUND`).
    fn number(self, bounded: u64) -> Option<Self> {
        Taint {
            stringy: false,
            whole: false,
            host_fixed: false,
            facts: Facts::default(),
            ..self.field()
        }
        .masked(!bounded)
    }
}

fn union(a: Option<Taint>, b: Option<Taint>) -> Option<Taint> {
    match (a, b) {
        (Some(mut a), Some(b)) => {
            a.mask |= b.mask;
            a.whole |= b.whole;
            a.stringy |= b.stringy;
            a.host_fixed &= b.host_fixed;
            a.facts = a.facts.and(b.facts);
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
    /// From a fallback sink (see [`crate::taint::spec::RawSinkSpec::fallback`]).
    pub fallback: bool,
    /// The outermost function the sink is in (the handler), empty at the top of the file.
    pub scope: Range<usize>,
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
    /// (parameters, rules for which the return value carries them, whether the value is built
    /// from them (a string or a field) rather than a parameter handed back as it came).
    returns: Vec<(u64, u64, bool)>,
    /// Parameters handed on to functions imported from other project files.
    forwards: Vec<Forward>,
    /// The fields a destructured parameter names (`({ apiKey, userId }) =>`), each followed on
    /// its own: field `j` is bit `FIELD_BIT0 + j`, with its parameter and key, so a caller that
    /// passes an object literal taints only the fields it fills with untrusted values.
    fields: Vec<(usize, String)>,
}

/// The first parameter bit that stands for a destructured field (see [`Summary::fields`]).
const FIELD_BIT0: usize = 32;

impl Summary {
    /// `params` with each destructured field's bit replaced by its parameter's bit.
    fn whole_params(&self, params: u64) -> u64 {
        let mut whole = params & ((1u64 << FIELD_BIT0) - 1);
        for (j, (i, _)) in self.fields.iter().enumerate() {
            if params & (1u64 << (FIELD_BIT0 + j)) != 0 {
                whole |= 1u64.checked_shl(*i as u32).unwrap_or(0);
            }
        }
        whole
    }
}

/// A parameter passed on to a function of another project file (followed in the project pass).
#[derive(Clone, Debug)]
struct Forward {
    /// The parameters (bit i = parameter i) in the argument.
    params: u64,
    /// Rules for which the argument is still untrusted.
    mask: u64,
    /// The callee's key (`module#name`).
    key: String,
    /// The argument position.
    arg: usize,
    /// Parameter first, the call last.
    steps: Vec<Step>,
}

/// Variables and cleaned member paths at one point of a function.
#[derive(Clone, Debug, Default)]
struct State {
    vars: BTreeMap<String, Taint>,
    /// Member paths (`req.query.to`) a guard made safe, with the rules it cleaned for.
    cleared: BTreeMap<String, u64>,
    /// Names that stand for another path: `const p = require("path")` (p -> path), a handler
    /// parameter declared `as: req`, `const run = promisify(cp.exec)` (run -> cp.exec).
    aliases: BTreeMap<String, Vec<String>>,
    /// Module variables the functions being walked declare again (a parameter, `let`,
    /// `const`): the local shadows the module's.
    locals: BTreeSet<String>,
    /// `rel` -> `p` for `const rel = path.relative(root, p)`: a check that `rel` does not
    /// climb (`!rel.startsWith("..")`) proves `p` stays under `root`.
    relative_of: BTreeMap<String, String>,
    /// `abs` -> `p` for `const abs = path.resolve(p)`: the file calls open the same file
    /// whichever they are handed, so a check that `abs` stays under a root proves it of `p`.
    resolved_of: BTreeMap<String, String>,
}

/// Guard facts about a path travel in [`Safe`] as names with these prefixes; [`State::clean`]
/// records them on the variable's taint, which is clean (for the rules given) once it is both
/// relative and free of `..`.
pub(super) const FACT_RELATIVE: &str = "\u{1}relative:";
/// See [`FACT_RELATIVE`].
pub(super) const FACT_NO_DOTDOT: &str = "\u{1}no-dotdot:";

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
        for (k, v) in other.aliases {
            self.aliases.entry(k).or_insert(v);
        }
        self.relative_of
            .retain(|k, v| other.relative_of.get(k).is_some_and(|o| o == v));
        self.resolved_of
            .retain(|k, v| other.resolved_of.get(k).is_some_and(|o| o == v));
        self.locals.extend(other.locals);
        self
    }

    fn clean(&mut self, name: &str, mask: u64) {
        // what a check proves of `path.resolve(p)` holds of `p` (see `resolved_of`)
        let (fact_prefix, var) = [FACT_RELATIVE, FACT_NO_DOTDOT]
            .into_iter()
            .find_map(|f| name.strip_prefix(f).map(|v| (f, v)))
            .unwrap_or(("", name));
        if let Some(target) = self.resolved_of.get(var).cloned() {
            self.clean_one(&format!("{fact_prefix}{target}"), mask);
        }
        self.clean_one(name, mask);
    }

    fn clean_one(&mut self, name: &str, mask: u64) {
        let fact = |prefix: &str| name.strip_prefix(prefix);
        if let Some(var) = fact(FACT_RELATIVE).or_else(|| fact(FACT_NO_DOTDOT)) {
            if let Some(mut t) = self.vars.remove(var) {
                if name.starts_with(FACT_RELATIVE) {
                    t.facts.set(Facts::RELATIVE, true);
                } else {
                    t.facts.set(Facts::NO_DOTDOT, true);
                }
                let clean = if t.facts.has(Facts::RELATIVE) && t.facts.has(Facts::NO_DOTDOT) {
                    mask
                } else {
                    0
                };
                if let Some(t) = t.masked(clean) {
                    self.vars.insert(var.to_string(), t);
                }
            }
            return;
        }
        if let Some(t) = self.vars.remove(name)
            && let Some(t) = t.masked(mask)
        {
            self.vars.insert(name.to_string(), t);
        }
        // also when the name held a value: a name that is a source itself (a browser global)
        // is read afresh, and must be read clean too
        *self.cleared.entry(name.to_string()).or_default() |= mask;
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
    /// Memo of [`guards::exits`] per node id: without it a chain of nested `if`s asks the same
    /// question at every level (quadratic, issue 22).
    exits: RefCell<BTreeMap<usize, bool>>,
    /// Memo of [`Walker::bound_regex`] from the root per name: each lookup walks the whole
    /// file, and a file that tests many values against one named regex asked it for every
    /// test (a fortieth of a scan of parse-server's package, issue 22).
    bound_regexes: RefCell<BTreeMap<String, bool>>,
    /// The folder of this file's display path, to resolve relative imports.
    dir: String,
    /// The module's imports and top-level `require`s (`Service` -> `@mod:src/service`), seen
    /// by helper and export summaries, which walk one function and not the file's top.
    aliases: RefCell<BTreeMap<String, Vec<String>>>,
    /// The project's path aliases (`@services/*`), for imports that are not relative.
    paths: Option<&'t PathAliases>,
    /// Classes declared at the top of the file, by name.
    classes: BTreeMap<&'t str, Node<'t>>,
    /// Names declared at the top of the file (see [`escapes`]).
    module_vars: BTreeSet<String>,
    /// Names declared at the top of the file as a constant string (`const KNOWN = "foo"`).
    constants: BTreeMap<String, &'t str>,
    /// Untrusted values functions stored in module variables and class fields (see [`escapes`]).
    escaped: RefCell<BTreeMap<String, Taint>>,
}

/// Where a file sits in its project, for cross-file flows.
pub struct Module<'a> {
    /// The file's display path (its module identity).
    pub display: &'a str,
    /// The project's path aliases, so aliased imports (`@/lib/db`) resolve to modules too.
    pub aliases: Option<&'a PathAliases>,
    /// Whether to summarise the sinks that exported functions' parameters reach.
    pub exports: bool,
}

/// Runs every active rule (bits of `active`) over one file.
/// `hint_offsets`: where source words occur (sorted), so functions without one are skipped.
pub fn analyze(
    cfg: &Compiled,
    text: &str,
    tree: &Tree,
    active: u64,
    hint_offsets: Vec<usize>,
    module: &Module<'_>,
) -> (Vec<Hit>, Crossing) {
    let Module {
        display,
        aliases,
        exports,
    } = *module;
    let root = tree.root_node();
    let shared = Shared {
        cfg,
        text,
        active,
        hint_offsets,
        functions: top_level_functions(root, text),
        summaries: RefCell::new(BTreeMap::new()),
        exits: RefCell::new(BTreeMap::new()),
        bound_regexes: RefCell::new(BTreeMap::new()),
        dir: display.rsplit_once('/').map_or("", |(d, _)| d).to_string(),
        aliases: RefCell::new(BTreeMap::new()),
        module_vars: escapes::module_variables(root, text),
        constants: escapes::module_constants(root, text),
        classes: modules::top_level_classes(root, text),
        paths: aliases,
        escaped: RefCell::new(BTreeMap::new()),
    };
    // imports first: summaries of helpers and exports resolve the module names they call
    let mut imports = Walker::new(&shared, false, 0, 0);
    for child in crate::parse::named_children(root) {
        match child.kind() {
            "import_statement" => imports.import(child),
            "lexical_declaration" | "variable_declaration"
                if node_text(text, child).contains("require(") =>
            {
                imports.visit(child);
            }
            _ => {}
        }
    }
    *shared.aliases.borrow_mut() = std::mem::take(&mut imports.state.aliases);
    let mut walker = Walker::new(&shared, false, 0, 0);
    let mut crossing = Crossing::default();
    if exports {
        (crossing.exports, crossing.forwards) = walker.export_sinks(root, &module_id(display));
    }
    if !shared.hint_offsets.is_empty() {
        walker.visit(root);
        // a function read a module variable or class field before another stored request
        // input in it: walk once more with every store known (the second walk sees all the
        // first did, so its findings replace the first's)
        if !shared.escaped.borrow().is_empty() {
            walker = Walker::new(&shared, false, 0, 0);
            walker.visit(root);
        }
    }
    let mut hits = std::mem::take(&mut walker.hits);
    hits.sort_by_key(|h| (h.range.start, h.rule));
    hits.dedup_by(|a, b| a.range.start == b.range.start && a.rule == b.rule);
    drop_covered_fallbacks(&mut hits, &walker.sink_seen);
    crossing.calls = walker.imports;
    crossing.renders = walker.renders;
    (hits, crossing)
}

/// Drops each fallback hit whose source a call sink of the same rule was also handed (reported
/// or judged safe there), or whose handler has a finding of the rule at a file call: the user
/// sees the file call, not the `path.join` on the way to it.
fn drop_covered_fallbacks(hits: &mut Vec<Hit>, seen: &[(usize, Range<usize>)]) {
    let direct: Vec<(usize, Range<usize>)> = hits
        .iter()
        .filter(|h| !h.fallback && !h.scope.is_empty())
        .map(|h| (h.rule, h.scope.clone()))
        .collect();
    hits.retain(|h| {
        !h.fallback
            || (h
                .steps
                .first()
                .is_none_or(|o| !seen.iter().any(|(r, s)| *r == h.rule && *s == o.range))
                && !direct.iter().any(|(r, s)| *r == h.rule && *s == h.scope))
    });
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
    /// The functions being walked, outermost first (for `unless-function` sinks).
    fn_stack: Vec<Node<'t>>,
    /// Calls passing untrusted values to functions imported from project files.
    imports: Vec<ImportCall>,
    /// Untrusted template locals (`res.render(view, { name })`).
    renders: Vec<RenderLocal>,
    /// Helpers declared in the bodies of the functions being walked, innermost last
    /// (`function getStatus(url) { ... }` inside a resolver): called with untrusted arguments,
    /// they are followed through their summaries as top-level helpers are.
    local_fns: Vec<(&'t str, Node<'t>)>,
    /// In a summary of a class method: the method (`this.other(x)` calls its siblings).
    method: Option<Node<'t>>,
    /// Classes whose constructor this walk followed (once each; see [`escapes`]).
    constructed: BTreeSet<usize>,
    /// Per enclosing `try` block of the function being walked, innermost last: the untrusted
    /// values handed to calls in it, which an error it throws may carry (see [`crate::taint::spec::THROWN`]).
    thrown: Vec<Option<Taint>>,
    /// (rule, source range) of untrusted values a call sink of the rule was handed, reported
    /// or judged safe by its filters: a fallback hit from the same source is then dropped.
    sink_seen: Vec<(usize, Range<usize>)>,
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
            fn_stack: Vec::new(),
            imports: Vec::new(),
            renders: Vec::new(),
            local_fns: Vec::new(),
            method: None,
            constructed: BTreeSet::new(),
            thrown: Vec::new(),
            sink_seen: Vec::new(),
        }
    }

    /// The helper a called name stands for: declared in an enclosing function's body (the
    /// innermost first), else at the top of the file.
    fn helper(&self, name: &str) -> Option<Node<'t>> {
        self.local_fns
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
            .or_else(|| self.shared.functions.get(name).copied())
    }

    /// The expression the same-file helper `callee` returns when its body does nothing else
    /// (`() => "?"`, `function f() { return x; }`), with the helper.
    fn single_return(&self, callee: Node<'t>) -> Option<(Node<'t>, Node<'t>)> {
        if callee.kind() != "identifier" {
            return None;
        }
        let f = self.helper(self.text(callee))?;
        let body = f.child_field("body")?;
        if body.kind() != "statement_block" {
            return Some((f, body));
        }
        let statements = crate::parse::named_children(body)
            .into_iter()
            .filter(|c| c.kind() != "comment")
            .collect::<Vec<_>>();
        match statements.as_slice() {
            [only] if only.kind() == "return_statement" => Some((f, only.named_child(0)?)),
            _ => None,
        }
    }

    /// `path` with its first segment replaced by what that name stands for, if it is an alias.
    fn resolve(&self, path: &[String]) -> Option<Vec<String>> {
        let target = self.state.aliases.get(path.first()?)?;
        let mut out = target.clone();
        out.extend(path[1..].iter().cloned());
        Some(out)
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
        if depth >= MAX_NESTING || stack::exhausted() {
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
                    .child_field("object")
                    .map_or_else(|| vec!["?".into()], |o| self.path_of(o));
                p.push(
                    n.child_field("property")
                        .map_or("?", |x| self.text(x))
                        .to_string(),
                );
                p
            }
            "subscript_expression" => {
                let mut p = n
                    .child_field("object")
                    .map_or_else(|| vec!["?".into()], |o| self.path_of(o));
                let index = n.child_field("index");
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
                let callee = n.child_field("function");
                match callee.filter(|c| c.kind() == "member_expression") {
                    Some(c)
                        if c.child_field("property")
                            .is_some_and(|p| CHAINABLE.contains(&self.text(p))) =>
                    {
                        c.child_field("object")
                            .map_or_else(|| vec!["?".into()], |o| self.path_of(o))
                    }
                    _ => vec!["?".into()],
                }
            }
            // `new VM(options).run(code)` is a method of the constructed class
            "new_expression" => n
                .child_field("constructor")
                .map_or_else(|| vec!["?".into()], |c| self.path_of(c)),
            _ => vec!["?".into()],
        }
    }

    // ---- statements --------------------------------------------------------------------------

    fn visit(&mut self, n: Node<'t>) {
        if self.nesting >= MAX_NESTING || stack::exhausted() {
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
                    let value = d.child_field("value");
                    let t = value.and_then(|v| self.eval(v));
                    let path = value.map(|v| self.value_path(v));
                    if let Some(name) = d.child_field("name") {
                        self.bind(name, t, path.as_deref());
                        self.note_relative(name, value);
                    }
                }
            }
            "return_statement" => {
                let value = n.named_child(0);
                let t = value.and_then(|c| self.eval(c));
                if self.summary_mode
                    && self.fn_depth == 0
                    && let Some(t) = t
                    && t.params != 0
                {
                    let derived = value.is_some_and(Self::builds_value);
                    self.summary.returns.push((t.params, t.mask, derived));
                }
            }
            "if_statement" => self.if_statement(n),
            "try_statement" => self.try_statement(n),
            "for_in_statement" => {
                let t = n
                    .child_field("right")
                    .and_then(|r| self.eval(r))
                    .map(Taint::field);
                let pre = self.state.clone();
                if let Some(left) = n.child_field("left") {
                    self.bind(left, t, None);
                }
                if let Some(body) = n.child_field("body") {
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
                self.function(n, Vec::new(), Vec::new());
            }
            "import_statement" => self.import(n),
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
        let cond = n.child_field("condition");
        if let Some(c) = cond {
            self.eval(c);
        }
        let (then_safe, else_safe) = cond.map(|c| self.guards(c)).unwrap_or_default();
        let pre = self.state.clone();
        for (name, mask) in &then_safe {
            self.state.clean(name, *mask);
        }
        let consequence = n.child_field("consequence");
        if let Some(c) = consequence {
            self.visit(c);
        }
        let then_state = std::mem::replace(&mut self.state, pre);
        for (name, mask) in &else_safe {
            self.state.clean(name, *mask);
        }
        let alternative = n.child_field("alternative");
        if let Some(a) = alternative {
            self.visit(a);
        }
        let else_state = std::mem::take(&mut self.state);
        let then_exits = consequence.is_some_and(|c| exits(c, &self.shared.exits));
        let else_exits = alternative.is_some_and(|a| exits(a, &self.shared.exits));
        self.state = match (then_exits, else_exits) {
            (true, false) => else_state,
            (false, true) => then_state,
            _ => then_state.merge(else_state),
        };
    }

    /// `try { f(x) } catch (e) { ... }`: for the rules that follow thrown errors, `e` holds what
    /// the calls in the block were handed.
    fn try_statement(&mut self, n: Node<'t>) {
        let watch = self.shared.cfg.thrown & self.shared.active != 0;
        if watch {
            self.thrown.push(None);
        }
        if let Some(body) = n.child_by_field_name("body") {
            self.visit(body);
        }
        let thrown = if watch {
            self.thrown.pop().flatten()
        } else {
            None
        };
        if let Some(handler) = n.child_by_field_name("handler") {
            if let Some(param) = handler.child_by_field_name("parameter") {
                self.bind(param, thrown, None);
            }
            if let Some(body) = handler.child_by_field_name("body") {
                self.visit(body);
            }
        }
        if let Some(finalizer) = n.child_by_field_name("finalizer") {
            self.visit(finalizer);
        }
    }

    /// Records the untrusted string arguments of call `n` as what an error it throws may carry.
    fn note_thrown(&mut self, n: Node<'t>, taints: &[Option<Taint>]) {
        let Some(t) = self.thrown_taint(n, taints) else {
            return;
        };
        if let Some(slot) = self.thrown.last_mut() {
            *slot = union(slot.take(), Some(t));
        }
    }

    /// What an error raised by call `n` may carry: its untrusted string arguments, for the rules
    /// that follow errors.
    fn thrown_taint(&self, n: Node<'t>, taints: &[Option<Taint>]) -> Option<Taint> {
        let keep = self.shared.cfg.thrown;
        // a message quotes strings; an object or array argument is not spelled out
        let t = taints
            .iter()
            .filter(|t| t.as_ref().is_some_and(|t| t.stringy && !t.whole))
            .cloned()
            .fold(None, union)
            .and_then(|t| t.masked(!keep))?;
        Some(
            t.field()
                .step(n.byte_range(), "may throw an error holding it".into()),
        )
    }

    fn op(&self, n: Node<'_>) -> &'t str {
        n.child_field("operator").map_or("", |o| self.text(o))
    }

    // ---- binding -----------------------------------------------------------------------------

    // ---- functions ---------------------------------------------------------------------------

    // ---- expressions -------------------------------------------------------------------------

    fn args(call: Node<'t>) -> Vec<Node<'t>> {
        let Some(list) = call.child_field("arguments") else {
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
        let source = self.source_text(&steps);
        self.hits.push(Hit {
            rule,
            range,
            steps,
            source,
            sink: short(sink),
            fallback: false,
            scope: self.fn_stack.first().map_or(0..0, Node::byte_range),
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
            "member_expression" | "subscript_expression" => n = n.child_field("object")?,
            _ => return None,
        }
    }
}
