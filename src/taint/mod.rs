//! The `taint` capability: untrusted values (request input, LLM output) followed through one
//! function body, and through same-file helpers, to dangerous sinks.
//!
//! Rules are data (`taint:` blocks, see [`spec`]); this module compiles every claimed rule into one
//! table where each rule is a bit, so a single walk of a function serves all rules at once
//! ([`flow`]). Only files where a rule is active (its triggers occur) are parsed, and only
//! functions that contain a source word (or receive a tainted value) are walked.

mod flow;
pub mod spec;

use rayon::prelude::*;
use std::collections::BTreeMap;
use std::sync::Mutex;

use aho_corasick::AhoCorasick;

use crate::engine::{Analyzer, FileContext, ProjectContext};
use crate::finding::Finding;
use crate::rules::{Matcher, MatcherKind, RuleError, RuleSet, load};

use spec::{Pattern, RawSets, RawTaint, Sink, Source};

/// At most this many taint rules per scan: each is one bit of a `u64` mask.
const MAX_RULES: usize = 64;

/// Every claimed rule compiled into one table; masks say which rules an entry belongs to.
#[derive(Debug)]
pub struct Compiled {
    /// Local rule number -> index in the scan's `RuleSet`.
    rules: Vec<usize>,
    /// Sources with the rules that use them.
    sources: Vec<(Source, u64)>,
    /// Sinks with the local rule they belong to.
    sinks: Vec<(Sink, usize)>,
    /// Sanitizer calls with the rules they clean for.
    sanitizers: Vec<(Pattern, u64)>,
    /// Guard calls with the rules they clean for.
    guards: Vec<(Pattern, u64)>,
    /// Calls whose result carries their arguments' taint.
    propagators: Vec<Pattern>,
    /// Rules for which `typeof x === "string"` makes `x` safe.
    typeof_string: u64,
    /// Words of sources: a function containing none (and seeing no taint) is not walked.
    hints: AhoCorasick,
    /// Per hint pattern: the rules whose sources it belongs to.
    hint_masks: Vec<u64>,
}

/// The taint analyzer.
pub struct TaintAnalyzer {
    compiled: Compiled,
    /// Per file, its calls that pass untrusted values to functions of other project files;
    /// joined with those modules' export summaries after every file. Locked once per file
    /// with such calls, never per node.
    calls: Mutex<Vec<(String, Vec<PendingCall>)>>,
}

/// A sink inside an exported function, as a finding waiting for a caller.
struct PendingSink {
    key: String,
    params: u64,
    rule: usize,
    finding: Finding,
}

/// A call into another project file with an untrusted argument.
struct PendingCall {
    key: String,
    arg: usize,
    mask: u64,
    related: Vec<crate::finding::Related>,
    source: String,
}

fn sets() -> Result<RawSets, RuleError> {
    let Some((_, text)) = load::embedded_files()
        .iter()
        .find(|(path, _)| *path == spec::SETS_FILE)
    else {
        return Ok(RawSets::default());
    };
    serde_json::from_str(text).map_err(|e| RuleError::Syntax {
        source_name: spec::SETS_FILE.into(),
        message: e.to_string(),
    })
}

