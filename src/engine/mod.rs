//! The per-file plan: read once, prefilter, parse at most once, hand the file to every analyzer.
//!
//! An [`Analyzer`] is one capability (query rules, secrets, taint flows, platform checks,
//! dependencies). Each claims the rules of its matcher kinds when the engine is built, analyses
//! files through a [`FileContext`], and may run once more over the whole project
//! ([`ProjectContext`]) for cross-file rules. The project pass works from [`facts`] the per-file
//! pass extracted, not from files read again. Analyzers know nothing about output formats.

pub mod facts;
pub mod prefilter;
pub mod query;
pub mod stack;
pub mod timings;

use std::cell::OnceCell;
use std::ops::Range;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tree_sitter::Tree;

use crate::discover::{Candidate, FileKind, SkipReason, Skipped};
use crate::finding::Finding;
use crate::parse::{self, Grammar};
use crate::rules::{Matcher, MatcherKind, RuleError, RuleSet};
use crate::source::{self, LineIndex, Loaded, SourceFile};

pub use facts::{Fact, Facts};
use prefilter::Prefilter;
pub use timings::Timings;

/// One capability of the scanner.
pub trait Analyzer: Send + Sync {
    /// A short name for diagnostics.
    fn name(&self) -> &'static str;

    /// The rules (indices into the engine's [`RuleSet`]) this analyzer runs.
    fn rule_indices(&self) -> Vec<usize>;

