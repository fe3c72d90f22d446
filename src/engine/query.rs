//! The `match:` matcher: tree-sitter queries with capture constraints and structural context.
//!
//! ```yaml
//! match:
//!   query: |                       # tree-sitter query; several patterns allowed
//!     (call_expression function: (identifier) @fn) @hit
//!   where:                         # constraints on captured text
//!     fn: { regex: '^eval$' }      # regex | not-regex | equals | not-equals | one-of
//!   inside: { query: ..., where: ... }      # an ancestor must match this
//!   not-inside: { query: ..., where: ... }  # no ancestor may match this
//!   report: hit                    # capture to report (default `hit`, else the widest)
//! ```
//!
//! Query rules run on the native matcher of [`super::pattern`]: one walk per tree hands each node
//! to the patterns of its kind ([`QueryAnalyzer`]). Queries it does not support run as one combined
//! tree-sitter query per grammar; the one-tree-sitter-query-per-rule path is kept as the reference
//! that tests (and the hidden `--reference-queries` flag) compare the fast path with.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;
use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;
use streaming_iterator::StreamingIterator;
use tree_sitter::{Node, Query, QueryCursor, QueryMatch, Tree};

use super::pattern::{Dispatch, Patterns};
use super::{Analyzer, FileContext};
use crate::discover::FileKind;
use crate::finding::Finding;
use crate::parse::Grammar;
use crate::rules::{Matcher, RuleError, RuleSet};

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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConstraint {
    regex: Option<String>,
    not_regex: Option<String>,
    equals: Option<String>,
    not_equals: Option<String>,
    #[serde(default)]
    one_of: Vec<String>,
}

/// A constraint on the text of a capture.
#[derive(Debug)]
struct Constraint {
    regex: Option<Regex>,
    not_regex: Option<Regex>,
    equals: Option<String>,
    not_equals: Option<String>,
    one_of: Vec<String>,
}

impl Constraint {
    fn accepts(&self, text: &str) -> bool {
        self.regex.as_ref().is_none_or(|r| r.is_match(text))
            && self.not_regex.as_ref().is_none_or(|r| !r.is_match(text))
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
    /// The grammars the rule targets.
    grammars: Vec<Grammar>,
    /// Compiled per grammar on first use (index = `Grammar::index`): compiling every query for
    /// every grammar up front cost a second of start-up, most of it for grammars never seen.
    queries: [OnceLock<Option<Query>>; 3],
    /// The native form of the query per grammar, when [`Patterns`] supports it.
    natives: [OnceLock<Option<Patterns>>; 3],
}

/// The captures of one match by name, in the order the matcher produced them.
type Named<'q, 't> = Vec<(&'q str, Node<'t>)>;

fn named<'q, 't>(m: &QueryMatch<'_, 't>, query: &'q Query) -> Named<'q, 't> {
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
        let raw: RawQueryMatcher =
            serde_yaml_ng::from_value(spec.clone()).map_err(|e| e.to_string())?;
        let mut grammars: Vec<Grammar> = languages
            .iter()
            .flat_map(|k| Grammar::for_rule_kind(*k).iter().copied())
            .collect();
        grammars.sort();
        grammars.dedup();
        if grammars.is_empty() {
            return Err("query rules need a code language (js, ts, tsx)".into());
        }
        let matcher = Self::from_raw(raw, &grammars)?;
        if eager {
            matcher.check_compiles()?;
        }
        Ok(matcher)
    }

    /// Compiles this matcher and its nested ones for every target grammar; the first error wins.
    pub fn check_compiles(&self) -> Result<(), String> {
        for &g in &self.grammars {
            Query::new(&g.language(), &self.source)
                .map_err(|e| format!("query does not compile for {g:?}: {e}"))?;
        }
        for nested in [&self.inside, &self.not_inside].into_iter().flatten() {
            nested.check_compiles()?;
        }
        Ok(())
    }

