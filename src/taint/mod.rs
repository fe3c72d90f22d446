//! The `taint` capability: untrusted values (request input, LLM output) followed through one
//! function body, and through same-file helpers, to dangerous sinks.
//!
//! Rules are data (`taint:` blocks, see [`spec`]); this module compiles every claimed rule into one
//! table where each rule is a bit, so a single walk of a function serves all rules at once
//! ([`flow`]). Only files where a rule is active (its triggers occur) are parsed, and only
//! functions that contain a source word (or receive a tainted value) are walked.

mod body_parsers;
mod flow;
mod paths;
mod redos;
pub mod spec;
mod templates;
mod validated;

use rayon::prelude::*;
use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use aho_corasick::AhoCorasick;

use crate::discover::FileKind;
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
    /// The call sinks (indices into `sinks`, ascending) a call can reach, by the last segment of
    /// its path (see [`Compiled::call_sinks`]).
    call_sinks: CallSinks,
    /// Sanitizer calls with the rules they clean for.
    sanitizers: Vec<(Pattern, u64)>,
    /// Guard calls with the rules they clean for.
    guards: Vec<(Pattern, u64)>,
    /// Calls whose result carries their arguments' taint.
    propagators: Vec<Pattern>,
    /// Rules for which `typeof x === "string"` makes `x` safe.
    typeof_string: u64,
    /// Rules for which a value that cannot hold `..` is safe (see [`spec::DOT_FREE`]).
    dot_free: u64,
    /// Rules whose sinks take a size or count (see [`spec::UPPER_BOUND`]).
    bounded: u64,
    /// Rules for which an error caught around a call with an untrusted argument is untrusted
    /// (see [`spec::THROWN`]).
    thrown: u64,
    /// Rules with a sink where only the host matters (redirects, links): a prefix check proves
    /// nothing for them unless the prefix fixes the host.
    host_rules: u64,
    /// Rules whose only sources are request (or browser) input: a file that shows no request
    /// being handled cannot start their flows (see [`handles_requests`]).
    request_only: u64,
    /// Rules that only look at code running on a server (`server_only: true`).
    server_only: u64,
    /// Words of sources: a function containing none (and seeing no taint) is not walked.
    hints: AhoCorasick,
    /// Per hint pattern: the rules whose sources it belongs to.
    hint_masks: Vec<u64>,
    /// The last segment names of every path source, sorted; `None` when a source ends in a
    /// wildcard. A path ending elsewhere is no source, whatever its prefix: most identifiers and
    /// members are rejected by one binary search (the privacy sets hold thousands of names).
    source_ends: Option<Vec<String>>,
    /// Roots of sources that take any member but a few (`req.!user|session`), sorted: a path
    /// starting with one of them skips the `source_ends` test.
    source_roots: Vec<String>,
}

/// The taint analyzer.
pub struct TaintAnalyzer {
    /// The claimed rules (indices in the scan's `RuleSet`), as [`Compiled::rules`] numbers them.
    rules: Vec<usize>,
    /// Whether a rule takes `typeof x === "string"` as a guard (see [`Compiled::typeof_string`]),
    /// known before the build: it decides which files give facts to the project pass.
    has_typeof_string: bool,
    /// The rules compiled into one table, built by the first file that can start a flow: the
    /// sets of sources spell out thousands of words, and their automaton was most of the
    /// start-up of a scan that reads no JS (issue 22). With a user taint rule in the set it is
    /// built at once, so that a broken rule is a load error.
    compiled: OnceLock<Compiled>,
    /// Per file, its calls that pass untrusted values to functions of other project files;
    /// joined with those modules' export summaries after every file. Locked once per file
    /// with such calls, never per node.
    calls: Mutex<Vec<(String, Vec<PendingCall>)>>,
    /// tsconfig/jsconfig path aliases by folder, read once.
    aliases: paths::AliasCache,
    /// Handlers (`module#export`) registered in route files, with whether schema-validation
    /// middleware runs before them there.
    validated: Mutex<Vec<(String, bool)>>,
    /// Type-confusion findings held for the project pass: those inside exported functions
    /// (keyed `module#export`) until it knows whether a route validates the request before
    /// them, and those whose source is the request body until it knows whether the project's
    /// body parsers can build objects at all.
    deferred: Mutex<Vec<Deferred>>,
    /// Untrusted template locals, as findings waiting for a template that prints them raw.
    renders: Mutex<Vec<PendingRender>>,
}