    /// Analyses one file. Only rules for which `ctx.is_active(i)` holds may report.
    fn analyze_file(&self, ctx: &FileContext<'_>, out: &mut Vec<Finding>);

    /// Runs once after every file, for rules that need the whole project (migrations in order,
    /// manifest and lockfile together, ...).
    fn analyze_project(&self, _project: &ProjectContext<'_>, _out: &mut Vec<Finding>) {}

    /// Whether this analyzer's project pass needs facts from a file of this kind and path
    /// (checked for every analysed file, and for the files `--changed` leaves out of the
    /// per-file pass, which are then read for their facts only).
    fn wants_facts(&self, _kind: FileKind, _display: &str) -> bool {
        false
    }

    /// Extracts the facts the project pass needs from one file ([`FileContext::emit`]); called
    /// for the files [`Analyzer::wants_facts`] names, whether or not a rule is active on them.
    fn file_facts(&self, _ctx: &FileContext<'_>) {}

    /// Scan-level notes after the project pass (e.g. which advisory data was used); they reach
    /// every output format with the skip notes.
    fn project_notes(&self, _project: &ProjectContext<'_>) -> Vec<Skipped> {
        Vec::new()
    }
}

/// Builds a capability's analyzer from the rules it claims; `None` when it has no rules.
/// Capabilities read their options (e.g. the advisory database path) from the scan [`Settings`].
pub type AnalyzerBuilder =
    fn(&RuleSet, &crate::Settings) -> Result<Option<Box<dyn Analyzer>>, RuleError>;

/// A capability as the pipeline registers it: how its analyzer is built, and the builtin checks
/// it runs. The builtin names of all capabilities are the one registry that `builtin:` (and
/// `config:`) rules name, in any family.
#[derive(Clone, Copy)]
pub struct Capability {
    /// How the analyzer is built.
    pub build: AnalyzerBuilder,
    /// The builtin check names it runs (none for capabilities of other matcher kinds).
    pub builtins: fn() -> Vec<String>,
}

impl Capability {
    /// A capability without builtin checks.
    pub const fn new(build: AnalyzerBuilder) -> Self {
        Capability {
            build,
            builtins: Vec::new,
        }
    }
}

/// What the engine gives an analyzer for one file.
pub struct FileContext<'a> {
    /// The file.
    pub file: &'a SourceFile,
    /// All rules of the scan.
    pub rules: &'a RuleSet,
    active: Vec<bool>,
    tree: OnceCell<Option<Tree>>,
    notes: std::cell::RefCell<Vec<Skipped>>,
    facts: std::cell::RefCell<Vec<Fact>>,
    deadline: Option<Instant>,
    /// Time spent parsing (for [`Timings`], which count it apart from the analyzer that asked).
    parse_time: std::cell::Cell<Duration>,
}

impl<'a> FileContext<'a> {
    /// Hands a fact about this file to the project pass (see [`facts`]); keep it small.
    pub fn emit<T: std::any::Any + Send + Sync>(&self, fact: T) {
        self.facts.borrow_mut().push(Fact::new(fact));
    }

    /// Whether this file's time budget is spent. Analyzers with long loops over a file poll it
    /// and stop early (what they found so far is kept); the engine checks it between analyzers.
    pub fn is_expired(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// A context for `file` with the rules that apply to it and survive the prefilter.
    pub fn new(file: &'a SourceFile, rules: &'a RuleSet, prefilter: &Prefilter) -> Self {
        let mut active = prefilter.active_rules(&file.text);
        for (idx, rule) in rules.rules().iter().enumerate() {
            if active[idx] && !rule.applies_to(file.kind, &file.display) {
                active[idx] = false;
            }
        }
        FileContext {
            file,
            rules,
            active,
            tree: OnceCell::new(),
            notes: std::cell::RefCell::new(Vec::new()),
            facts: std::cell::RefCell::new(Vec::new()),
            deadline: None,
            parse_time: std::cell::Cell::new(Duration::ZERO),
        }
    }

    /// Records a note about this file (e.g. a lockfile that is not valid JSON: `parse-error`);
    /// it reaches every output format with the other skip and degradation notes.
    pub fn note(&self, reason: SkipReason, detail: impl Into<String>) {
        self.notes.borrow_mut().push(Skipped {
            path: self.file.display.clone(),
            reason,
            detail: detail.into(),
        });
    }

    /// Whether rule `idx` applies to this file and its triggers occur in it.
    pub fn is_active(&self, idx: usize) -> bool {
        self.active.get(idx).copied().unwrap_or(false)
    }

    /// Whether any rule is active on this file.
    pub fn has_active_rules(&self) -> bool {
        self.active.iter().any(|a| *a)
    }

    /// The syntax tree, parsed on first call (JS/TS/TSX only); `None` for other kinds.
    pub fn tree(&self) -> Option<&Tree> {
        self.tree
            .get_or_init(|| {
                let started = Instant::now();
                let tree = Grammar::for_kind(self.file.kind)
                    .and_then(|g| parse::parse(g, &self.file.text));
                self.parse_time.set(started.elapsed());
                tree
            })
            .as_ref()
    }

    /// Whether the tree was parsed (for statistics).
    pub fn was_parsed(&self) -> bool {
        self.tree.get().is_some_and(Option::is_some)
    }

    /// A finding of rule `rule_idx` over `range`, with the rule's defaults. The engine fills in
    /// the snippet and fingerprint after every analyzer has run (and redactions are known).
    pub fn finding(&self, rule_idx: usize, range: Range<usize>) -> Finding {
        Finding::of_rule(
            &self.rules.rules()[rule_idx],
            &self.file.display,
            (
                self.file.position(range.start),
                self.file.position(range.end),
            ),
            range,
        )
    }

    /// A related location in this file.
    pub fn related(
        &self,
        range: Range<usize>,
        message: impl Into<String>,
    ) -> crate::finding::Related {
        crate::finding::Related {
            path: self.file.display.clone(),
            start: self.file.position(range.start),
            end: self.file.position(range.end),
            message: message.into(),
        }
    }
}

/// What the engine gives an analyzer for the project-wide pass.
pub struct ProjectContext<'a> {
    /// The roots given on the command line.
    pub roots: &'a [PathBuf],
    /// Every file discovered (analysed or not), sorted by display path.
    pub candidates: &'a [Candidate],
    /// All rules of the scan.
    pub rules: &'a RuleSet,
    /// What the per-file pass extracted for the project pass.
    pub facts: &'a Facts,
}

impl<'a> ProjectContext<'a> {
    /// Whether rule `idx` applies to a candidate (by kind and path; triggers are not checked).
    pub fn applies(&self, idx: usize, candidate: &Candidate) -> bool {
        self.rules.rules()[idx].applies_to(candidate.kind, &candidate.display)
    }

    /// The project's JS/TS files by display path: what relative imports resolve against
    /// ([`crate::platform::parse::project::resolve`]).
    pub fn scripts(&self) -> std::collections::BTreeMap<&'a str, &'a Candidate> {
        self.candidates
            .iter()
            .filter(|c| matches!(c.kind, FileKind::Js | FileKind::Ts | FileKind::Tsx))
            .map(|c| (c.display.as_str(), c))
            .collect()
    }

    /// Every fact of type `T` with the file it came from, sorted by path.
    pub fn facts<T: std::any::Any>(&self) -> impl Iterator<Item = (&'a Candidate, &'a T)> {
        let candidates = self.candidates;
        self.facts.of::<T>().filter_map(move |(path, fact)| {
            let at = candidates
                .binary_search_by(|c| c.display.as_str().cmp(path))
                .ok()
                .or_else(|| candidates.iter().position(|c| c.display == path))?;
            Some((&candidates[at], fact))
        })
    }
}

/// A finding of rule `rule_idx` at `range` of the file `path`, located with the file's
/// [`LineIndex`]: for project passes that work from facts, without the file's text.
pub fn finding_at(
    path: &str,
    lines: &LineIndex,
    rules: &RuleSet,
    rule_idx: usize,
    range: Range<usize>,
) -> Finding {
    Finding::of_rule(
        &rules.rules()[rule_idx],
        path,
        (lines.position(range.start), lines.position(range.end)),
        range,
    )
}

/// A related location at `range` of the file `path`, located with its [`LineIndex`].
pub fn related_at(
    path: &str,
    lines: &LineIndex,
    range: Range<usize>,
    message: impl Into<String>,
) -> crate::finding::Related {
    crate::finding::Related {
        path: path.to_string(),
        start: lines.position(range.start),
        end: lines.position(range.end),
        message: message.into(),
    }
}

/// A finding of rule `rule_idx` in `file`, for analyzers that work outside a [`FileContext`]
/// (the project pass). Like every finding, it is finished by the pipeline's finish step.
pub fn finding_in(
    file: &SourceFile,
    rules: &RuleSet,
    rule_idx: usize,
    range: Range<usize>,
) -> Finding {
    let context = FileContext {
        file,
        rules,
        active: Vec::new(),
        tree: OnceCell::new(),
        notes: std::cell::RefCell::new(Vec::new()),
        facts: std::cell::RefCell::new(Vec::new()),
        deadline: None,
        parse_time: std::cell::Cell::new(Duration::ZERO),
    };
    context.finding(rule_idx, range)
}

/// Everything one file produced.
#[derive(Debug, Default)]
pub struct FileOutcome {
    /// Findings as the analyzers made them, unfinished (no snippet, not yet suppressed).
    pub findings: Vec<Finding>,
    /// Facts for the project pass.
    pub facts: Vec<Fact>,
    /// Skip or degradation notes.
    pub notes: Vec<Skipped>,
    /// The file, kept only when it has findings: the finish step reads its suppression comments
    /// and takes snippets and code frames from it (redacted).
    pub file: Option<Arc<SourceFile>>,
    /// Bytes analysed (0 when skipped).
    pub bytes: u64,
    /// Whether the file was analysed (not skipped).
    pub analysed: bool,
    /// Whether tree-sitter parsed it.
    pub parsed: bool,
    /// Whether the outcome follows from the file's content, the rules and the settings alone, so
    /// `--cache` may keep it: not when an analyzer read another file or kept facts for the
    /// project pass ([`not_cacheable`]), ran out of time or failed.
    pub cacheable: bool,
}

thread_local! {
    /// Set by [`not_cacheable`] during the file analysis running on this thread.
    static NOT_CACHEABLE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Where [`not_cacheable`] was called first for that file (for [`Timings`]).
    static NOT_CACHEABLE_AT: std::cell::Cell<Option<&'static std::panic::Location<'static>>> =
        const { std::cell::Cell::new(None) };
}

/// Marks the file being analysed on this thread as depending on more than its own content, the
/// rules and the settings: an analyzer read another file (a manifest beside a lockfile, the git
/// index, a `config.toml`), used advisory data, or kept facts about the file for its project
/// pass (which a cached outcome would not replay). `--cache` never keeps such a file's outcome.
/// Outside a file analysis (project passes), it has no effect.
#[track_caller]
pub fn not_cacheable() {
    NOT_CACHEABLE.with(|c| c.set(true));
    let at = std::panic::Location::caller();
    NOT_CACHEABLE_AT.with(|c| {
        if c.get().is_none() {
            c.set(Some(at));
        }
    });
}

/// The files outside the discovered candidates that analyses have read in this process (a
/// `config.toml`, a `tsconfig.json`, the git index, advisory data). `--cache` replays a whole
/// scan only when none of them changed; the set only grows, so a snapshot checks a superset of
/// what its scan read.
static OUTSIDE_READS: std::sync::Mutex<std::collections::BTreeSet<PathBuf>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// Records that an analysis read `path` (a file or a folder it listed), which may lie outside
/// the scanned tree, so a replayed scan (see [`crate::cache`]) notices when it changes. Call it
/// next to every read of a file that is not the one analysed, besides [`not_cacheable`] in a
/// file analysis.
pub fn depends_on(path: &std::path::Path) {
    // the next scan may run from another folder
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| path.to_path_buf(), |cwd| cwd.join(path))
    };
    OUTSIDE_READS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(path);
}