    fn from_raw(raw: RawQueryMatcher, grammars: &[Grammar]) -> Result<Self, String> {
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
                r.map(|r| Regex::new(&r).map_err(|e| format!("bad regex for `{name}`: {e}")))
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
            m.map(|m| Self::from_raw(*m, grammars).map(Box::new))
                .transpose()
        };
        Ok(QueryMatcher {
            source: raw.query,
            constraints,
            inside: nested(raw.inside)?,
            not_inside: nested(raw.not_inside)?,
            report: raw.report,
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
    fn accept<'t>(&self, captures: &Named<'_, 't>, ctx: &MatchContext<'_, 't>) -> Option<Node<'t>> {
        for (name, node) in captures {
            for (cname, constraint) in &self.constraints {
                if cname == name && !constraint.accepts(ctx.node_text(*node)) {
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

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// Per-file state shared by all query matches: the tree, the text, and cached context ranges.
struct MatchContext<'a, 't> {
    grammar: Grammar,
    tree: &'t Tree,
    text: &'a str,
    /// Whether matchers run natively where they can (else always on tree-sitter queries).
    native: bool,
    /// Ranges matched by each `inside`/`not-inside` matcher, keyed by the matcher's address.
    cache: RefCell<HashMap<usize, Rc<[Range<usize>]>>>,
}

impl<'t> MatchContext<'_, 't> {
    fn node_text(&self, node: Node<'t>) -> &str {
        self.text.get(node.byte_range()).unwrap_or("")
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

/// One query run over a tree: the sources of several rules joined, compiled on first use.
#[derive(Debug)]
struct Batch {
    grammar: Grammar,
    /// The rules in this batch.
    members: Vec<usize>,
    /// The joined query text.
    source: String,
    /// (byte offset where a rule's text starts in `source`, rule index), ascending.
    starts: Vec<(usize, usize)>,
    compiled: OnceLock<Option<CompiledBatch>>,
}

#[derive(Debug)]
struct CompiledBatch {
    query: Query,
    /// `pattern_rules[pattern_index]` = rule index.
    pattern_rules: Vec<usize>,
}

impl Batch {
    fn compiled(&self) -> Option<&CompiledBatch> {
        self.compiled
            .get_or_init(|| {
                let query = Query::new(&self.grammar.language(), &self.source).ok()?;
                let pattern_rules = (0..query.pattern_count())
                    .map(|i| {
                        let at = query.start_byte_for_pattern(i);
                        let k = self.starts.partition_point(|(start, _)| *start <= at);
                        self.starts[k.saturating_sub(1)].1
                    })
                    .collect();
                Some(CompiledBatch {
                    query,
                    pattern_rules,
                })
            })
            .as_ref()
    }
}

/// The rules of one grammar that run natively: one walk of the tree hands each node to the
/// patterns whose root kind it has.
#[derive(Debug)]
struct NativeBatch {
    grammar: Grammar,
    /// (rule index, its compiled patterns); a [`Dispatch`] entry's `owner` indexes this.
    members: Vec<(usize, Patterns)>,
    dispatch: Dispatch,
}

/// Runs every `match:` rule. The fast path runs the rules the native matcher supports in one
/// walk per tree ([`NativeBatch`]) and the rest as one combined tree-sitter query per grammar;
/// the simple path runs one tree-sitter query per rule and is kept as the test oracle.
#[derive(Debug)]
pub struct QueryAnalyzer {
    /// Whether this is the fast path (`combined`), whose nested matchers also run natively.
    combined: bool,
    native: Vec<NativeBatch>,
    batches: Vec<Batch>,
    rule_indices: Vec<usize>,
}

impl QueryAnalyzer {
    /// Builds the analyzer. With `combined`, rules share one walk (native) or one query
    /// (tree-sitter) per grammar; without, each rule runs alone as a tree-sitter query. Tree-sitter
    /// queries are compiled when the first file of their grammar is analysed.
    pub fn new(rules: &RuleSet, combined: bool) -> Result<Option<Self>, RuleError> {
        let query_rules: Vec<(usize, &QueryMatcher)> = rules
            .rules()
            .iter()
            .enumerate()
            .filter_map(|(i, r)| match &r.matcher {
                Matcher::Query(q) => Some((i, q.as_ref())),
                Matcher::Spec { .. } => None,
            })
            .collect();
        if query_rules.is_empty() {
            return Ok(None);
        }
        let mut native = Vec::new();
        let mut batches = Vec::new();
        for grammar in Grammar::ALL {
            let mut members: Vec<(usize, &QueryMatcher)> = query_rules
                .iter()
                .copied()
                .filter(|(_, q)| q.targets(grammar))
                .collect();
            if members.is_empty() {
                continue;
            }
            if combined {
                let language = grammar.language();
                let mut batch = NativeBatch {
                    grammar,
                    members: Vec::new(),
                    dispatch: Dispatch::default(),
                };
                members.retain(|(idx, matcher)| {
                    match Patterns::compile(&matcher.source, &language) {
                        Ok(patterns) => {
                            batch.dispatch.add(batch.members.len(), &patterns);
                            batch.members.push((*idx, patterns));
                            false
                        }
                        Err(_) => true,
                    }
                });
                if !batch.members.is_empty() {
                    native.push(batch);
                }
            }
            let groups: Vec<Vec<(usize, &QueryMatcher)>> = if combined {
                vec![members]
            } else {
                members.into_iter().map(|m| vec![m]).collect()
            };
            for group in groups.into_iter().filter(|g| !g.is_empty()) {
                let mut source = String::new();
                let mut starts = Vec::new();
                for (idx, matcher) in &group {
                    starts.push((source.len(), *idx));
                    source.push_str(&matcher.source);
                    source.push('\n');
                }
                batches.push(Batch {
                    grammar,
                    members: group.iter().map(|(i, _)| *i).collect(),
                    source,
                    starts,
                    compiled: OnceLock::new(),
                });
            }
        }
        Ok(Some(QueryAnalyzer {
            combined,
            native,
            batches,
            rule_indices: query_rules.iter().map(|(i, _)| *i).collect(),
        }))
    }

    /// Reports one accepted match of `rule_idx`.
    fn report<'t>(
        ctx: &FileContext<'_>,
        rule_idx: usize,
        captures: &Named<'_, 't>,
        mctx: &MatchContext<'_, 't>,
        out: &mut Vec<Finding>,
    ) {
        let rule = &ctx.rules.rules()[rule_idx];
        let Matcher::Query(matcher) = &rule.matcher else {
            return;
        };
        if let Some(node) = matcher.accept(captures, mctx) {
            let mut finding = ctx.finding(rule_idx, node.byte_range());
            finding.message = interpolate(&rule.message, captures, mctx);
            out.push(finding);
        }
    }
}

impl Patterns {
    /// The captures of a native match by name.
    fn named<'q, 't>(&'q self, captures: &[(u32, Node<'t>)]) -> Named<'q, 't> {
        captures
            .iter()
            .map(|(id, node)| (self.capture_name(*id), *node))
            .collect()
    }
}

impl Analyzer for QueryAnalyzer {
    fn name(&self) -> &'static str {
        "query"
    }

    fn rule_indices(&self) -> Vec<usize> {
        self.rule_indices.clone()
    }

    fn analyze_file(&self, ctx: &FileContext<'_>, out: &mut Vec<Finding>) {
        let Some(grammar) = Grammar::for_kind(ctx.file.kind) else {
            return;
        };
        if !self.rule_indices.iter().any(|&i| ctx.is_active(i)) {
            return;
        }
        let Some(tree) = ctx.tree() else {
            return;
        };
        let mctx = MatchContext {
            grammar,
            tree,
            text: &ctx.file.text,
            native: self.combined,
            cache: RefCell::new(HashMap::new()),
        };
        for batch in self.native.iter().filter(|b| b.grammar == grammar) {
            let active: Vec<bool> = batch
                .members
                .iter()
                .map(|(i, _)| ctx.is_active(*i))
                .collect();
            if !active.contains(&true) {
                continue;
            }
            let mut found = Vec::new();
            batch.dispatch.walk(tree.root_node(), |node, entries| {
                for entry in entries.iter().filter(|e| active[e.owner]) {
                    let (rule_idx, patterns) = &batch.members[entry.owner];
                    found.clear();
                    patterns.matches_at(entry.pattern, node, &mut found);
                    for captures in &found {
                        Self::report(ctx, *rule_idx, &patterns.named(captures), &mctx, out);
                    }
                }
            });
        }
        let mut cursor = QueryCursor::new();
        for batch in self.batches.iter().filter(|b| b.grammar == grammar) {
            if !batch.members.iter().any(|&i| ctx.is_active(i)) {
                continue;
            }
            let Some(batch) = batch.compiled() else {
                continue;
            };
            let mut matches =
                cursor.matches(&batch.query, tree.root_node(), ctx.file.text.as_bytes());
            while let Some(m) = matches.next() {
                let rule_idx = batch.pattern_rules[m.pattern_index];
                if ctx.is_active(rule_idx) {
                    Self::report(ctx, rule_idx, &named(m, &batch.query), &mctx, out);
                }
            }
        }
    }
}

/// Fills `{{capture}}` placeholders with the captured text (one line, at most 60 characters).
fn interpolate(message: &str, captures: &Named<'_, '_>, ctx: &MatchContext<'_, '_>) -> String {
    if !message.contains("{{") {
        return message.to_string();
    }
    let mut out = message.to_string();
    for (name, node) in captures {
        let placeholder = format!("{{{{{name}}}}}");
        if out.contains(&placeholder) {
            let text = ctx.node_text(*node);
            let mut short: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if short.chars().count() > 60 {
                short = short.chars().take(57).collect::<String>() + "...";
            }
            out = out.replace(&placeholder, &short);
        }
    }
    out
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