/// A type-confusion finding waiting for the project pass.
struct Deferred {
    /// `module#export` of the enclosing exported function, when there is one.
    handler: Option<String>,
    /// Whether the flow starts at the request body.
    body: bool,
    finding: Finding,
}

/// A template file read once, with the locals it prints raw (`None`: unreadable).
type TemplateRead = Option<(crate::source::SourceFile, Vec<templates::RawOutput>)>;

/// An untrusted value handed to a template under a name.
struct PendingRender {
    /// The render call's file.
    from: String,
    view: String,
    key: String,
    /// See [`flow::RenderLocal::fields`].
    fields: Option<Vec<String>>,
    finding: Finding,
}

/// A sink inside an exported function, as a finding waiting for a caller.
struct PendingSink {
    key: String,
    params: u64,
    rule: usize,
    finding: Finding,
}

/// A parameter of an exported function passed on to a function of a third project file.
struct PendingForward {
    key: String,
    params: u64,
    mask: u64,
    callee: String,
    arg: usize,
    related: Vec<crate::finding::Related>,
}

/// How many project files a value may cross (caller -> use case -> service -> sink).
const MAX_CROSSINGS: usize = 3;

/// A call into another project file with an untrusted argument.
#[derive(Clone)]
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
    let mut sets: RawSets = serde_json::from_str(text).map_err(|e| RuleError::Syntax {
        source_name: spec::SETS_FILE.into(),
        message: e.to_string(),
    })?;
    // `@personal-data`, `@credentials`, `@passwords`: spelled out from the privacy catalogue
    for (name, patterns) in crate::privacy::catalogue::taint_sources() {
        sets.sources
            .entry(name)
            .or_default()
            .extend(patterns.into_iter().map(spec::RawSource::Pattern));
    }
    Ok(sets)
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
    if let Some(&idx) = claimed.get(MAX_RULES) {
        let rule = &rules.rules()[idx];
        return Err(RuleError::Field {
            source_name: rule.source.clone(),
            id: rule.id.clone(),
            field: "taint".into(),
            message: format!("at most {MAX_RULES} taint rules per scan"),
        });
    }
    let has_typeof_string = claimed.iter().any(|&idx| {
        let Matcher::Spec { spec, .. } = &rules.rules()[idx].matcher else {
            return false;
        };
        spec.get("guards")
            .and_then(serde_yaml_ng::Value::as_sequence)
            .is_some_and(|guards| {
                guards
                    .iter()
                    .any(|g| g.as_str() == Some(spec::TYPEOF_STRING))
            })
    });
    let compiled = OnceLock::new();
    if !claimed.iter().all(|&idx| rules.rules()[idx].embedded) {
        let _ = compiled.set(compile(rules, &claimed)?);
    }
    Ok(Some(Box::new(TaintAnalyzer {
        rules: claimed,
        has_typeof_string,
        compiled,
        calls: Mutex::new(Vec::new()),
        aliases: paths::AliasCache::default(),
        validated: Mutex::new(Vec::new()),
        deferred: Mutex::new(Vec::new()),
        renders: Mutex::new(Vec::new()),
    })))
}