/// Every path [`depends_on`] recorded in this process, in order.
pub fn outside_reads() -> Vec<PathBuf> {
    OUTSIDE_READS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .cloned()
        .collect()
}

/// The compiled rules and analyzers, shared read-only by every worker.
pub struct Engine {
    rules: Arc<RuleSet>,
    prefilter: Prefilter,
    analyzers: Vec<Box<dyn Analyzer>>,
    file_timeout: Option<Duration>,
    timings: Timings,
}

/// Engine options.
#[derive(Clone, Copy, Debug)]
pub struct EngineOptions {
    /// Run query rules on the native matcher, in one walk per tree (the fast path). `false` runs
    /// one tree-sitter query per rule: the reference that tests compare the fast path with.
    pub combined_queries: bool,
    /// The time one file's analysis may take (`--file-timeout`); past it, the analyzers not yet
    /// run are skipped and a `timeout` note names the one that ran over. `None`: no limit.
    pub file_timeout: Option<Duration>,
}

/// The default per-file time budget: generous for real files (the slowest file of the large
/// benchmark corpus takes well under a second), short enough that one hostile file cannot hold a
/// CI run hostage.
pub const DEFAULT_FILE_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            combined_queries: true,
            file_timeout: Some(DEFAULT_FILE_TIMEOUT),
        }
    }
}