/// Builds the taint analyzer from every `taint:` rule; `None` when there is none.
pub fn build(
    rules: &RuleSet,
    _settings: &crate::Settings,
) -> Result<Option<Box<dyn Analyzer>>, RuleError> {
    let claimed: Vec<usize> = rules
        .rules()
        .iter()
        .enumerate()
        .filter(|(_, r)| r.matcher.kind() == MatcherKind::Taint)
        .map(|(i, _)| i)
        .collect();
    if claimed.is_empty() {
        return Ok(None);
    }
    let sets = sets()?;
    let mut compiled = Compiled {
        rules: Vec::new(),
        sources: Vec::new(),
        sinks: Vec::new(),
        sanitizers: Vec::new(),
        guards: Vec::new(),
        propagators: Vec::new(),
        typeof_string: 0,
        hint_masks: Vec::new(),
        hints: AhoCorasick::new(["\u{0}"]).map_err(|e| RuleError::Syntax {
            source_name: spec::SETS_FILE.into(),
            message: e.to_string(),
        })?,
    };
    for p in &sets.propagators {
        compiled
            .propagators
            .push(Pattern::parse(p).map_err(|message| RuleError::Field {
                source_name: spec::SETS_FILE.into(),
                id: "propagators".into(),
                field: "propagators".into(),
                message,
            })?);
    }
    let mut hints: Vec<(String, u64)> = Vec::new();
    for idx in claimed {
        let rule = &rules.rules()[idx];
        let error = |message: String| RuleError::Field {
            source_name: rule.source.clone(),
            id: rule.id.clone(),
            field: "taint".into(),
            message,
        };
        if compiled.rules.len() == MAX_RULES {
            return Err(error(format!("at most {MAX_RULES} taint rules per scan")));
        }
        let Matcher::Spec { spec: value, .. } = &rule.matcher else {
            continue;
        };
        let raw: RawTaint = serde_yaml_ng::from_value(value.clone()).map_err(|e| {
            error(format!(
                "{e}; expected `sources`, `sinks`, `sanitizers`, `guards`"
            ))
        })?;
        let spec = spec::compile(&raw, &sets).map_err(error)?;
        let local = compiled.rules.len();
        let bit = 1u64 << local;
        compiled.rules.push(idx);
        if spec.typeof_string {
            compiled.typeof_string |= bit;
        }
        for s in spec.sources {
            let words = match &s {
                Source::Pattern(p) => p.hints(),
                Source::Param { functions, .. } => functions.clone(),
                Source::Callback {
                    call, event, hints, ..
                } => {
                    if let Some(h) = hints {
                        h.clone()
                    } else {
                        let mut h = call.hints();
                        h.extend(event.clone());
                        h
                    }
                }
                Source::Typed { types, .. } => types.clone(),
                Source::Member { parents, .. } => parents.clone(),
            };
            hints.extend(words.into_iter().map(|w| (w, bit)));
            compiled.sources.push((s, bit));
        }
        compiled
            .sinks
            .extend(spec.sinks.into_iter().map(|s| (s, local)));
        compiled
            .sanitizers
            .extend(spec.sanitizers.into_iter().map(|p| (p, bit)));
        compiled
            .guards
            .extend(spec.guards.into_iter().map(|p| (p, bit)));
    }
    hints.sort();
    let hints = merge_masks(hints);
    compiled.hint_masks = hints.iter().map(|(_, m)| *m).collect();
    compiled.sources = merge_masks(std::mem::take(&mut compiled.sources));
    compiled.sanitizers = merge_masks(std::mem::take(&mut compiled.sanitizers));
    compiled.guards = merge_masks(std::mem::take(&mut compiled.guards));
    // leftmost-longest: `request` must not be reported as `req` + rest (then rejected as a word)
    compiled.hints = AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostLongest)
        .build(hints.iter().map(|(w, _)| w))
        .map_err(|e| RuleError::Syntax {
            source_name: spec::SETS_FILE.into(),
            message: e.to_string(),
        })?;
    Ok(Some(Box::new(TaintAnalyzer {
        compiled,
        calls: Mutex::new(Vec::new()),
    })))
}

/// Offsets of source words that stand alone as identifiers (`req`, not `require`), and the
/// rules whose sources those words belong to.
fn hint_offsets(compiled: &Compiled, text: &str) -> (Vec<usize>, u64) {
    let bytes = text.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'$';
    let mut mask = 0;
    let offsets = compiled
        .hints
        .find_iter(text)
        .filter(|m| {
            (m.start() == 0 || !is_ident(bytes[m.start() - 1]))
                && bytes.get(m.end()).is_none_or(|b| !is_ident(*b))
        })
        .map(|m| {
            mask |= compiled.hint_masks[m.pattern().as_usize()];
            m.start()
        })
        .collect();
    (offsets, mask)
}

/// Merges entries with the same pattern, OR-ing their rule masks (a set shared by many rules
/// is then matched once per node, not once per rule).
fn merge_masks<T: std::fmt::Debug>(entries: Vec<(T, u64)>) -> Vec<(T, u64)> {
    let mut out: Vec<(T, u64)> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for (entry, mask) in entries {
        let key = format!("{entry:?}");
        if let Some(i) = keys.iter().position(|k| *k == key) {
            out[i].1 |= mask;
        } else {
            keys.push(key);
            out.push((entry, mask));
        }
    }
    out
}