/// Compiles the `claimed` taint rules of `rules` into one table.
fn compile(rules: &RuleSet, claimed: &[usize]) -> Result<Compiled, RuleError> {
    let sets = sets()?;
    let mut compiled = Compiled {
        rules: Vec::new(),
        sources: Vec::new(),
        sinks: Vec::new(),
        call_sinks: CallSinks::default(),
        sanitizers: Vec::new(),
        guards: Vec::new(),
        propagators: Vec::new(),
        typeof_string: 0,
        dot_free: 0,
        bounded: 0,
        thrown: 0,
        host_rules: 0,
        request_only: 0,
        server_only: 0,
        hint_masks: Vec::new(),
        source_ends: None,
        source_roots: Vec::new(),
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
    let mut hints: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    // embedded rules' sink regexes are proven to compile (see the test below): compiled on
    // first use; with a user taint rule, all now, so that a bad regex is reported at load
    let mut cache = spec::PatternCache::new(claimed.iter().all(|i| rules.rules()[*i].embedded));
    for &idx in claimed {
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
                "{e}; expected `sources`, `sinks`, `sanitizers`, `guards`, `server_only`"
            ))
        })?;
        let spec = spec::compile(&raw, &sets, &mut cache).map_err(error)?;
        let local = compiled.rules.len();
        let bit = 1u64 << local;
        compiled.rules.push(idx);
        if spec.typeof_string {
            compiled.typeof_string |= bit;
        }
        if spec.dot_free {
            compiled.dot_free |= bit;
        }
        if spec.bounded {
            compiled.bounded |= bit;
        }
        if spec.thrown {
            compiled.thrown |= bit;
        }
        if raw.server_only {
            compiled.server_only |= bit;
        }
        if spec.sinks.iter().any(|s| s.host) {
            compiled.host_rules |= bit;
        }
        if raw.sources.iter().all(|s| {
            spec::is_thrown(s)
                || matches!(s, spec::RawSource::Pattern(p) if p.starts_with("@request") || p.starts_with("@browser"))
        }) {
            compiled.request_only |= bit;
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
                Source::Decorated { names, .. } => names.clone(),
            };
            for w in words {
                *hints.entry(w).or_default() |= bit;
            }
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
    drop(cache);
    // one entry per word with the rules of all its sources, in word order (unique keys: the
    // order is total)
    let mut hints: Vec<(String, u64)> = hints.into_iter().collect();
    hints.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    compiled.hint_masks = hints.iter().map(|(_, m)| *m).collect();
    compiled.sources = merge_masks(std::mem::take(&mut compiled.sources));
    (compiled.source_ends, compiled.source_roots) = source_ends(&compiled.sources);
    compiled.sanitizers = merge_masks(std::mem::take(&mut compiled.sanitizers));
    compiled.guards = merge_masks(std::mem::take(&mut compiled.guards));
    compiled.call_sinks = CallSinks::of(&compiled.sinks);
    // leftmost-longest: `request` must not be reported as `req` + rest (then rejected as a word)
    compiled.hints = AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostLongest)
        .build(hints.iter().map(|(w, _)| w))
        .map_err(|e| RuleError::Syntax {
            source_name: spec::SETS_FILE.into(),
            message: e.to_string(),
        })?;
    Ok(compiled)
}

/// The call sinks indexed by the last segment of their pattern: a call checks the sinks whose
/// pattern can end in its method name, not every sink of every rule (most calls are none, and
/// testing each pattern was a tenth of the taint walk on parse-server's package, issue 22).
#[derive(Debug, Default)]
struct CallSinks {
    /// Per name a pattern's last segment lists: the sinks ending in it, ascending.
    by_end: std::collections::HashMap<String, Vec<usize>>,
    /// Sinks whose last segment is no list of names (any segment, all but some, `$X` alone).
    any_end: Vec<usize>,
}

impl CallSinks {
    fn of(sinks: &[(Sink, usize)]) -> Self {
        let mut index = CallSinks::default();
        for (k, (sink, _)) in sinks.iter().enumerate() {
            let spec::SinkKind::Call(p) = &sink.kind else {
                continue;
            };
            match p.path.last() {
                Some(spec::Seg::Names(names)) => {
                    for name in names {
                        index.by_end.entry(name.clone()).or_default().push(k);
                    }
                }
                _ => index.any_end.push(k),
            }
        }
        index
    }
}

impl Compiled {
    /// The indices (into `sinks`, ascending) of the call sinks that a call whose path (or
    /// resolved path) ends in one of `ends` may match: a pattern ending in a list of names
    /// matches only a path ending in one of them ([`Pattern::matches_path`]).
    fn call_sinks(&self, ends: [Option<&str>; 2]) -> Vec<usize> {
        let mut found = self.call_sinks.any_end.clone();
        for end in ends.into_iter().flatten() {
            if let Some(ks) = self.call_sinks.by_end.get(end) {
                found.extend(ks);
            }
        }
        found.sort_unstable();
        found.dedup();
        found
    }
}