impl Engine {
    /// Compiles the query rules and the analyzers that `capabilities` build (the pipeline hands
    /// them in; see `crate::capabilities`). Every rule must be claimed by an analyzer.
    pub fn new(
        rules: RuleSet,
        settings: &crate::Settings,
        capabilities: &[Capability],
    ) -> Result<Self, RuleError> {
        use rayon::prelude::*;
        let options = settings.engine;
        // the analyzers and the prefilter are built in parallel (start-up is most of a scan of a
        // small project), kept in the order the capabilities are listed
        let (built, prefilter) = rayon::join(
            || {
                let query = query::QueryAnalyzer::new(&rules, options.combined_queries);
                let others: Vec<_> = capabilities
                    .par_iter()
                    .map(|capability| (capability.build)(&rules, settings))
                    .collect();
                (query, others)
            },
            || Prefilter::new(&rules),
        );
        let mut analyzers: Vec<Box<dyn Analyzer>> = Vec::new();
        if let Some(q) = built.0? {
            analyzers.push(Box::new(q));
        }
        for analyzer in built.1 {
            if let Some(a) = analyzer? {
                analyzers.push(a);
            }
        }
        let mut claimed = vec![false; rules.len()];
        for a in &analyzers {
            for i in a.rule_indices() {
                claimed[i] = true;
            }
        }
        for (i, rule) in rules.rules().iter().enumerate() {
            if !claimed[i] {
                let kind = rule.matcher.kind();
                let detail = match &rule.matcher {
                    Matcher::Spec { spec, .. } => {
                        serde_yaml_ng::to_string(spec).unwrap_or_default()
                    }
                    Matcher::Query(_) => String::new(),
                };
                let message = if matches!(kind, MatcherKind::Builtin | MatcherKind::Config) {
                    let mut names: Vec<String> =
                        capabilities.iter().flat_map(|c| (c.builtins)()).collect();
                    names.sort();
                    format!(
                        "no builtin check is named `{}`; write one of: {}",
                        detail.trim(),
                        names.join(", ")
                    )
                } else {
                    format!(
                        "no analyzer in this build handles this `{}` matcher: {}",
                        kind.key(),
                        detail.trim()
                    )
                };
                return Err(RuleError::Field {
                    source_name: rule.source.clone(),
                    id: rule.id.clone(),
                    field: kind.key().into(),
                    message,
                });
            }
        }
        Ok(Engine {
            file_timeout: options.file_timeout,
            prefilter: prefilter?,
            rules: Arc::new(rules),
            analyzers,
            timings: Timings::from_env(),
        })
    }