impl Analyzer for TaintAnalyzer {
    fn name(&self) -> &'static str {
        "taint"
    }

    fn rule_indices(&self) -> Vec<usize> {
        self.compiled.rules.clone()
    }

    fn analyze_file(&self, ctx: &FileContext<'_>, out: &mut Vec<Finding>) {
        let active = self
            .compiled
            .rules
            .iter()
            .enumerate()
            .filter(|(_, idx)| ctx.is_active(**idx))
            .fold(0u64, |mask, (local, _)| mask | (1 << local));
        let text = &ctx.file.text;
        // a file that reads request input and imports project modules may hand that input to
        // a sink in another file: follow every rule that applies to it, whatever its triggers
        // (a file parsed anyway costs nothing more; the others must show request input, so
        // library code full of the word `req` stays unparsed)
        let imports = has_relative_imports(text) && (active != 0 || reads_request(text));
        let applicable = if imports {
            self.compiled
                .rules
                .iter()
                .enumerate()
                .filter(|(_, idx)| {
                    ctx.rules.rules()[**idx].applies_to(ctx.file.kind, &ctx.file.display)
                })
                .fold(0u64, |mask, (local, _)| mask | (1 << local))
        } else {
            active
        };
        if applicable == 0 {
            return;
        }
        // no source word, no flow: skip the parse
        let (offsets, hinted) = hint_offsets(&self.compiled, text);
        let walked = applicable & hinted;
        if walked == 0 {
            return;
        }
        let Some(tree) = ctx.tree() else {
            return;
        };
        let (hits, crossing) = flow::analyze(
            &self.compiled,
            text,
            tree,
            walked,
            offsets,
            &ctx.file.display,
            false,
        );
        for hit in hits.into_iter().filter(|h| active & (1 << h.rule) != 0) {
            let rule_idx = self.compiled.rules[hit.rule];
            let mut finding = ctx.finding(rule_idx, hit.range.clone());
            finding.message = finding
                .message
                .replace("{{source}}", &hit.source)
                .replace("{{sink}}", &hit.sink);
            finding.related = hit
                .steps
                .iter()
                .map(|s| ctx.related(s.range.clone(), s.note.clone()))
                .collect();
            finding.is_flow = true;
            out.push(finding);
        }
        if crossing.calls.is_empty() {
            return;
        }
        let calls = crossing
            .calls
            .into_iter()
            .map(|c| PendingCall {
                key: c.key,
                arg: c.arg,
                mask: c.mask,
                related: c
                    .steps
                    .iter()
                    .map(|s| ctx.related(s.range.clone(), s.note.clone()))
                    .collect(),
                source: c.source,
            })
            .collect();
        // kept for the project pass, which a cached outcome would not feed
        crate::engine::not_cacheable();
        if let Ok(mut all) = self.calls.lock() {
            all.push((ctx.file.display.clone(), calls));
        }
    }

    fn analyze_project(&self, project: &ProjectContext<'_>, out: &mut Vec<Finding>) {
        let Ok(mut calls) = self.calls.lock() else {
            return;
        };
        let mut calls = std::mem::take(&mut *calls);
        if calls.is_empty() {
            return;
        }
        // files arrive in thread order: sort so the first caller shown is always the same
        calls.sort_by(|a, b| a.0.cmp(&b.0));
        // summarise only the modules that receive untrusted arguments: one parse each
        let wanted: std::collections::BTreeSet<&str> = calls
            .iter()
            .flat_map(|(_, c)| c.iter())
            .filter_map(|c| c.key.split_once('#').map(|(m, _)| m))
            .collect();
        // each module is read and parsed once, on the worker pool; `collect` keeps the order
        let sinks: Vec<PendingSink> = project
            .candidates
            .par_iter()
            .filter(|c| wanted.contains(flow::module_id(&c.display).as_str()))
            // on another thread than the project pass: a stack budget of its own (too deep code
            // is not followed; the file's own scan noted it)
            .flat_map_iter(|c| crate::engine::stack::budget(|| self.export_sinks(project, c)).0)
            .collect();
        let mut by_key: BTreeMap<&str, Vec<&PendingSink>> = BTreeMap::new();
        for s in &sinks {
            by_key.entry(s.key.as_str()).or_default().push(s);
        }
        let mut reported = std::collections::BTreeSet::new();
        for call in calls.iter().flat_map(|(_, c)| c.iter()) {
            let Some(targets) = by_key.get(call.key.as_str()) else {
                continue;
            };
            let bit = u32::try_from(call.arg)
                .ok()
                .and_then(|a| 1u64.checked_shl(a))
                .unwrap_or(0);
            for sink in targets {
                if sink.params & bit == 0 || call.mask & (1 << sink.rule) == 0 {
                    continue;
                }
                let at = (
                    sink.rule,
                    sink.finding.path.clone(),
                    sink.finding.byte_range.start,
                );
                if !reported.insert(at) {
                    continue;
                }
                let mut finding = sink.finding.clone();
                finding.message = finding.message.replace("{{source}}", &call.source);
                let mut related = call.related.clone();
                related.extend(sink.finding.related.iter().cloned());
                finding.related = related;
                out.push(finding);
            }
        }
    }
}

