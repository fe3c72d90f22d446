//! Runs the query rules over a file's tree: the [`QueryAnalyzer`].
//!
//! Query rules run on the native matcher of [`crate::query::pattern`]: one walk per tree hands
//! each node to the patterns of its kind. Queries it does not support run as one combined
//! tree-sitter query per grammar; the one-tree-sitter-query-per-rule path is kept as the reference
//! that tests (and the hidden `--reference-queries` flag) compare the fast path with.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use streaming_iterator::StreamingIterator;
use tree_sitter::{Query, QueryCursor};

use super::{Analyzer, FileContext};
use crate::finding::Finding;
use crate::parse::Grammar;
use crate::query::pattern::{Dispatch, Patterns};
use crate::query::{MatchContext, Named, QueryMatcher, named};
use crate::rules::{Matcher, RuleError, RuleSet};

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
    /// Per grammar with query rules, its batches, built when the first file of the grammar is
    /// analysed: compiling every rule's native patterns for three grammars (each capture and
    /// kind name looked up in the grammar's symbol table) was a tenth of the start-up of a scan
    /// that parses nothing (issue 22). Patterns the native matcher cannot compile fall back to
    /// a tree-sitter query, so building late changes nothing but when.
    grammars: Vec<GrammarBatches>,
    rule_indices: Vec<usize>,
}

/// The query rules of one grammar, and their batches once built.
#[derive(Debug)]
struct GrammarBatches {
    grammar: Grammar,
    /// The rules (indices in the scan's `RuleSet`) whose query targets this grammar.
    members: Vec<usize>,
    built: OnceLock<(Option<NativeBatch>, Vec<Batch>)>,
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
        let grammars = Grammar::ALL
            .into_iter()
            .map(|grammar| GrammarBatches {
                grammar,
                members: query_rules
                    .iter()
                    .filter(|(_, q)| q.targets(grammar))
                    .map(|(i, _)| *i)
                    .collect(),
                built: OnceLock::new(),
            })
            .filter(|g| !g.members.is_empty())
            .collect();
        Ok(Some(QueryAnalyzer {
            combined,
            grammars,
            rule_indices: query_rules.iter().map(|(i, _)| *i).collect(),
        }))
    }

    /// The batches of `batches.grammar`, built on first use from `rules` (the scan's rule set,
    /// which the analyzer was built from).
    fn batches<'s>(
        &self,
        batches: &'s GrammarBatches,
        rules: &RuleSet,
    ) -> &'s (Option<NativeBatch>, Vec<Batch>) {
        batches
            .built
            .get_or_init(|| build_batches(batches.grammar, &batches.members, rules, self.combined))
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
            // A capture named `secret` is a credential: its literal (or the literal its name or
            // property is bound to) is masked in code frames, as secret detectors' matches are.
            for (name, node) in captures {
                if *name == "secret" {
                    finding.redactions.extend(mctx.secret_literals(*node));
                }
            }
            out.push(finding);
        }
    }
}

/// The native batch (fast path) and the tree-sitter batches of the query rules `members` for
/// `grammar`.
fn build_batches(
    grammar: Grammar,
    members: &[usize],
    rules: &RuleSet,
    combined: bool,
) -> (Option<NativeBatch>, Vec<Batch>) {
    let mut members: Vec<(usize, &QueryMatcher)> = members
        .iter()
        .filter_map(|&i| match &rules.rules()[i].matcher {
            Matcher::Query(q) => Some((i, q.as_ref())),
            Matcher::Spec { .. } => None,
        })
        .collect();
    let mut native = None;
    if combined {
        let language = grammar.language();
        let mut batch = NativeBatch {
            members: Vec::new(),
            dispatch: Dispatch::default(),
        };
        members.retain(
            |(idx, matcher)| match Patterns::compile(&matcher.source, &language) {
                Ok(patterns) => {
                    batch.dispatch.add(batch.members.len(), &patterns);
                    batch.members.push((*idx, patterns));
                    false
                }
                Err(_) => true,
            },
        );
        if !batch.members.is_empty() {
            native = Some(batch);
        }
    }
    let groups: Vec<Vec<(usize, &QueryMatcher)>> = if combined {
        vec![members]
    } else {
        members.into_iter().map(|m| vec![m]).collect()
    };
    let mut batches = Vec::new();
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
    (native, batches)
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
            code_texts: RefCell::new(HashMap::new()),
            declarations: RefCell::new(None),
        };
        let Some(batches) = self.grammars.iter().find(|g| g.grammar == grammar) else {
            return;
        };
        let (native, batches) = self.batches(batches, ctx.rules);
        if let Some(batch) = native {
            let active: Vec<bool> = batch
                .members
                .iter()
                .map(|(i, _)| ctx.is_active(*i))
                .collect();
            if active.contains(&true) {
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
        }
        let mut cursor = QueryCursor::new();
        for batch in batches {
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
fn interpolate<'t>(message: &str, captures: &Named<'_, 't>, ctx: &MatchContext<'_, 't>) -> String {
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