    /// The rules of this engine.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Where the time goes (`VIBEWARD_TIMINGS`; see [`timings`]).
    pub fn timings(&self) -> &Timings {
        &self.timings
    }

    /// The rules, shared (for the report).
    pub fn shared_rules(&self) -> Arc<RuleSet> {
        Arc::clone(&self.rules)
    }

    /// Reads and analyses one discovered file. Never panics: a panic inside an analyzer becomes
    /// an `internal-error` note for this file.
    pub fn scan_candidate(&self, candidate: &Candidate) -> FileOutcome {
        self.scan_candidate_cached(candidate, None)
    }

    /// [`Engine::scan_candidate`] through a `--cache`: a file whose stamp (size, modification
    /// time, inode) the cache knows is not read; one whose content it knows is read but neither
    /// parsed nor analysed. A cached outcome keeps no file: the finish step reads the few with
    /// findings again.
    pub fn scan_candidate_cached(
        &self,
        candidate: &Candidate,
        cache: Option<&crate::cache::Cache>,
    ) -> FileOutcome {
        let kind = candidate.kind.as_str();
        // an unchanged stamp: the stored outcome, without reading the file
        let stamp = cache.and_then(|c| c.stamp(&candidate.path));
        if let Some(hit) = cache.and_then(|c| c.get_by_stamp(&candidate.display, kind, stamp)) {
            return hit.outcome();
        }
        match self.timings.time("file: read", || source::load(candidate)) {
            Loaded::Skip(skipped) => FileOutcome {
                notes: vec![skipped],
                ..FileOutcome::default()
            },
            Loaded::File(file, degraded) => {
                let Some(cache) = cache else {
                    let mut outcome = self.scan_source(file);
                    outcome.notes.extend(degraded);
                    return outcome;
                };
                // a new stamp, the same content (a `touch`, a fresh checkout): still a hit
                let key = crate::cache::file_key(&file);
                if let Some(hit) = cache.get_by_content(&candidate.display, &key, stamp) {
                    return hit.outcome();
                }
                let mut outcome = self.scan_source(file);
                outcome.notes.extend(degraded);
                if outcome.cacheable {
                    let entry = crate::cache::Entry::of(key, stamp, kind, &outcome);
                    cache.put(&candidate.display, entry);
                }
                outcome
            }
        }
    }