impl TaintAnalyzer {
    /// The compiled rules, built on first use from `rules` (the scan's rule set, which the
    /// analyzer was built from).
    fn compiled(&self, rules: &RuleSet) -> &Compiled {
        self.compiled.get_or_init(|| {
            let compiled = compile(rules, &self.rules)
                .expect("the embedded taint rules compile (`every_embedded_taint_rule_compiles`)");
            debug_assert_eq!(compiled.rules, self.rules);
            debug_assert_eq!(compiled.typeof_string != 0, self.has_typeof_string);
            compiled
        })
    }
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
/// is then matched once per node, not once per rule); the first of equal entries is kept, in
/// the first-seen order.
fn merge_masks<T: std::hash::Hash + Eq>(entries: Vec<(T, u64)>) -> Vec<(T, u64)> {
    // keyed by the entries themselves (a linear search was quadratic in the size of the shared
    // sets, and `Debug` strings as keys cost a tenth of start-up, issue 22)
    let mut first: std::collections::HashMap<&T, usize> =
        std::collections::HashMap::with_capacity(entries.len());
    let mut masks = vec![0u64; entries.len()];
    let mut kept = vec![false; entries.len()];
    for (i, (entry, mask)) in entries.iter().enumerate() {
        let at = *first.entry(entry).or_insert(i);
        masks[at] |= mask;
        kept[i] = at == i;
    }
    drop(first);
    entries
        .into_iter()
        .enumerate()
        .filter(|(i, _)| kept[*i])
        .map(|(i, (entry, _))| (entry, masks[i]))
        .collect()
}

impl Analyzer for TaintAnalyzer {
    fn name(&self) -> &'static str {
        "taint"
    }

    fn rule_indices(&self) -> Vec<usize> {
        self.rules.clone()
    }