impl TaintAnalyzer {
    /// The sinks that exported functions of one module let their parameters reach, as
    /// findings waiting for a caller.
    fn export_sinks(
        &self,
        project: &ProjectContext<'_>,
        candidate: &crate::discover::Candidate,
    ) -> Vec<PendingSink> {
        let Some(grammar) = crate::parse::Grammar::for_kind(candidate.kind) else {
            return Vec::new();
        };
        let crate::source::Loaded::File(file, _) = crate::source::load(candidate) else {
            return Vec::new();
        };
        let rules = project.rules.rules();
        let applicable = self
            .compiled
            .rules
            .iter()
            .enumerate()
            .filter(|(_, idx)| rules[**idx].applies_to(file.kind, &file.display))
            .fold(0u64, |mask, (local, _)| mask | (1 << local));
        if applicable == 0 {
            return Vec::new();
        }
        let Some(tree) = crate::parse::parse(grammar, &file.text) else {
            return Vec::new();
        };
        let (_, crossing) = flow::analyze(
            &self.compiled,
            &file.text,
            &tree,
            applicable,
            Vec::new(),
            &file.display,
            true,
        );
        let related = |range: &std::ops::Range<usize>, message: String| crate::finding::Related {
            path: file.display.clone(),
            start: file.position(range.start),
            end: file.position(range.end),
            message,
        };
        crossing
            .exports
            .into_iter()
            .map(|e| {
                let rule_idx = self.compiled.rules[e.rule];
                let mut finding =
                    crate::engine::finding_in(&file, project.rules, rule_idx, e.range.clone());
                finding.message = finding.message.replace("{{sink}}", &e.sink);
                let mut steps: Vec<_> = e
                    .steps
                    .iter()
                    .map(|s| related(&s.range, s.note.clone()))
                    .collect();
                steps.push(related(&e.range, format!("reaches `{}`", e.sink)));
                finding.related = steps;
                finding.is_flow = true;
                PendingSink {
                    key: e.key,
                    params: e.params,
                    rule: e.rule,
                    finding,
                }
            })
            .collect()
    }
}

/// Whether a file visibly reads request input (the usual request fields and body readers).
fn reads_request(text: &str) -> bool {
    const READS: &[&str] = &[
        ".body",
        ".query",
        ".params",
        ".json()",
        ".formData()",
        ".param(",
        ".input",
        "onCall",
        "args.",
        "searchParams",
    ];
    READS.iter().any(|r| text.contains(r))
}

/// Whether a file imports a project file (`require("./x")`, `from "../x"`).
fn has_relative_imports(text: &str) -> bool {
    text.contains("(\"./")
        || text.contains("('./")
        || text.contains("(\"../")
        || text.contains("('../")
        || text.contains("from \"./")
        || text.contains("from './")
        || text.contains("from \"../")
        || text.contains("from '../")
}