    /// Analyses a file already in memory. Never panics: a panic inside an analyzer becomes an
    /// `internal-error` note naming the file and the analyzer, and the other analyzers' findings
    /// for the file are kept.
    pub fn scan_source(&self, file: SourceFile) -> FileOutcome {
        let mut ctx = self.timings.time("file: prefilter", || {
            FileContext::new(&file, &self.rules, &self.prefilter)
        });
        ctx.deadline = self.file_timeout.map(|t| Instant::now() + t);
        let mut findings = Vec::new();
        let mut notes = Vec::new();
        NOT_CACHEABLE.with(|c| c.set(false));
        NOT_CACHEABLE_AT.with(|c| c.set(None));
        let ((), cut) = stack::budget(|| {
            if !ctx.has_active_rules() {
                return;
            }
            for analyzer in &self.analyzers {
                if ctx.is_expired() {
                    notes.push(Skipped {
                        path: file.display.clone(),
                        reason: SkipReason::Timeout,
                        detail: format!(
                            "analysis ran past the {}s per-file budget (`--file-timeout`) before the {} analyzer; the analyzers that finished were kept",
                            self.file_timeout.map_or(0, |t| t.as_secs()),
                            analyzer.name()
                        ),
                    });
                    break;
                }
                let mut out = Vec::new();
                let started = self.timings.is_enabled().then(Instant::now);
                let parsed_before = ctx.parse_time.get();
                let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    analyzer.analyze_file(&ctx, &mut out);
                }));
                if let Some(started) = started {
                    let parse = ctx.parse_time.get().saturating_sub(parsed_before);
                    self.timings.add(
                        &format!("file: {}", analyzer.name()),
                        started.elapsed().saturating_sub(parse),
                    );
                }
                match result {
                    Ok(()) => findings.append(&mut out),
                    Err(panic) => notes.push(Skipped {
                        path: file.display.clone(),
                        reason: SkipReason::InternalError,
                        detail: format!(
                            "the {} analyzer failed ({}); other analyzers' findings are kept",
                            analyzer.name(),
                            panic_message(panic.as_ref())
                        ),
                    }),
                }
            }
        });
        // facts for the project passes: their walks stay under a stack budget as well
        let parsed_before = ctx.parse_time.get();
        let ((), facts_cut) = stack::budget(|| {
            self.timings
                .time("file: facts", || self.extract_facts(&ctx, &mut notes));
        });
        if self.timings.is_enabled() {
            let parse = ctx.parse_time.get();
            self.timings.add("file: parse", parse);
            self.timings
                .add("file: facts parse", parse.saturating_sub(parsed_before));
        }
        if cut || facts_cut {
            notes.push(Skipped {
                path: file.display.clone(),
                reason: SkipReason::TooDeep,
                detail: format!(
                    "code nested too deeply to follow within the {} KiB analysis stack; the deeper code was not analysed, the rest of the file was",
                    stack::BUDGET >> 10
                ),
            });
        }
        notes.extend(ctx.notes.take());
        if let Some(tree) = ctx.tree.get().and_then(Option::as_ref)
            && tree.root_node().has_error()
        {
            notes.push(Skipped {
                path: file.display.clone(),
                reason: SkipReason::ParseError,
                detail: "syntax errors; analysed as far as the tree allows".into(),
            });
        }
        let parsed = ctx.was_parsed();
        let facts = ctx.facts.take();
        drop(ctx);
        let bytes = file.text.len() as u64;
        // an outcome with facts is never kept: a cached outcome does not replay them
        let reads_more = NOT_CACHEABLE.with(|c| c.replace(false));
        let first_reason = NOT_CACHEABLE_AT.with(|c| c.replace(None));
        let failed = notes.iter().any(|n| n.reason.is_failure());
        let cacheable = facts.is_empty() && !reads_more && !failed;
        if !cacheable && self.timings.is_enabled() {
            // why `--cache` cannot keep this outcome (the files a warm scan analyses again)
            let why = if failed {
                "timeout or failure".to_string()
            } else if let Some(at) = first_reason {
                format!("{}:{}", at.file(), at.line())
            } else {
                "facts for the project pass".to_string()
            };
            self.timings
                .add(&format!("uncacheable: {why}"), Duration::ZERO);
        }
        FileOutcome {
            file: (!findings.is_empty()).then(|| Arc::new(file)),
            findings,
            facts,
            notes,
            bytes,
            analysed: true,
            parsed,
            cacheable,
        }
    }

    /// Runs the fact extraction of the analyzers that want facts from this file, each under
    /// `catch_unwind` (a panic becomes an `internal-error` note). Facts ignore the per-file time
    /// budget: the project pass needs every file's, as it did when it read them itself.
    fn extract_facts(&self, ctx: &FileContext<'_>, notes: &mut Vec<Skipped>) {
        for analyzer in &self.analyzers {
            if !analyzer.wants_facts(ctx.file.kind, &ctx.file.display) {
                continue;
            }
            if let Err(panic) = std::panic::catch_unwind(AssertUnwindSafe(|| {
                analyzer.file_facts(ctx);
            })) {
                notes.push(Skipped {
                    path: ctx.file.display.clone(),
                    reason: SkipReason::InternalError,
                    detail: format!(
                        "the {} analyzer failed reading this file for the project pass ({}); its other findings are kept",
                        analyzer.name(),
                        panic_message(panic.as_ref())
                    ),
                });
            }
        }
    }

    /// Whether some analyzer's project pass wants facts from `candidate`.
    pub fn wants_facts(&self, candidate: &Candidate) -> bool {
        self.analyzers
            .iter()
            .any(|a| a.wants_facts(candidate.kind, &candidate.display))
    }

    /// Reads `candidate` for its facts only (no rule runs, no finding): for the files the
    /// per-file pass left out (`--changed`) whose facts a project pass still needs.
    pub fn facts_of(&self, candidate: &Candidate) -> Vec<Fact> {
        let Loaded::File(file, _) = source::load(candidate) else {
            return Vec::new();
        };
        let ctx = FileContext::new(&file, &self.rules, &self.prefilter);
        let mut notes = Vec::new();
        self.extract_facts(&ctx, &mut notes);
        ctx.facts.take()
    }

    /// Runs every analyzer's project pass, each under `catch_unwind`.
    pub fn analyze_project(&self, project: &ProjectContext<'_>) -> (Vec<Finding>, Vec<Skipped>) {
        let mut findings = Vec::new();
        let mut notes = Vec::new();
        for analyzer in &self.analyzers {
            let mut out = Vec::new();
            let (result, cut) = stack::budget(|| {
                self.timings
                    .time(&format!("project: {}", analyzer.name()), || {
                        std::panic::catch_unwind(AssertUnwindSafe(|| {
                            analyzer.analyze_project(project, &mut out);
                        }))
                    })
            });
            if cut {
                notes.push(Skipped {
                    path: "<project>".into(),
                    reason: SkipReason::TooDeep,
                    detail: format!(
                        "the {} project pass met input nested too deeply to follow within the {} KiB analysis stack and did not follow it",
                        analyzer.name(),
                        stack::BUDGET >> 10
                    ),
                });
            }
            match result {
                Ok(()) => {
                    findings.extend(out);
                    notes.extend(analyzer.project_notes(project));
                }
                Err(panic) => notes.push(Skipped {
                    path: "<project>".into(),
                    reason: SkipReason::InternalError,
                    detail: format!(
                        "the {} project pass failed ({}); the rest of the scan went on",
                        analyzer.name(),
                        panic_message(panic.as_ref())
                    ),
                }),
            }
        }
        (findings, notes)
    }
}

/// The text of a caught panic, for the `internal-error` note.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panicked".into())
}