    fn analyze_file(&self, ctx: &FileContext<'_>, out: &mut Vec<Finding>) {
        let active = self
            .rules
            .iter()
            .enumerate()
            .filter(|(_, idx)| ctx.is_active(**idx))
            .fold(0u64, |mask, (local, _)| mask | (1 << local));
        let text = &ctx.file.text;
        // routes registered here behind validation middleware, for handlers of other files
        if self.has_typeof_string
            && has_relative_imports(text)
            && validated::may_validate_routes(text)
            && let Some(tree) = ctx.tree()
        {
            let keys = validated::validated_handlers(&ctx.file.display, text, tree.root_node());
            if !keys.is_empty()
                && let Ok(mut all) = self.validated.lock()
            {
                all.extend(keys);
            }
        }
        // a file that reads request input and imports project modules may hand that input to
        // a sink in another file: follow every rule that applies to it, whatever its triggers
        // (a file parsed anyway costs nothing more; the others must show request input, so
        // library code full of the word `req` stays unparsed)
        let aliases = self.aliases.for_file(&ctx.file.display);
        let imports = (has_relative_imports(text)
            || aliases.as_ref().is_some_and(|a| a.imported_in(text)))
            && (active != 0 || reads_request(text));
        let applicable = if imports {
            self.rules
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
        let compiled = self.compiled(ctx.rules);
        let (offsets, hinted) = hint_offsets(compiled, text);
        let mut walked = applicable & hinted;
        if walked & compiled.server_only != 0
            && crate::platform::client_side::is_client_side(&ctx.file.display, text)
        {
            walked &= !compiled.server_only;
        }
        if walked == 0 {
            return;
        }
        // request-input rules need a request: words like `req` or `body` in library code are
        // not one (and a file parsed only to follow request input into other project files must
        // show a request being read)
        let handles = walked & compiled.request_only != 0 && handles_requests(text);
        if walked & compiled.request_only != 0 && !handles {
            walked &= !compiled.request_only;
            if walked == 0 {
                return;
            }
        }
        if active & hinted == 0 && !handles {
            return;
        }
        let Some(tree) = ctx.tree() else {
            return;
        };
        let (hits, crossing) = flow::analyze(
            compiled,
            text,
            tree,
            walked,
            offsets,
            &flow::Module {
                display: &ctx.file.display,
                aliases: aliases.as_deref(),
                exports: false,
            },
        );
        let module = flow::module_id(&ctx.file.display);
        let mut deferred = Vec::new();
        for hit in hits.into_iter().filter(|h| active & (1 << h.rule) != 0) {
            let rule_idx = self.rules[hit.rule];
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
            if compiled.typeof_string & (1 << hit.rule) != 0 {
                let handler = validated::enclosing_export(tree.root_node(), text, hit.range.start)
                    .map(|name| format!("{module}#{name}"));
                let body = body_parsers::is_body_source(&hit.source);
                if handler.is_some() || body {
                    deferred.push(Deferred {
                        handler,
                        body,
                        finding,
                    });
                    continue;
                }
            }
            out.push(finding);
        }
        if !deferred.is_empty() {
            // kept for the project pass, which a cached outcome would not feed
            crate::engine::not_cacheable();
            if let Ok(mut all) = self.deferred.lock() {
                all.extend(deferred);
            }
        }
        if !crossing.renders.is_empty() {
            let renders: Vec<PendingRender> = crossing
                .renders
                .into_iter()
                .map(|r| {
                    let mut finding = ctx.finding(self.rules[r.rule], r.range.clone());
                    finding.message = finding
                        .message
                        .replace("{{source}}", &r.source)
                        .replace("{{sink}}", &r.sink);
                    finding.related = r
                        .steps
                        .iter()
                        .map(|s| ctx.related(s.range.clone(), s.note.clone()))
                        .collect();
                    finding.is_flow = true;
                    PendingRender {
                        from: ctx.file.display.clone(),
                        view: r.view,
                        key: r.key,
                        fields: r.fields,
                        finding,
                    }
                })
                .collect();
            // kept for the project pass, which a cached outcome would not feed
            crate::engine::not_cacheable();
            if let Ok(mut all) = self.renders.lock() {
                all.extend(renders);
            }
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

    fn wants_facts(&self, kind: FileKind, _display: &str) -> bool {
        self.has_typeof_string && matches!(kind, FileKind::Js | FileKind::Ts | FileKind::Tsx)
    }

    fn file_facts(&self, ctx: &FileContext<'_>) {
        if let Some(parsers) = body_parsers::of_file(&ctx.file.text, &ctx.file.display) {
            ctx.emit(parsers);
        }
    }

    fn analyze_project(&self, project: &ProjectContext<'_>, out: &mut Vec<Finding>) {
        // type-confusion findings in exported handlers: kept unless a route validates first
        if let (Ok(mut deferred), Ok(validated)) = (self.deferred.lock(), self.validated.lock()) {
            // every registration must validate: one bare route keeps the finding
            let mut all: BTreeMap<&str, bool> = BTreeMap::new();
            for (key, ok) in validated.iter() {
                *all.entry(key.as_str()).or_insert(true) &= *ok;
            }
            let validated: std::collections::BTreeSet<&str> = all
                .into_iter()
                .filter(|(_, ok)| *ok)
                .map(|(k, _)| k)
                .collect();
            // bodies parsed only by `urlencoded({ extended: false })` hold strings
            let strings_only = body_parsers::strings_only(
                project.facts::<body_parsers::BodyParsers>().map(|(_, f)| f),
            );
            out.extend(
                std::mem::take(&mut *deferred)
                    .into_iter()
                    .filter(|d| {
                        !(d.body && strings_only)
                            && d.handler
                                .as_deref()
                                .is_none_or(|key| !validated.contains(key))
                    })
                    .map(|d| d.finding),
            );
        }
        self.join_renders(project, out);
        let Ok(mut calls) = self.calls.lock() else {
            return;
        };
        let mut calls = std::mem::take(&mut *calls);
        if calls.is_empty() {
            return;
        }
        // files arrive in thread order: sort so the first caller shown is always the same
        calls.sort_by(|a, b| a.0.cmp(&b.0));
        // summarise only the modules that receive untrusted arguments: one parse each; a module
        // that hands a parameter on to a third file adds that file to the next round
        let module_of = |key: &str| key.split_once('#').map(|(m, _)| m.to_string());
        let mut wanted: std::collections::BTreeSet<String> = calls
            .iter()
            .flat_map(|(_, c)| c.iter())
            .filter_map(|c| module_of(&c.key))
            .collect();
        let mut done = std::collections::BTreeSet::new();
        let mut sinks: Vec<PendingSink> = Vec::new();
        let mut forwards: Vec<PendingForward> = Vec::new();
        for _ in 0..MAX_CROSSINGS {
            let todo: std::collections::BTreeSet<String> =
                wanted.difference(&done).cloned().collect();
            if todo.is_empty() {
                break;
            }
            // each module is read and parsed once, on the worker pool; `collect` keeps the order
            let found: Vec<(Vec<PendingSink>, Vec<PendingForward>)> = project
                .candidates
                .par_iter()
                .filter(|c| todo.contains(flow::module_id(&c.display).as_str()))
                // on another thread than the project pass: a stack budget of its own (too deep
                // code is not followed; the file's own scan noted it)
                .map(|c| crate::engine::stack::budget(|| self.export_sinks(project, c)).0)
                .collect();
            done.extend(todo);
            for (s, f) in found {
                sinks.extend(s);
                wanted.extend(f.iter().filter_map(|f| module_of(&f.callee)));
                forwards.extend(f);
            }
        }
        let mut by_key: BTreeMap<&str, Vec<&PendingSink>> = BTreeMap::new();
        for s in &sinks {
            by_key.entry(s.key.as_str()).or_default().push(s);
        }
        let mut forwards_by_key: BTreeMap<&str, Vec<&PendingForward>> = BTreeMap::new();
        for f in &forwards {
            forwards_by_key.entry(f.key.as_str()).or_default().push(f);
        }
        let mut reported = std::collections::BTreeSet::new();
        // a work list of calls: the callers' own, then the ones exported functions pass on
        let mut work: Vec<(PendingCall, usize)> = calls
            .iter()
            .flat_map(|(_, c)| c.iter())
            .map(|c| (c.clone(), 0))
            .collect();
        work.reverse();
        while let Some((call, crossed)) = work.pop() {
            let bit = u32::try_from(call.arg)
                .ok()
                .and_then(|a| 1u64.checked_shl(a))
                .unwrap_or(0);
            if crossed + 1 < MAX_CROSSINGS
                && let Some(next) = forwards_by_key.get(call.key.as_str())
            {
                for f in next.iter().rev() {
                    if f.params & bit == 0 || call.mask & f.mask == 0 {
                        continue;
                    }
                    let mut related = call.related.clone();
                    related.extend(f.related.iter().cloned());
                    work.push((
                        PendingCall {
                            key: f.callee.clone(),
                            arg: f.arg,
                            mask: call.mask & f.mask,
                            related,
                            source: call.source.clone(),
                        },
                        crossed + 1,
                    ));
                }
            }
            let Some(targets) = by_key.get(call.key.as_str()) else {
                continue;
            };
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
    /// Untrusted template locals joined with the templates that print them without escaping.
    fn join_renders(&self, project: &ProjectContext<'_>, out: &mut Vec<Finding>) {
        let Ok(mut renders) = self.renders.lock() else {
            return;
        };
        let mut renders = std::mem::take(&mut *renders);
        if renders.is_empty() {
            return;
        }
        renders.sort_by(|a, b| {
            (&a.from, a.finding.byte_range.start).cmp(&(&b.from, b.finding.byte_range.start))
        });
        let templates: Vec<&crate::discover::Candidate> = project
            .candidates
            .iter()
            .filter(|c| templates::template_ext(&c.display).is_some())
            .collect();
        if templates.is_empty() {
            return;
        }
        let mut read: BTreeMap<String, TemplateRead> = BTreeMap::new();
        let mut reported = std::collections::BTreeSet::new();
        // `swig.setDefaults({ autoescape: false })` anywhere in the project: read once, on demand
        let mut escaping_off: Option<bool> = None;
        let mut escaping_off_in_project = || {
            *escaping_off.get_or_insert_with(|| {
                project.candidates.iter().any(|c| {
                    matches!(
                        c.kind,
                        crate::discover::FileKind::Js | crate::discover::FileKind::Ts
                    ) && matches!(
                        crate::source::load(c),
                        crate::source::Loaded::File(f, _) if templates::escaping_off_globally(&f.text)
                    )
                })
            })
        };
        for r in renders {
            // the template nearest the render call (monorepos hold several `views/index`)
            let shared = |c: &&crate::discover::Candidate| {
                c.display
                    .bytes()
                    .zip(r.from.bytes())
                    .take_while(|(a, b)| a == b)
                    .count()
            };
            let Some(template) = templates
                .iter()
                .filter(|c| templates::names_view(&c.display, &r.view))
                .max_by_key(|c| (shared(c), std::cmp::Reverse(c.display.clone())))
            else {
                continue;
            };
            let entry = read.entry(template.display.clone()).or_insert_with(|| {
                let crate::source::Loaded::File(file, _) = crate::source::load(template) else {
                    return None;
                };
                let ext = templates::template_ext(&file.display).unwrap_or("");
                let off = matches!(ext, "html" | "swig" | "njk" | "nunjucks")
                    && escaping_off_in_project();
                let raw = templates::raw_outputs(ext, &file.text, off);
                Some((file, raw))
            });
            let Some((file, raw)) = entry else {
                continue;
            };
            let Some(printed) = raw.iter().find(|o| {
                r.key == "*"
                    || (o.name == r.key
                        && r.fields.as_ref().is_none_or(|fields| {
                            o.member
                                .as_ref()
                                .is_some_and(|m| fields.is_empty() || fields.contains(m))
                        }))
            }) else {
                continue;
            };
            if !reported.insert((
                r.finding.rule_id.clone(),
                r.finding.path.clone(),
                r.finding.byte_range.start,
            )) {
                continue;
            }
            let mut finding = r.finding;
            let tag = file.text.get(printed.range.clone()).unwrap_or("");
            finding.related.push(crate::finding::Related {
                path: file.display.clone(),
                start: file.position(printed.range.start),
                end: file.position(printed.range.end),
                message: format!(
                    "printed without escaping: `{}`",
                    tag.split_whitespace().collect::<Vec<_>>().join(" ")
                ),
            });
            out.push(finding);
        }
    }

    /// The sinks that exported functions of one module let their parameters reach, as
    /// findings waiting for a caller.
    fn export_sinks(
        &self,
        project: &ProjectContext<'_>,
        candidate: &crate::discover::Candidate,
    ) -> (Vec<PendingSink>, Vec<PendingForward>) {
        let none = || (Vec::new(), Vec::new());
        let Some(grammar) = crate::parse::Grammar::for_kind(candidate.kind) else {
            return none();
        };
        let crate::source::Loaded::File(file, _) = crate::source::load(candidate) else {
            return none();
        };
        let rules = project.rules.rules();
        let applicable = self
            .rules
            .iter()
            .enumerate()
            .filter(|(_, idx)| rules[**idx].applies_to(file.kind, &file.display))
            .fold(0u64, |mask, (local, _)| mask | (1 << local));
        if applicable == 0 {
            return none();
        }
        let Some(tree) = crate::parse::parse(grammar, &file.text) else {
            return none();
        };
        let (_, crossing) = flow::analyze(
            self.compiled(project.rules),
            &file.text,
            &tree,
            applicable,
            Vec::new(),
            &flow::Module {
                display: &file.display,
                aliases: self.aliases.for_file(&file.display).as_deref(),
                exports: true,
            },
        );
        let related = |range: &std::ops::Range<usize>, message: String| crate::finding::Related {
            path: file.display.clone(),
            start: file.position(range.start),
            end: file.position(range.end),
            message,
        };
        let forwards = crossing
            .forwards
            .into_iter()
            .map(|f| PendingForward {
                key: f.key,
                params: f.params,
                mask: f.mask,
                callee: f.callee,
                arg: f.arg,
                related: f
                    .steps
                    .iter()
                    .map(|s| related(&s.range, s.note.clone()))
                    .collect(),
            })
            .collect();
        let sinks = crossing
            .exports
            .into_iter()
            .map(|e| {
                let rule_idx = self.rules[e.rule];
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
            .collect();
        (sinks, forwards)
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
    // one automaton pass instead of ten `contains` calls (issue 22)
    static READER: std::sync::OnceLock<aho_corasick::AhoCorasick> = std::sync::OnceLock::new();
    READER
        .get_or_init(|| aho_corasick::AhoCorasick::new(READS).expect("literal patterns compile"))
        .is_match(text)
}

/// Whether a file visibly handles requests: a request object's fields read (`req.body`,
/// `ctx.params`, `c.req.query()`), request fields destructured from a handler's parameter,
/// or a framework's handler shape (Cloud Functions, Parse, Next.js, tRPC, GraphQL resolvers,
/// socket message handlers, Lambda handlers, parameter decorators of Nest controllers).
/// Stricter than [`reads_request`]: library code that merely says `options.query` does not
/// pass.
fn handles_requests(text: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(concat!(
            r"\b(req|request|ctx|event|context|c\.req)\s*\??\.\s*(body|query|params|param|json|formData|text|headers|cookies|url|originalUrl|files?|payload|request|nextUrl|queryStringParameters|pathParameters|data|get|header)\b",
            r"|\(\s*\{[^{}()]*\b(body|query|params|searchParams)\b[^{}()]*\}\s*[,:)]",
            // a destructured request typed as one: `({ file, body }: Request, res: Response)`
            r"|\(\s*\{[^{}()]*\}\s*:\s*(express\.)?Request\s*[,)]",
            r"|\b(onCall|onRequest|Cloud\.define|searchParams|NextRequest|NextApiRequest|FastifyRequest|Procedure|resolvers?|Mutation|formData|APIGatewayProxyEvent|HttpRequest)\b",
            r#"|\bQuery\s*:\s*\{|['"]use server['"]"#,
            r"|\b(location\.(search|hash|href)|document\.(URL|location|referrer|documentURI)|window\.name)\b",
            // Angular route state and `postMessage` events in the browser
            r#"|\.snapshot\.(params|queryParams|fragment|paramMap|queryParamMap|url)\b|\brouter\.url\b|addEventListener\(\s*['"]message['"]"#,
            r#"|\.on\(\s*['"](message|data|chat|command|connection|request)['"]"#,
            // a Lambda handler: `exports.handler = async (event) =>`, `function handler(event)`
            r"|\b(handler|lambdaHandler)\s*=\s*(async\s*)?(function\s*\w*\s*)?\(\s*(event|evt)\b",
            r"|\bfunction\s+(handler|lambdaHandler|main)\s*\(\s*(event|evt)\b",
            // NestJS parameter decorators: `@Body() dto`, `@Query("q") q`
            r"|@(Body|Query|Param|Headers|Req|Request|UploadedFiles?|MessageBody)\s*\(",
            // a Node/Express handler's signature: `(req, res) =>`, `function (req, res, next)`
            r"|\(\s*req\s*(:\s*[\w.<>]+\s*)?,\s*res\b",
        ))
        .expect("valid regex")
    })
    .is_match(text)
}

/// Whether a file imports a project file (`require("./x")`, `from "../x"`).
/// One pass over the text for `./` (eight `contains` calls were a fifth of the taint
/// analyzer's time on files it then skipped, issue 22).
fn has_relative_imports(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memmem::find_iter(bytes, b"./").any(|at| {
        // `../` is `./` after a dot
        let start = if at > 0 && bytes[at - 1] == b'.' {
            at - 1
        } else {
            at
        };
        let before = &bytes[..start];
        matches!(before.last(), Some(b'"' | b'\''))
            && (before[..before.len() - 1].ends_with(b"(")
                || before[..before.len() - 1].ends_with(b"from "))
    })
}

/// See [`Compiled::source_ends`] and [`Compiled::source_roots`].
fn source_ends(sources: &[(Source, u64)]) -> (Option<Vec<String>>, Vec<String>) {
    let mut ends = Vec::new();
    let mut roots = Vec::new();
    let mut wild = false;
    for (s, _) in sources {
        if let Source::Pattern(p) = s
            && p.args.is_none()
        {
            match (p.path.first(), p.path.last()) {
                (_, Some(spec::Seg::Names(names))) => ends.extend(names.iter().cloned()),
                // `req.!user|session`: any member of the root but these
                (Some(spec::Seg::Names(first)), Some(spec::Seg::Not(_))) if p.path.len() == 2 => {
                    roots.extend(first.iter().cloned());
                }
                _ => wild = true,
            }
        }
    }
    ends.sort();
    ends.dedup();
    roots.sort();
    roots.dedup();
    ((!wild).then_some(ends), roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_sink_regex_compiles() {
        // the embedded rules' sink regexes are compiled on first use, a failing one would
        // silently match nothing: compile every rule's eagerly here
        let rules = RuleSet::new(load::load_builtin_rules().expect("embedded rules load"))
            .expect("embedded rules form a set");
        let sets = sets().expect("the sets file reads");
        let mut cache = spec::PatternCache::new(false);
        let mut checked = 0;
        for rule in rules.rules() {
            let Matcher::Spec {
                kind: MatcherKind::Taint,
                spec: value,
            } = &rule.matcher
            else {
                continue;
            };
            assert!(rule.embedded, "{}", rule.id);
            let raw: RawTaint = serde_yaml_ng::from_value(value.clone())
                .unwrap_or_else(|e| panic!("{}: taint block: {e}", rule.id));
            spec::compile(&raw, &sets, &mut cache).unwrap_or_else(|e| panic!("{}: {e}", rule.id));
            checked += 1;
        }
        assert!(checked > 20, "only {checked} taint rules checked");
    }

    #[test]
    fn every_embedded_taint_rule_compiles() {
        // built on first use in a scan: a failure there would be a panic per file, so build the
        // whole table here, as the first JS file would
        let rules = RuleSet::new(load::load_builtin_rules().expect("embedded rules load"))
            .expect("embedded rules form a set");
        let settings = crate::Settings::default();
        let analyzer = build(&rules, &settings)
            .expect("builds")
            .expect("taint rules");
        let claimed = analyzer.rule_indices();
        let compiled = compile(&rules, &claimed).expect("the embedded taint rules compile");
        assert_eq!(compiled.rules, claimed);
        assert!(
            compiled.typeof_string != 0,
            "a rule guards with `typeof string`"
        );
        assert!(compiled.hint_masks.len() > 100, "source words");
    }
}
